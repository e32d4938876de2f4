package mcks

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// output is -o: kubectl's printers for json, yaml, name and templates; our
// own tables for the default and, where offered, wide.
type output struct {
	flags  *genericclioptions.PrintFlags
	wideOK bool
}

// newOutput adds -o to cmd; wide adds -o wide. Without -o a command prints
// its table, or its one-line report.
func newOutput(cmd *cobra.Command, wide bool) *output {
	o := &output{flags: genericclioptions.NewPrintFlags(""), wideOK: wide}
	o.flags.AddFlags(cmd)
	formats := o.flags.AllowedFormats()
	if wide {
		formats = append([]string{"wide"}, formats...)
	}
	cmd.Flags().Lookup("output").Usage = fmt.Sprintf("Output format. One of: (%s).", strings.Join(formats, ", "))
	return o
}

func (o *output) format() string { return *o.flags.OutputFormat }

// Wide reports whether -o wide was asked for.
func (o *output) Wide() bool { return o.format() == "wide" }

// Table reports whether the output is a table (default or wide).
func (o *output) Table() bool { return o.format() == "" || o.Wide() }

// Validate refuses an unknown -o, or a bad template, before anything is done.
func (o *output) Validate() error {
	f := o.format()
	if f == "" || (f == "wide" && o.wideOK) {
		return nil
	}
	_, err := o.flags.ToPrinter()
	if genericclioptions.IsNoCompatiblePrinterError(err) {
		allowed := o.flags.AllowedFormats()
		if o.wideOK {
			allowed = append([]string{"wide"}, allowed...)
		}
		return cli.Usagef("invalid output format %q: allowed values are %s", f, strings.Join(allowed, ", "))
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

// table writes aligned columns as kubectl get does.
type table struct {
	t interface {
		io.Writer
		Flush() error
	}
}

func newTable(w io.Writer, header ...string) *table {
	tw := printers.GetNewTabWriter(w)
	fmt.Fprintln(tw, strings.Join(header, "\t"))
	return &table{t: tw}
}

// row writes one row; the cells are what the MCKS server or a cluster
// said, made safe for a terminal (a tab in one would shift the columns).
func (t *table) row(cells ...string) {
	for i, c := range cells {
		if c == "" {
			cells[i] = "<none>"
		} else {
			cells[i] = termsafe.Cell(c)
		}
	}
	fmt.Fprintln(t.t, strings.Join(cells, "\t"))
}

func (t *table) flush() error { return t.t.Flush() }

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
