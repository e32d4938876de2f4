package openmcp

import (
	"bufio"
	"bytes"
	"fmt"
	"io"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// get prints each cluster's answer as soon as it and every cluster before
// it are in (fleet.FanOutAhead), and lets it go: what is held until
// the end is at most the printed text of a table, whose columns are only
// known when its last row is. Formats that need every object at once
// (--sort-by, --group-by, jsonpath, custom columns, templates) and -w,
// which watches what it listed, collect the answers instead.
type answerSink interface {
	add(cluster string, ans clusterAnswer) error
	finish(failures []printing.Failure) error
}

func (o *GetOptions) newSink() (answerSink, error) {
	out := printing.OutputOf(o.PrintFlags)
	switch {
	case out.Format == "name": // never with -w (Validate); --sort-by does not apply to names
		return &nameSink{o: o, out: out}, nil
	case o.Watch, o.sortBy != "", o.GroupBy != "":
	case o.humanReadable():
		return &tableSink{o: o, out: bufio.NewWriterSize(o.Out, 64<<10), noHeaders: out.NoHeaders}, nil
	case out.Structured():
		lw, err := printing.NewListWriter(o.Out, out.Format)
		if err != nil {
			return nil, err
		}
		return &listSink{o: o, list: lw}, nil
	}
	return &collectSink{o: o}, nil
}

// collectSink holds every answer and prints them together.
type collectSink struct {
	o       *GetOptions
	results []fleet.Result[clusterAnswer]
}

func (s *collectSink) add(cluster string, ans clusterAnswer) error {
	s.results = append(s.results, fleet.Result[clusterAnswer]{Cluster: cluster, Value: ans})
	return nil
}

func (s *collectSink) finish(failures []printing.Failure) error {
	if s.o.humanReadable() {
		return s.o.printTables(s.results)
	}
	return s.o.printObjects(s.results, failures)
}

// tableSink prints one table per resource type, in the order the types
// were asked for. Each cluster's part is printed as it comes, as kubectl's
// table printer prints it, and kept as text (printing.AlignedWriter), aligned
// across every cluster when the last is in; with --no-headers the first
// type's rows go out cluster by cluster, their columns only ever
// widening. Later types' tables follow the first, as kubectl get a,b
// prints them.
type tableSink struct {
	o         *GetOptions
	out       *bufio.Writer
	sections  []*tableSection
	withKind  bool
	noHeaders bool
	clusters  int
}

type tableSection struct {
	gk    schema.GroupKind
	flags *get.PrintFlags // headers on: the part's header marks its columns
	cols  []metav1.TableColumnDefinition
	text  *printing.AlignedWriter
	buf   *bytes.Buffer // nil for the first section, which writes to out
	rows  int
}

func (s *tableSink) section(gk schema.GroupKind) *tableSection {
	for _, sec := range s.sections {
		if sec.gk == gk {
			return sec
		}
	}
	flags := s.o.PrintFlags.Copy()
	// ToPrinter and SetKind write into these: the command's flags stay as given.
	human, columns := *flags.HumanReadableFlags, *flags.CustomColumnsFlags
	flags.HumanReadableFlags, flags.CustomColumnsFlags = &human, &columns
	if s.withKind {
		// As kubectl get a,b: names carry their kind (deployment.apps/web).
		flags.SetKind(gk)
		_ = flags.EnsureWithKind()
	}
	headers := false
	flags.NoHeaders = &headers
	sec := &tableSection{gk: gk, flags: &flags}
	var w io.Writer = s.out
	if len(s.sections) > 0 {
		sec.buf = &bytes.Buffer{}
		w = sec.buf
	}
	sec.text = printing.NewAlignedWriter(w, s.noHeaders)
	s.sections = append(s.sections, sec)
	return sec
}

func (s *tableSink) add(cluster string, ans clusterAnswer) error {
	if s.clusters == 0 {
		kinds := map[schema.GroupKind]bool{}
		for _, info := range ans.infos {
			kinds[info.Mapping.GroupVersionKind.GroupKind()] = true
		}
		s.withKind = len(kinds) > 1
	}
	s.clusters++
	for _, info := range ans.infos {
		sec := s.section(info.Mapping.GroupVersionKind.GroupKind())
		var merged *metav1.Table
		var newColumns bool
		if ct, ok := info.Object.(*printing.CompactTable); ok {
			if ct.Len() == 0 {
				continue
			}
			newColumns = s.useColumns(sec, ct.ColumnDefinitions)
			merged = ct.WithCluster(sec.cols, cluster)
		} else {
			t, err := printing.DecodeTable(info.Object)
			if err != nil { // decodeTables let no such answer through
				return fmt.Errorf("cluster %s: %w", cluster, err)
			}
			if len(t.Rows) == 0 {
				continue
			}
			newColumns = s.useColumns(sec, t.ColumnDefinitions)
			merged = printing.TableWithColumns(sec.cols, printing.ClusterTable{Cluster: cluster, Table: t})
		}
		termsafe.Table(merged)
		if s.plain() {
			// No column the printer adds, no name it rewrites: the lines are
			// the cells, without the printer and its tab writer in between.
			if n, ok := sec.text.AddTable(merged, s.o.outputFormat() == "wide", !s.noHeaders && newColumns); ok {
				if err := s.rowsAdded(sec, n); err != nil {
					return err
				}
				continue
			}
		}
		// A printer of its own for each part: it prints the part's header,
		// whose padding gives the part's columns.
		printer, err := sec.flags.ToPrinter()
		if err != nil {
			return err
		}
		var scratch bytes.Buffer
		tw := printing.NewScratchTabWriter(&scratch)
		if err := printer.PrintObj(merged, tw); err != nil {
			return err
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		n, err := sec.text.AddPrinted(scratch.Bytes(), !s.noHeaders && newColumns, !s.noHeaders)
		if err != nil {
			return fmt.Errorf("cluster %s: %w", cluster, err)
		}
		if err := s.rowsAdded(sec, n); err != nil {
			return err
		}
	}
	return nil
}

// plain: the table printer would add no column and rewrite no name.
func (s *tableSink) plain() bool {
	h := s.o.PrintFlags.HumanReadableFlags
	return !s.o.AllNamespaces && !s.withKind && (h.ShowLabels == nil || !*h.ShowLabels) && (h.ColumnLabels == nil || len(*h.ColumnLabels) == 0)
}

func (s *tableSink) rowsAdded(sec *tableSection, n int) error {
	sec.rows += n
	if s.noHeaders && sec.buf == nil {
		// Nothing to align with a header: the rows go out now.
		if err := sec.text.Flush(); err != nil {
			return err
		}
		return s.out.Flush()
	}
	return nil
}

func (s *tableSink) finish([]printing.Failure) error {
	printed := false
	var widths []int // of the tables printed so far, which kubectl's tab writer remembers
	for _, sec := range s.sections {
		if sec.rows > 0 {
			sec.text.WidenTo(widths)
			widths = sec.text.Widths()
		}
		if err := sec.text.Flush(); err != nil {
			return err
		}
		if sec.rows == 0 {
			continue
		}
		if sec.buf != nil {
			if printed {
				fmt.Fprintln(s.out)
			}
			if _, err := s.out.Write(sec.buf.Bytes()); err != nil {
				return err
			}
		}
		printed = true
	}
	if err := s.out.Flush(); err != nil {
		return err
	}
	if !printed && s.clusters > 0 {
		termsafe.Fprintf(s.o.ErrOut, "No resources found in %s of %d clusters.\n", s.o.namespacePhrase(), s.clusters)
	}
	return nil
}

// nameSink prints CLUSTER/TYPE/NAME lines as each cluster answers.
type nameSink struct {
	o   *GetOptions
	out printing.Output
}

func (s *nameSink) add(cluster string, ans clusterAnswer) error {
	printer, err := s.out.ToPrinter()
	if err != nil {
		return err
	}
	w := &printing.PrefixWriter{W: s.o.Out, Prefix: cluster + "/"}
	for _, info := range ans.infos {
		// The rows come without objects (includeObject=None): the names
		// are the Name column's, which every Table has.
		names, err := printing.RowNames(info.Object)
		if err != nil {
			return fmt.Errorf("cluster %s: %s: %w", cluster, info.Mapping.GroupVersionKind.Kind, err)
		}
		for _, name := range names {
			m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: name}}
			m.SetGroupVersionKind(info.Mapping.GroupVersionKind)
			if err := printer.PrintObj(m, w); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *nameSink) finish([]printing.Failure) error { return nil }

// listSink writes one List, each cluster's items as the cluster answers.
type listSink struct {
	o        *GetOptions
	list     *printing.ListWriter
	redacted int
}

func (s *listSink) add(cluster string, ans clusterAnswer) error {
	p, redacted := s.o.objectsOf(cluster, ans)
	s.redacted += redacted
	return s.list.Add(p)
}

func (s *listSink) finish(failures []printing.Failure) error {
	s.o.noteRedacted(s.redacted)
	return s.list.Close(failures)
}

// useColumns keeps the section's columns while a cluster's have the same
// names, and tells when they change: a member on another Kubernetes
// version, or with a CRD of another version, has its rows come under a
// header of their own, as kubectl prints a list whose columns change.
func (s *tableSink) useColumns(sec *tableSection, cols []metav1.TableColumnDefinition) bool {
	if sameColumnNames(sec.cols, cols) {
		return false
	}
	sec.cols = cols
	return true
}

func sameColumnNames(a, b []metav1.TableColumnDefinition) bool {
	if a == nil || len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i].Name != b[i].Name {
			return false
		}
	}
	return true
}
