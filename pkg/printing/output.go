package printing

import (
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// FailedClustersAnnotation, on the List that -o json|yaml prints, names the
// selected clusters that did not answer and why, as a JSON array of
// {"cluster", "reason"}: read it with
//
//	jq '.metadata.annotations["openmcp.k8s.io/failed-clusters"] | fromjson'
const FailedClustersAnnotation = "openmcp.k8s.io/failed-clusters"

// Failure is one selected cluster that did not answer.
type Failure struct {
	Cluster string `json:"cluster"`
	Reason  string `json:"reason"`
}

// Output is how a command prints what it read from its clusters: the one
// place that reads -o, prints a Table (sorted, wide, without headers, made
// safe for a terminal), prints one List of every cluster's objects with
// their cluster annotation, or prints CLUSTER/TYPE/NAME lines. Print flags
// are read, never changed.
type Output struct {
	Format    string // "", "wide", "json", "yaml", "name", "jsonpath=...", ...
	NoHeaders bool
	SortBy    string
	// ToPrinter makes the printer of a non-table format.
	ToPrinter func() (printers.ResourcePrinter, error)
}

// OutputOf reads kubectl's PrintFlags (those of kubectl get).
func OutputOf(p *get.PrintFlags) Output {
	o := Output{ToPrinter: p.ToPrinter}
	if p.OutputFormat != nil {
		o.Format = *p.OutputFormat
	}
	if h := p.HumanReadableFlags; h != nil {
		o.NoHeaders = h.NoHeaders
		if h.SortBy != nil {
			o.SortBy = *h.SortBy
		}
	}
	return o
}

// OutputOfGeneric reads cli-runtime's PrintFlags; tables are the command's
// own, so --no-headers and --sort-by come from the command's flags.
func OutputOfGeneric(p *genericclioptions.PrintFlags, noHeaders bool, sortBy string) Output {
	o := Output{ToPrinter: p.ToPrinter, NoHeaders: noHeaders, SortBy: sortBy}
	if p.OutputFormat != nil {
		o.Format = *p.OutputFormat
	}
	return o
}

// Table reports whether the format is a table ("" or wide).
func (o Output) Table() bool { return o.Format == "" || o.Format == "wide" }

// Structured reports whether the format prints whole objects as one
// document (json, yaml), where failures are carried in the List.
func (o Output) Structured() bool { return o.Format == "json" || o.Format == "yaml" }

// PrintTable prints a table: cells made safe for a terminal, sorted by
// --sort-by (a JSONPath over the rows' objects, or a column name), wide
// columns only with -o wide.
func (o Output) PrintTable(w io.Writer, t *metav1.Table) error {
	if o.SortBy != "" {
		if err := SortTable(t, o.SortBy); err != nil {
			return err
		}
	}
	termsafe.Table(t)
	return printers.NewTablePrinter(printers.PrintOptions{Wide: o.Format == "wide", NoHeaders: o.NoHeaders}).PrintObj(t, w)
}

// SortTable sorts a table's rows by a JSONPath over the rows' objects (as
// kubectl get --sort-by), or, for tables whose rows have no object, by the
// column whose name matches (case-insensitive, "{.name}" or "name").
func SortTable(t *metav1.Table, sortBy string) error {
	hasObjects := len(t.Rows) > 0 && t.Rows[0].Object.Object != nil || len(t.Rows) > 0 && len(t.Rows[0].Object.Raw) > 0
	if hasObjects {
		sorter, err := get.NewTableSorter(t, sortBy)
		if err != nil {
			return err
		}
		return sorter.Sort()
	}
	col := strings.Trim(strings.TrimPrefix(strings.TrimSuffix(sortBy, "}"), "{"), ".")
	idx := -1
	for i, c := range t.ColumnDefinitions {
		if strings.EqualFold(c.Name, col) || strings.EqualFold(strings.ReplaceAll(c.Name, " ", ""), col) {
			idx = i
		}
	}
	if idx < 0 {
		names := make([]string, len(t.ColumnDefinitions))
		for i, c := range t.ColumnDefinitions {
			names[i] = strings.ToLower(c.Name)
		}
		return fmt.Errorf("invalid --sort-by %q: not a column of this table (columns: %s)", sortBy, strings.Join(names, ", "))
	}
	sortRowsByCell(t.Rows, idx)
	return nil
}

// PrintList prints every cluster's objects as one v1 List (MergeList), with
// the clusters that failed in FailedClustersAnnotation, through the -o
// printer (json, yaml, jsonpath, go-template, custom-columns).
func (o Output) PrintList(w io.Writer, parts []ClusterObjects, failed []Failure) error {
	printer, err := o.ToPrinter()
	if err != nil {
		return err
	}
	list := MergeList(parts)
	if len(failed) > 0 {
		b, err := json.Marshal(failed)
		if err != nil {
			return err
		}
		_ = unstructured.SetNestedField(list.Object, string(b), "metadata", "annotations", FailedClustersAnnotation)
	}
	return printer.PrintObj(list, w)
}

// PrintNames prints CLUSTER/TYPE/NAME, one line per object (-o name).
func (o Output) PrintNames(w io.Writer, parts []ClusterObjects) error {
	printer, err := o.ToPrinter()
	if err != nil {
		return err
	}
	for _, p := range parts {
		for _, it := range p.Items {
			if err := printer.PrintObj(it, &PrefixWriter{W: w, Prefix: p.Cluster + "/"}); err != nil {
				return err
			}
		}
	}
	return nil
}

// PrefixWriter puts a prefix before each line written through it, and makes
// the line safe for a terminal (a name from a member that is not a real
// apiserver can hold anything).
type PrefixWriter struct {
	W      io.Writer
	Prefix string
}

func (p *PrefixWriter) Write(b []byte) (int, error) {
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if l == "" {
			continue
		}
		line, nl := strings.CutSuffix(l, "\n")
		l = termsafe.String(p.Prefix + line)
		if nl {
			l += "\n"
		}
		if _, err := io.WriteString(p.W, l); err != nil {
			return 0, err
		}
	}
	return len(b), nil
}

// sortRowsByCell orders rows by one cell: as numbers or quantities (10,
// 250m, 2Gi) when both are, else as text; ties keep their order.
func sortRowsByCell(rows []metav1.TableRow, idx int) {
	cell := func(r metav1.TableRow) any {
		if idx < len(r.Cells) {
			return r.Cells[idx]
		}
		return nil
	}
	sort.SliceStable(rows, func(i, j int) bool {
		a, b := cell(rows[i]), cell(rows[j])
		if x, ok := number(a); ok {
			if y, ok := number(b); ok {
				return x < y
			}
		}
		return fmt.Sprint(a) < fmt.Sprint(b)
	})
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case int32:
		return float64(n), true
	case int64:
		return float64(n), true
	case float64:
		return n, true
	case string:
		if q, err := resource.ParseQuantity(strings.TrimSuffix(n, "%")); err == nil {
			return q.AsApproximateFloat64(), true
		}
	}
	return 0, false
}
