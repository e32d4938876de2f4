package printing

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestMergeTablesOrdersRowsWithoutObjectsByTheNameColumn(t *testing.T) {
	// includeObject=None: no metadata, and Name is not the first column.
	cols := []metav1.TableColumnDefinition{{Name: "Age"}, {Name: "Name"}}
	table := &metav1.Table{ColumnDefinitions: cols, Rows: []metav1.TableRow{
		{Cells: []any{"1m", "zeta"}}, {Cells: []any{"9m", "alpha"}},
	}}
	m := MergeTables([]ClusterTable{{"c1", table}})
	if m.Rows[0].Cells[1] != "alpha" || m.Rows[1].Cells[1] != "zeta" {
		t.Fatalf("rows %v, %v: want alpha before zeta", m.Rows[0].Cells, m.Rows[1].Cells)
	}
}

func TestMergeTablesKeepsServerOrderOfRowsWithoutAName(t *testing.T) {
	// Events have no Name column; the server lists them by name already.
	cols := []metav1.TableColumnDefinition{{Name: "Last Seen"}, {Name: "Reason"}}
	rows := []metav1.TableRow{{Cells: []any{"5m", "Pulled"}}, {Cells: []any{"1m", "Created"}}, {Cells: []any{"3m", "Started"}}}
	m := MergeTables([]ClusterTable{{"c2", &metav1.Table{ColumnDefinitions: cols, Rows: rows[2:]}}, {"c1", &metav1.Table{ColumnDefinitions: cols, Rows: rows[:2]}}})
	var got []any
	for _, r := range m.Rows {
		got = append(got, r.Cells[0], r.Cells[len(r.Cells)-1])
	}
	// No Name column: CLUSTER goes first; clusters in order, rows as sent.
	want := []any{"c1", "Pulled", "c1", "Created", "c2", "Started"}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("rows %v, want %v", got, want)
		}
	}
}

func TestMergedRowsDoNotShareCellCapacity(t *testing.T) {
	cols := []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Age"}}
	m := MergeTables([]ClusterTable{{"c1", &metav1.Table{ColumnDefinitions: cols, Rows: []metav1.TableRow{{Cells: []any{"a", "1m"}}, {Cells: []any{"b", "2m"}}}}}})
	// A printer adds label columns by appending to each row's cells.
	m.Rows[0].Cells = append(m.Rows[0].Cells, "app=web")
	if m.Rows[1].Cells[0] != "b" {
		t.Fatalf("appending to row 0 changed row 1: %v", m.Rows[1].Cells)
	}
}
