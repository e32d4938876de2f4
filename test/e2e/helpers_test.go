package e2e

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// kubectl is the kubectl `make tools` builds (v1.37), not whatever the machine has.
func kubectl() string { return filepath.Join(sandbox.DefaultBinDir(), "kubectl") }

// waitClusterReady waits until the KubeFed controller reports the cluster's
// Ready condition as want.
func waitClusterReady(t *testing.T, fed *sandbox.Federation, name, want string, timeout time.Duration) *unstructured.Unstructured {
	t.Helper()
	var last *unstructured.Unstructured
	err := wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		obj, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		last = obj
		return conditionStatus(obj, "Ready") == want, nil
	})
	if err != nil {
		t.Fatalf("KubeFedCluster %s not Ready=%s after %s; last status: %v", name, want, timeout, last)
	}
	return last
}

func conditionStatus(obj *unstructured.Unstructured, typ string) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		m, _ := c.(map[string]any)
		if m["type"] == typ {
			s, _ := m["status"].(string)
			return s
		}
	}
	return ""
}

func lines(s string) []string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

func unstructuredString(obj *unstructured.Unstructured, fields ...string) (string, bool, error) {
	return unstructured.NestedString(obj.Object, fields...)
}

// parseTable reads a kubectl-style table by the header's column positions, so
// cells with spaces ("cpu: 10%/50%") and headers like "KUBERNETES VERSION" stay whole.
func parseTable(t *testing.T, out string) []map[string]string {
	t.Helper()
	rows := lines(out)
	if len(rows) == 0 {
		t.Fatalf("no table in %q", out)
	}
	header := rows[0]
	var starts []int
	var names []string
	for _, loc := range headerCell.FindAllStringIndex(header, -1) {
		starts = append(starts, loc[0])
		names = append(names, header[loc[0]:loc[1]])
	}
	var table []map[string]string
	for _, r := range rows[1:] {
		row := map[string]string{}
		for i, s := range starts {
			end := len(r)
			if i+1 < len(starts) && starts[i+1] < end {
				end = starts[i+1]
			}
			if s < len(r) {
				row[names[i]] = strings.TrimSpace(r[s:end])
			}
		}
		table = append(table, row)
	}
	return table
}

// A header cell is words joined by single spaces; columns are apart by two or more.
var headerCell = regexp.MustCompile(`\S+(?: \S+)*`)

// errorLines are the lines of stderr that are not warnings: in the sandbox
// every join warns that its endpoint is a loopback address.
func errorLines(stderr string) []string {
	var out []string
	for _, l := range lines(stderr) {
		if !strings.HasPrefix(l, "Warning: ") {
			out = append(out, l)
		}
	}
	return out
}
