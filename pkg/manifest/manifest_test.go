package manifest

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func parse(t *testing.T, src string) []Document {
	t.Helper()
	docs, err := ParseManifest("app.yaml", strings.NewReader(src))
	if err != nil {
		t.Fatalf("ParseManifest: %v", err)
	}
	return docs
}

func TestParseManifestCountsDocumentsAsWritten(t *testing.T) {
	docs := parse(t, `---
# a comment-only document does not count
---
apiVersion: v1
kind: ConfigMap
metadata: {name: one}
---
apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: two}
- apiVersion: v1
  kind: ConfigMap
  metadata: {name: three}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: four}
`)
	want := []string{
		"app.yaml, document 1",
		"app.yaml, document 2, item 1",
		"app.yaml, document 2, item 2",
		"app.yaml, document 3",
	}
	if len(docs) != len(want) {
		t.Fatalf("got %d documents, want %d", len(docs), len(want))
	}
	for i, d := range docs {
		if d.Where() != want[i] {
			t.Errorf("document %d: Where() = %q, want %q", i, d.Where(), want[i])
		}
	}
	if docs[3].Object.GetName() != "four" {
		t.Errorf("last object %q", docs[3].Object.GetName())
	}
}

func TestParseManifestJSONStream(t *testing.T) {
	docs := parse(t, `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}
{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"b"},"data":{"n":"1"}}`)
	if len(docs) != 2 || docs[1].Object.GetName() != "b" || docs[1].Index != 2 {
		t.Fatalf("got %+v", docs)
	}
}

func TestParseManifestErrorsNameTheDocument(t *testing.T) {
	_, err := ParseManifest("bad.yaml", strings.NewReader("apiVersion: v1\nkind: ConfigMap\n---\nkey: [unclosed\n"))
	if err == nil || !strings.HasPrefix(err.Error(), "bad.yaml, document 2: invalid YAML") {
		t.Fatalf("err = %v", err)
	}
	_, err = ParseManifest("-", strings.NewReader("- a\n- b\n"))
	if err == nil || !strings.Contains(err.Error(), "<stdin>, document 1: not an object") {
		t.Fatalf("err = %v", err)
	}
}

func TestReadManifestsDirectory(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cm := func(name string) string {
		return "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: " + name + "\n"
	}
	write("b.yaml", cm("b"))
	write("a.json", `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"a"}}`)
	write("cr.yaml.backup", cm("backup"))
	write("README.md", "# not a manifest")
	write("sub/c.yml", cm("c"))

	names := func(docs []Document) string {
		var n []string
		for _, d := range docs {
			n = append(n, d.Object.GetName())
		}
		return strings.Join(n, ",")
	}
	docs, err := ReadManifests([]string{dir}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(docs); got != "a,b" {
		t.Errorf("flat read = %s, want a,b (sorted; no backup, README or subdirectory)", got)
	}
	docs, err = ReadManifests([]string{dir}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	if got := names(docs); got != "a,b,c" {
		t.Errorf("-R read = %s, want a,b,c", got)
	}
	// A file named explicitly is read whatever its extension.
	docs, err = ReadManifests([]string{filepath.Join(dir, "cr.yaml.backup")}, false, nil)
	if err != nil || names(docs) != "backup" {
		t.Errorf("explicit file: %v %s", err, names(docs))
	}
	if _, err := ReadManifests([]string{filepath.Join(dir, "nope")}, false, nil); err == nil || !strings.Contains(err.Error(), "does not exist") {
		t.Errorf("missing path: %v", err)
	}
	empty := t.TempDir()
	if _, err := ReadManifests([]string{empty}, false, nil); err == nil || !strings.Contains(err.Error(), "-R") {
		t.Errorf("empty directory: %v", err)
	}
	if _, err := ReadManifests([]string{"-", "-"}, false, strings.NewReader(cm("x"))); err == nil {
		t.Error("stdin twice must be an error")
	}
	docs, err = ReadManifests([]string{"-"}, false, strings.NewReader(cm("x")))
	if err != nil || names(docs) != "x" || docs[0].Where() != "<stdin>, document 1" {
		t.Errorf("stdin: %v %+v", err, docs)
	}
}
