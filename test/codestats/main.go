// Command codestats prints the figures issue 16 asks to compare before and
// after a refactor: non-test Go lines per package and the largest functions.
//
//	go run ./test/codestats [-top 15] [DIR...]   (default: cmd pkg plugins)
package main

import (
	"flag"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"
)

func main() {
	top := flag.Int("top", 15, "how many of the largest functions to list")
	flag.Parse()
	roots := flag.Args()
	if len(roots) == 0 {
		roots = []string{"cmd", "pkg", "plugins"}
	}
	type fn struct {
		name  string
		lines int
	}
	pkgLines := map[string]int{}
	var fns []fn
	total := 0
	fset := token.NewFileSet()
	for _, root := range roots {
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
				return err
			}
			src, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			n := strings.Count(string(src), "\n")
			pkgLines[filepath.Dir(path)] += n
			total += n
			f, err := parser.ParseFile(fset, path, src, 0)
			if err != nil {
				return err
			}
			for _, decl := range f.Decls {
				fd, ok := decl.(*ast.FuncDecl)
				if !ok || fd.Body == nil {
					continue
				}
				name := fd.Name.Name
				if fd.Recv != nil && len(fd.Recv.List) == 1 {
					t := fd.Recv.List[0].Type
					if s, ok := t.(*ast.StarExpr); ok {
						t = s.X
					}
					if ix, ok := t.(*ast.IndexExpr); ok {
						t = ix.X
					}
					if id, ok := t.(*ast.Ident); ok {
						name = id.Name + "." + name
					}
				}
				lines := fset.Position(fd.End()).Line - fset.Position(fd.Pos()).Line + 1
				fns = append(fns, fn{filepath.Dir(path) + " " + name, lines})
			}
			return nil
		})
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	pkgs := make([]string, 0, len(pkgLines))
	for p := range pkgLines {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	fmt.Println("| package | lines (non-test) |\n|---|---|")
	for _, p := range pkgs {
		fmt.Printf("| %s | %d |\n", p, pkgLines[p])
	}
	fmt.Printf("| total (%d packages) | %d |\n\n", len(pkgs), total)
	sort.Slice(fns, func(i, j int) bool { return fns[i].lines > fns[j].lines })
	fmt.Println("| largest functions | lines |\n|---|---|")
	for i := 0; i < *top && i < len(fns); i++ {
		fmt.Printf("| %s | %d |\n", fns[i].name, fns[i].lines)
	}
}
