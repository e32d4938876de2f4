package e2e

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// Another writer changes the object between the command's read and its
// write: the write fails with a real 409 from the apiserver, the command
// reads again and retries, and what the other writer set stays.
func TestLabelAndMetalLBRetryOnConflict(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, MetalLBCRDs: []string{"cluster1"}})
	c1, c2 := fed.Member("cluster1"), fed.Member("cluster2")
	ctx := context.Background()
	c1.CreateNodes(t, sandbox.Node{Name: "c1-cp", Roles: []string{"control-plane"}, Ready: true})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		m, err := metallb.DetectMode(ctx, c1.Client.Discovery())
		return err == nil && m == metallb.ModeCRD, nil
	}); err != nil {
		t.Fatalf("cluster1 never served %s", metallb.GroupVersion)
	}
	p1 := startFaultProxy(t, fed, c1)
	routeContext(t, fed.Kubeconfig, "cluster1", p1.URL())
	p2 := startFaultProxy(t, fed, c2)
	routeContext(t, fed.Kubeconfig, "cluster2", p2.URL())

	t.Run("label", func(t *testing.T) {
		var other once
		p1.OnRequest(func(r *http.Request) {
			other.do(r.Method == http.MethodPatch && r.URL.Path == "/api/v1/nodes/c1-cp", func() {
				n, err := c1.Client.CoreV1().Nodes().Get(ctx, "c1-cp", metav1.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				n.Labels["team"] = "payments"
				if n.Annotations == nil {
					n.Annotations = map[string]string{}
				}
				n.Annotations["owner"] = "ops"
				if _, err := c1.Client.CoreV1().Nodes().Update(ctx, n, metav1.UpdateOptions{}); err != nil {
					t.Error(err)
				}
			})
		})
		res := fed.OpenMCP(t, "label", "cluster1", "--region", "AS", "--zone", "KR")
		p1.OnRequest(nil)
		if res.Code != 0 || !strings.Contains(res.Stdout, "node/c1-cp labeled") {
			t.Fatalf("label under a conflict: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if n := p1.Count(http.MethodPatch, "/nodes/c1-cp"); n != 2 {
			t.Errorf("%d PATCHes of the node, want 2 (one conflict, one retry)", n)
		}
		n, _ := c1.Client.CoreV1().Nodes().Get(ctx, "c1-cp", metav1.GetOptions{})
		if n.Labels["team"] != "payments" || n.Annotations["owner"] != "ops" {
			t.Errorf("the other writer's label/annotation are gone: %v %v", n.Labels, n.Annotations)
		}
		if got := nodeTopology(t, c1, "c1-cp"); !sameMap(got, wantTopology("AS", "KR")) {
			t.Errorf("topology labels %v", got)
		}
	})

	t.Run("metallb ConfigMap", func(t *testing.T) {
		if res := fed.OpenMCP(t, "metallb", "cluster2", "--range", "10.0.3.241-10.0.3.250"); res.Code != 0 {
			t.Fatalf("metallb: exit %d %q", res.Code, res.Stderr)
		}
		var other once
		p2.OnRequest(func(r *http.Request) {
			other.do(r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/configmaps/config"), func() {
				cm, err := c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, "config", metav1.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				cm.Data["note"] = "kept by the platform team"
				cm.Data["config"] += "  - name: reserved\n    protocol: layer2\n    addresses:\n      - 10.0.7.0/28\n"
				if _, err := c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
					t.Error(err)
				}
			})
		})
		res := fed.OpenMCP(t, "metallb", "cluster2", "--range", "10.0.5.0/28")
		p2.OnRequest(nil)
		if res.Code != 0 || !strings.Contains(res.Stdout, "configmap/config configured") {
			t.Fatalf("metallb under a conflict: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if n := p2.Count(http.MethodPatch, "/configmaps/config"); n != 2 {
			t.Errorf("%d PATCHes of the ConfigMap, want 2", n)
		}
		cm, _ := c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, "config", metav1.GetOptions{})
		if cm.Data["note"] != "kept by the platform team" {
			t.Errorf("the other writer's key is gone: %v", cm.Data)
		}
		cfg := cm.Data["config"]
		if !strings.Contains(cfg, "10.0.5.0/28") || strings.Contains(cfg, "10.0.3.241") || !strings.Contains(cfg, "name: reserved") || !strings.Contains(cfg, "10.0.7.0/28") {
			t.Errorf("config: want the new default range and the other writer's pool:\n%s", cfg)
		}
	})

	t.Run("metallb IPAddressPool", func(t *testing.T) {
		if res := fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.4.240/28"); res.Code != 0 {
			t.Fatalf("metallb: exit %d %q", res.Code, res.Stderr)
		}
		pools := c1.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace)
		var other once
		p1.OnRequest(func(r *http.Request) {
			other.do(r.Method == http.MethodPatch && strings.HasSuffix(r.URL.Path, "/ipaddresspools/default"), func() {
				pool, err := pools.Get(ctx, "default", metav1.GetOptions{})
				if err != nil {
					t.Error(err)
					return
				}
				_ = unstructured.SetNestedField(pool.Object, true, "spec", "avoidBuggyIPs")
				l := pool.GetLabels()
				if l == nil {
					l = map[string]string{}
				}
				l["team"] = "net"
				pool.SetLabels(l)
				if _, err := pools.Update(ctx, pool, metav1.UpdateOptions{}); err != nil {
					t.Error(err)
				}
			})
		})
		res := fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.6.0/28")
		p1.OnRequest(nil)
		if res.Code != 0 || !strings.Contains(res.Stdout, "ipaddresspool.metallb.io/default configured") {
			t.Fatalf("metallb under a conflict: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if n := p1.Count(http.MethodPatch, "/ipaddresspools/default"); n != 2 {
			t.Errorf("%d PATCHes of the pool, want 2", n)
		}
		pool, _ := pools.Get(ctx, "default", metav1.GetOptions{})
		addrs, _, _ := unstructured.NestedStringSlice(pool.Object, "spec", "addresses")
		avoid, _, _ := unstructured.NestedBool(pool.Object, "spec", "avoidBuggyIPs")
		if strings.Join(addrs, ",") != "10.0.6.0/28" || !avoid || pool.GetLabels()["team"] != "net" {
			t.Errorf("pool: addresses %v, avoidBuggyIPs %v, labels %v; want the new range and the other writer's fields", addrs, avoid, pool.GetLabels())
		}
	})
}
