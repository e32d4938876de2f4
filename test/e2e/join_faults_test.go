package e2e

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// hostSecrets lists the Secrets join made on the host.
func hostSecrets(t *testing.T, fed *sandbox.Federation) []string {
	t.Helper()
	list, err := fed.Host.Client.CoreV1().Secrets(sandbox.KubeFedNamespace).List(context.Background(), metav1.ListOptions{LabelSelector: managedSelector})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, s := range list.Items {
		out = append(out, s.Name)
	}
	return out
}

// once runs f the first time a request matches, and reports whether it has.
type once struct {
	mu    sync.Mutex
	fired bool
}

func (o *once) do(match bool, f func()) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if match && !o.fired {
		o.fired = true
		f()
	}
}

func (o *once) done() bool {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.fired
}

// A join whose host or member goes away half-way leaves no KubeFedCluster
// (no half-joined cluster), says what it could not roll back, and joining
// again once the cluster is back completes it. unjoin --force cleans the host
// of a member that is gone for good.
func TestJoinSurvivesAClusterGoingAway(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	host := startFaultProxy(t, fed, fed.Host)
	routeContext(t, fed.Kubeconfig, sandbox.HostName, host.URL())
	member := startFaultProxy(t, fed, fed.Member("cluster1"))
	routeContext(t, fed.Kubeconfig, "cluster1", member.URL())

	t.Run("host goes away after the member side and the token", func(t *testing.T) {
		var trigger once
		// The host answers the token Secret, then dies as the KubeFedCluster is written.
		host.OnRequest(func(r *http.Request) {
			trigger.do(r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/kubefedclusters/cluster1"), host.Down)
		})
		res := fed.OpenMCP(t, "join", "cluster1")
		host.OnRequest(nil)
		if !trigger.done() {
			t.Fatalf("the join never wrote the KubeFedCluster: exit %d %q", res.Code, res.Stderr)
		}
		t.Logf("join as the host went away: exit %d\n%s", res.Code, res.Stderr)
		if res.Code != 1 {
			t.Errorf("exit %d, want 1", res.Code)
		}
		if len(errorLines(res.Stderr)) != 1 || !strings.Contains(res.Stderr, "cluster cluster1 not joined") || !strings.Contains(res.Stderr, "KubeFedCluster") {
			t.Errorf("want one line naming the failed step, got %q", res.Stderr)
		}
		// The host could not be cleaned while it was away: the message must say so, not claim a clean slate.
		if strings.Contains(res.Stderr, "nothing of this join was left behind") || !strings.Contains(res.Stderr, "cluster1-kubefed-token") {
			t.Errorf("stderr must name the Secret left on the host: %q", res.Stderr)
		}
		if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 0 {
			t.Errorf("the member was not rolled back: %v", got)
		}
		host.Up()
		if got := hostKubeFedClusters(t, fed); len(got) != 0 {
			t.Errorf("half-joined: KubeFedClusters %v on the host", got)
		}
		// Once the host is back, joining again completes it.
		res = fed.OpenMCP(t, "join", "cluster1")
		if res.Code != 0 || !strings.Contains(res.Stdout, "cluster/cluster1 joined") {
			t.Fatalf("re-join after recovery: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if got := hostKubeFedClusters(t, fed); strings.Join(got, ",") != "cluster1" {
			t.Errorf("KubeFedClusters after re-join: %v", got)
		}
	})

	t.Run("unjoin refuses, then --force cleans the host of a member that went away", func(t *testing.T) {
		member.Down()
		res := fed.OpenMCP(t, "unjoin", "cluster1")
		if res.Code != 1 || !strings.Contains(res.Stderr, "--force") || len(lines(res.Stderr)) != 1 {
			t.Errorf("unjoin of an unreachable member: exit %d %q", res.Code, res.Stderr)
		}
		if got := hostKubeFedClusters(t, fed); len(got) != 1 {
			t.Errorf("a refused unjoin changed the host: %v", got)
		}
		res = fed.OpenMCP(t, "unjoin", "cluster1", "--force")
		if res.Code != 0 || !strings.Contains(res.Stdout, "cluster/cluster1 unjoined") || !strings.Contains(res.Stderr, "left on it") {
			t.Errorf("unjoin --force: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if got := hostKubeFedClusters(t, fed); len(got) != 0 {
			t.Errorf("unjoin --force left KubeFedClusters %v", got)
		}
		if got := hostSecrets(t, fed); len(got) != 0 {
			t.Errorf("unjoin --force left host Secrets %v", got)
		}
		member.Up()
		// The member kept what it had; joining again adopts it, unjoining removes it.
		if res := fed.OpenMCP(t, "join", "cluster1"); res.Code != 0 {
			t.Fatalf("join after --force unjoin: exit %d %q", res.Code, res.Stderr)
		}
		if res := fed.OpenMCP(t, "unjoin", "cluster1", "--wait=60s"); res.Code != 0 {
			t.Fatalf("unjoin: exit %d %q", res.Code, res.Stderr)
		}
		if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 0 {
			t.Errorf("unjoin left %v on the member", got)
		}
	})

	t.Run("member stops answering while join waits for the token", func(t *testing.T) {
		var trigger once
		member.OnRequest(func(r *http.Request) {
			trigger.do(r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/secrets") && strings.Contains(r.URL.RawQuery, "cluster1-openmcp-token"), member.Down)
		})
		res := fed.OpenMCP(t, "join", "cluster1", "--token-timeout", "3s")
		member.OnRequest(nil)
		t.Logf("join as the member stopped answering: exit %d\n%s", res.Code, res.Stderr)
		if !trigger.done() || res.Code != 1 || !strings.Contains(res.Stderr, "the member stopped answering") || strings.Contains(res.Stderr, "token controller") {
			t.Errorf("exit %d, stderr %q: want 1 and the member named as not answering, not its token controller", res.Code, res.Stderr)
		}
		if got := hostKubeFedClusters(t, fed); len(got) != 0 {
			t.Errorf("half-joined: KubeFedClusters %v on the host", got)
		}
		member.Up()
		// Back: joining completes it, unjoining removes what the failed run left too.
		if res := fed.OpenMCP(t, "join", "cluster1"); res.Code != 0 {
			t.Fatalf("join after recovery: exit %d %q", res.Code, res.Stderr)
		}
		if res := fed.OpenMCP(t, "unjoin", "cluster1", "--wait=60s"); res.Code != 0 {
			t.Fatalf("unjoin: exit %d %q", res.Code, res.Stderr)
		}
		if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 0 {
			t.Errorf("unjoin left %v on the member", got)
		}
	})

	t.Run("member goes away half-way through its own writes", func(t *testing.T) {
		var trigger once
		member.OnRequest(func(r *http.Request) {
			trigger.do(r.Method == http.MethodPatch && strings.Contains(r.URL.Path, "/clusterrolebindings/"), member.Down)
		})
		res := fed.OpenMCP(t, "join", "cluster1")
		member.OnRequest(nil)
		if !trigger.done() {
			t.Fatalf("the join never wrote the ClusterRoleBinding: exit %d %q", res.Code, res.Stderr)
		}
		t.Logf("join as the member went away: exit %d\n%s", res.Code, res.Stderr)
		if res.Code != 1 || len(errorLines(res.Stderr)) != 1 || !strings.Contains(res.Stderr, "ClusterRoleBinding") {
			t.Errorf("exit %d, stderr %q: want 1 and one line naming the ClusterRoleBinding step", res.Code, res.Stderr)
		}
		// The member could not be cleaned: what is left there is named.
		if strings.Contains(res.Stderr, "nothing of this join was left behind") || !strings.Contains(res.Stderr, "ServiceAccount") {
			t.Errorf("stderr must name what stayed on the member: %q", res.Stderr)
		}
		if got := hostKubeFedClusters(t, fed); len(got) != 0 {
			t.Errorf("half-joined: KubeFedClusters %v on the host", got)
		}
		if got := hostSecrets(t, fed); len(got) != 0 {
			t.Errorf("host Secrets %v written for a member that went away", got)
		}
		member.Up()
		res = fed.OpenMCP(t, "join", "cluster1")
		if res.Code != 0 || !strings.Contains(res.Stdout, "cluster/cluster1 joined") {
			t.Fatalf("re-join after recovery: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		want := []string{"serviceaccount/cluster1-openmcp", "secret/cluster1-openmcp-token", "clusterrole/kubefed-controller-manager:cluster1-openmcp",
			"clusterrolebinding/kubefed-controller-manager:cluster1-openmcp", "namespace/" + sandbox.KubeFedNamespace}
		if got := memberFootprint(t, fed.Member("cluster1")); strings.Join(got, ",") != strings.Join(want, ",") {
			t.Errorf("member after re-join: %v, want %v", got, want)
		}
		if got := hostSecrets(t, fed); strings.Join(got, ",") != "cluster1-kubefed-token" {
			t.Errorf("host Secrets after re-join: %v", got)
		}
	})
}
