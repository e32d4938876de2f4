package printing

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/kubectl/pkg/cmd/get"
)

func listParts(clusters, perCluster int) []ClusterObjects {
	long := strings.Repeat("a long annotation value with spaces that wraps in YAML ", 4)
	var parts []ClusterObjects
	for c := range clusters {
		p := ClusterObjects{Cluster: fmt.Sprintf("cluster%d", c+1)}
		for i := perCluster - 1; i >= 0; i-- { // out of order: both sort
			p.Items = append(p.Items, &unstructured.Unstructured{Object: map[string]any{
				"apiVersion": "v1", "kind": "ConfigMap",
				"metadata": map[string]any{"name": fmt.Sprintf("cm-%d", i), "namespace": "shop", "annotations": map[string]any{"note": long}},
				"data":     map[string]any{"script": "#!/bin/sh\necho <hi> & bye\n", "n": "1"},
			}})
		}
		parts = append(parts, p)
	}
	return parts
}

// The streamed List is, byte for byte, the List printed at once.
func TestListWriterWritesWhatPrintListPrints(t *testing.T) {
	for _, format := range []string{"json", "yaml"} {
		for _, tc := range []struct {
			clusters, items int
			failed          []Failure
		}{{0, 0, nil}, {2, 0, nil}, {1, 1, nil}, {3, 4, nil}, {2, 2, []Failure{{Cluster: "cluster9", Reason: "timed out"}}}, {0, 0, []Failure{{Cluster: "c", Reason: "x"}}}} {
			parts := listParts(tc.clusters, tc.items)
			flags := get.NewGetPrintFlags()
			flags.OutputFormat = &format
			var want bytes.Buffer
			if err := OutputOf(flags).PrintList(&want, listParts(tc.clusters, tc.items), tc.failed); err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			lw, err := NewListWriter(&got, format)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range parts {
				if err := lw.Add(p); err != nil {
					t.Fatal(err)
				}
			}
			if err := lw.Close(tc.failed); err != nil {
				t.Fatal(err)
			}
			if got.String() != want.String() {
				t.Fatalf("-o %s, %d clusters x %d items, failed %v: streamed\n%s\nwant\n%s", format, tc.clusters, tc.items, tc.failed, got.String(), want.String())
			}
		}
	}
}
