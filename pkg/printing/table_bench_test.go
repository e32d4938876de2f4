package printing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// BenchmarkMergeTables merges 64 clusters' pod tables of 500 rows (without
// row objects, as get asks for them in one namespace): the work left after
// every cluster answered.
func BenchmarkMergeTables(b *testing.B) {
	cols := []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Ready"}, {Name: "Status"}, {Name: "Restarts"}, {Name: "Age"}}
	parts := make([]ClusterTable, 64)
	for c := range parts {
		t := &metav1.Table{ColumnDefinitions: cols}
		for i := range 500 {
			// Reverse order, so the sort has work to do.
			t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{fmt.Sprintf("web-%05d", 500-i), "1/1", "Running", int64(0), "5d"}})
		}
		parts[c] = ClusterTable{Cluster: fmt.Sprintf("cluster%d", 64-c), Table: t}
	}
	b.ReportAllocs()
	for b.Loop() {
		if m := MergeTables(parts); len(m.Rows) != 64*500 {
			b.Fatalf("%d rows", len(m.Rows))
		}
	}
}

// BenchmarkDecodeTable decodes one cluster's 500-row pod Table with row
// metadata (-A), as it arrives from the resource builder.
func BenchmarkDecodeTable(b *testing.B) {
	tables := make([]*metav1.Table, 0)
	b.ReportAllocs()
	for b.Loop() {
		b.StopTimer()
		u := serverTable(b, 500, true) // DecodeTable reuses the maps: a fresh copy each time
		b.StartTimer()
		t, err := DecodeTable(u)
		if err != nil {
			b.Fatal(err)
		}
		tables = append(tables[:0], t)
	}
}

// BenchmarkStripUnprinted streams one cluster's 500-row pod Table with row
// metadata (-A) through StripUnprinted, each row carrying managed fields of
// the size a Deployment's pod has (about 5 kB), as the apiserver sends it.
func BenchmarkStripUnprinted(b *testing.B) {
	fields := map[string]any{}
	for i := range 60 {
		fields[fmt.Sprintf("f:spec.containers[%d].field-with-a-long-name", i)] = map[string]any{"f:value": map[string]any{}}
	}
	var rows []any
	for i := range 500 {
		rows = append(rows, map[string]any{
			"cells": []any{fmt.Sprintf("web-%05d", i), "1/1", "Running", 0, "5d"},
			"object": map[string]any{"kind": "PartialObjectMetadata", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{
				"name": fmt.Sprintf("web-%05d", i), "namespace": "bench", "labels": map[string]any{"app": "web"},
				"managedFields": []any{map[string]any{"manager": "kube-controller-manager", "operation": "Update", "fieldsType": "FieldsV1", "fieldsV1": fields}},
			}},
		})
	}
	doc, err := json.Marshal(map[string]any{"kind": "Table", "apiVersion": "meta.k8s.io/v1", "rows": rows})
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(doc)))
	b.ReportAllocs()
	for b.Loop() {
		n, err := io.Copy(io.Discard, StripUnprinted(bytes.NewReader(doc)))
		if err != nil || n > int64(len(doc))/10 {
			b.Fatalf("%d of %d bytes left, %v", n, len(doc), err)
		}
	}
}
