package printing

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	"github.com/liggitt/tabwriter"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/printers"
)

// AlignedWriter aligns tab-separated table lines as kubectl's tab writer
// (printers.GetNewTabWriter) does, keeping only their text until Flush.
// The tab writer keeps a record of every cell besides (24 bytes a cell, a
// pod row of ten cells 240 bytes on top of its 90 bytes of text); over
// hundreds of clusters' rows that was most of what a table held. Where
// every line has the same number of cells, as a kubectl table's header
// and rows do, the columns' widths are known from the widest cell of each,
// so the text is all that need be kept; any other input is handed to the
// tab writer at Flush, unchanged.
type AlignedWriter struct {
	out    io.Writer
	chunks [][]byte // the text, in chunks that are never copied to grow
	widths []int    // the widest tab-terminated cell of each column
	cells  int      // tab-terminated cells a line, -1 before the first line
	cur    int      // tab-terminated cells of the current line so far
	cell   []byte   // the current cell's bytes, to count its runes
	plain  bool     // every line had the same number of cells, no tab writer escapes
	// remember keeps the columns' widths across flushes, as kubectl's tab
	// writer does (RememberWidths): a column only ever widens.
	remember bool
}

const alignChunk = 256 << 10

// kubectl's tab writer settings (cli-runtime printers.GetNewTabWriter).
const (
	tabMinWidth = 6
	tabPadding  = 3
)

// NewAlignedWriter writes aligned lines to out at Flush. With remember,
// the columns' widths outlast a Flush.
func NewAlignedWriter(out io.Writer, remember bool) *AlignedWriter {
	return &AlignedWriter{out: out, cells: -1, plain: true, remember: remember}
}

func (w *AlignedWriter) Write(p []byte) (int, error) {
	w.keep(p)
	for _, b := range p {
		switch b {
		case '\t':
			if w.cur == len(w.widths) {
				w.widths = append(w.widths, 0)
			}
			w.widths[w.cur] = max(w.widths[w.cur], utf8.RuneCount(w.cell))
			w.cur++
			w.cell = w.cell[:0]
		case '\n':
			if w.cells < 0 {
				w.cells = w.cur
			} else if w.cur != w.cells {
				w.plain = false
			}
			w.cur = 0
			w.cell = w.cell[:0]
		case '\v', '\f', 0xff: // the tab writer's other cell ends and its escape
			w.plain = false
		default:
			w.cell = append(w.cell, b)
		}
	}
	return len(p), nil
}

func (w *AlignedWriter) keep(p []byte) {
	for len(p) > 0 {
		if len(w.chunks) == 0 || len(w.chunks[len(w.chunks)-1]) == cap(w.chunks[len(w.chunks)-1]) {
			w.chunks = append(w.chunks, make([]byte, 0, alignChunk))
		}
		last := &w.chunks[len(w.chunks)-1]
		n := min(len(p), cap(*last)-len(*last))
		*last = append(*last, p[:n]...)
		p = p[n:]
	}
}

func (w *AlignedWriter) reader() io.Reader {
	rs := make([]io.Reader, len(w.chunks))
	for i, c := range w.chunks {
		rs[i] = bytes.NewReader(c)
	}
	return io.MultiReader(rs...)
}

// Flush writes every line, aligned, and forgets them.
func (w *AlignedWriter) Flush() error {
	defer func() {
		w.chunks, w.cells, w.cur, w.cell, w.plain = nil, -1, 0, w.cell[:0], true
		if !w.remember {
			w.widths = nil
		}
	}()
	if !w.plain || w.cur != 0 || len(w.cell) != 0 { // a last line without its newline too
		tw := printers.GetNewTabWriter(w.out)
		if _, err := io.Copy(tw, w.reader()); err != nil {
			return err
		}
		return tw.Flush()
	}
	in := bufio.NewReaderSize(w.reader(), 64<<10)
	out := bufio.NewWriterSize(w.out, 64<<10)
	pad := bytes.Repeat([]byte{' '}, 64)
	for {
		line, err := in.ReadBytes('\n')
		if len(line) > 0 {
			for j := 0; j < w.cells; j++ {
				i := bytes.IndexByte(line, '\t')
				cell := line[:i]
				out.Write(cell)
				for n := max(tabMinWidth, w.widths[j]+tabPadding) - utf8.RuneCount(cell); n > 0; n -= len(pad) {
					out.Write(pad[:min(n, len(pad))])
				}
				line = line[i+1:]
			}
			out.Write(line)
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
	}
	return out.Flush()
}

// scratchPad pads the cells of a scratch tab writer: a byte no printed cell
// holds (cells and column names are made safe for a terminal, which turns
// control characters into visible text).
const scratchPad = '\x01'

// NewScratchTabWriter is the tab writer kubectl's table printer prints one
// part of a table into (the printer aligns through a tab writer, and only
// through one), for AddPrinted to read the cells back.
func NewScratchTabWriter(w io.Writer) *tabwriter.Writer {
	return tabwriter.NewWriter(w, 0, 8, 1, scratchPad, tabwriter.RememberWidths)
}

// AddPrinted keeps, as tab-separated lines, what kubectl's table printer
// printed (with its header) into a scratch tab writer: the header line too
// when header is true, else its cells' widths when widen is (the printer
// pads the header to the part's widest cell in bytes, as it does for a
// whole table, and the columns are that wide). It returns the rows added.
// Every line of the part shares the header's column boundaries (the
// printer pads the header so that the tab writer's first flush fixes
// them), which is how empty cells are found.
func (w *AlignedWriter) AddPrinted(printed []byte, header, widen bool) (int, error) {
	lines := bytes.Split(bytes.TrimSuffix(printed, []byte{'\n'}), []byte{'\n'})
	if len(printed) == 0 || len(lines) == 0 {
		return 0, nil
	}
	// The header's cells: text, then a run of padding (none after the last).
	var bounds []int // rune offsets where each cell but the last ends, padding included
	var widths []int // of the header's cells but the last, padding excluded
	var line []byte
	pos, cellStart := 0, 0
	head := lines[0]
	for i := 0; i < len(head); {
		r, size := utf8.DecodeRune(head[i:])
		if r == scratchPad {
			widths = append(widths, pos-cellStart)
			for i < len(head) && head[i] == scratchPad {
				i++
				pos++
			}
			bounds = append(bounds, pos)
			cellStart = pos
			line = append(line, '\t')
			continue
		}
		line = append(line, head[i:i+size]...)
		i += size
		pos++
	}
	line = append(line, '\n')
	switch {
	case header:
		w.Write(line)
	case widen:
		w.WidenTo(widths)
	}
	for _, l := range lines[1:] {
		line = line[:0]
		col, pos := 0, 0
		cellStart := 0
		for i := 0; i <= len(l); {
			if col < len(bounds) && pos == bounds[col] {
				line = append(line, bytes.TrimRight(l[cellStart:i], string(scratchPad))...)
				line = append(line, '\t')
				col++
				cellStart = i
				continue
			}
			if i == len(l) {
				break
			}
			_, size := utf8.DecodeRune(l[i:])
			i += size
			pos++
		}
		if col != len(bounds) {
			return 0, fmt.Errorf("a printed row of %d cells under a header of %d", col+1, len(bounds)+1)
		}
		line = append(line, l[cellStart:]...)
		line = append(line, '\n')
		w.Write(line)
	}
	return len(lines) - 1, nil
}

// Widths are the columns' widths so far (the widest cell of each).
func (w *AlignedWriter) Widths() []int { return append([]int(nil), w.widths...) }

// WidenTo makes each column at least as wide as the same column of a table
// printed before: kubectl's tab writer remembers widths by column, so the
// second table of get a,b is as wide as the first where the first is wider.
func (w *AlignedWriter) WidenTo(widths []int) {
	for j, n := range widths {
		if j == len(w.widths) {
			w.widths = append(w.widths, 0)
		}
		w.widths[j] = max(w.widths[j], n)
	}
}

// AddTable keeps a table's lines as kubectl's table printer prints a
// table without decorations (no NAMESPACE column, labels or kinds in the
// names): the header (upper-cased names) when header is true, the rows'
// cells, columns of priority above 0 only when wide. Each column is at
// least as wide as its longest cell in bytes, as the printer pads it. It
// reports false, having kept nothing, where the printer would handle a cell
// specially (a line break or an escape): the caller prints that table
// through the printer.
func (w *AlignedWriter) AddTable(t *metav1.Table, wide, header bool) (int, bool) {
	visible := make([]int, 0, len(t.ColumnDefinitions))
	for i, c := range t.ColumnDefinitions {
		if wide || c.Priority == 0 {
			visible = append(visible, i)
		}
	}
	for _, r := range t.Rows {
		for _, i := range visible {
			if i < len(r.Cells) {
				if s, ok := r.Cells[i].(string); ok && strings.ContainsAny(s, "\f\n\r\x1b") {
					return 0, false
				}
			}
		}
	}
	var line []byte
	if header {
		for k, i := range visible {
			if k > 0 {
				line = append(line, '\t')
			}
			line = append(line, strings.ToUpper(t.ColumnDefinitions[i].Name)...)
		}
		w.Write(append(line, '\n'))
	}
	widths := make([]int, len(visible))
	for _, r := range t.Rows {
		line = line[:0]
		for k, i := range visible {
			if k > 0 {
				line = append(line, '\t')
			}
			if i >= len(r.Cells) || r.Cells[i] == nil {
				continue
			}
			start := len(line)
			switch v := r.Cells[i].(type) {
			case string:
				line = append(line, v...)
			default:
				line = fmt.Append(line, v)
			}
			widths[k] = max(widths[k], len(line)-start)
		}
		w.Write(append(line, '\n'))
	}
	w.WidenTo(widths[:max(len(widths)-1, 0)]) // the last column is not padded
	return len(t.Rows), true
}
