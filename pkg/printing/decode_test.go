package printing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"reflect"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/printers"
)

// serverTable is a pod Table as an apiserver sends it, decoded the way the
// resource builder decodes it (unstructured).
func serverTable(t testing.TB, rows int, withObjects bool) *unstructured.Unstructured {
	t.Helper()
	table := map[string]any{
		"kind": "Table", "apiVersion": "meta.k8s.io/v1",
		"metadata": map[string]any{"resourceVersion": "1040", "continue": "abc"},
		"columnDefinitions": []any{
			map[string]any{"name": "Name", "type": "string", "format": "name", "description": "Name must be unique.", "priority": 0},
			map[string]any{"name": "Ready", "type": "string", "format": "", "description": "The aggregate readiness state.", "priority": 0},
			map[string]any{"name": "Restarts", "type": "string", "format": "", "description": "Restarts.", "priority": 0},
			map[string]any{"name": "IP", "type": "string", "format": "", "description": "Pod IP.", "priority": 1},
		},
	}
	var rs []any
	for i := range rows {
		r := map[string]any{"cells": []any{fmt.Sprintf("web-%05d", i), "1/1", int64(i % 3), "10.0.0.1"}}
		if i == 0 {
			r["conditions"] = []any{map[string]any{"type": "Completed", "status": "True", "reason": "Done", "message": "m"}}
		}
		if withObjects {
			r["object"] = map[string]any{
				"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1",
				"metadata": map[string]any{
					"name": fmt.Sprintf("web-%05d", i), "namespace": "shop", "uid": "u", "resourceVersion": "7",
					"labels":        map[string]any{"app": "web", "tier": "frontend"},
					"annotations":   map[string]any{"kubectl.kubernetes.io/last-applied-configuration": "{...}"},
					"managedFields": []any{map[string]any{"manager": "kubectl", "fieldsV1": map[string]any{"f:metadata": map[string]any{}}}},
				},
			}
		}
		rs = append(rs, r)
	}
	table["rows"] = rs
	// Through JSON, so the values have the types a real decode gives them.
	b, err := json.Marshal(table)
	if err != nil {
		t.Fatal(err)
	}
	obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, b)
	if err != nil {
		t.Fatal(err)
	}
	return obj.(*unstructured.Unstructured)
}

// decodeByConverter is how DecodeTable used to work, and how kubectl's get
// decodes a Table: the generic converter, then each row's object from JSON.
func decodeByConverter(t testing.TB, u *unstructured.Unstructured) *metav1.Table {
	t.Helper()
	table := &metav1.Table{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, table); err != nil {
		t.Fatal(err)
	}
	for i := range table.Rows {
		row := &table.Rows[i]
		if row.Object.Raw == nil {
			continue
		}
		obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, row.Object.Raw)
		if err != nil {
			t.Fatal(err)
		}
		row.Object = runtime.RawExtension{Object: obj}
	}
	return table
}

func TestDecodeTableGivesWhatTheConverterGives(t *testing.T) {
	for _, withObjects := range []bool{true, false} {
		want := decodeByConverter(t, serverTable(t, 3, withObjects))
		got, err := DecodeTable(serverTable(t, 3, withObjects))
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("objects %v: DecodeTable =\n%#v\nwant\n%#v", withObjects, got, want)
		}
		if got.ResourceVersion != "1040" || len(got.ColumnDefinitions) != 4 || got.ColumnDefinitions[3].Priority != 1 {
			t.Errorf("list metadata or columns lost: %+v %+v", got.ListMeta, got.ColumnDefinitions)
		}
		if got.Rows[0].Conditions[0].Type != metav1.RowCompleted {
			t.Errorf("row condition lost: %+v", got.Rows[0].Conditions)
		}
	}
}

func TestDecodeTableRejectsWhatIsNoTable(t *testing.T) {
	list := &unstructured.Unstructured{Object: map[string]any{"kind": "PodList", "apiVersion": "v1"}}
	if _, err := DecodeTable(list); err == nil {
		t.Fatal("a PodList decoded as a Table")
	}
	bad := serverTable(t, 1, false)
	bad.Object["rows"] = []any{"not a row"}
	if _, err := DecodeTable(bad); err == nil {
		t.Fatal("a row that is a string decoded")
	}
}

func TestCompactRowsKeepsWhatPrintersReadAndDropsTheRest(t *testing.T) {
	table, err := DecodeTable(serverTable(t, 2, true))
	if err != nil {
		t.Fatal(err)
	}
	print := func(tab *metav1.Table) string {
		var out bytes.Buffer
		p := printers.NewTablePrinter(printers.PrintOptions{WithNamespace: true, ShowLabels: true, ColumnLabels: []string{"app"}})
		if err := p.PrintObj(tab.DeepCopy(), &out); err != nil { // the printer adds columns in place
			t.Fatal(err)
		}
		return out.String()
	}
	before := print(table)
	CompactRows(table)
	if after := print(table); after != before {
		t.Errorf("compacting changed what -A --show-labels -L app prints:\n%s\nwas:\n%s", after, before)
	}
	for _, row := range table.Rows {
		m, err := meta.Accessor(row.Object.Object)
		if err != nil || m.GetNamespace() != "shop" || m.GetName() == "" || m.GetLabels()["app"] != "web" {
			t.Errorf("namespace, name or labels lost: %v (%v)", row.Object.Object, err)
			continue
		}
		if m.GetManagedFields() != nil || m.GetAnnotations() != nil || m.GetUID() != "" {
			t.Errorf("more than printers read was kept: %v", row.Object.Object)
		}
	}
	// Rows without objects (includeObject=None) are left alone.
	bare, err := DecodeTable(serverTable(t, 2, false))
	if err != nil {
		t.Fatal(err)
	}
	CompactRows(bare)
	if bare.Rows[1].Cells[0] != "web-00001" {
		t.Errorf("cells changed: %v", bare.Rows[1].Cells)
	}
}
