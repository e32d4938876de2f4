// Package termsafe makes text that came from a cluster or an API safe to
// write to a terminal. A federation CLI reads many clusters that different
// teams own: an object name, a condition message, a Table's column, an error
// body or a warning header can hold escape sequences that retitle the
// window, clear the screen, move the cursor over earlier lines or, on some
// terminals, write to the clipboard. Every human-readable path (tables, -w
// lines, warnings, errors, progress and check lines, summaries) passes what
// it quotes through String; JSON and YAML output stay exact.
package termsafe

import (
	"fmt"
	"io"
	"strings"
	"unicode/utf8"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// String returns s with every character a terminal would act on made
// visible: C0 controls and DEL in caret notation as cat -v writes them (ESC
// is ^[, as kubectl's table printer writes it, BEL ^G, newline ^J, tab ^I),
// C1 controls and the bidirectional overrides that reorder what is shown
// ("Trojan Source") as \uXXXX, and bytes that are not UTF-8 as \xXX (a
// terminal in another encoding reads 0x9b as CSI). Text without any of
// these is returned as it is, without copying.
func String(s string) string {
	i := 0
	for i < len(s) {
		c := s[i]
		if c < 0x20 || c == 0x7f {
			break
		}
		if c < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if unsafeRune(r, size) {
			break
		}
		i += size
	}
	if i == len(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	b.WriteString(s[:i])
	for i < len(s) {
		c := s[i]
		switch {
		case c < 0x20:
			b.WriteByte('^')
			b.WriteByte(c + '@')
			i++
		case c == 0x7f:
			b.WriteString("^?")
			i++
		case c < utf8.RuneSelf:
			b.WriteByte(c)
			i++
		default:
			r, size := utf8.DecodeRuneInString(s[i:])
			switch {
			case r == utf8.RuneError && size == 1:
				fmt.Fprintf(&b, `\x%02x`, c)
			case unsafeRune(r, size):
				fmt.Fprintf(&b, `\u%04x`, r)
			default:
				b.WriteString(s[i : i+size])
			}
			i += size
		}
	}
	return b.String()
}

// unsafeRune: not UTF-8, a C1 control, or a bidirectional control.
func unsafeRune(r rune, size int) bool {
	switch {
	case r == utf8.RuneError && size == 1:
		return true
	case r >= 0x80 && r <= 0x9f:
		return true
	case r == 0x061c, r == 0x200e, r == 0x200f, r >= 0x202a && r <= 0x202e, r >= 0x2066 && r <= 0x2069:
		return true
	}
	return false
}

// Line is s as one line, made safe: line breaks become "; " and runs of
// white space one space (a server's message and Go's joined errors span
// lines), then String. For messages; a table cell is cut instead (Cell).
func Line(s string) string {
	s = strings.ReplaceAll(strings.TrimSpace(s), "\r", "")
	return String(strings.Join(strings.Fields(strings.ReplaceAll(s, "\n", "; ")), " "))
}

// Sprintf is fmt.Sprintf with every string, error and Stringer argument
// passed through String: the format is ours, the arguments may be a
// cluster's. (Numbers and the like cannot carry escape sequences.)
func Sprintf(format string, args ...any) string {
	return fmt.Sprintf(format, Args(args)...)
}

// Fprintf is fmt.Fprintf with the arguments made safe as by Sprintf: for
// progress, check and summary lines, and the events of a cluster.
func Fprintf(w io.Writer, format string, args ...any) (int, error) {
	return fmt.Fprintf(w, format, Args(args)...)
}

// Args returns args with every string, error, Stringer and string slice
// passed through String.
func Args(args []any) []any {
	out := make([]any, len(args))
	for i, a := range args {
		switch v := a.(type) {
		case string:
			out[i] = String(v)
		case []string:
			s := make([]string, len(v))
			for j := range v {
				s[j] = String(v[j])
			}
			out[i] = s
		case error:
			out[i] = String(v.Error())
		case fmt.Stringer:
			out[i] = String(v.String())
		default:
			out[i] = a
		}
	}
	return out
}

// Table makes a Table safe to print, in place: column names, string cells,
// and the names, namespaces and labels of the rows' objects (the NAMESPACE
// column of -A, --show-labels and -L read those). cli-runtime's printer
// escapes only ESC and \r in cells and writes column names as they are.
// A cell cut at its first line break, with "...", as kubectl cuts it. A cell
// that is not a string, number, boolean or nil (a member that is not a real
// apiserver can send a map) is shown as sanitised text.
func Table(t *metav1.Table) {
	for i := range t.ColumnDefinitions {
		c := &t.ColumnDefinitions[i]
		c.Name = String(c.Name)
	}
	for i := range t.Rows {
		row := &t.Rows[i]
		for j, cell := range row.Cells {
			switch v := cell.(type) {
			case nil, bool, int, int32, int64, float32, float64:
			case string:
				if safe := Cell(v); safe != v { // boxing it again costs an allocation a cell
					row.Cells[j] = safe
				}
			default:
				row.Cells[j] = Cell(fmt.Sprint(v))
			}
		}
		switch o := row.Object.Object.(type) {
		case *metav1.PartialObjectMetadata:
			o.Name, o.Namespace = String(o.Name), String(o.Namespace)
			o.Labels = labels(o.Labels)
		case *unstructured.Unstructured:
			if n := o.GetName(); String(n) != n {
				o.SetName(String(n))
			}
			if n := o.GetNamespace(); String(n) != n {
				o.SetNamespace(String(n))
			}
			if l := o.GetLabels(); len(l) > 0 {
				if safe := labels(l); !sameLabels(l, safe) {
					o.SetLabels(safe)
				}
			}
		}
	}
}

// Cell is one table cell: cut at the first line break with "...", as
// kubectl's table printer cuts it, and made safe.
func Cell(s string) string {
	if i := strings.IndexAny(s, "\n\r\f"); i >= 0 {
		return String(s[:i]) + "..."
	}
	return String(s)
}

func labels(l map[string]string) map[string]string {
	for k, v := range l {
		if String(k) != k || String(v) != v {
			safe := make(map[string]string, len(l))
			for k, v := range l {
				safe[String(k)] = String(v)
			}
			return safe
		}
	}
	return l
}

func sameLabels(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}
