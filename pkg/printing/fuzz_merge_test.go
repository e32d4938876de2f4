package printing

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// FuzzMergeTables feeds the merge two members' Tables as a hostile member
// could send them (any JSON): the decode refuses what no apiserver sends,
// and what it accepts merges and prints without a panic, one line per row,
// every row as wide as the columns, and nothing a terminal would obey.
func FuzzMergeTables(f *testing.F) {
	good := `{"kind":"Table","apiVersion":"meta.k8s.io/v1","columnDefinitions":[{"name":"Name","type":"string"},{"name":"Ready","type":"string"},{"name":"Age","type":"string"}],"rows":[{"cells":["web-1","1/1","5m"],"object":{"metadata":{"name":"web-1","namespace":"a","labels":{"app":"web"}}}}]}`
	f.Add(good, good, true)
	f.Add(good, `{"kind":"Table","columnDefinitions":[{"name":"Name\u001b]0;t\u0007"},{"name":"Age"}],"rows":[{"cells":["x\u001b[2J\nhidden",1.5]}]}`, false)
	f.Add(good, `{"kind":"Table","columnDefinitions":[{"name":"Ready"}],"rows":[{"cells":["a","b","c"]},{"cells":[]}]}`, true)
	f.Add(good, `{"kind":"Table","columnDefinitions":[{"name":"Name"}],"rows":[{"cells":[{"a":1}]}]}`, false)
	f.Add(good, `{"kind":"Table","rows":[{"cells":["x"],"object":{"metadata":{"name":"\u202e","namespace":7}}}]}`, true)
	f.Add(good, `{"kind":"Table","columnDefinitions":"x","rows":{}}`, false)
	f.Add(`{"kind":"Secret"}`, `[]`, true)
	f.Fuzz(func(t *testing.T, a, b string, wide bool) {
		var parts []ClusterTable
		for i, doc := range []string{a, b} {
			var m map[string]any
			if json.Unmarshal([]byte(doc), &m) != nil {
				continue
			}
			tbl, err := DecodeTable(&unstructured.Unstructured{Object: m})
			if err != nil {
				continue
			}
			if i == 0 {
				CompactRows(tbl)
			}
			parts = append(parts, ClusterTable{Cluster: []string{"cluster1", "cluster\x1b2"}[i], Table: tbl})
		}
		if len(parts) == 0 {
			return
		}
		merged := MergeTables(parts)
		for i, r := range merged.Rows {
			if len(r.Cells) != len(merged.ColumnDefinitions) {
				t.Fatalf("merged row %d has %d cells for %d columns", i, len(r.Cells), len(merged.ColumnDefinitions))
			}
		}
		termsafe.Table(merged)
		var out bytes.Buffer
		p := printers.NewTablePrinter(printers.PrintOptions{Wide: wide, WithNamespace: true, ShowLabels: true})
		if err := p.PrintObj(merged, &out); err != nil {
			return // refused whole, as kubectl's printer refuses it
		}
		s := out.String()
		if i := strings.IndexFunc(s, func(r rune) bool {
			return (r < 0x20 && r != '\n' && r != '\t') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e) || (r >= 0x2066 && r <= 0x2069)
		}); i >= 0 {
			t.Fatalf("unsafe character at %d in %q", i, s)
		}
		if len(merged.Rows) > 0 {
			if got := strings.Count(s, "\n"); got != len(merged.Rows)+1 {
				t.Fatalf("%d lines for %d rows and a header:\n%s", got, len(merged.Rows), s)
			}
		}
	})
}

var _ = metav1.Table{}
