// Package printing turns what several clusters answered into one output: a
// single server-side Table with a CLUSTER column, or a single List whose
// items say which cluster they came from.
package printing

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// ClusterColumn is the column the merged table adds.
const ClusterColumn = "Cluster"

// ClusterTable is one cluster's Table for one resource type.
type ClusterTable struct {
	Cluster string
	Table   *metav1.Table
}

// DecodeTable turns the unstructured Table an apiserver returns for
// `Accept: application/json;as=Table;v=v1;g=meta.k8s.io` into a metav1.Table,
// decoding each row's object (metadata) for namespaces and labels.
func DecodeTable(obj runtime.Object) (*metav1.Table, error) {
	if t, ok := obj.(*metav1.Table); ok {
		return t, nil
	}
	u, ok := obj.(*unstructured.Unstructured)
	if !ok || u.GetKind() != "Table" {
		return nil, fmt.Errorf("the server did not answer with a Table (got %T %s)", obj, obj.GetObjectKind().GroupVersionKind().Kind)
	}
	t := &metav1.Table{}
	if err := runtime.DefaultUnstructuredConverter.FromUnstructured(u.Object, t); err != nil {
		return nil, err
	}
	for i := range t.Rows {
		row := &t.Rows[i]
		if row.Object.Raw == nil || row.Object.Object != nil {
			continue
		}
		converted, err := runtime.Decode(unstructured.UnstructuredJSONScheme, row.Object.Raw)
		if err != nil {
			return nil, err
		}
		row.Object.Object = converted
	}
	return t, nil
}

// MergeTables makes one Table of several clusters' Tables of the same type:
// the columns of the first (others matched by name, so a member on another
// Kubernetes version still lines up), a CLUSTER column right after NAME, and
// rows ordered by cluster, namespace and name.
func MergeTables(parts []ClusterTable) *metav1.Table {
	merged := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	var cols []metav1.TableColumnDefinition
	for _, p := range parts {
		for _, c := range p.Table.ColumnDefinitions {
			if columnIndex(cols, c.Name) < 0 {
				cols = append(cols, c)
			}
		}
	}
	at := columnIndex(cols, "Name") + 1
	clusterCol := metav1.TableColumnDefinition{Name: ClusterColumn, Type: "string", Description: "The member cluster the object lives in."}
	merged.ColumnDefinitions = append(append(append([]metav1.TableColumnDefinition{}, cols[:at]...), clusterCol), cols[at:]...)

	type keyed struct {
		cluster, namespace, name string
		row                      metav1.TableRow
	}
	var rows []keyed
	for _, p := range parts {
		for _, r := range p.Table.Rows {
			cells := make([]any, 0, len(merged.ColumnDefinitions))
			for i, c := range cols {
				if i == at {
					cells = append(cells, p.Cluster)
				}
				if j := columnIndex(p.Table.ColumnDefinitions, c.Name); j >= 0 && j < len(r.Cells) {
					cells = append(cells, r.Cells[j])
				} else {
					cells = append(cells, "<none>")
				}
			}
			if at == len(cols) {
				cells = append(cells, p.Cluster)
			}
			ns, name := rowIdentity(r)
			rows = append(rows, keyed{p.Cluster, ns, name, metav1.TableRow{Cells: cells, Conditions: r.Conditions, Object: r.Object}})
		}
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := rows[i], rows[j]
		if a.cluster != b.cluster {
			return a.cluster < b.cluster
		}
		if a.namespace != b.namespace {
			return a.namespace < b.namespace
		}
		return a.name < b.name
	})
	for _, r := range rows {
		merged.Rows = append(merged.Rows, r.row)
	}
	return merged
}

func columnIndex(cols []metav1.TableColumnDefinition, name string) int {
	for i, c := range cols {
		if strings.EqualFold(c.Name, name) {
			return i
		}
	}
	return -1
}

func rowIdentity(r metav1.TableRow) (namespace, name string) {
	if r.Object.Object != nil {
		if m, err := meta.Accessor(r.Object.Object); err == nil {
			return m.GetNamespace(), m.GetName()
		}
	}
	if len(r.Cells) > 0 {
		name = fmt.Sprint(r.Cells[0])
	}
	return "", name
}

// ClusterObjects are one cluster's objects.
type ClusterObjects struct {
	Cluster string
	Items   []*unstructured.Unstructured
}

// MergeList makes one v1 List of every cluster's objects, ordered by cluster,
// namespace and name, each item annotated with the cluster it lives in
// (fleet.ClusterAnnotation), so -o json|yaml stays one parseable document.
func MergeList(parts []ClusterObjects) *unstructured.UnstructuredList {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	for _, p := range parts {
		items := append([]*unstructured.Unstructured{}, p.Items...)
		sort.SliceStable(items, func(i, j int) bool {
			if items[i].GetNamespace() != items[j].GetNamespace() {
				return items[i].GetNamespace() < items[j].GetNamespace()
			}
			return items[i].GetName() < items[j].GetName()
		})
		for _, it := range items {
			it = it.DeepCopy()
			ann := it.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			ann[fleet.ClusterAnnotation] = p.Cluster
			it.SetAnnotations(ann)
			list.Items = append(list.Items, *it)
		}
	}
	return list
}
