package printing

import (
	"bytes"
	"fmt"
	"math/rand"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

func alignedBoth(t *testing.T, text string, writes int) (got, want string) {
	t.Helper()
	var a, b bytes.Buffer
	aw := NewAlignedWriter(&a, false)
	// In pieces, as a printer writes: cells and lines split anywhere.
	step := max(1, len(text)/max(writes, 1))
	for i := 0; i < len(text); i += step {
		aw.Write([]byte(text[i:min(i+step, len(text))]))
	}
	if err := aw.Flush(); err != nil {
		t.Fatal(err)
	}
	tw := printers.GetNewTabWriter(&b)
	tw.Write([]byte(text))
	tw.Flush()
	return a.String(), b.String()
}

// AlignedWriter prints what kubectl's tab writer prints, byte for byte.
func TestAlignedWriterAlignsAsKubectlsTabWriter(t *testing.T) {
	rng := rand.New(rand.NewSource(1))
	words := []string{"", "a", "web-00-5f7b9c4d00-00000", "cluster1", "1/1", "Running", "0", "5m3s", "élan", "日本語", "<none>", "^[]0;x^G"}
	for round := range 300 {
		cols := 1 + rng.Intn(7)
		lines := 1 + rng.Intn(20)
		var sb strings.Builder
		for l := range lines {
			n := cols
			if round%5 == 0 && rng.Intn(4) == 0 {
				n = 1 + rng.Intn(7) // lines of another length: the tab writer's own blocks
			}
			for c := range n {
				if c > 0 {
					sb.WriteByte('\t')
				}
				sb.WriteString(words[rng.Intn(len(words))])
			}
			if l < lines-1 || round%7 != 0 { // now and then a last line without newline
				sb.WriteByte('\n')
			}
		}
		got, want := alignedBoth(t, sb.String(), 1+rng.Intn(10))
		if got != want {
			t.Fatalf("round %d, input %q:\ngot\n%s\nwant\n%s", round, sb.String(), got, want)
		}
	}
}

func BenchmarkAlignedWriter(b *testing.B) {
	var sb strings.Builder
	for i := range 5000 {
		fmt.Fprintf(&sb, "web-00-5f7b9c4d00-%05d\tcluster%d\t1/1\tRunning\t0\t5m\n", i, i%64)
	}
	text := []byte(sb.String())
	b.Run("tabwriter", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			tw := printers.GetNewTabWriter(&bytes.Buffer{})
			tw.Write(text)
			tw.Flush()
		}
	})
	b.Run("aligned", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			aw := NewAlignedWriter(&bytes.Buffer{}, false)
			aw.Write(text)
			aw.Flush()
		}
	})
}

// A cell the printer would cut or escape leaves the table to the printer.
func TestAddTableLeavesSpecialCellsToThePrinter(t *testing.T) {
	var out bytes.Buffer
	aw := NewAlignedWriter(&out, false)
	table := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Note"}}, Rows: []metav1.TableRow{{Cells: []any{"a", "two\nlines"}}}}
	if n, ok := aw.AddTable(table, false, true); ok || n != 0 {
		t.Fatalf("AddTable took a cell with a line break: %d rows", n)
	}
	table.Rows[0].Cells[1] = "one line"
	if _, ok := aw.AddTable(table, false, false); !ok {
		t.Fatal("AddTable refused a plain table")
	}
	aw.Flush()
	if out.String() != "a     one line\n" { // six wide: the tab writer's least
		t.Fatalf("kept %q: want only the row, aligned", out.String())
	}
}
