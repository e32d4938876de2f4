package reference

import (
	"os"
	"path/filepath"
	"testing"
)

// The committed reference in docs/commands is what the commands say now.
func TestDocsAreUpToDate(t *testing.T) {
	dir := t.TempDir()
	if err := Write(dir); err != nil {
		t.Fatal(err)
	}
	committed := filepath.Join("..", "..", "..", "docs", "commands")
	files, _ := filepath.Glob(filepath.Join(dir, "*.md"))
	if len(files) < 20 {
		t.Fatalf("only %d reference pages generated", len(files))
	}
	for _, f := range files {
		want, _ := os.ReadFile(f)
		got, err := os.ReadFile(filepath.Join(committed, filepath.Base(f)))
		if err != nil || string(got) != string(want) {
			t.Errorf("docs/commands/%s is stale or missing: run `go run ./hack/gendocs`", filepath.Base(f))
		}
	}
	old, _ := filepath.Glob(filepath.Join(committed, "*.md"))
	if len(old) != len(files) {
		t.Errorf("docs/commands has %d pages, the commands make %d: run `go run ./hack/gendocs` after removing the folder", len(old), len(files))
	}
}
