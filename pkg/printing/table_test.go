package printing

import (
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

func row(ns, name string, cells ...any) metav1.TableRow {
	obj := &unstructured.Unstructured{}
	obj.SetNamespace(ns)
	obj.SetName(name)
	return metav1.TableRow{Cells: append([]any{name}, cells...), Object: runtime.RawExtension{Object: obj}}
}

func TestMergeTablesAddsClusterAfterNameAndOrdersRows(t *testing.T) {
	cols := []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Reference"}, {Name: "MaxPods"}}
	merged := MergeTables([]ClusterTable{
		{Cluster: "cluster2", Table: &metav1.Table{ColumnDefinitions: cols, Rows: []metav1.TableRow{row("b", "web", "Deployment/web", int64(7))}}},
		{Cluster: "cluster1", Table: &metav1.Table{ColumnDefinitions: cols, Rows: []metav1.TableRow{
			row("b", "web", "Deployment/web", int64(10)), row("a", "zeta", "Deployment/zeta", int64(3)),
		}}},
	})
	var names []string
	for _, c := range merged.ColumnDefinitions {
		names = append(names, c.Name)
	}
	if got := names; len(got) != 4 || got[0] != "Name" || got[1] != "Cluster" || got[2] != "Reference" {
		t.Fatalf("columns %v", got)
	}
	want := [][]any{{"zeta", "cluster1", "Deployment/zeta", int64(3)}, {"web", "cluster1", "Deployment/web", int64(10)}, {"web", "cluster2", "Deployment/web", int64(7)}}
	for i, w := range want {
		for j := range w {
			if merged.Rows[i].Cells[j] != w[j] {
				t.Fatalf("row %d = %v, want %v", i, merged.Rows[i].Cells, w)
			}
		}
	}
}

func TestMergeTablesLinesUpColumnsByName(t *testing.T) {
	// A member on another version may order or lack columns.
	a := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Ready"}, {Name: "Age"}}, Rows: []metav1.TableRow{row("", "x", "1/1", "5m")}}
	b := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Age"}}, Rows: []metav1.TableRow{row("", "y", "2m")}}
	m := MergeTables([]ClusterTable{{"c1", a}, {"c2", b}})
	if got := m.Rows[1].Cells; got[0] != "y" || got[1] != "c2" || got[2] != "<none>" || got[3] != "2m" {
		t.Fatalf("row of the member without Ready: %v", got)
	}
}

func TestMergeListAnnotatesEveryItem(t *testing.T) {
	item := func(name string) *unstructured.Unstructured {
		u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "v1", "kind": "Pod"}}
		u.SetName(name)
		return u
	}
	orig := item("a")
	list := MergeList([]ClusterObjects{{"c1", []*unstructured.Unstructured{item("b"), orig}}, {"c2", []*unstructured.Unstructured{item("a")}}})
	var got []string
	for _, it := range list.Items {
		got = append(got, it.GetAnnotations()[fleet.ClusterAnnotation]+"/"+it.GetName())
	}
	if len(got) != 3 || got[0] != "c1/a" || got[1] != "c1/b" || got[2] != "c2/a" {
		t.Fatalf("items %v", got)
	}
	if orig.GetAnnotations() != nil {
		t.Errorf("MergeList changed the caller's object")
	}
}
