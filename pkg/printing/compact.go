package printing

import (
	"cmp"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

// CompactTable is a Table as get holds it between reading a cluster's
// answer and printing it: each row's cells as one string, where each cell
// ends kept in one array for the whole table, instead of a slice of
// interfaces each pointing at its own string. A pod row is about 130 bytes
// this way against 600 as a metav1.TableRow; with 64 clusters' answers
// read at once (and any that wait for a slower cluster before them to be
// printed) that was most of get's memory. WithCluster and Table make the
// metav1.Table a printer takes, one cluster at a time.
type CompactTable struct {
	metav1.TypeMeta
	metav1.ListMeta
	ColumnDefinitions []metav1.TableColumnDefinition

	rows []compactRow
	ends []uint32 // for each row's cells, one after another: where the cell's text ends
	// kinds is nil while every cell is a string; then each cell's JSON
	// type, whose text is its literal.
	kinds      []cellKind
	objects    []runtime.Object // nil unless rows carry metadata (RowMetadata)
	conditions map[int][]metav1.TableRowCondition
}

type compactRow struct {
	text  string
	cells uint32 // index of the row's first cell in ends
}

type cellKind uint8

const (
	cellString cellKind = iota
	cellInt
	cellFloat
	cellBool
	cellNull
)

// Len is the number of rows.
func (t *CompactTable) Len() int { return len(t.rows) }

// rowBuilder collects one row's cells before they are added to the table.
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

func (t *CompactTable) addRow(b *rowBuilder, object runtime.Object, conditions []metav1.TableRowCondition) {
	i := len(t.rows)
	first := uint32(len(t.ends))
	if b.mixed && t.kinds == nil {
		t.kinds = make([]cellKind, len(t.ends), cap(t.ends)) // the cells so far were strings
	}
	t.rows = append(t.rows, compactRow{text: string(b.text), cells: first})
	t.ends = append(t.ends, b.ends...)
	if t.kinds != nil {
		t.kinds = append(t.kinds, b.kinds...)
	}
	if object != nil && t.objects == nil {
		t.objects = make([]runtime.Object, i, cap(t.rows))
	}
	if t.objects != nil {
		t.objects = append(t.objects, object)
	}
	if len(conditions) > 0 {
		if t.conditions == nil {
			t.conditions = map[int][]metav1.TableRowCondition{}
		}
		t.conditions[i] = conditions
	}
}

// Append adds the rows of the table's next page.
func (t *CompactTable) Append(page *CompactTable) {
	offset, rowOffset := uint32(len(t.ends)), len(t.rows)
	if page.kinds != nil && t.kinds == nil {
		t.kinds = make([]cellKind, len(t.ends))
	}
	if page.objects != nil && t.objects == nil {
		t.objects = make([]runtime.Object, len(t.rows))
	}
	for _, r := range page.rows {
		t.rows = append(t.rows, compactRow{text: r.text, cells: r.cells + offset})
	}
	t.ends = append(t.ends, page.ends...)
	switch {
	case t.kinds != nil && page.kinds != nil:
		t.kinds = append(t.kinds, page.kinds...)
	case t.kinds != nil:
		t.kinds = append(t.kinds, make([]cellKind, len(page.ends))...)
	}
	switch {
	case t.objects != nil && page.objects != nil:
		t.objects = append(t.objects, page.objects...)
	case t.objects != nil:
		t.objects = append(t.objects, make([]runtime.Object, len(page.rows))...)
	}
	for i, c := range page.conditions {
		if t.conditions == nil {
			t.conditions = map[int][]metav1.TableRowCondition{}
		}
		t.conditions[rowOffset+i] = c
	}
}

// cellCount is how many cells row i has.
func (t *CompactTable) cellCount(i int) int {
	end := uint32(len(t.ends))
	if i+1 < len(t.rows) {
		end = t.rows[i+1].cells
	}
	return int(end - t.rows[i].cells)
}

func (t *CompactTable) textOf(row, cell int) string {
	r := t.rows[row]
	start := uint32(0)
	if cell > 0 {
		start = t.ends[int(r.cells)+cell-1]
	}
	return r.text[start:t.ends[int(r.cells)+cell]]
}

func (t *CompactTable) cell(row, cell int) any {
	s := t.textOf(row, cell)
	kind := cellString
	if t.kinds != nil {
		kind = t.kinds[int(t.rows[row].cells)+cell]
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

func (t *CompactTable) object(row int) runtime.Object {
	if t.objects == nil {
		return nil
	}
	return t.objects[row]
}

// identity is a row's namespace and name, as rowIdentity reads them.
func (t *CompactTable) identity(row, nameCol int) (namespace, name string) {
	if m, ok := t.object(row).(*metav1.PartialObjectMetadata); ok {
		return m.Namespace, m.Name
	}
	if nameCol >= 0 && nameCol < t.cellCount(row) {
		return "", t.textOf(row, nameCol)
	}
	return "", ""
}

// WithCluster is this cluster's part of a merged table whose columns are
// cols, made straight from the compact rows (what TableWithColumns makes of
// Table(), without the Table in between).
func (t *CompactTable) WithCluster(cols []metav1.TableColumnDefinition, cluster string) *metav1.Table {
	merged := mergedTable(cols)
	proj := projectColumns(cols, t.ColumnDefinitions, cluster)
	nameCol := ColumnIndex(t.ColumnDefinitions, "Name")
	// Rows in namespace and name order; an apiserver's list already is, so
	// this is usually one pass that sorts nothing.
	order := make([]int, len(t.rows))
	sorted := true
	var lastNS, lastName string
	for i := range t.rows {
		order[i] = i
		ns, name := t.identity(i, nameCol)
		if i > 0 && (ns < lastNS || ns == lastNS && name < lastName) {
			sorted = false
		}
		lastNS, lastName = ns, name
	}
	if !sorted {
		slices.SortStableFunc(order, func(a, b int) int {
			na, ma := t.identity(a, nameCol)
			nb, mb := t.identity(b, nameCol)
			return cmp.Or(strings.Compare(na, nb), strings.Compare(ma, mb))
		})
	}
	block := make([]any, len(t.rows)*len(merged.ColumnDefinitions))
	merged.Rows = make([]metav1.TableRow, len(t.rows))
	for ri, idx := range order {
		cells := proj.cells(block, ri, t.cellCount(idx), func(j int) any { return t.cell(idx, j) })
		merged.Rows[ri] = metav1.TableRow{Cells: cells, Conditions: t.conditions[idx], Object: runtime.RawExtension{Object: t.object(idx)}}
	}
	return merged
}

// Table is the metav1.Table of these rows.
func (t *CompactTable) Table() *metav1.Table {
	out := &metav1.Table{TypeMeta: t.TypeMeta, ListMeta: t.ListMeta, ColumnDefinitions: t.ColumnDefinitions, Rows: make([]metav1.TableRow, len(t.rows))}
	for i := range t.rows {
		cells := make([]any, t.cellCount(i))
		for j := range cells {
			cells[j] = t.cell(i, j)
		}
		out.Rows[i] = metav1.TableRow{Cells: cells, Conditions: t.conditions[i], Object: runtime.RawExtension{Object: t.object(i)}}
	}
	return out
}

// GetObjectKind and DeepCopyObject make it a runtime.Object, so it travels
// in a resource.Info like the answers the builder reads.
func (t *CompactTable) GetObjectKind() schema.ObjectKind { return &t.TypeMeta }

func (t *CompactTable) DeepCopyObject() runtime.Object {
	c := *t
	c.ColumnDefinitions = slices.Clone(t.ColumnDefinitions)
	c.rows, c.ends, c.kinds = slices.Clone(t.rows), slices.Clone(t.ends), slices.Clone(t.kinds)
	if t.objects != nil {
		c.objects = make([]runtime.Object, len(t.objects))
		for i, o := range t.objects {
			if o != nil {
				c.objects[i] = o.DeepCopyObject()
			}
		}
	}
	if t.conditions != nil {
		c.conditions = map[int][]metav1.TableRowCondition{}
		for i, cs := range t.conditions {
			c.conditions[i] = slices.Clone(cs)
		}
	}
	return &c
}

// RowNames are the cells of the Name column of a Table or CompactTable, as
// -o name prints them; of a compact table only that column is read.
func RowNames(obj runtime.Object) ([]string, error) {
	name := func(cell any) string {
		if s, ok := cell.(string); ok {
			return s
		}
		return fmt.Sprint(cell)
	}
	if ct, ok := obj.(*CompactTable); ok {
		col := ColumnIndex(ct.ColumnDefinitions, "Name")
		names := make([]string, ct.Len())
		for i := range names {
			if col < 0 || col >= ct.cellCount(i) {
				return nil, errNoNameColumn
			}
			names[i] = name(ct.cell(i, col))
		}
		return names, nil
	}
	t, err := DecodeTable(obj)
	if err != nil {
		return nil, err
	}
	col := ColumnIndex(t.ColumnDefinitions, "Name")
	names := make([]string, len(t.Rows))
	for i, r := range t.Rows {
		if col < 0 || col >= len(r.Cells) {
			return nil, errNoNameColumn
		}
		names[i] = name(r.Cells[col])
	}
	return names, nil
}

var errNoNameColumn = errors.New("a Table without a Name column")
