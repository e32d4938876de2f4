package e2e

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// openmcpFederation is a host and two members with pods that run and
// OpenMCP's own controllers, the members joined by our `join` with their
// region and zone and the guide's default policies placed: what a user of
// the OpenMCP guide has after its step 5. cluster1 has worker nodes only, as
// a managed (GKE, EKS, AKS) member shows them.
func openmcpFederation(t *testing.T) *sandbox.Federation {
	t.Helper()
	sandbox.RequireOpenMCPControllers(t)
	fed := sandbox.Start(t, sandbox.Options{Members: 2, KubeFed: true, Pods: true, OpenMCPControllers: true,
		MetalLB: map[string]string{"cluster1": sandbox.MetalLBCRD, "cluster2": sandbox.MetalLBLegacy}})
	fed.Member("cluster1").CreateNodes(t,
		sandbox.Node{Name: "c1-worker1", Roles: []string{"worker"}, CPU: "8", Memory: "16Gi", Ready: true},
		sandbox.Node{Name: "c1-worker2", Roles: []string{"worker"}, CPU: "8", Memory: "16Gi", Ready: true},
	)
	fed.Member("cluster2").CreateNodes(t,
		sandbox.Node{Name: "c2-master", Roles: []string{"control-plane"}, CPU: "4", Memory: "8Gi", Ready: true},
		sandbox.Node{Name: "c2-worker1", Roles: []string{"worker"}, CPU: "8", Memory: "16Gi", Ready: true},
	)
	for _, m := range fed.Members {
		if err := m.WaitPodsRunnable(context.Background(), 60*time.Second); err != nil {
			t.Fatalf("%s: kwok does not manage the nodes: %v", m.Name, err)
		}
	}
	for _, j := range [][]string{{"cluster1", "AS", "KR", "10.0.3.241-10.0.3.250"}, {"cluster2", "EU", "DE", "10.0.4.241-10.0.4.250"}} {
		res := fed.OpenMCP(t, "join", j[0], "--region", j[1], "--zone", j[2], "--metallb-range", j[3], "--wait=60s")
		if res.Code != 0 {
			t.Fatalf("join %s: exit %d: %s", j[0], res.Code, res.Stderr)
		}
	}
	res := fed.OpenMCP(t, "place", "-n", "openmcp", "-f", filepath.Join(sandbox.RepoRoot(), "pkg/manifest/testdata/reference/policy/"))
	if res.Code != 0 {
		t.Fatalf("place default policies: exit %d: %s", res.Code, res.Stderr)
	}
	if err := fed.WaitOpenMCPControllers(context.Background(), []string{"cluster1", "cluster2"}, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	return fed
}

// memberDeployments reads the named Deployment on every member: its desired
// and ready replicas, -1 where it does not exist.
func memberDeployments(t *testing.T, fed *sandbox.Federation, ns, name string) (desired, ready map[string]int32) {
	t.Helper()
	desired, ready = map[string]int32{}, map[string]int32{}
	for _, m := range fed.Members {
		d, err := m.Client.AppsV1().Deployments(ns).Get(context.Background(), name, metav1.GetOptions{})
		switch {
		case apierrors.IsNotFound(err):
			desired[m.Name], ready[m.Name] = -1, -1
		case err != nil:
			t.Fatalf("%s: %v", m.Name, err)
		default:
			desired[m.Name], ready[m.Name] = *d.Spec.Replicas, d.Status.ReadyReplicas
		}
	}
	return desired, ready
}

func sum(m map[string]int32) (n int32) {
	for _, v := range m {
		if v > 0 {
			n += v
		}
	}
	return n
}

// waitReplicas waits until the members' Deployments want and have `want`
// replicas ready in all, and returns the split.
func waitReplicas(t *testing.T, fed *sandbox.Federation, ns, name string, want int32, timeout time.Duration) map[string]int32 {
	t.Helper()
	var desired, ready map[string]int32
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, timeout, true, func(context.Context) (bool, error) {
		desired, ready = memberDeployments(t, fed, ns, name)
		return sum(desired) == want && sum(ready) == want, nil
	})
	if err != nil {
		t.Fatalf("%s/%s: members want %v and have %v ready; want %d ready in all within %s\n%s", ns, name, desired, ready, want, timeout, fed.LogTails(8))
	}
	return desired
}

// TestOpenMCPControllersRunWhatPlaceWrites is the OpenMCP guide's promise,
// kept by OpenMCP's real scheduler, deployment, sync and service
// controllers: what `place` writes is scheduled and deployed as Deployments
// whose pods run on the members, `status` shows the plan beside what runs,
// re-placing rescales, and `--clusters` and the scheduling policy decide
// where the replicas go.
func TestOpenMCPControllersRunWhatPlaceWrites(t *testing.T) {
	fed := openmcpFederation(t)
	ctx := context.Background()

	// join recorded each member where OpenMCP's scheduler looks.
	for _, m := range []struct{ name, region, zone string }{{"cluster1", "AS", "KR"}, {"cluster2", "EU", "DE"}} {
		oc, err := fed.Host.Dynamic.Resource(openmcpapi.ClusterKind.GVR()).Namespace("openmcp").Get(ctx, m.name, metav1.GetOptions{})
		if err != nil {
			t.Fatalf("OpenMCPCluster %s: %v", m.name, err)
		}
		js, _, _ := unstructured.NestedString(oc.Object, "spec", "joinStatus")
		region, _, _ := unstructured.NestedString(oc.Object, "spec", "nodeInfo", "region")
		zone, _, _ := unstructured.NestedString(oc.Object, "spec", "nodeInfo", "zone")
		kc, found, _ := unstructured.NestedFieldNoCopy(oc.Object, "spec", "kubeconfigInfo")
		if js != "JOIN" || region != m.region || zone != m.zone || found {
			t.Errorf("OpenMCPCluster %s: joinStatus %q, nodeInfo %s/%s, kubeconfigInfo %v", m.name, js, region, zone, kc)
		}
	}
	// Every node of the worker-only member carries the labels the
	// scheduler's region/zone affinity reads.
	for _, n := range []string{"c1-worker1", "c1-worker2"} {
		node, err := fed.Member("cluster1").Client.CoreV1().Nodes().Get(ctx, n, metav1.GetOptions{})
		if err != nil || node.Labels["failure-domain.beta.kubernetes.io/region"] != "AS" {
			t.Errorf("node %s labels %v (%v)", n, node.Labels, err)
		}
	}

	// The plain nginx Deployment and NodePort Service, 4 replicas.
	nginx := filepath.Join(sandbox.RepoRoot(), "test/demo/nginx.yaml")
	res := fed.OpenMCP(t, "place", "-n", "openmcp", "-f", nginx, "--replicas", "4")
	if res.Code != 0 {
		t.Fatalf("place: exit %d: %s", res.Code, res.Stderr)
	}
	split := waitReplicas(t, fed, "openmcp", "nginx", 4, 90*time.Second)
	t.Logf("OpenMCP (algorithm=OpenMCP) split 4 replicas as %v", split)
	for _, m := range fed.Members {
		d, err := m.Client.AppsV1().Deployments("openmcp").Get(ctx, "nginx", metav1.GetOptions{})
		if err != nil {
			continue
		}
		// Pods that run: bound by kube-scheduler, Running and Ready through kwok.
		pods, _ := m.Client.CoreV1().Pods("openmcp").List(ctx, metav1.ListOptions{LabelSelector: "app=nginx"})
		running := 0
		for _, p := range pods.Items {
			if p.Spec.NodeName != "" && p.Status.Phase == corev1.PodRunning && podReady(&p) {
				running++
			}
		}
		if int32(running) != *d.Spec.Replicas {
			t.Errorf("%s: %d pods Running and Ready on nodes, want %d", m.Name, running, *d.Spec.Replicas)
		}
		// The member Service exists where the workload runs.
		if *d.Spec.Replicas > 0 {
			if _, err := waitService(m.Client, "openmcp", "nginx", 60*time.Second); err != nil {
				t.Errorf("%s runs nginx but has no Service: %v", m.Name, err)
			}
		}
	}

	// status: the scheduler's plan beside what runs.
	st := fed.OpenMCP(t, "status", "odeploy/nginx", "-n", "openmcp")
	if st.Code != 0 {
		t.Fatalf("status: exit %d: %s%s", st.Code, st.Stdout, st.Stderr)
	}
	if !strings.Contains(st.Stdout, "4/4 replicas ready") {
		t.Errorf("status does not say 4/4 ready:\n%s", st.Stdout)
	}
	for name, n := range split {
		if n > 0 && !strings.Contains(st.Stdout, name) {
			t.Errorf("status lacks %s (planned %d):\n%s", name, n, st.Stdout)
		}
	}

	// Re-placing with another count rescales.
	res = fed.OpenMCP(t, "place", "-n", "openmcp", "-f", nginx, "--replicas", "6")
	if res.Code != 0 {
		t.Fatalf("re-place: exit %d: %s", res.Code, res.Stderr)
	}
	waitReplicas(t, fed, "openmcp", "nginx", 6, 90*time.Second)

	// --clusters and --region restrict where OpenMCP schedules.
	for _, tc := range []struct {
		name  string
		flags []string
		only  string
	}{
		{"nginx-eu", []string{"--clusters", "cluster2"}, "cluster2"},
		{"nginx-as", []string{"--region", "AS"}, "cluster1"},
	} {
		file := renamedManifest(t, nginx, tc.name)
		res = fed.OpenMCP(t, append([]string{"place", "-n", "openmcp", "-f", file, "--replicas", "3"}, tc.flags...)...)
		if res.Code != 0 {
			t.Fatalf("place %s %v: exit %d: %s", tc.name, tc.flags, res.Code, res.Stderr)
		}
		got := waitReplicas(t, fed, "openmcp", tc.name, 3, 90*time.Second)
		if got[tc.only] != 3 {
			t.Errorf("place %v: replicas split %v, want all 3 on %s", tc.flags, got, tc.only)
		}
	}

	// The scheduling policy decides the split: round robin spreads evenly.
	res = fed.OpenMCP(t, "policy", "set", "scheduling-policy", "algorithm=RR")
	if res.Code != 0 {
		t.Fatalf("policy set: exit %d: %s", res.Code, res.Stderr)
	}
	res = fed.OpenMCP(t, "place", "-n", "openmcp", "-f", renamedManifest(t, nginx, "nginx-rr"), "--replicas", "4")
	if res.Code != 0 {
		t.Fatalf("place nginx-rr: exit %d: %s", res.Code, res.Stderr)
	}
	rr := waitReplicas(t, fed, "openmcp", "nginx-rr", 4, 90*time.Second)
	if rr["cluster1"] != 2 || rr["cluster2"] != 2 {
		t.Errorf("algorithm=RR split 4 replicas as %v, want 2 and 2", rr)
	}

	// The guide's OpenMCPService of type LoadBalancer, synced by OpenMCP's
	// service controller to the members that run its workload, gets from each
	// member's MetalLB an address of that member's own pool.
	samples := filepath.Join(sandbox.RepoRoot(), "pkg/manifest/testdata/reference/sample")
	res = fed.OpenMCP(t, "place", "-n", "openmcp", "-f", filepath.Join(samples, "openmcpdeployment/cr.yaml"), "-f", filepath.Join(samples, "openmcpservice/cr.yaml"))
	if res.Code != 0 {
		t.Fatalf("place the guide's samples: exit %d: %s", res.Code, res.Stderr)
	}
	pools := map[string]string{"cluster1": "10.0.3.", "cluster2": "10.0.4."}
	for _, m := range fed.Members {
		var ip string
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 90*time.Second, true, func(ctx context.Context) (bool, error) {
			svc, err := m.Client.CoreV1().Services("openmcp").Get(ctx, "openmcp-service", metav1.GetOptions{})
			if err != nil || len(svc.Status.LoadBalancer.Ingress) == 0 {
				return false, nil
			}
			ip = svc.Status.LoadBalancer.Ingress[0].IP
			return true, nil
		})
		if err != nil || !strings.HasPrefix(ip, pools[m.Name]) {
			t.Errorf("%s: openmcp-service got address %q (%v), want one from %s241-250", m.Name, ip, err, pools[m.Name])
		}
	}
	svcs := fed.OpenMCP(t, "get", "svc", "openmcp-service", "-n", "openmcp", "--all-clusters")
	for _, row := range parseTable(t, svcs.Stdout) {
		if !strings.HasPrefix(row["EXTERNAL-IP"], pools[row["CLUSTER"]]) {
			t.Errorf("get svc --all-clusters row %v: EXTERNAL-IP not from %s's pool\n%s", row, row["CLUSTER"], svcs.Stdout)
		}
	}

	// delete --wait removes what place wrote, and waits until OpenMCP's
	// controllers have taken the members' copies away.
	res = fed.OpenMCP(t, "delete", "-n", "openmcp", "-f", nginx, "--wait", "--timeout", "90s")
	if res.Code != 0 {
		t.Fatalf("delete --wait: exit %d: %s%s", res.Code, res.Stdout, res.Stderr)
	}
	if !strings.Contains(res.Stdout, `openmcpdeployment.openmcp.k8s.io "nginx" deleted`) {
		t.Errorf("delete printed %q", res.Stdout)
	}
	desired, _ := memberDeployments(t, fed, "openmcp", "nginx")
	for m, n := range desired {
		if n != -1 {
			t.Errorf("after delete --wait, %s still has Deployment nginx (%d replicas)", m, n)
		}
		if _, err := fed.Member(m).Client.CoreV1().Services("openmcp").Get(ctx, "nginx", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("after delete --wait, %s still has Service nginx (%v)", m, err)
		}
	}
	if other, _ := memberDeployments(t, fed, "openmcp", "nginx-rr"); sum(other) != 4 {
		t.Errorf("delete of nginx touched nginx-rr: %v", other)
	}
}

// renamedManifest copies a manifest file with every object renamed.
func renamedManifest(t *testing.T, path, name string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(t.TempDir(), name+".yaml")
	body := strings.ReplaceAll(string(b), "name: nginx\n", "name: "+name+"\n")
	body = strings.ReplaceAll(body, "nodePort: 30080", "")
	if err := os.WriteFile(out, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	return out
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// waitService waits until a Service exists on a member.
func waitService(c kubernetes.Interface, ns, name string, timeout time.Duration) (*corev1.Service, error) {
	var svc *corev1.Service
	err := wait.PollUntilContextTimeout(context.Background(), 500*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		s, err := c.CoreV1().Services(ns).Get(ctx, name, metav1.GetOptions{})
		svc = s
		return err == nil, nil
	})
	return svc, err
}
