package printing

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func deployTable(rows ...[]any) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Ready"}, {Name: "Up-to-date"}, {Name: "Available"}, {Name: "Age"}}}
	for _, r := range rows {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: r})
	}
	return t
}

func TestGroupTablesSumsReplicasPerRegion(t *testing.T) {
	parts := []ClusterTable{
		{Cluster: "c1", Table: deployTable([]any{"web", "3/5", int64(5), int64(3), "1m"}, []any{"api", "1/1", int64(1), int64(1), "1m"})},
		{Cluster: "c2", Table: deployTable([]any{"web", "2/2", int64(2), int64(2), "1m"})},
		{Cluster: "c3", Table: deployTable([]any{"web", "0/4", int64(4), int64(0), "1m"})},
	}
	region := map[string]string{"c1": "AS", "c2": "AS", "c3": "EU"}
	got := GroupTables(parts, "Region", func(c string) string { return region[c] })
	want := [][]any{
		{"AS", int64(2), int64(3), int64(8), int64(6), int64(6)},
		{"EU", int64(1), int64(1), int64(4), int64(0), int64(0)},
		{"TOTAL", int64(3), int64(4), int64(12), int64(6), int64(6)},
	}
	if len(got.Rows) != len(want) {
		t.Fatalf("rows %v", got.Rows)
	}
	for i, w := range want {
		for j, cell := range w {
			if got.Rows[i].Cells[j] != cell {
				t.Errorf("row %d cell %d = %v, want %v (row %v)", i, j, got.Rows[i].Cells[j], cell, got.Rows[i].Cells)
			}
		}
	}
	if n := len(got.ColumnDefinitions); n != 6 {
		t.Errorf("%d columns, want REGION CLUSTERS OBJECTS DESIRED READY AVAILABLE", n)
	}
}

func TestGroupTablesOfNonWorkloadsCountsObjectsOnly(t *testing.T) {
	svc := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Type"}}, Rows: []metav1.TableRow{{Cells: []any{"web", "ClusterIP"}}}}
	got := GroupTables([]ClusterTable{{Cluster: "c1", Table: svc}, {Cluster: "c2", Table: svc}}, "Cluster", func(c string) string { return c })
	if len(got.ColumnDefinitions) != 3 || len(got.Rows) != 3 || got.Rows[2].Cells[2] != int64(2) {
		t.Errorf("got %v / %v", got.ColumnDefinitions, got.Rows)
	}
}
