package termsafe

import (
	"bytes"
	"errors"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	k8sruntime "k8s.io/apimachinery/pkg/runtime"
)

// Hostile is text a member can send: window title, screen clear, cursor
// moves, OSC 52 (clipboard), a C1 CSI, a bare 0x9b, bidi overrides.
const Hostile = "\x1b]0;title\x07\x1b[2J\x1b[1A\r\b\x7f\x1b]52;c;ZXZpbA==\x07\u009b31m\x9b\u202eevil\u2066"

// unsafeBytes reports the first byte a terminal would act on.
func unsafeBytes(s string) (int, bool) {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == 0x7f {
			return i, true
		}
	}
	if String(s) != s {
		return 0, true
	}
	return 0, false
}

func TestStringMakesEveryControlVisible(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"web-1", "web-1"},
		{"héllo 世界", "héllo 世界"},
		{"\x1b]0;title\x07", "^[]0;title^G"},
		{"\x1b[2J", "^[[2J"},
		{"a\r\nb\tc", "a^M^Jb^Ic"},
		{"\x00\x7f", "^@^?"},
		{"\u009b31m", `\u009b31m`},
		{"\x9bx", `\x9bx`},
		{"a\u202eb\u2066c", `a\u202eb\u2066c`},
	} {
		if got := String(tc.in); got != tc.want {
			t.Errorf("String(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if i, bad := unsafeBytes(String(Hostile)); bad {
		t.Errorf("String(Hostile) = %q keeps an unsafe byte at %d", String(Hostile), i)
	}
}

func TestStringDoesNotCopySafeText(t *testing.T) {
	s := "deployment.apps/web-7d4b9c cluster1 3/3"
	if n := testing.AllocsPerRun(100, func() { _ = String(s) }); n != 0 {
		t.Errorf("%v allocations for safe text", n)
	}
}

func TestSprintfSanitisesArgumentsNotFormat(t *testing.T) {
	got := Sprintf("cluster %s: %v (%d)\n", "c\x1b[2J", errors.New("x\x07"), 3)
	if want := "cluster c^[[2J: x^G (3)\n"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	var b bytes.Buffer
	_, _ = Fprintf(&b, "%s %s", []string{"a\x1b"}, "ok")
	if b.String() != "[a^[] ok" {
		t.Errorf("Fprintf: %q", b.String())
	}
}

func TestTableSanitisesColumnsCellsAndRowMetadata(t *testing.T) {
	tbl := &metav1.Table{
		ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name"}, {Name: "Msg\x1b]0;t\x07"}, {Name: "N"}},
		Rows: []metav1.TableRow{
			{Cells: []any{"a\x1b[2J", "line1\x07\nline2", int64(3)}, Object: k8sruntime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: "a\x1b", Namespace: "n\x07", Labels: map[string]string{"k": "v\x1b"}}}}},
			{Cells: []any{"b", map[string]any{"x": "\x1b"}, nil}, Object: k8sruntime.RawExtension{Object: &unstructured.Unstructured{Object: map[string]any{"metadata": map[string]any{"name": "b\x1b", "namespace": "ns", "labels": map[string]any{"k\x07": "v"}}}}}},
		},
	}
	Table(tbl)
	if got := tbl.ColumnDefinitions[1].Name; got != "Msg^[]0;t^G" {
		t.Errorf("column %q", got)
	}
	if got := tbl.Rows[0].Cells; got[0] != "a^[[2J" || got[1] != "line1^G..." || got[2] != int64(3) {
		t.Errorf("cells %q", got)
	}
	if got := tbl.Rows[1].Cells[1]; got != "map[x:^[]" {
		t.Errorf("map cell %q", got)
	}
	p := tbl.Rows[0].Object.Object.(*metav1.PartialObjectMetadata)
	if p.Name != "a^[" || p.Namespace != "n^G" || p.Labels["k"] != "v^[" {
		t.Errorf("row metadata %+v", p.ObjectMeta)
	}
	u := tbl.Rows[1].Object.Object.(*unstructured.Unstructured)
	if u.GetName() != "b^[" || u.GetLabels()["k^G"] != "v" {
		t.Errorf("row object %v", u.Object)
	}
}
