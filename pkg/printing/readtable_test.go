package printing

import (
	"bytes"
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func tableJSON(t testing.TB, rows int, withObjects bool) []byte {
	t.Helper()
	b, err := json.Marshal(serverTable(t, rows, withObjects).Object)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// decodeThroughMaps is the path ReadTable replaces: the builder's
// unstructured decoding, then DecodeTable.
func decodeThroughMaps(b []byte) (*metav1.Table, error) {
	obj, err := runtime.Decode(unstructured.UnstructuredJSONScheme, b)
	if err != nil {
		return nil, err
	}
	return DecodeTable(obj)
}

func TestReadTableGivesWhatDecodeTableGives(t *testing.T) {
	for _, withObjects := range []bool{false, true} {
		b := tableJSON(t, 50, withObjects)
		want, err := decodeThroughMaps(b)
		if err != nil {
			t.Fatal(err)
		}
		objects := NoRowObjects
		if withObjects {
			objects = RowMetadata
			CompactRows(want)
		}
		got, err := readTable(bytes.NewReader(b), objects)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(got.ColumnDefinitions, want.ColumnDefinitions) || got.ListMeta.Continue != "abc" || got.ResourceVersion != "1040" {
			t.Fatalf("columns or list metadata differ:\n%+v\n%+v", got, want)
		}
		if len(got.Rows) != 50 {
			t.Fatalf("got %d rows, want 50", len(got.Rows))
		}
		for i := range want.Rows {
			if !reflect.DeepEqual(got.Rows[i].Cells, want.Rows[i].Cells) || !reflect.DeepEqual(got.Rows[i].Conditions, want.Rows[i].Conditions) {
				t.Fatalf("row %d: got %#v, want %#v", i, got.Rows[i], want.Rows[i])
			}
			if withObjects {
				g := got.Rows[i].Object.Object.(*metav1.PartialObjectMetadata)
				w := want.Rows[i].Object.Object.(*metav1.PartialObjectMetadata)
				if g.Name != w.Name || g.Namespace != w.Namespace || !reflect.DeepEqual(g.Labels, w.Labels) || len(g.Annotations)+len(g.ManagedFields) != 0 {
					t.Fatalf("row %d metadata: got %+v, want %+v", i, g.ObjectMeta, w.ObjectMeta)
				}
			} else if got.Rows[i].Object.Object != nil {
				t.Fatalf("row %d kept an object without RowMetadata", i)
			}
		}
	}
}

func TestReadTableRefusesWhatNoApiserverSends(t *testing.T) {
	for body, want := range map[string]string{
		`{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a","b"]}]}`: "table row 0 has 2 cells for 1 columns",
		`{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":[{"x":1}]}]}`: "table row 0, column Name: a cell that is an object",
		`{"kind":"PodList","items":[]}`: "answered with kind PodList where a Table was asked for",
		`[1,2]`:                         "answered with a list where a Table was asked for",
		`<html>`:                        "where a Table was asked for",
		`{"kind":"Table","rows":"x"}`:   "table rows are a string, not a list",
		`{"kind":"Table","rows":[1]}`:   "table row 0 is a number, not an object",
		`{"kind":"Table","columnDefinitions":{},"rows":[]}`: "table columns are an object, not a list",
		`{"kind":"Table","rows":[{"cells":[1e999]}]}`:       "out of range",
		`{"kind":"Table","rows":[{"cells":["a"`:             "not valid JSON",
		`{"kind":"Table","rows":[{"object":"x"}]}`:          "object is a string, not an object",
	} {
		_, err := readTable(strings.NewReader(body), RowMetadata)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v, want an error containing %q", body, err, want)
		}
	}
}

func TestReadTableKeepsNumbersAsTheClientDoes(t *testing.T) {
	got, err := readTable(strings.NewReader(`{"kind":"Table","columnDefinitions":[{"name":"A"},{"name":"B"},{"name":"C"},{"name":"D"},{"name":"E"}],"rows":[{"cells":[3,1.5,true,null,"x"]}]}`), NoRowObjects)
	if err != nil {
		t.Fatal(err)
	}
	want := []any{int64(3), 1.5, true, nil, "x"}
	if !reflect.DeepEqual(got.Rows[0].Cells, want) {
		t.Fatalf("cells %#v, want %#v", got.Rows[0].Cells, want)
	}
}

// FuzzReadTable: whatever a cluster sends, ReadTable returns or fails
// without panicking, and where the maps path also accepts the bytes, both
// give the same cells.
func FuzzReadTable(f *testing.F) {
	f.Add(tableJSON(f, 3, true))
	f.Add(tableJSON(f, 2, false))
	f.Add([]byte(`{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":["a"]}]}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		got, err := readTable(bytes.NewReader(b), RowMetadata)
		if err != nil {
			return
		}
		want, werr := decodeThroughMaps(b)
		if werr != nil || len(want.ColumnDefinitions) == 0 {
			return // ReadTable is the more lenient reader of malformed-but-parseable bytes
		}
		if len(got.Rows) != len(want.Rows) {
			t.Fatalf("%d rows, the maps path %d", len(got.Rows), len(want.Rows))
		}
		for i := range want.Rows {
			if !reflect.DeepEqual(got.Rows[i].Cells, want.Rows[i].Cells) {
				t.Fatalf("row %d: %#v, the maps path %#v", i, got.Rows[i].Cells, want.Rows[i].Cells)
			}
		}
	})
}

func BenchmarkReadTable(b *testing.B) {
	body := tableJSON(b, 500, false)
	b.Run("maps", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := decodeThroughMaps(body); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("stream", func(b *testing.B) {
		b.ReportAllocs()
		b.SetBytes(int64(len(body)))
		for b.Loop() {
			if _, err := readTable(bytes.NewReader(body), NoRowObjects); err != nil {
				b.Fatal(err)
			}
		}
	})
}

// A compact table's part of a merged table is the part TableWithColumns
// makes of its metav1.Table: same columns, cells and order, unsorted rows
// sorted, a column it lacks <none>.
func TestWithClusterIsTableWithColumns(t *testing.T) {
	body := `{"kind":"Table","columnDefinitions":[{"name":"Name"},{"name":"Ready"},{"name":"Restarts"}],"rows":[
		{"cells":["web-b","1/1",2],"object":{"metadata":{"name":"web-b","namespace":"shop"}}},
		{"cells":["web-a","0/1",null],"object":{"metadata":{"name":"web-a","namespace":"shop"}}},
		{"cells":["db","1/1",1.5],"object":{"metadata":{"name":"db","namespace":"data"}}}]}`
	ct, err := ReadCompactTable(strings.NewReader(body), RowMetadata)
	if err != nil {
		t.Fatal(err)
	}
	cols := append(append([]metav1.TableColumnDefinition{}, ct.ColumnDefinitions...), metav1.TableColumnDefinition{Name: "Age"})
	got := ct.WithCluster(cols, "c1")
	want := TableWithColumns(cols, ClusterTable{Cluster: "c1", Table: ct.Table()})
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("WithCluster:\n%+v\nTableWithColumns:\n%+v", got, want)
	}
	if got.Rows[0].Cells[0] != "db" || got.Rows[1].Cells[1] != "c1" || got.Rows[2].Cells[4] != "<none>" {
		t.Fatalf("rows not in namespace, name order with the cluster column: %+v", got.Rows)
	}
}

// Pages appended are the rows of one answer, whatever each page holds.
func TestCompactTableAppendsPages(t *testing.T) {
	page1 := `{"kind":"Table","columnDefinitions":[{"name":"Name"},{"name":"N"}],"rows":[{"cells":["a","x"]}]}`
	page2 := `{"kind":"Table","columnDefinitions":[{"name":"Name"},{"name":"N"}],"rows":[{"cells":["b",2],"conditions":[{"type":"Completed","status":"True"}],"object":{"metadata":{"name":"b"}}}]}`
	whole := `{"kind":"Table","columnDefinitions":[{"name":"Name"},{"name":"N"}],"rows":[{"cells":["a","x"]},{"cells":["b",2],"conditions":[{"type":"Completed","status":"True"}],"object":{"metadata":{"name":"b"}}}]}`
	var got *CompactTable
	for _, p := range []string{page1, page2} {
		ct, err := ReadCompactTable(strings.NewReader(p), RowMetadata)
		if err != nil {
			t.Fatal(err)
		}
		if got == nil {
			got = ct
		} else {
			got.Append(ct)
		}
	}
	want, err := readTable(strings.NewReader(whole), RowMetadata)
	if err != nil {
		t.Fatal(err)
	}
	if g := got.Table(); !reflect.DeepEqual(g.Rows, want.Rows) {
		t.Fatalf("appended pages:\n%#v\nwant\n%#v", g.Rows, want.Rows)
	}
}

// readTable is ReadCompactTable's rows as a metav1.Table, to compare.
func readTable(r io.Reader, objects RowObjects) (*metav1.Table, error) {
	t, err := ReadCompactTable(r, objects)
	if err != nil {
		return nil, err
	}
	return t.Table(), nil
}

// RowNames reads the Name column alike from a compact table and from the
// metav1.Table it makes.
func TestRowNamesOfCompactAndFullTables(t *testing.T) {
	ct, err := ReadCompactTable(bytes.NewReader(tableJSON(t, 3, false)), NoRowObjects)
	if err != nil {
		t.Fatal(err)
	}
	compact, err := RowNames(ct)
	if err != nil {
		t.Fatal(err)
	}
	full, err := RowNames(ct.Table())
	if err != nil {
		t.Fatal(err)
	}
	if want := []string{"web-00000", "web-00001", "web-00002"}; !reflect.DeepEqual(compact, want) || !reflect.DeepEqual(full, want) {
		t.Fatalf("names %v and %v, want %v", compact, full, want)
	}
	if _, err := RowNames(&metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Ready"}}, Rows: []metav1.TableRow{{Cells: []any{"1/1"}}}}); err == nil {
		t.Fatal("names from a Table without a Name column")
	}
}
