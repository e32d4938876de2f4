package e2e

import (
	"fmt"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// `kubectl openmcp logs` reads container logs through each member's real
// apiserver log path (kwok serves them as a kubelet): every pod of a
// workload in every chosen member, each line prefixed with its origin, and
// -f keeps streaming while a member that goes away is named once.
func TestLogsAcrossMembers(t *testing.T) {
	fed := observabilityFederation(t, sandbox.Options{Members: 2, KubeFed: true}, nil)
	for _, j := range [][]string{{"cluster1", "AS", "KR"}, {"cluster2", "EU", "DE"}} {
		if res := fed.OpenMCP(t, "join", j[0], "--region", j[1], "--zone", j[2], "--wait=60s"); res.Code != 0 {
			t.Fatalf("join %s: exit %d: %s", j[0], res.Code, res.Stderr)
		}
	}
	line := regexp.MustCompile(`^(cluster[12])/(web-[a-z0-9-]+)/web hello from (cluster[12]) \(line ([123])\)$`)

	t.Run("every pod of the workload in every member", func(t *testing.T) {
		res := fed.OpenMCP(t, "logs", "deploy/web", "-n", "shop", "--all-clusters")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		pods := map[string]int{}
		for _, l := range lines(res.Stdout) {
			m := line.FindStringSubmatch(l)
			if m == nil || m[1] != m[3] {
				t.Fatalf("line %q is not CLUSTER/POD/CONTAINER and that cluster's log", l)
			}
			pods[m[1]+"/"+m[2]]++
		}
		if len(pods) != 4 {
			t.Fatalf("want 2 pods in each of 2 clusters, got %v", pods)
		}
		for p, n := range pods {
			if n != 3 {
				t.Errorf("%s: %d lines, want 3", p, n)
			}
		}
	})

	t.Run("--tail, -C and --prefix=false", func(t *testing.T) {
		res := fed.OpenMCP(t, "logs", "deploy/web", "-n", "shop", "-C", "topology.kubernetes.io/region=EU", "--tail", "1")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		got := lines(res.Stdout)
		if len(got) != 2 {
			t.Fatalf("want the last line of cluster2's 2 pods, got %q", res.Stdout)
		}
		for _, l := range got {
			if m := line.FindStringSubmatch(l); m == nil || m[1] != "cluster2" || m[4] != "3" {
				t.Errorf("line %q: want cluster2's line 3", l)
			}
		}
		res = fed.OpenMCP(t, "logs", "deploy/web", "-n", "shop", "--clusters", "cluster1", "--tail", "1", "--prefix=false")
		if want := "hello from cluster1 (line 3)\nhello from cluster1 (line 3)\n"; res.Code != 0 || res.Stdout != want {
			t.Errorf("--prefix=false: exit %d, stdout %q, want %q", res.Code, res.Stdout, want)
		}
	})

	t.Run("bad input", func(t *testing.T) {
		res := fed.OpenMCP(t, "logs", "deploy/nope", "-n", "shop", "--all-clusters")
		if res.Code != 1 || !strings.Contains(res.Stderr, `no pods of deploy/nope in namespace shop of any of the 2 clusters`) {
			t.Errorf("a workload with no pods: exit %d, stderr %q", res.Code, res.Stderr)
		}
		res = fed.OpenMCP(t, "logs", "svc/web", "-n", "shop", "--all-clusters")
		if res.Code != 2 || !strings.Contains(res.Stderr, `invalid "svc/web": want POD or TYPE/NAME with TYPE one of deploy, sts, ds, rs, job, pod`) {
			t.Errorf("svc/web: exit %d, stderr %q", res.Code, res.Stderr)
		}
		res = fed.OpenMCP(t, "logs", "deploy/web", "-n", "shop", "--all-clusters", "-f", "--max-log-requests", "3")
		if res.Code != 2 || !strings.Contains(res.Stderr, "following 4 containers needs as many open streams: more than --max-log-requests 3") {
			t.Errorf("-f over the stream bound: exit %d, stderr %q", res.Code, res.Stderr)
		}
	})

	t.Run("-f streams new lines and survives a member going away", func(t *testing.T) {
		r := startBinary(t, fed, "kubectl-openmcp", "logs", "deploy/web", "-n", "shop", "--all-clusters", "-f", "--tail", "0")
		waitStdout := func(want string, n int) {
			t.Helper()
			deadline := time.Now().Add(30 * time.Second)
			for time.Now().Before(deadline) {
				if strings.Count(r.Stdout(), want) >= n {
					return
				}
				time.Sleep(200 * time.Millisecond)
			}
			t.Fatalf("stdout has %d lines with %q, want %d:\n%s\nstderr: %s", strings.Count(r.Stdout(), want), want, n, r.Stdout(), r.Stderr())
		}
		// The streams open one by one: keep writing until both members' pods show it.
		first := fmt.Sprintf("first at %d", time.Now().UnixNano())
		deadline := time.Now().Add(30 * time.Second)
		for strings.Count(r.Stdout(), first) < 4 && time.Now().Before(deadline) {
			for _, m := range fed.Members {
				if err := sandbox.AppendLog(m.LogFile, first); err != nil {
					t.Fatal(err)
				}
			}
			time.Sleep(time.Second)
		}
		waitStdout(first, 4)
		// The member's apiserver dies (its kubelet lives on): the link goes.
		if err := syscall.Kill(fed.Member("cluster2").APIServerPID(), syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		r.waitStderr(t, "cluster cluster2:", 60*time.Second)
		later := fmt.Sprintf("later at %d", time.Now().UnixNano())
		if err := sandbox.AppendLog(fed.Member("cluster1").LogFile, later); err != nil {
			t.Fatal(err)
		}
		waitStdout("cluster1/", 1)
		waitStdout(later, 2)
		if n := strings.Count(r.Stderr(), "cluster cluster2:"); n != 1 {
			t.Errorf("cluster2 named %d times on stderr, want once:\n%s", n, r.Stderr())
		}
		if code := r.interrupt(t, 10*time.Second); code == 0 {
			t.Errorf("exit 0 after a member failed; want non-zero")
		}
	})
}
