// Package krew tests the release as a user meets it: the archives of
// `make dist`, the krew manifests generated from them, validate-krew-manifest,
// a real `kubectl krew install`, the plugins run through kubectl's plugin
// discovery, and shell completion through the shipped helpers. It needs the
// kubectl, krew and validate-krew-manifest that `make tools` builds.
package krew

import (
	"archive/tar"
	"archive/zip"
	"bytes"
	"compress/gzip"
	"debug/elf"
	"debug/macho"
	"debug/pe"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/hack/release"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// testVersion is stamped by the test's `make dist`; it is a release-shaped
// version other than release.DefaultVersion, so a manifest or binary that
// ignored it would show.
const testVersion = "v0.42.0"

var (
	workDir  string
	distOnce sync.Once
	distErr  error
	// The commit and its time the test's dist is stamped with, read once:
	// others may commit to the working tree while the tests run.
	distCommit string
	distTime   time.Time
)

func TestMain(m *testing.M) {
	var err error
	if workDir, err = os.MkdirTemp("", "krew-test-"); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	code := m.Run()
	os.RemoveAll(workDir)
	os.Exit(code)
}

// tool is a binary of `make tools`; a missing one fails the test, since
// `make test` builds them before running the tests.
func tool(t *testing.T, name string) string {
	t.Helper()
	p := filepath.Join(sandbox.DefaultBinDir(), name)
	if _, err := os.Stat(p); err != nil {
		t.Fatalf("%s is missing (%v): run `make tools` first (make test and make e2e do)", name, err)
	}
	return p
}

// toolPath is a PATH holding kubectl, and krew as kubectl-krew so that
// `kubectl krew` finds it, followed by extra and the system directories.
func toolPath(t *testing.T, extra ...string) string {
	t.Helper()
	dir := t.TempDir()
	for name, target := range map[string]string{"kubectl": tool(t, "kubectl"), "kubectl-krew": tool(t, "krew")} {
		if err := os.Symlink(target, filepath.Join(dir, name)); err != nil {
			t.Fatal(err)
		}
	}
	return strings.Join(append(append([]string{dir}, extra...), "/usr/local/bin", "/usr/bin", "/bin"), string(os.PathListSeparator))
}

func distDir() string { return filepath.Join(workDir, "dist") }

// dist runs `make dist` once for all the tests of the package.
func dist(t *testing.T) string {
	t.Helper()
	distOnce.Do(func() {
		head, err := exec.Command("git", "-C", sandbox.RepoRoot(), "log", "-1", "--format=%H %ct").Output()
		if err != nil {
			distErr = fmt.Errorf("git log: %v", err)
			return
		}
		var sec int64
		if _, err := fmt.Sscan(string(head), &distCommit, &sec); err != nil {
			distErr = fmt.Errorf("git log printed %q: %v", head, err)
			return
		}
		distTime = time.Unix(sec, 0).UTC()
		cmd := exec.Command("make", "-C", sandbox.RepoRoot(), "dist", "DIST_DIR="+distDir(), "VERSION="+testVersion, "COMMIT="+distCommit)
		cmd.Env = append(os.Environ(), "SOURCE_DATE_EPOCH="+strconv.FormatInt(sec, 10))
		out, err := cmd.CombinedOutput()
		if err != nil {
			distErr = fmt.Errorf("make dist: %v\n%s", err, out)
		}
	})
	if distErr != nil {
		t.Fatal(distErr)
	}
	return distDir()
}

type archiveFile struct {
	mode  os.FileMode
	mtime time.Time
	data  []byte
}

// readArchive returns the archive's entries in their order.
func readArchive(t *testing.T, path string) ([]string, map[string]archiveFile) {
	t.Helper()
	var names []string
	files := map[string]archiveFile{}
	if strings.HasSuffix(path, ".zip") {
		zr, err := zip.OpenReader(path)
		if err != nil {
			t.Fatal(err)
		}
		defer zr.Close()
		for _, f := range zr.File {
			rc, err := f.Open()
			if err != nil {
				t.Fatal(err)
			}
			data, err := io.ReadAll(rc)
			rc.Close()
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, f.Name)
			files[f.Name] = archiveFile{f.Mode().Perm(), f.Modified, data}
		}
		return names, files
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
			return names, files
		}
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		files[h.Name] = archiveFile{os.FileMode(h.Mode).Perm(), h.ModTime, data}
	}
}

// binaryTarget reads the OS and architecture an executable was built for,
// and whether it still carries symbols or DWARF (-s -w strip both).
func binaryTarget(t *testing.T, data []byte) (goos, goarch string, symbols bool) {
	t.Helper()
	r := bytes.NewReader(data)
	if f, err := elf.NewFile(r); err == nil {
		_, derr := f.DWARF()
		arch := map[elf.Machine]string{elf.EM_X86_64: "amd64", elf.EM_AARCH64: "arm64"}[f.Machine]
		return "linux", arch, f.Section(".symtab") != nil || derr == nil
	}
	if f, err := macho.NewFile(r); err == nil {
		_, derr := f.DWARF()
		// A stripped Mach-O keeps the symbols it imports from libSystem
		// (undefined, section 0); it must define none.
		defined := false
		if f.Symtab != nil {
			for _, s := range f.Symtab.Syms {
				defined = defined || s.Sect != 0
			}
		}
		arch := map[macho.Cpu]string{macho.CpuAmd64: "amd64", macho.CpuArm64: "arm64"}[f.Cpu]
		return "darwin", arch, defined || derr == nil
	}
	if f, err := pe.NewFile(r); err == nil {
		_, derr := f.DWARF()
		arch := map[uint16]string{pe.IMAGE_FILE_MACHINE_AMD64: "amd64", pe.IMAGE_FILE_MACHINE_ARM64: "arm64"}[f.Machine]
		return "windows", arch, len(f.Symbols) > 0 || derr == nil
	}
	t.Fatal("not an ELF, Mach-O or PE executable")
	return
}

func TestDistArchives(t *testing.T) {
	dir := dist(t)
	sums, err := release.ReadChecksums(dir)
	if err != nil {
		t.Fatalf("checksums.txt does not match the archives: %v", err)
	}
	license, err := os.ReadFile(filepath.Join(sandbox.RepoRoot(), release.License))
	if err != nil {
		t.Fatal(err)
	}
	mtime := distTime
	want := 0
	for _, pl := range release.Plugins {
		for _, p := range release.Platforms {
			want++
			name := pl.Archive(p)
			if _, ok := sums[name]; !ok {
				t.Errorf("%s is not in checksums.txt", name)
				continue
			}
			names, files := readArchive(t, filepath.Join(dir, name))
			if wantNames := pl.Files(p); !slices.Equal(names, wantNames) {
				t.Errorf("%s holds %q, want %q in that order", name, names, wantNames)
				continue
			}
			for n, f := range files {
				if !f.mtime.Equal(mtime) {
					t.Errorf("%s: %s has time %v, want the commit time %v", name, n, f.mtime, mtime)
				}
			}
			if f := files[release.License]; !bytes.Equal(f.data, license) || f.mode != 0o644 {
				t.Errorf("%s: LICENSE differs from the repository's or has mode %v", name, f.mode)
			}
			if f := files[pl.Helper(p)]; !bytes.Equal(f.data, pl.HelperScript(p)) || (!p.Windows() && f.mode != 0o755) {
				t.Errorf("%s: completion helper %s has mode %v and content\n%s", name, pl.Helper(p), f.mode, f.data)
			}
			bin := files[pl.Binary(p)]
			if bin.mode != 0o755 {
				t.Errorf("%s: %s has mode %v, want 0755", name, pl.Binary(p), bin.mode)
			}
			goos, goarch, symbols := binaryTarget(t, bin.data)
			if goos != p.OS || goarch != p.Arch {
				t.Errorf("%s: %s is built for %s/%s", name, pl.Binary(p), goos, goarch)
			}
			if symbols {
				t.Errorf("%s: %s has symbols or DWARF; dist builds with -s -w", name, pl.Binary(p))
			}
			if !bytes.Contains(bin.data, []byte(testVersion)) {
				t.Errorf("%s: %s is not stamped with %s", name, pl.Binary(p), testVersion)
			}
			if p == (release.Platform{OS: "linux", Arch: "amd64"}) {
				t.Logf("%s for linux/amd64: %.1f MiB stripped", pl.Binary(p), float64(len(bin.data))/(1<<20))
			}
		}
	}
	if len(sums) != want {
		t.Errorf("checksums.txt lists %d archives, want %d", len(sums), want)
	}
	if fi, err := os.Stat(tool(t, "kubectl")); err == nil {
		t.Logf("kubectl for comparison: %.1f MiB", float64(fi.Size())/(1<<20))
	}
}

// Building the same commit twice gives the same archives. Only linux/amd64 is
// rebuilt, twice back to back, so that edits others make to the working tree
// between this and the full `make dist` cannot make it flaky.
func TestDistIsReproducible(t *testing.T) {
	dist(t) // warms the build cache
	var lists []string
	for i := range 2 {
		out := filepath.Join(t.TempDir(), "dist")
		cmd := exec.Command("go", "run", "./hack/dist", "-out", out, "-version", testVersion, "-platforms", "linux/amd64")
		cmd.Dir = sandbox.RepoRoot()
		if b, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("build %d: %v\n%s", i+1, err, b)
		}
		b, err := os.ReadFile(filepath.Join(out, release.ChecksumsFile))
		if err != nil {
			t.Fatal(err)
		}
		lists = append(lists, string(b))
	}
	if lists[0] != lists[1] {
		t.Errorf("two builds of the same tree differ:\n%s\n%s", lists[0], lists[1])
	}
}

// generate writes the manifests for the test's dist into a new directory.
func generate(t *testing.T, baseURL string) string {
	t.Helper()
	dir := dist(t)
	out := t.TempDir()
	cmd := exec.Command("go", "run", "./hack/krew-manifest", "-dist", dir, "-version", testVersion, "-out", out, "-base-url", baseURL)
	cmd.Dir = sandbox.RepoRoot()
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("krew-manifest: %v\n%s", err, b)
	}
	return out
}

type manifest struct {
	Metadata struct{ Name string }
	Spec     struct {
		Version, Homepage, ShortDescription, Description, Caveats string
		Platforms                                                 []struct {
			Selector         struct{ MatchLabels map[string]string }
			URI, Sha256, Bin string
			Files            []struct{ From, To string }
		}
	}
}

func readManifest(t *testing.T, path string) manifest {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var m manifest
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	for i, l := range strings.Split(m.Spec.Description, "\n") {
		if len(l) > 80 {
			t.Errorf("%s: description line %d has %d columns, want at most 80", path, i+1, len(l))
		}
	}
	return m
}

// validate runs validate-krew-manifest, which installs every platform of the
// manifest with `kubectl krew install` (KREW_OS/KREW_ARCH) and checks a
// LICENSE lands too; skipInstall keeps it to the structural checks.
func validate(t *testing.T, path string, skipInstall bool) string {
	t.Helper()
	args := []string{"-manifest", path}
	if skipInstall {
		args = append(args, "-skip-install")
	}
	cmd := exec.Command(tool(t, "validate-krew-manifest"), args...)
	cmd.Env = append(os.Environ(), "PATH="+toolPath(t))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("validate-krew-manifest %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

func TestGeneratedManifestsInstallOnEveryPlatform(t *testing.T) {
	dir := dist(t)
	sums, err := release.ReadChecksums(dir)
	if err != nil {
		t.Fatal(err)
	}
	// validate-krew-manifest downloads each platform's uri; serve the
	// archives the way a GitHub release does, under the version.
	srv := httptest.NewServer(http.StripPrefix("/"+testVersion+"/", http.FileServer(http.Dir(dir))))
	defer srv.Close()
	manifests := generate(t, srv.URL)
	for _, pl := range release.Plugins {
		path := filepath.Join(manifests, pl.Name+".yaml")
		m := readManifest(t, path)
		if m.Metadata.Name != pl.Name || m.Spec.Version != testVersion || m.Spec.Homepage != release.Homepage {
			t.Errorf("%s: name %q, version %q, homepage %q", path, m.Metadata.Name, m.Spec.Version, m.Spec.Homepage)
		}
		for _, p := range m.Spec.Platforms {
			name := p.URI[strings.LastIndex(p.URI, "/")+1:]
			if p.Sha256 != sums[name] {
				t.Errorf("%s: %s has sha256 %s, the archive has %s", path, name, p.Sha256, sums[name])
			}
		}
		out := validate(t, path, false)
		if want := fmt.Sprintf("all %d spec.platforms installed fine", len(release.Platforms)); !strings.Contains(out, want) {
			t.Errorf("validate-krew-manifest %s did not install every platform:\n%s", path, out)
		}
	}
}

// The manifests in the repository are what krew-index gets. They must pass
// krew's validation, point at the GitHub release, and say what the
// generator says today (only the version and hashes of the build they were
// generated from may differ); the release-bot templates likewise.
func TestCommittedManifestsAreCurrent(t *testing.T) {
	root := filepath.Join(sandbox.RepoRoot(), "krew-manifests")
	for _, pl := range release.Plugins {
		path := filepath.Join(root, pl.Name+".yaml")
		if _, err := os.Stat(path); err != nil {
			t.Fatalf("%v: run `make krew-manifests`", err)
		}
		validate(t, path, true)
		m := readManifest(t, path)
		sums := map[string]string{}
		for _, p := range m.Spec.Platforms {
			prefix := release.DownloadBase + "/" + m.Spec.Version + "/"
			if !strings.HasPrefix(p.URI, prefix) {
				t.Errorf("%s: uri %s is not under %s", path, p.URI, prefix)
			}
			sums[strings.TrimPrefix(p.URI, prefix)] = p.Sha256
		}
		want, err := release.Manifest(pl, m.Spec.Version, release.DownloadBase, sums)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if got, _ := os.ReadFile(path); !bytes.Equal(got, want) {
			t.Errorf("%s is stale: run `make krew-manifests`", path)
		}
		tmpl := filepath.Join(root, "templates", pl.Name+".yaml")
		if got, err := os.ReadFile(tmpl); err != nil || !bytes.Equal(got, release.ReleaseBotTemplate(pl)) {
			t.Errorf("%s is missing or stale (%v): run `make krew-manifests`", tmpl, err)
		}
	}
}

type versionInfo struct {
	Version, GitCommit, BuildDate, Platform string
}

// run runs a command with env and returns its stdout, failing on an error.
func run(t *testing.T, env []string, name string, args ...string) string {
	t.Helper()
	stdout, _ := runBoth(t, env, name, args...)
	return stdout
}

func runBoth(t *testing.T, env []string, name string, args ...string) (string, string) {
	t.Helper()
	cmd := exec.Command(name, args...)
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("%s %s: %v\nstdout:\n%s\nstderr:\n%s", name, strings.Join(args, " "), err, stdout.String(), stderr.String())
	}
	return stdout.String(), stderr.String()
}

// completions are the candidates of a cobra __complete answer, without
// descriptions and the closing ":<directive>" line.
func completions(out string) []string {
	var words []string
	for _, l := range strings.Split(out, "\n") {
		if l == "" || strings.HasPrefix(l, ":") || strings.HasPrefix(l, "Completion ended") {
			continue
		}
		w, _, _ := strings.Cut(l, "\t")
		words = append(words, w)
	}
	return words
}

func TestKrewInstallThenKubectlRunsAndCompletesThePlugins(t *testing.T) {
	host, err := release.ParsePlatform(runtime.GOOS + "/" + runtime.GOARCH)
	if err != nil {
		t.Fatalf("the host is not a release platform: %v", err)
	}
	dir := dist(t)
	manifests := generate(t, release.DownloadBase)
	krewRoot, home := t.TempDir(), t.TempDir()
	kubectl := tool(t, "kubectl")
	env := []string{
		"HOME=" + home,
		"KREW_ROOT=" + krewRoot,
		"KREW_NO_UPGRADE_CHECK=1",
		"PATH=" + toolPath(t, filepath.Join(krewRoot, "bin")),
	}
	wantCommit := distCommit
	subcommands := map[string][]string{
		"openmcp": {"join", "unjoin", "clusters", "get", "status", "check", "version"},
		"mcks":    {"nodes", "summary", "place", "version"},
	}
	for _, pl := range release.Plugins {
		// --archive skips the download, not the sha256 check.
		manifest := filepath.Join(manifests, pl.Name+".yaml")
		stdout, stderr := runBoth(t, env, kubectl, "krew", "install", "--manifest="+manifest, "--archive="+filepath.Join(dir, pl.Archive(host)))
		out := stdout + stderr // krew reports on stderr
		if !strings.Contains(out, "Installed plugin: "+pl.Name) {
			t.Errorf("krew install %s printed:\n%s", pl.Name, out)
		}
		if !strings.Contains(out, "kubectl_complete-"+pl.Name) {
			t.Errorf("krew install %s did not print the caveats about completion:\n%s", pl.Name, out)
		}

		var v versionInfo
		out = run(t, env, kubectl, pl.Name, "version", "-o", "json")
		if err := json.Unmarshal([]byte(out), &v); err != nil {
			t.Fatalf("kubectl %s version -o json: %v\n%s", pl.Name, err, out)
		}
		if v.Version != testVersion || v.GitCommit != wantCommit || v.Platform != host.String() {
			t.Errorf("kubectl %s version = %+v, want version %s, commit %s, platform %s", pl.Name, v, testVersion, wantCommit, host)
		}
		if want := distTime.Format(time.RFC3339); v.BuildDate != want {
			t.Errorf("kubectl %s version: build date %s, want the commit time %s", pl.Name, v.BuildDate, want)
		}

		// Follow the caveats to the letter: the line that copies the helper.
		m := readManifest(t, manifest)
		var cp string
		for _, l := range strings.Split(m.Spec.Caveats, "\n") {
			if l = strings.TrimSpace(l); strings.HasPrefix(l, "cp ") {
				cp = l
			}
		}
		if cp == "" {
			t.Fatalf("%s caveats have no cp line to set up completion:\n%s", pl.Name, m.Spec.Caveats)
		}
		run(t, env, "/bin/sh", "-c", cp)

		// What the shell asks kubectl for on `kubectl <plugin> <TAB>`.
		got := completions(run(t, env, kubectl, "__complete", pl.Name, ""))
		for _, want := range subcommands[pl.Name] {
			if !slices.Contains(got, want) {
				t.Errorf("kubectl __complete %s \"\" = %q, want %s among them", pl.Name, got, want)
			}
		}
		got = completions(run(t, env, kubectl, "__complete", pl.Name, "ver"))
		if !slices.Equal(got, []string{"version"}) {
			t.Errorf("kubectl __complete %s ver = %q, want [version]", pl.Name, got)
		}
		// And the helper on its own, as kubectl runs it.
		got = completions(run(t, env, filepath.Join(krewRoot, "bin", "kubectl_complete-"+pl.Name), ""))
		if !slices.Contains(got, "version") {
			t.Errorf("kubectl_complete-%s \"\" = %q, want version among them", pl.Name, got)
		}
	}

	// `kubectl krew list` needs the krew index, which is not reachable
	// here; its receipts are what it would list.
	for _, pl := range release.Plugins {
		if _, err := os.Stat(filepath.Join(krewRoot, "receipts", pl.Name+".yaml")); err != nil {
			t.Errorf("krew has no receipt for %s, so it could not upgrade or uninstall it: %v", pl.Name, err)
		}
	}
	out := run(t, env, kubectl, "plugin", "list", "--name-only")
	for _, pl := range release.Plugins {
		if !strings.Contains(out, pl.Command()) {
			t.Errorf("kubectl plugin list does not find %s:\n%s", pl.Command(), out)
		}
	}
}
