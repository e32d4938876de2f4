package reference

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
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

// docs/architecture.md stays true: every package it names in backquotes
// exists, and every package under pkg/ and plugins/ is named.
func TestArchitectureNamesRealPackages(t *testing.T) {
	root := filepath.Join("..", "..", "..")
	doc, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	named := map[string]bool{}
	for _, m := range regexp.MustCompile("`((?:pkg|plugins|cmd|test|hack)/[a-z0-9/_-]+)`").FindAllStringSubmatch(string(doc), -1) {
		named[m[1]] = true
		if st, err := os.Stat(filepath.Join(root, m[1])); err != nil || !st.IsDir() {
			t.Errorf("docs/architecture.md names %s, which is not a folder of the repository", m[1])
		}
	}
	for _, top := range []string{"pkg", "plugins"} {
		_ = filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil || !d.IsDir() || strings.Contains(p, "testdata") {
				return nil
			}
			if goFiles, _ := filepath.Glob(filepath.Join(p, "*.go")); len(goFiles) == 0 {
				return nil
			}
			rel, _ := filepath.Rel(root, p)
			if !named[filepath.ToSlash(rel)] && !strings.HasSuffix(rel, "mckstest") {
				t.Errorf("package %s is not in docs/architecture.md", rel)
			}
			return nil
		})
	}
}
