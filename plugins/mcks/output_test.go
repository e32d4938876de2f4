package mcks

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
)

// rowsOf is the first field of each line of a table printed without headers.
func rowsOf(t *testing.T, out string) []string {
	t.Helper()
	var names []string
	for _, l := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			names = append(names, f[0])
		}
	}
	return names
}

func ok(t *testing.T, r result, args ...string) result {
	t.Helper()
	if r.code != 0 {
		t.Fatalf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
	}
	return r
}

// The MCKS API's clusters print as kubectl get prints: --no-headers,
// --sort-by on the object's fields, -o wide|name|json|custom-columns.
func TestClusterListPrintsAsKubectlGet(t *testing.T) {
	srv := mckstest.New(t)
	a := sampleReq("a2")
	b := sampleReq("b1")
	b.Config.Kubernetes.NetworkCNI = "canal"
	srv.AddCluster("default", a)
	srv.AddCluster("default", b)
	t.Setenv(mcks.ServerEnv, srv.URL())
	do := func(args ...string) result { return ok(t, run(t, args...), args...) }

	r := do("cluster", "list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || strings.Join(strings.Fields(lines[0]), " ") != "NAME STATUS VERSION CNI CONTROL-PLANES WORKERS AGE" {
		t.Fatalf("default table:\n%s", r.stdout)
	}
	if got := rowsOf(t, do("cluster", "list", "--no-headers").stdout); strings.Join(got, ",") != "a2,b1" {
		t.Errorf("--no-headers: rows %v\n%s", got, r.stdout)
	}
	for _, sortBy := range []string{".networkCni", "{.networkCni}"} {
		if got := rowsOf(t, do("cluster", "list", "--no-headers", "--sort-by", sortBy).stdout); strings.Join(got, ",") != "b1,a2" {
			t.Errorf("--sort-by %s: rows %v", sortBy, got)
		}
	}
	if r := do("cluster", "list", "-o", "wide"); !strings.Contains(strings.Split(r.stdout, "\n")[0], "LOADBALANCER") || strings.Count(r.stdout, "haproxy") != 2 {
		t.Errorf("-o wide lacks its columns:\n%s", r.stdout)
	}
	if r := do("cluster", "list", "-o", "name", "--sort-by", ".networkCni"); r.stdout != "cluster/b1\ncluster/a2\n" {
		t.Errorf("-o name --sort-by: %q", r.stdout)
	}
	var list mcks.ClusterList
	r = do("cluster", "list", "-o", "json", "--sort-by", ".networkCni")
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil || list.Kind != mcks.KindClusterList || len(list.Items) != 2 || list.Items[0].Name != "b1" {
		t.Errorf("-o json --sort-by: %v %+v", err, list)
	}
	noSecrets(t, "-o json --sort-by", r)
	r = do("cluster", "list", "-o", "custom-columns=NAME:.name,CNI:.networkCni", "--sort-by", ".networkCni", "--no-headers")
	if strings.Join(strings.Fields(r.stdout), " ") != "b1 canal a2 kilo" {
		t.Errorf("custom-columns: %q", r.stdout)
	}

	// Bad values are refused before any request, naming the value.
	before := len(srv.Requests())
	for _, tc := range []struct{ args []string }{
		{[]string{"cluster", "list", "--sort-by", "{.name"}},
		{[]string{"cluster", "list", "-o", "wider"}},
		{[]string{"cluster", "list", "-o", "custom-columns="}},
	} {
		r := run(t, tc.args...)
		if r.code != 2 || strings.Count(r.stderr, "error:") != 1 || !strings.Contains(r.stderr, tc.args[len(tc.args)-1]) {
			t.Errorf("%v: exit %d, stderr %q", tc.args, r.code, r.stderr)
		}
	}
	if n := len(srv.Requests()); n != before {
		t.Errorf("a refused command line still sent %d requests", n-before)
	}
	// A field no cluster has is the user's mistake too, as in kubectl get.
	if r := run(t, "cluster", "list", "--sort-by", ".nope"); r.code != 2 || !strings.Contains(r.stderr, `invalid --sort-by ".nope"`) {
		t.Errorf("--sort-by .nope: exit %d, stderr %q", r.code, r.stderr)
	}
	// Tables only: a command that prints no table offers no --no-headers.
	if r := run(t, "cluster", "delete", "a2", "--no-headers"); r.code != 2 || !strings.Contains(r.stderr, "unknown flag: --no-headers") {
		t.Errorf("delete --no-headers: exit %d, %q", r.code, r.stderr)
	}
}

// kubectl mcks machine is what kubectl mcks node was; node still works,
// hidden, with a warning on stderr only.
func TestMachineIsNodeRenamed(t *testing.T) {
	srv := mckstest.New(t)
	srv.AddCluster("default", sampleReq("c1"))
	t.Setenv(mcks.ServerEnv, srv.URL())

	for _, args := range [][]string{
		{"list", "--cluster", "c1"},
		{"list", "--cluster", "c1", "-o", "json"},
		{"list", "--cluster", "c1", "-o", "name", "--sort-by", ".spec"},
		{"get", "--cluster", "c1", srv.Cluster("default", "c1").Nodes[0].Name, "-o", "yaml"},
	} {
		now := ok(t, run(t, append([]string{"machine"}, args...)...), args...)
		if now.stderr != "" {
			t.Errorf("machine %v: stderr %q", args, now.stderr)
		}
		plural := ok(t, run(t, append([]string{"machines"}, args...)...), args...)
		old := ok(t, run(t, append([]string{"node"}, args...)...), args...)
		if old.stdout != now.stdout || plural.stdout != now.stdout {
			t.Errorf("%v: node and machines print\n%s\n%s\nmachine prints\n%s", args, old.stdout, plural.stdout, now.stdout)
		}
		want := "Warning: kubectl mcks node " + args[0] + " is deprecated and will be removed: use kubectl mcks machine " + args[0]
		if !strings.HasPrefix(old.stderr, want) || strings.Count(old.stderr, "\n") != 1 {
			t.Errorf("node %v: stderr %q, want one line starting %q", args, old.stderr, want)
		}
	}
	names := ok(t, run(t, "machine", "list", "--cluster", "c1", "-o", "name", "--sort-by", ".spec")).stdout
	// The workers (n1-standard-2) before the control plane (t3.medium).
	if lines := strings.Split(strings.TrimSpace(names), "\n"); len(lines) != 3 || !strings.Contains(lines[0], "-w-") || !strings.Contains(lines[2], "-c-") {
		t.Errorf("--sort-by .spec: %q", names)
	}
	// node's errors are machine's, exit codes included.
	if r := run(t, "node", "list"); r.code != 2 || !strings.Contains(r.stderr, "--cluster is required") {
		t.Errorf("node list without --cluster: exit %d, %q", r.code, r.stderr)
	}
	help := ok(t, run(t, "--help")).stdout
	if !strings.Contains(help, "\n  machine ") || !strings.Contains(help, "\n  nodes ") || strings.Contains(help, "\n  node ") {
		t.Errorf("--help should list machine and nodes, not node:\n%s", help)
	}
}

// kubeconfigFile points KUBECONFIG at a kubeconfig with one context whose
// namespace is ns; the clientset is the fake one.
func withFakeCluster(t *testing.T, ns string, objs ...runtime.Object) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "config")
	cfg := `apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:1"}}]
users: [{name: u, user: {token: t}}]
contexts: [{name: c, context: {cluster: c, user: u, namespace: ` + ns + `}}]
current-context: c
`
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("KUBECONFIG", path)
	client := fake.NewSimpleClientset(objs...)
	old := kubeClient
	kubeClient = func(*cli.Root) (kubernetes.Interface, error) { return client, nil }
	t.Cleanup(func() { kubeClient = old })
}

func testNode(name, csp, region string, created time.Time, labels map[string]string) *corev1.Node {
	n := &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, CreationTimestamp: metav1.NewTime(created), Labels: map[string]string{
		topology.CSPLabel: csp, topology.RegionLabel: region, topology.ZoneLabel: region + "a",
	}}}
	for k, v := range labels {
		n.Labels[k] = v
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	n.Status.Addresses = []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "203.0.113.9"}, {Type: corev1.NodeExternalIP, Address: "203.0.113.9"}}
	return n
}

func testPod(ns, name, node string) *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, CreationTimestamp: metav1.Now()},
		Spec:       corev1.PodSpec{NodeName: node, Containers: []corev1.Container{{Name: "c"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.1.0.1"},
	}
}

// The Kubernetes side (nodes, pods, summary) prints as kubectl get does
// too; the labels a node carries are shown, not obeyed.
func TestNodesPodsSummaryPrintAsKubectlGet(t *testing.T) {
	old := time.Now().Add(-48 * time.Hour)
	withFakeCluster(t, "shop",
		testNode("n-b", "aws", "ap-northeast-2", old, nil),
		testNode("n-a", "gcp", "europe-west2", time.Now(), map[string]string{"note": "x" + hostile}),
		testPod("shop", "web-2", "n-b"), testPod("shop", "web-1", "n-a"), testPod("other", "db-0", "n-b"),
	)
	do := func(args ...string) result { return ok(t, run(t, args...), args...) }

	r := do("nodes")
	if h := strings.Join(strings.Fields(strings.Split(r.stdout, "\n")[0]), " "); h != "NAME CSP REGION ZONE ROLE STATUS INTERNAL-IP AGE" {
		t.Errorf("nodes header %q", h)
	}
	if got := rowsOf(t, do("nodes", "--no-headers", "--sort-by", ".metadata.name").stdout); strings.Join(got, ",") != "n-a,n-b" {
		t.Errorf("nodes --sort-by name: %v", got)
	}
	if got := rowsOf(t, do("nodes", "--no-headers", "--sort-by", ".metadata.creationTimestamp").stdout); strings.Join(got, ",") != "n-b,n-a" {
		t.Errorf("nodes --sort-by age: %v", got)
	}
	if r := do("nodes", "-o", "wide"); !strings.Contains(strings.Split(r.stdout, "\n")[0], "DRIFT") {
		t.Errorf("nodes -o wide:\n%s", r.stdout)
	}
	if r := do("nodes", "-o", "name", "--sort-by", "{.metadata.labels.topology\\.kubernetes\\.io/region}"); r.stdout != "node/n-b\nnode/n-a\n" {
		t.Errorf("nodes -o name --sort-by region: %q", r.stdout)
	}
	var nl corev1.NodeList
	if err := json.Unmarshal([]byte(do("nodes", "-o", "json", "--sort-by", ".metadata.name").stdout), &nl); err != nil || nl.Kind != "NodeList" || len(nl.Items) != 2 || nl.Items[0].Name != "n-a" || nl.Items[0].Labels["note"] != "x"+hostile {
		t.Errorf("nodes -o json: %v %+v", err, nl)
	}
	r = do("nodes", "--show-labels", "-L", "note", "--sort-by", ".metadata.name")
	if strings.ContainsAny(r.stdout, "\x1b\x07\u009b\u202e") || !strings.Contains(r.stdout, "note=x^[]0;pwned^G") || !strings.Contains(strings.Split(r.stdout, "\n")[0], "NOTE") {
		t.Errorf("nodes --show-labels -L: %q", r.stdout)
	}

	r = do("pods")
	if got := rowsOf(t, r.stdout); strings.Join(got, ",") != "NAME,web-1,web-2" && strings.Join(got, ",") != "NAME,web-2,web-1" {
		t.Errorf("pods of the context's namespace:\n%s", r.stdout)
	}
	r = do("pods", "-A", "--no-headers", "--sort-by", ".metadata.name")
	if got := strings.Join(strings.Fields(r.stdout), " "); !strings.HasPrefix(got, "other db-0 0/1 Running 0 n-b aws") || !strings.Contains(got, "shop web-1 0/1 Running 0 n-a gcp") {
		t.Errorf("pods -A --sort-by:\n%s", r.stdout)
	}
	if r := do("pods", "-A", "-o", "name", "--sort-by", ".spec.nodeName"); !strings.HasPrefix(r.stdout, "pod/web-1\n") {
		t.Errorf("pods -o name --sort-by node: %q", r.stdout)
	}

	r = do("summary", "--no-headers", "--sort-by", ".pods")
	if got := strings.Join(strings.Fields(r.stdout), " "); got != "gcp europe-west2 europe-west2a 1 1 1 aws ap-northeast-2 ap-northeast-2a 1 1 2" {
		t.Errorf("summary --sort-by .pods: %q", got)
	}
	if r := run(t, "summary", "--sort-by", "{.pods"); r.code != 2 || !strings.Contains(r.stderr, `invalid --sort-by "{.pods"`) {
		t.Errorf("summary bad --sort-by: exit %d, %q", r.code, r.stderr)
	}
	var s topology.Summary
	if err := json.Unmarshal([]byte(do("summary", "-o", "json").stdout), &s); err != nil || len(s.Groups) != 2 || s.Groups[0].CSP != "aws" {
		t.Errorf("summary -o json: %v %+v", err, s)
	}
}
