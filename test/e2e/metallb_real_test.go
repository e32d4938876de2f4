package e2e

import (
	"context"
	"encoding/json"
	"net/netip"
	"os"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/doctor"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// createLBService creates a LoadBalancer Service; annotations and a requested
// address (spec.loadBalancerIP) are optional.
func createLBService(t *testing.T, c *sandbox.Cluster, name, requested string, annotations map[string]string) {
	t.Helper()
	svc := &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Annotations: annotations},
		Spec: corev1.ServiceSpec{
			Type:           corev1.ServiceTypeLoadBalancer,
			LoadBalancerIP: requested,
			Selector:       map[string]string{"app": name},
			Ports:          []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080)}},
		},
	}
	if _, err := c.Client.CoreV1().Services("default").Create(context.Background(), svc, metav1.CreateOptions{}); err != nil {
		t.Fatalf("%s: create Service %s: %v", c.Name, name, err)
	}
}

func ingressIP(t *testing.T, c *sandbox.Cluster, name string) string {
	t.Helper()
	s, err := c.Client.CoreV1().Services("default").Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if len(s.Status.LoadBalancer.Ingress) == 0 {
		return ""
	}
	return s.Status.LoadBalancer.Ingress[0].IP
}

// waitIngressIn waits until MetalLB's controller gives the Service an
// address inside want (and, when not "", other than not), and returns it.
func waitIngressIn(t *testing.T, c *sandbox.Cluster, name, want, not string) string {
	t.Helper()
	r, err := metallb.ParseRange(want)
	if err != nil {
		t.Fatal(err)
	}
	var got string
	err = wait.PollUntilContextTimeout(context.Background(), 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		got = ingressIP(t, c, name)
		a, err := netip.ParseAddr(got)
		return err == nil && r.Contains(a) && got != not, nil
	})
	if err != nil {
		t.Fatalf("%s: Service %s has address %q, want one in %s (not %q); MetalLB log %s:\n%s", c.Name, name, got, want, not, c.MetalLBLog(), logTail(c.MetalLBLog(), 20))
	}
	return got
}

func logTail(path string, n int) string {
	b, _ := os.ReadFile(path)
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > n {
		all = all[len(all)-n:]
	}
	return strings.Join(all, "\n")
}

// stillNoAddress checks that the Service gets no address for a while (the
// controller handles a Service within milliseconds once it has its pools).
func stillNoAddress(t *testing.T, c *sandbox.Cluster, name string) {
	t.Helper()
	deadline := time.Now().Add(3 * time.Second)
	for time.Now().Before(deadline) {
		if ip := ingressIP(t, c, name); ip != "" {
			t.Fatalf("%s: Service %s got address %s, outside every pool", c.Name, name, ip)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// TestMetalLBRealControllers: what metallb and join --metallb-range write,
// MetalLB itself reads. cluster1 runs MetalLB v0.14.9's controller (CRD
// mode), cluster2 v0.12.1's (legacy ConfigMap); on each, a LoadBalancer
// Service gets an address from the pool written, a second pool is honoured,
// an address outside every pool is never handed out, a range change that
// would take addresses from Services is refused (and, forced, does what
// each MetalLB version does), and --list and check show the pools' use.
func TestMetalLBRealControllers(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 3, MetalLB: map[string]string{"cluster1": sandbox.MetalLBCRD, "cluster2": sandbox.MetalLBLegacy}})
	ctx := context.Background()
	c1, c2, c3 := fed.Member("cluster1"), fed.Member("cluster2"), fed.Member("cluster3")
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		m, err := metallb.DetectMode(ctx, c1.Client.Discovery())
		return err == nil && m == metallb.ModeCRD, nil
	}); err != nil {
		t.Fatalf("cluster1 never served %s", metallb.GroupVersion)
	}
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster3")

	// CRD mode, through `metallb`.
	res := fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.3.241-10.0.3.243")
	if res.Code != 0 || !strings.Contains(res.Stdout, "ipaddresspool.metallb.io/default created") {
		t.Fatalf("metallb cluster1: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	createLBService(t, c1, "web", "", nil)
	web1 := waitIngressIn(t, c1, "web", "10.0.3.241-10.0.3.243", "")

	// Legacy mode, through `join --metallb-range`.
	res = fed.OpenMCP(t, "join", "cluster2", "--metallb-range", "10.1.3.241-10.1.3.243")
	if res.Code != 0 || !strings.Contains(res.Stdout+res.Stderr, "joined") {
		t.Fatalf("join cluster2 --metallb-range: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if _, err := c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, metallb.ConfigMapName, metav1.GetOptions{}); err != nil {
		t.Fatalf("join wrote no ConfigMap on cluster2: %v", err)
	}
	createLBService(t, c2, "web", "", nil)
	web2 := waitIngressIn(t, c2, "web", "10.1.3.241-10.1.3.243", "")

	for _, m := range []struct {
		c                      *sandbox.Cluster
		second, outside, moved string
		web                    string
		mode                   string
		secondObject           string
	}{
		{c1, "10.0.6.1-10.0.6.1", "10.0.99.1", "10.0.7.0/29", web1, "crd", "ipaddresspool.metallb.io/second created"},
		{c2, "10.1.6.1-10.1.6.1", "10.1.99.1", "10.1.7.0/29", web2, "configmap", "configmap/config configured"},
	} {
		c := m.c
		t.Run(m.mode, func(t *testing.T) {
			// A second pool, not auto-assigned, handed out when a Service asks for it.
			res := fed.OpenMCP(t, "metallb", c.Name, "--pool", "second", "--range", m.second, "--auto-assign=false")
			if res.Code != 0 || !strings.Contains(res.Stdout, m.secondObject) {
				t.Fatalf("second pool: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
			}
			createLBService(t, c, "api", "", map[string]string{"metallb.universe.tf/address-pool": "second"})
			waitIngressIn(t, c, "api", m.second, "")

			// An address outside every pool is never handed out.
			createLBService(t, c, "outside", m.outside, nil)
			stillNoAddress(t, c, "outside")

			// --list: per pool, the addresses in use and free.
			res = fed.OpenMCP(t, "metallb", "--list", c.Name)
			if res.Code != 0 {
				t.Fatalf("--list: exit %d: %s", res.Code, res.Stderr)
			}
			out := lines(res.Stdout)
			if len(out) != 3 || strings.Join(strings.Fields(out[0]), " ") != "CLUSTER POOL ADDRESSES MODE AUTO-ASSIGN USED FREE" {
				t.Fatalf("--list:\n%s", res.Stdout)
			}
			first := strings.Fields(out[1])
			if first[1] != "default" || first[5] != "1" || first[6] != "2" {
				t.Errorf("--list row of pool default %q: want 1 used, 2 free\n%s", out[1], res.Stdout)
			}
			if f := strings.Fields(out[2]); f[1] != "second" || f[5] != "1" || f[6] != "0" {
				t.Errorf("--list row of pool second %q: want 1 used, 0 free", out[2])
			}
			res = fed.OpenMCP(t, "metallb", "--list", c.Name, "-o", "json")
			var doc struct {
				Pools []struct {
					Pool             string
					Size, Used, Free int
					InUse            []metallb.AddressUse
				}
			}
			if err := json.Unmarshal([]byte(res.Stdout), &doc); err != nil || len(doc.Pools) != 2 {
				t.Fatalf("--list -o json: %v\n%s", err, res.Stdout)
			}
			if p := doc.Pools[0]; p.Pool != "default" || p.Size != 3 || p.Used != 1 || p.Free != 2 || len(p.InUse) != 1 || p.InUse[0].Address != m.web || p.InUse[0].Services[0] != "default/web" {
				t.Errorf("--list -o json pool default: %+v", p)
			}

			// check: the full pool warns, the Service waiting for an
			// address outside every pool fails (the limit is lowered from a
			// minute, so the test need not wait one).
			defer func(limit time.Duration) { doctor.MetalLBWaitLimit = limit }(doctor.MetalLBWaitLimit)
			doctor.MetalLBWaitLimit = time.Second
			time.Sleep(1100 * time.Millisecond)
			res = fed.OpenMCP(t, "check")
			var row string
			for _, l := range lines(res.Stdout) {
				if strings.Contains(l, "metallb use "+c.Name) {
					row = l
				}
			}
			if res.Code != 1 || !strings.HasPrefix(row, "FAIL") || !strings.Contains(row, "default/outside for") || !strings.Contains(row, `asks for "`+m.outside+`"`) || !strings.Contains(row, "second 1/1 used (100%, 0 free)") {
				t.Errorf("check: exit %d, row %q\n%s", res.Code, row, res.Stdout)
			}

			// A new range that leaves out web's address: refused, naming it, nothing written.
			before := metallbState(t, c)
			res = fed.OpenMCP(t, "metallb", c.Name, "--range", m.moved)
			if res.Code != 1 || !strings.Contains(res.Stderr, m.web+" (Service default/web)") || !strings.Contains(res.Stderr, "--allow-stranded") || len(lines(res.Stderr)) != 1 {
				t.Errorf("stranding range: exit %d, stderr %q", res.Code, res.Stderr)
			}
			if after := metallbState(t, c); after != before {
				t.Errorf("the refused range changed the pool:\n%s\nnow\n%s", before, after)
			}

			// Forced: each MetalLB does its own thing with the address.
			res = fed.OpenMCP(t, "metallb", c.Name, "--range", m.moved, "--allow-stranded")
			if res.Code != 0 || !strings.Contains(res.Stderr, "written anyway: --allow-stranded") {
				t.Fatalf("--allow-stranded: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
			}
			if m.mode == "crd" {
				// v0.14.9 takes the address back and hands out one of the new range.
				waitIngressIn(t, c, "web", m.moved, m.web)
			} else {
				// v0.12.1 refuses the whole new configuration and keeps the old one.
				if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(context.Context) (bool, error) {
					b, _ := os.ReadFile(c.MetalLBLog())
					return strings.Contains(string(b), "new config not compatible with assigned IPs"), nil
				}); err != nil {
					t.Errorf("v0.12.1 did not refuse the stranding configuration; log:\n%s", logTail(c.MetalLBLog(), 20))
				}
				if ip := ingressIP(t, c, "web"); ip != m.web {
					t.Errorf("legacy web moved from %s to %s", m.web, ip)
				}
			}
		})
	}

	// Bad input against real members: one line, exit 1, nothing written.
	// An IPv6 range on a member whose Services are IPv4 only.
	before := metallbState(t, c1)
	res = fed.OpenMCP(t, "metallb", "cluster1", "--range", "fd00:3::/120")
	if res.Code != 1 || !strings.Contains(res.Stderr, "address range fd00:3::/120 is IPv6, but the Services of cluster cluster1 are IPv4 only (service CIDRs 10.96.0.0/12): allowed are IPv4 ranges") || len(lines(res.Stderr)) != 1 {
		t.Errorf("IPv6 range on an IPv4 member: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if after := metallbState(t, c1); after != before {
		t.Errorf("the IPv6 range changed cluster1's pools")
	}
	// A member whose MetalLB CRDs are of a version the plugin does not know.
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "ipaddresspools.metallb.io"},
		"spec": map[string]any{
			"group": "metallb.io", "scope": "Namespaced",
			"names": map[string]any{"plural": "ipaddresspools", "singular": "ipaddresspool", "kind": "IPAddressPool", "listKind": "IPAddressPoolList"},
			"versions": []any{map[string]any{"name": "v1alpha1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}}}},
		},
	}}
	if _, err := c3.Dynamic.Resource(crdGVRForTest).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := c3.Client.Discovery().ServerResourcesForGroupVersion("metallb.io/v1alpha1")
		return err == nil, nil
	}); err != nil {
		t.Fatal("cluster3 never served metallb.io/v1alpha1")
	}
	res = fed.OpenMCP(t, "metallb", "cluster3", "--range", "10.2.3.0/28")
	if res.Code != 1 || !strings.Contains(res.Stderr, "serves MetalLB CRDs metallb.io/v1alpha1 but not metallb.io/v1beta1 ipaddresspools") || len(lines(res.Stderr)) != 1 {
		t.Errorf("unknown CRD version: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if _, err := c3.Client.CoreV1().Namespaces().Get(ctx, metallb.DefaultNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("the unknown CRD version created namespace %s (err %v)", metallb.DefaultNamespace, err)
	}
}

var crdGVRForTest = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// metallbState is every MetalLB object of a member, to compare before and after.
func metallbState(t *testing.T, c *sandbox.Cluster) string {
	t.Helper()
	ctx := context.Background()
	var b strings.Builder
	if cm, err := c.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, metallb.ConfigMapName, metav1.GetOptions{}); err == nil {
		b.WriteString("configmap " + cm.ResourceVersion + "\n")
	}
	if list, err := c.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace).List(ctx, metav1.ListOptions{}); err == nil {
		for _, it := range list.Items {
			b.WriteString("ipaddresspool " + it.GetName() + " " + it.GetResourceVersion() + "\n")
		}
	}
	if list, err := c.Dynamic.Resource(metallb.L2Advertisements).Namespace(metallb.DefaultNamespace).List(ctx, metav1.ListOptions{}); err == nil {
		for _, it := range list.Items {
			b.WriteString("l2advertisement " + it.GetName() + " " + it.GetResourceVersion() + "\n")
		}
	}
	return b.String()
}
