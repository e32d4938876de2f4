package printing

import (
	"cmp"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CompactTable is a Table as get holds it between reading a cluster's
// answer and printing it: each row's cells as one string and where each
// ends, instead of a slice of interfaces each pointing at its own string.
// A row of nine cells is about 200 bytes this way against 600 as a
// metav1.TableRow; with 64 clusters' answers read at once (and any that
// wait for a slower cluster before them to be printed) that was most of
// get's memory. Table makes the metav1.Table a printer takes, one
// cluster at a time.
type CompactTable struct {
	metav1.TypeMeta
	metav1.ListMeta
	ColumnDefinitions []metav1.TableColumnDefinition
	Rows              []CompactRow
}

// CompactRow is one row: its cells' text, back to back.
type CompactRow struct {
	text string
	ends []uint32
	// kinds is nil when every cell is a string; else each cell's JSON type,
	// whose text is then its literal.
	kinds      []cellKind
	object     runtime.Object // *metav1.PartialObjectMetadata with RowMetadata
	conditions []metav1.TableRowCondition
}

type cellKind uint8

const (
	cellString cellKind = iota
	cellInt
	cellFloat
	cellBool
	cellNull
)

// rowBuilder collects one row's cells into a CompactRow.
type rowBuilder struct {
	text  []byte
	ends  []uint32
	kinds []cellKind
	mixed bool
}

func (b *rowBuilder) reset() {
	b.text, b.ends, b.kinds, b.mixed = b.text[:0], b.ends[:0], b.kinds[:0], false
}

func (b *rowBuilder) add(kind cellKind, text []byte) {
	b.text = append(b.text, text...)
	b.ends = append(b.ends, uint32(len(b.text)))
	b.kinds = append(b.kinds, kind)
	b.mixed = b.mixed || kind != cellString
}

func (b *rowBuilder) row() CompactRow {
	r := CompactRow{text: string(b.text), ends: append([]uint32(nil), b.ends...)}
	if b.mixed {
		r.kinds = append([]cellKind(nil), b.kinds...)
	}
	return r
}

// Cells are the row's cells as a printer takes them.
func (r CompactRow) Cells() []any {
	cells := make([]any, len(r.ends))
	for i := range r.ends {
		cells[i] = r.cell(i)
	}
	return cells
}

func (r CompactRow) textOf(i int) string {
	start := uint32(0)
	if i > 0 {
		start = r.ends[i-1]
	}
	return r.text[start:r.ends[i]]
}

func (r CompactRow) cell(i int) any {
	s := r.textOf(i)
	kind := cellString
	if r.kinds != nil {
		kind = r.kinds[i]
	}
	switch kind {
	case cellInt:
		n, _ := strconv.ParseInt(s, 10, 64) // checked when read
		return n
	case cellFloat:
		f, _ := strconv.ParseFloat(s, 64)
		return f
	case cellBool:
		return s == "true"
	case cellNull:
		return nil
	}
	return s
}

// identity is the row's namespace and name, as rowIdentity reads them.
func (r CompactRow) identity(nameCol int) (namespace, name string) {
	if m, ok := r.object.(*metav1.PartialObjectMetadata); ok {
		return m.Namespace, m.Name
	}
	if nameCol >= 0 && nameCol < len(r.ends) {
		return "", r.textOf(nameCol)
	}
	return "", ""
}

// WithCluster is this cluster's part of a merged table whose columns are
// cols, made straight from the compact rows (what TableWithColumns makes of
// Table(), without the Table in between).
func (t *CompactTable) WithCluster(cols []metav1.TableColumnDefinition, cluster string) *metav1.Table {
	at := columnIndex(cols, "Name") + 1
	merged := &metav1.Table{TypeMeta: metav1.TypeMeta{APIVersion: "meta.k8s.io/v1", Kind: "Table"}}
	merged.ColumnDefinitions = append(append(append(make([]metav1.TableColumnDefinition, 0, len(cols)+1), cols[:at]...), clusterColumn), cols[at:]...)
	src := make([]int, len(cols))
	for i, c := range cols {
		src[i] = columnIndex(t.ColumnDefinitions, c.Name)
	}
	nameCol := columnIndex(t.ColumnDefinitions, "Name")
	// Rows in namespace and name order; an apiserver's list already is, so
	// this is usually one pass that sorts nothing.
	order := make([]int, len(t.Rows))
	sorted := true
	var lastNS, lastName string
	for i := range t.Rows {
		order[i] = i
		ns, name := t.Rows[i].identity(nameCol)
		if i > 0 && (ns < lastNS || ns == lastNS && name < lastName) {
			sorted = false
		}
		lastNS, lastName = ns, name
	}
	if !sorted {
		slices.SortStableFunc(order, func(a, b int) int {
			na, ma := t.Rows[a].identity(nameCol)
			nb, mb := t.Rows[b].identity(nameCol)
			return cmp.Or(strings.Compare(na, nb), strings.Compare(ma, mb))
		})
	}
	width := len(cols) + 1
	block := make([]any, len(t.Rows)*width)
	merged.Rows = make([]metav1.TableRow, len(t.Rows))
	var clusterCell any = cluster
	for ri, idx := range order {
		r := t.Rows[idx]
		cells := block[ri*width : ri*width : (ri+1)*width]
		for i := range cols {
			if i == at {
				cells = append(cells, clusterCell)
			}
			if j := src[i]; j >= 0 && j < len(r.ends) {
				cells = append(cells, r.cell(j))
			} else {
				cells = append(cells, none)
			}
		}
		if at == len(cols) {
			cells = append(cells, clusterCell)
		}
		merged.Rows[ri] = metav1.TableRow{Cells: cells, Conditions: r.conditions, Object: runtime.RawExtension{Object: r.object}}
	}
	return merged
}

// Table is the metav1.Table of these rows.
func (t *CompactTable) Table() *metav1.Table {
	out := &metav1.Table{TypeMeta: t.TypeMeta, ListMeta: t.ListMeta, ColumnDefinitions: t.ColumnDefinitions, Rows: make([]metav1.TableRow, len(t.Rows))}
	for i, r := range t.Rows {
		out.Rows[i] = metav1.TableRow{Cells: r.Cells(), Conditions: r.conditions, Object: runtime.RawExtension{Object: r.object}}
	}
	return out
}

// GetObjectKind and DeepCopyObject make it a runtime.Object, so it travels
// in a resource.Info like the answers the builder reads.
func (t *CompactTable) GetObjectKind() schema.ObjectKind { return &t.TypeMeta }

func (t *CompactTable) DeepCopyObject() runtime.Object {
	c := *t
	c.ColumnDefinitions = append([]metav1.TableColumnDefinition(nil), t.ColumnDefinitions...)
	c.Rows = make([]CompactRow, len(t.Rows))
	for i, r := range t.Rows {
		r.ends = append([]uint32(nil), r.ends...)
		r.kinds = append([]cellKind(nil), r.kinds...)
		r.conditions = append([]metav1.TableRowCondition(nil), r.conditions...)
		if r.object != nil {
			r.object = r.object.DeepCopyObject()
		}
		c.Rows[i] = r
	}
	return &c
}
