package mcks

import (
	"bytes"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/util/jsonpath"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// output is -o of the commands that change something (cluster create,
// machine add, label, place): kubectl's printers for json, yaml, name and
// templates; without -o the command prints its one-line report. The
// commands that list use listOutput.
type output struct {
	flags *genericclioptions.PrintFlags
}

// newOutput adds -o to cmd.
func newOutput(cmd *cobra.Command) *output {
	o := &output{flags: genericclioptions.NewPrintFlags("")}
	o.flags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = fmt.Sprintf("Output format. One of: (%s).", strings.Join(o.flags.AllowedFormats(), ", "))
	return o
}

func (o *output) format() string { return *o.flags.OutputFormat }

// Report reports whether no -o was given: the command prints its one-line report.
func (o *output) Report() bool { return o.format() == "" }

// Validate refuses an unknown -o, or a bad template, before anything is done.
func (o *output) Validate() error {
	f := o.format()
	if f == "" {
		return nil
	}
	_, err := o.flags.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return cli.Usagef("invalid output format %q: allowed values are %s", f, strings.Join(o.flags.AllowedFormats(), ", "))
	}
	if err != nil {
		return cli.Usagef("invalid -o %s: %v", f, err)
	}
	return nil
}

// Print prints an object, or each of items for -o name (kubectl's name
// printer takes no typed lists).
func (o *output) Print(w io.Writer, obj runtime.Object, items []runtime.Object) error {
	p, err := o.flags.ToPrinter()
	if err != nil {
		return err
	}
	if o.format() == "name" && items != nil {
		for _, it := range items {
			if err := p.PrintObj(it, w); err != nil {
				return err
			}
		}
		return nil
	}
	return p.PrintObj(obj, w)
}

// listOutput is the output of the commands that list (cluster list|get,
// machine list|get, nodes, pods): kubectl get's print flags, so -o
// wide|json|yaml|name|jsonpath|go-template|custom-columns, --no-headers and
// --sort-by behave as they do in kubectl get; --show-labels and -L too where
// the rows are Kubernetes objects. The table is a metav1.Table printed by
// cli-runtime's table printer, as kubectl get and kubectl openmcp print theirs.
type listOutput struct {
	flags *get.PrintFlags
}

// newListOutput adds kubectl get's output flags to cmd; kube offers the
// label flags, which read the labels of Kubernetes objects.
func newListOutput(cmd *cobra.Command, kube bool) *listOutput {
	f := get.NewGetPrintFlags()
	f.HumanReadableFlags.ShowKind = nil
	if !kube {
		f.HumanReadableFlags.ShowLabels = nil
		f.HumanReadableFlags.ColumnLabels = nil
	}
	f.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = fmt.Sprintf("Output format. One of: (%s).", strings.Join(f.AllowedFormats(), ", "))
	return &listOutput{flags: f}
}

func (o *listOutput) format() string { return *o.flags.OutputFormat }

// Table reports whether the output is a table (default or -o wide).
func (o *listOutput) Table() bool { return o.format() == "" || o.format() == "wide" }

func (o *listOutput) sortBy() string { return *o.flags.HumanReadableFlags.SortBy }

// WithNamespace adds kubectl's NAMESPACE column (-A), read from each row's object.
func (o *listOutput) WithNamespace() { _ = o.flags.EnsureWithNamespace() }

// Validate refuses an unknown -o, a bad template or a bad --sort-by before
// anything is read.
func (o *listOutput) Validate() error {
	_, err := o.flags.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		return cli.Usagef("invalid output format %q: allowed values are %s", o.format(), strings.Join(o.flags.AllowedFormats(), ", "))
	}
	if err != nil {
		return cli.Usagef("invalid -o %s: %v", o.format(), err)
	}
	if s := o.sortBy(); s != "" {
		field, err := get.RelaxedJSONPathExpression(s)
		if err == nil {
			err = jsonpath.New("sort-by").Parse(field)
		}
		if err != nil {
			return cli.Usagef("invalid --sort-by %q: want a JSONPath such as .metadata.name or '{.status.phase}': %v", s, err)
		}
	}
	return nil
}

// Sort orders items by --sort-by (a JSONPath on each object), in place, as
// kubectl get sorts what it prints as json, yaml or name.
func (o *listOutput) Sort(items []runtime.Object) error {
	if o.sortBy() == "" || len(items) == 0 {
		return nil
	}
	if _, err := get.SortObjects(nil, items, o.sortBy()); err != nil {
		return cli.Usagef("invalid --sort-by %q: %v", o.sortBy(), err)
	}
	return nil
}

// PrintObjects prints a list (or, for single, its one item) as -o says;
// -o name prints each item.
func (o *listOutput) PrintObjects(w io.Writer, list runtime.Object, items []runtime.Object, single bool) error {
	p, err := o.flags.ToPrinter()
	if err != nil {
		return err
	}
	if strings.HasPrefix(o.format(), "custom-columns") {
		// A table on a terminal: what the server said is shown, not obeyed.
		sw := &safeLines{w: w}
		defer sw.Flush()
		w = sw
	}
	switch {
	case o.format() == "name":
		for _, it := range items {
			if err := p.PrintObj(it, w); err != nil {
				return err
			}
		}
		return nil
	case single && len(items) == 1:
		return p.PrintObj(items[0], w)
	}
	return p.PrintObj(list, w)
}

// PrintTable sorts t by --sort-by (a JSONPath on each row's object, as
// kubectl get sorts), makes what the cells and objects say safe for a
// terminal, and prints it with kubectl's table printer (-o wide shows the
// columns of priority 1, --no-headers drops the header).
func (o *listOutput) PrintTable(w io.Writer, t *metav1.Table) error {
	if s := o.sortBy(); s != "" && len(t.Rows) > 0 {
		field, err := get.RelaxedJSONPathExpression(s)
		if err != nil {
			return cli.Usagef("invalid --sort-by %q: %v", s, err)
		}
		sorter, err := get.NewTableSorter(t, field)
		if err != nil {
			return cli.Usagef("invalid --sort-by %q: %v", s, err)
		}
		if err := sorter.Sort(); err != nil {
			return cli.Usagef("invalid --sort-by %q: %v", s, err)
		}
	}
	// The printer reads of a row's object only its namespace and labels.
	for i := range t.Rows {
		obj := t.Rows[i].Object.Object
		t.Rows[i].Object = runtime.RawExtension{}
		if m, err := meta.Accessor(obj); err == nil && obj != nil {
			t.Rows[i].Object.Object = &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: m.GetName(), Namespace: m.GetNamespace(), Labels: m.GetLabels()}}
		}
	}
	termsafe.Table(t)
	p, err := o.flags.ToPrinter()
	if err != nil {
		return err
	}
	return p.PrintObj(t, w)
}

// tableOf starts a Table with columns; a column of priority 1 is shown by
// -o wide only.
func tableOf(cols ...metav1.TableColumnDefinition) *metav1.Table {
	return &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}, ColumnDefinitions: cols}
}

func col(name string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "string"}
}

func wideCol(name string) metav1.TableColumnDefinition {
	return metav1.TableColumnDefinition{Name: name, Type: "string", Priority: 1}
}

// addRow adds a row for obj (what --sort-by reads); an empty cell shows
// <none>, as kubectl shows a missing value.
func addRow(t *metav1.Table, obj runtime.Object, cells ...string) {
	row := metav1.TableRow{Cells: make([]any, len(cells)), Object: runtime.RawExtension{Object: obj}}
	for i, c := range cells {
		row.Cells[i] = orNone(c)
	}
	t.Rows = append(t.Rows, row)
}

// safeLines writes what it is given line by line, each made safe for a
// terminal.
type safeLines struct {
	w    io.Writer
	rest []byte
}

func (s *safeLines) Write(b []byte) (int, error) {
	s.rest = append(s.rest, b...)
	for {
		i := bytes.IndexByte(s.rest, '\n')
		if i < 0 {
			return len(b), nil
		}
		if _, err := io.WriteString(s.w, termsafe.String(string(s.rest[:i]))+"\n"); err != nil {
			return 0, err
		}
		s.rest = s.rest[i+1:]
	}
}

// Flush writes a last line without a line break.
func (s *safeLines) Flush() {
	if len(s.rest) > 0 {
		_, _ = io.WriteString(s.w, termsafe.String(string(s.rest)))
		s.rest = nil
	}
}

// age is kubectl's AGE column.
func age(t time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t))
}

// ageOf parses an MCKS timestamp (RFC 3339).
func ageOf(ts string) string {
	t, err := time.Parse(time.RFC3339, ts)
	if err != nil {
		return "<unknown>"
	}
	return age(t)
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}
