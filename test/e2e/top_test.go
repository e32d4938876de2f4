package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// TestTopAcrossMembers runs `kubectl openmcp top` against two joined members
// whose metrics API is the real metrics-server scraping kwok's kubelets:
// cluster1's pods use 5m of cpu each, cluster2's 50m.
func TestTopAcrossMembers(t *testing.T) {
	fed := observabilityFederation(t, sandbox.Options{Members: 2, KubeFed: true}, map[string]string{"cluster2": "50m"})
	for _, j := range [][]string{{"cluster1", "AS", "KR"}, {"cluster2", "EU", "DE"}} {
		res := fed.OpenMCP(t, "join", j[0], "--region", j[1], "--zone", j[2], "--wait=60s")
		if res.Code != 0 {
			t.Fatalf("join %s: exit %d: %s", j[0], res.Code, res.Stderr)
		}
	}
	for _, m := range fed.Members {
		if err := m.WaitMetricsAPI(context.Background(), 60*time.Second); err != nil {
			t.Fatal(err)
		}
	}

	// metrics-server has cpu figures after its second scrape.
	var res sandbox.Result
	err := wait.PollUntilContextTimeout(t.Context(), time.Second, 90*time.Second, true, func(context.Context) (bool, error) {
		res = fed.OpenMCP(t, "top", "pods", "-n", "shop", "--all-clusters", "--sum")
		return res.Code == 0 && len(lines(res.Stdout)) == 1+4+3, nil
	})
	if err != nil {
		t.Fatalf("top pods --all-clusters --sum: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	t.Logf("top pods -n shop --all-clusters --sum:\n%s", res.Stdout)
	rows := parseTable(t, res.Stdout)
	want := []struct{ cluster, name, cpu, mem string }{
		{"cluster1", "web-", "5m", "16Mi"}, {"cluster1", "web-", "5m", "16Mi"},
		{"cluster2", "web-", "50m", "16Mi"}, {"cluster2", "web-", "50m", "16Mi"},
		{"cluster1", "TOTAL", "10m", "32Mi"}, {"cluster2", "TOTAL", "100m", "32Mi"},
		{"ALL", "TOTAL", "110m", "64Mi"},
	}
	for i, w := range want {
		r := rows[i]
		if r["CLUSTER"] != w.cluster || !strings.HasPrefix(r["NAME"], w.name) || !cpuNear(r["CPU(cores)"], w.cpu) || r["MEMORY(bytes)"] != w.mem {
			t.Errorf("row %d: %v, want %+v", i, r, w)
		}
	}

	// --sort-by cpu puts cluster2's busier nodes first; -C selects by region.
	res = fed.OpenMCP(t, "top", "nodes", "--clusters", "cluster1,cluster2", "--sort-by", "cpu")
	if res.Code != 0 {
		t.Fatalf("top nodes: exit %d: %s", res.Code, res.Stderr)
	}
	t.Logf("top nodes --sort-by cpu:\n%s", res.Stdout)
	nodes := parseTable(t, res.Stdout)
	if len(nodes) != 4 || nodes[0]["CLUSTER"] != "cluster2" || nodes[0]["CPU(cores)"] == "0m" || nodes[0]["CPU(%)"] == "<unknown>" {
		t.Errorf("top nodes --sort-by cpu: %v", nodes)
	}
	res = fed.OpenMCP(t, "top", "nodes", "-C", "topology.kubernetes.io/region=EU")
	if res.Code != 0 {
		t.Fatalf("top nodes -C topology.kubernetes.io/region=EU: exit %d: %s", res.Code, res.Stderr)
	}
	for _, r := range parseTable(t, res.Stdout) {
		if r["CLUSTER"] != "cluster2" {
			t.Errorf("top nodes -C topology.kubernetes.io/region=EU shows %v", r)
		}
	}

	// Bad input: one line, exit 2, nothing asked.
	for _, args := range [][]string{
		{"top", "pods", "--all-clusters", "--sort-by", "disk"},
		{"top", "pods"},
		{"top", "nodes", "-C", "region in (AS"},
	} {
		res = fed.OpenMCP(t, args...)
		var errs []string
		for _, l := range errorLines(res.Stderr) {
			if !strings.HasPrefix(l, "See 'kubectl ") {
				errs = append(errs, l)
			}
		}
		if res.Code != 2 || len(errs) != 1 {
			t.Errorf("%v: exit %d, stderr %q; want exit 2 and one error line", args, res.Code, res.Stderr)
		}
	}

	// A member whose metrics API is down is named once; the other is shown.
	fed.Member("cluster2").StopMetricsServer()
	res = fed.OpenMCP(t, "top", "pods", "-n", "shop", "--all-clusters")
	t.Logf("top pods with cluster2's metrics-server stopped: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	if res.Code != 1 || !strings.Contains(res.Stderr, "cluster cluster2:") || strings.Count(res.Stderr, "cluster2") != 1 {
		t.Errorf("top with cluster2's metrics-server stopped: exit %d, stderr %q; want exit 1 and one line naming cluster2", res.Code, res.Stderr)
	}
	if got := parseTable(t, res.Stdout); len(got) != 2 || got[0]["CLUSTER"] != "cluster1" {
		t.Errorf("top with cluster2 down: %v; want cluster1's two pods", got)
	}
}
