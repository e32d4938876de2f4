package release

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"text/template"
	"time"

	"sigs.k8s.io/yaml"
)

func TestPluginTexts(t *testing.T) {
	for _, pl := range Plugins {
		if n := len(pl.ShortDescription); n == 0 || n > 50 {
			t.Errorf("%s: shortDescription is %d characters, krew-index wants 1..50: %q", pl.Name, n, pl.ShortDescription)
		}
		if pl.Description == "" || pl.Requirements == "" {
			t.Errorf("%s: description and requirements must be set", pl.Name)
		}
	}
}

func TestArchiveNames(t *testing.T) {
	pl, _ := PluginByName("openmcp")
	for p, want := range map[Platform]string{
		{"linux", "arm64"}:   "kubectl-openmcp_linux_arm64.tar.gz",
		{"darwin", "amd64"}:  "kubectl-openmcp_darwin_amd64.tar.gz",
		{"windows", "amd64"}: "kubectl-openmcp_windows_amd64.zip",
	} {
		if got := pl.Archive(p); got != want {
			t.Errorf("Archive(%s) = %q, want %q", p, got, want)
		}
	}
	if got := pl.Files(Platform{"windows", "amd64"}); !slices.Equal(got, []string{"LICENSE", "kubectl-openmcp.exe", "kubectl_complete-openmcp.bat"}) {
		t.Errorf("windows files = %q", got)
	}
	if _, err := ParsePlatform("linux/s390x"); err == nil || !strings.Contains(err.Error(), "linux/amd64") {
		t.Errorf("ParsePlatform(linux/s390x) error = %v, want one naming the allowed platforms", err)
	}
}

func TestManifestVersion(t *testing.T) {
	for in, want := range map[string]string{
		"v1.2.3":                  "v1.2.3",
		"v0.10.0":                 "v0.10.0",
		"2f8cac4-dirty":           DefaultVersion,
		"v0.1.0-3-g2f8cac4-dirty": DefaultVersion,
		"1.2.3":                   DefaultVersion,
		"":                        DefaultVersion,
	} {
		if got, _ := ManifestVersion(in); got != want {
			t.Errorf("ManifestVersion(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestWrap(t *testing.T) {
	in := "aaa bbb ccc ddd eee fff ggg hhh\niii jjj\n\n  a verbatim line that is longer than the width\nkkk lll"
	got := Wrap(in, 12)
	want := "aaa bbb ccc\nddd eee fff\nggg hhh iii\njjj\n\n  a verbatim line that is longer than the width\nkkk lll"
	if got != want {
		t.Fatalf("Wrap:\n%s\nwant:\n%s", got, want)
	}
	for _, pl := range Plugins {
		for _, text := range []string{pl.Description, Caveats(pl, "v0.1.0")} {
			wrapped := Wrap(text, TextWidth)
			for _, l := range strings.Split(wrapped, "\n") {
				if len(l) > TextWidth && !strings.HasPrefix(l, " ") {
					t.Errorf("%s: line of %d columns: %q", pl.Name, len(l), l)
				}
			}
			if strings.Join(strings.Fields(wrapped), " ") != strings.Join(strings.Fields(text), " ") {
				t.Errorf("%s: wrapping changed the words of %q", pl.Name, text)
			}
		}
	}
}

// The archives are compared byte for byte: the same inputs must give the same
// sha256, whatever order the files come in.
func TestWriteArchiveIsDeterministic(t *testing.T) {
	mtime := time.Unix(1700000000, 0)
	entries := []Entry{
		{Name: "kubectl-x", Mode: 0o755, Data: []byte("binary")},
		{Name: "LICENSE", Mode: 0o644, Data: []byte("license")},
		{Name: "kubectl_complete-x", Mode: 0o755, Data: []byte("#!/bin/sh\n")},
	}
	reversed := slices.Clone(entries)
	slices.Reverse(reversed)
	for _, ext := range []string{".tar.gz", ".zip"} {
		dir := t.TempDir()
		a, b := filepath.Join(dir, "a"+ext), filepath.Join(dir, "b"+ext)
		if err := WriteArchive(a, entries, mtime); err != nil {
			t.Fatal(err)
		}
		time.Sleep(1100 * time.Millisecond) // a wall-clock timestamp would now differ
		if err := WriteArchive(b, reversed, mtime); err != nil {
			t.Fatal(err)
		}
		da, _ := os.ReadFile(a)
		db, _ := os.ReadFile(b)
		if !bytes.Equal(da, db) {
			t.Errorf("%s: two archives of the same files differ", ext)
		}
		names, modes, times := readArchive(t, a)
		if !slices.Equal(names, []string{"LICENSE", "kubectl-x", "kubectl_complete-x"}) {
			t.Errorf("%s: entries %q, want them sorted", ext, names)
		}
		if !slices.Equal(modes, []os.FileMode{0o644, 0o755, 0o755}) {
			t.Errorf("%s: modes %v", ext, modes)
		}
		for _, tm := range times {
			if !tm.Equal(mtime) {
				t.Errorf("%s: entry time %v, want %v", ext, tm, mtime)
			}
		}
	}
}

func readArchive(t *testing.T, path string) (names []string, modes []os.FileMode, times []time.Time) {
	t.Helper()
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			names, modes, times = append(names, f.Name), append(modes, f.Mode().Perm()), append(times, f.Modified)
		}
		return
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	gz, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(gz)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Uid != 0 || h.Gid != 0 || h.Uname != "" {
			t.Errorf("%s: owner %d/%d %q, want root without names", h.Name, h.Uid, h.Gid, h.Uname)
		}
		names, modes, times = append(names, h.Name), append(modes, os.FileMode(h.Mode)), append(times, h.ModTime)
	}
}

func TestChecksumsRoundTripAndStaleness(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []string{"b.tar.gz", "a.zip"} {
		if err := os.WriteFile(filepath.Join(dir, n), []byte(n), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if err := WriteChecksums(dir, []string{"b.tar.gz", "a.zip"}); err != nil {
		t.Fatal(err)
	}
	data, _ := os.ReadFile(filepath.Join(dir, ChecksumsFile))
	if lines := strings.Split(strings.TrimSpace(string(data)), "\n"); len(lines) != 2 || !strings.HasSuffix(lines[0], "  a.zip") {
		t.Fatalf("checksums not sorted sha256sum lines:\n%s", data)
	}
	if sh, err := exec.LookPath("sha256sum"); err == nil {
		cmd := exec.Command(sh, "-c", ChecksumsFile)
		cmd.Dir = dir
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Errorf("sha256sum -c rejects the file: %v\n%s", err, out)
		}
	}
	sums, err := ReadChecksums(dir)
	if err != nil || len(sums) != 2 {
		t.Fatalf("ReadChecksums = %v, %v", sums, err)
	}
	if err := os.WriteFile(filepath.Join(dir, "a.zip"), []byte("rebuilt"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadChecksums(dir); err == nil || !strings.Contains(err.Error(), "a.zip") {
		t.Errorf("ReadChecksums of a rebuilt archive: err = %v, want one naming a.zip", err)
	}
}

// The helper must hand kubectl's words to `kubectl-<plugin> __complete`
// unchanged, including the empty word kubectl passes for "complete a new
// word" and words with spaces.
func TestHelperScriptPassesArguments(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	pl, _ := PluginByName("openmcp")
	linux := Platform{"linux", "amd64"}
	dir := t.TempDir()
	helper := filepath.Join(dir, pl.Helper(linux))
	if err := os.WriteFile(helper, pl.HelperScript(linux), 0o755); err != nil {
		t.Fatal(err)
	}
	fake := "#!/bin/sh\nfor a in \"$@\"; do printf '[%s]' \"$a\"; done\n"
	if err := os.WriteFile(filepath.Join(dir, pl.Command()), []byte(fake), 0o755); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(helper, "get", "two words", "")
	cmd.Env = append(os.Environ(), "PATH="+dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	out, err := cmd.Output()
	if err != nil {
		t.Fatal(err)
	}
	if want := "[__complete][get][two words][]"; string(out) != want {
		t.Errorf("helper ran kubectl-openmcp with %s, want %s", out, want)
	}
	bat := string(pl.HelperScript(Platform{"windows", "amd64"}))
	if !strings.Contains(bat, "kubectl-openmcp.exe __complete %*\r\n") {
		t.Errorf("windows helper does not forward its arguments:\n%s", bat)
	}
}

func fakeSums(pl Plugin) map[string]string {
	sums := map[string]string{}
	for i, p := range Platforms {
		sums[pl.Archive(p)] = fmt.Sprintf("%064x", 0xabcdef00+i) // hex letters, as real sums have
	}
	return sums
}

func TestManifestIsYAMLKrewReads(t *testing.T) {
	for _, pl := range Plugins {
		out, err := Manifest(pl, "v1.2.3", DownloadBase, fakeSums(pl))
		if err != nil {
			t.Fatal(err)
		}
		var m struct {
			APIVersion, Kind string
			Metadata         struct{ Name string }
			Spec             struct {
				Version, Homepage, ShortDescription, Description, Caveats string
				Platforms                                                 []struct {
					Selector         struct{ MatchLabels map[string]string }
					URI, Sha256, Bin string
					Files            []struct{ From, To string }
				}
			}
		}
		if err := yaml.UnmarshalStrict(out, &m); err != nil {
			t.Fatalf("%s: not YAML: %v\n%s", pl.Name, err, out)
		}
		if m.APIVersion != "krew.googlecontainertools.github.com/v1alpha2" || m.Kind != "Plugin" {
			t.Errorf("%s: apiVersion %q kind %q", pl.Name, m.APIVersion, m.Kind)
		}
		if m.Metadata.Name != pl.Name || m.Spec.Version != "v1.2.3" || len(m.Spec.Platforms) != len(Platforms) {
			t.Errorf("%s: name %q version %q platforms %d", pl.Name, m.Metadata.Name, m.Spec.Version, len(m.Spec.Platforms))
		}
		if !strings.Contains(m.Spec.Caveats, "store/"+pl.Name+"/v1.2.3/kubectl_complete-"+pl.Name) {
			t.Errorf("%s: caveats do not say where the completion helper is:\n%s", pl.Name, m.Spec.Caveats)
		}
		for i, p := range m.Spec.Platforms {
			want := Platforms[i]
			if p.Selector.MatchLabels["os"] != want.OS || p.Selector.MatchLabels["arch"] != want.Arch {
				t.Errorf("%s: platform %d selects %v, want %s", pl.Name, i, p.Selector.MatchLabels, want)
			}
			if p.URI != DownloadBase+"/v1.2.3/"+pl.Archive(want) || p.Sha256 != fakeSums(pl)[pl.Archive(want)] {
				t.Errorf("%s: platform %s uri %q sha256 %q", pl.Name, want, p.URI, p.Sha256)
			}
			var from []string
			for _, f := range p.Files {
				from = append(from, f.From)
				if f.To != "." {
					t.Errorf("%s: %s goes to %q", pl.Name, f.From, f.To)
				}
			}
			if !slices.Equal(from, pl.Files(want)) || p.Bin != pl.Binary(want) {
				t.Errorf("%s: platform %s installs %q, bin %q", pl.Name, want, from, p.Bin)
			}
		}
	}
	if _, err := Manifest(Plugins[0], "v1.2.3", DownloadBase, map[string]string{}); err == nil {
		t.Error("Manifest without checksums succeeded; it must refuse to invent hashes")
	}
}

// renderLikeReleaseBot renders a template the way krew-release-bot v0.0.46
// does (pkg/source/template.go): a text/template whose addURIAndSha renders
// the URL with the tag, fetches its sha256 and returns "uri: ...\n    sha256: ...".
func renderLikeReleaseBot(t *testing.T, tmpl []byte, tag string, sha func(url string) string) []byte {
	t.Helper()
	tp, err := template.New("krew").Funcs(template.FuncMap{
		"addURIAndSha": func(url, tag string) (string, error) {
			var b bytes.Buffer
			if err := template.Must(template.New("url").Parse(url)).Execute(&b, struct{ TagName string }{tag}); err != nil {
				return "", err
			}
			return fmt.Sprintf("uri: %s\n    sha256: %s", b.String(), sha(b.String())), nil
		},
	}).Parse(string(tmpl))
	if err != nil {
		t.Fatalf("krew-release-bot could not parse the template: %v", err)
	}
	var out bytes.Buffer
	if err := tp.Execute(&out, struct{ TagName string }{tag}); err != nil {
		t.Fatalf("krew-release-bot could not render the template: %v", err)
	}
	return out.Bytes()
}

func stripComments(b []byte) string {
	var keep []string
	for _, l := range strings.Split(string(b), "\n") {
		if !strings.HasPrefix(l, "#") {
			keep = append(keep, l)
		}
	}
	return strings.Join(keep, "\n")
}

// What the bot publishes for a tag must be exactly the manifest the generator
// writes for that tag, or krew-index would get a different plugin from the
// one tested here.
func TestReleaseBotTemplateRendersToTheManifest(t *testing.T) {
	for _, pl := range Plugins {
		sums := fakeSums(pl)
		got := renderLikeReleaseBot(t, ReleaseBotTemplate(pl), "v2.3.4", func(url string) string {
			return sums[url[strings.LastIndex(url, "/")+1:]]
		})
		want, err := Manifest(pl, "v2.3.4", DownloadBase, sums)
		if err != nil {
			t.Fatal(err)
		}
		if stripComments(got) != stripComments(want) {
			t.Errorf("%s: the release-bot template renders to\n%s\nbut the manifest is\n%s", pl.Name, got, want)
		}
	}
}
