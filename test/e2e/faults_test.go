package e2e

import (
	"context"
	"regexp"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/test/bench/delayproxy"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// ourGoroutines lists goroutines still running code of this project's
// commands: after a command returns there must be none.
func ourGoroutines() []string {
	buf := make([]byte, 1<<20)
	buf = buf[:runtime.Stack(buf, true)]
	var out []string
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "kubectl-openmcp/plugins/") || strings.Contains(g, "kubectl-openmcp/pkg/fleet") {
			out = append(out, g)
		}
	}
	return out
}

func waitNoGoroutines(t *testing.T, within time.Duration) {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		left := ourGoroutines()
		if len(left) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%d goroutines of ours still run %s after the command returned:\n%s", len(left), within, left[0])
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// threeJoinedMembersWithWeb is a federation of three joined members, each
// running "web" with its HPA, and an OpenMCPDeployment "web" planned on all.
func threeJoinedMembersWithWeb(t *testing.T) *sandbox.Federation {
	t.Helper()
	fed := sandbox.Start(t, sandbox.Options{Members: 3})
	for _, m := range []string{"cluster1", "cluster2", "cluster3"} {
		fed.JoinForTest(t, m)
		webApp(t, fed.Member(m), "openmcp", 2, 5)
	}
	odeploy, _ := openmcpapi.KindByName("odeploy")
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "openmcp.k8s.io/v1alpha1", "kind": "OpenMCPDeployment",
		"metadata": map[string]any{"name": "web", "namespace": "openmcp"},
		"spec":     map[string]any{"replicas": int64(6), "clusters": []any{"cluster1", "cluster2", "cluster3"}},
	}}
	if _, err := fed.Host.Dynamic.Resource(odeploy.GVR()).Namespace("openmcp").Create(context.Background(), obj, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	return fed
}

// A member that accepts TCP but never answers (its apiserver paused with
// SIGSTOP) must cost no more than --cluster-timeout, and leave nothing running.
func TestPausedMemberCostsOnlyTheTimeout(t *testing.T) {
	fed := threeJoinedMembersWithWeb(t)
	// Warm the discovery cache while every member answers, as a daily user's is.
	if res := fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A"); res.Code != 0 {
		t.Fatalf("warm-up: exit %d: %s", res.Code, res.Stderr)
	}
	pid := fed.Member("cluster2").APIServerPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }()

	const timeout = 3 * time.Second
	for _, args := range [][]string{
		{"get", "hpa", "--all-clusters", "-A", "--cluster-timeout", "3s"},
		{"clusters", "--cluster-timeout", "3s"},
		{"status", "odeploy/web", "-n", "openmcp", "--cluster-timeout", "3s"},
	} {
		t.Run(args[0], func(t *testing.T) {
			start := time.Now()
			res := fed.OpenMCP(t, args...)
			elapsed := time.Since(start)
			if res.Code != 1 {
				t.Errorf("exit %d, want 1; stderr %q", res.Code, res.Stderr)
			}
			if !strings.Contains(res.Stdout, "cluster1") || !strings.Contains(res.Stdout, "cluster3") {
				t.Errorf("the answering members are missing:\n%s", res.Stdout)
			}
			if n := strings.Count(res.Stderr, "cluster2"); n != 1 || !strings.Contains(res.Stderr, "no answer within") {
				t.Errorf("want one warning naming cluster2's timeout, got %q", res.Stderr)
			}
			if elapsed > timeout+2*time.Second {
				t.Errorf("took %s with --cluster-timeout %s", elapsed, timeout)
			}
			waitNoGoroutines(t, timeout+2*time.Second)
		})
	}
}

// One member stopped, one paused and one slow (behind the bench's delaying
// proxy): the slow one's rows and the others' warnings arrive within
// --cluster-timeout, one warning per failed member, exit 1, nothing left running.
func TestStoppedPausedAndSlowMembers(t *testing.T) {
	fed := threeJoinedMembersWithWeb(t)
	// cluster1 answers 150 ms late on every round trip.
	slow, err := delayproxy.Start(strings.TrimPrefix(fed.Member("cluster1").Server, "https://"), 150*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer slow.Close()
	routeContext(t, fed.Kubeconfig, "cluster1", "https://"+slow.Addr())
	if res := fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A"); res.Code != 0 {
		t.Fatalf("warm-up: exit %d: %s", res.Code, res.Stderr)
	}
	pid := fed.Member("cluster2").APIServerPID()
	if err := syscall.Kill(pid, syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = syscall.Kill(pid, syscall.SIGCONT) }()
	fed.Member("cluster3").StopCluster()

	const timeout = 5 * time.Second
	for _, args := range [][]string{
		{"get", "hpa", "--all-clusters", "-A", "--cluster-timeout", "5s"},
		{"clusters", "--cluster-timeout", "5s"},
		{"status", "odeploy/web", "-n", "openmcp", "--cluster-timeout", "5s"},
	} {
		t.Run(args[0], func(t *testing.T) {
			start := time.Now()
			res := fed.OpenMCP(t, args...)
			elapsed := time.Since(start)
			if res.Code != 1 {
				t.Errorf("exit %d, want 1; stderr %q", res.Code, res.Stderr)
			}
			if !regexp.MustCompile(`(?m)^cluster1\s|\scluster1\s`).MatchString(res.Stdout) {
				t.Errorf("the slow member's row is missing:\n%s", res.Stdout)
			}
			if n := strings.Count(res.Stderr, "cluster2"); n != 1 || !strings.Contains(res.Stderr, "no answer within") {
				t.Errorf("want one warning naming the paused cluster2's timeout, got %q", res.Stderr)
			}
			if n := strings.Count(res.Stderr, "cluster3"); n != 1 {
				t.Errorf("want one warning naming the stopped cluster3, got %q", res.Stderr)
			}
			if strings.Contains(res.Stderr, "cluster1") {
				t.Errorf("the slow member got a warning: %q", res.Stderr)
			}
			if elapsed > timeout+2*time.Second {
				t.Errorf("took %s with --cluster-timeout %s", elapsed, timeout)
			}
			waitNoGoroutines(t, timeout+2*time.Second)
		})
	}
}
