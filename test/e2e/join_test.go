package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

const managedSelector = "app.kubernetes.io/managed-by=kubectl-openmcp"

// memberFootprint lists what join leaves on a member: objects with our label,
// and whether the KubeFed namespace exists (and is not being deleted).
func memberFootprint(t *testing.T, m *sandbox.Cluster) []string {
	t.Helper()
	ctx := context.Background()
	var out []string
	opts := metav1.ListOptions{LabelSelector: managedSelector}
	sas, _ := m.Client.CoreV1().ServiceAccounts("").List(ctx, opts)
	for _, i := range sas.Items {
		out = append(out, "serviceaccount/"+i.Name)
	}
	secrets, _ := m.Client.CoreV1().Secrets("").List(ctx, opts)
	for _, i := range secrets.Items {
		out = append(out, "secret/"+i.Name)
	}
	crs, _ := m.Client.RbacV1().ClusterRoles().List(ctx, opts)
	for _, i := range crs.Items {
		out = append(out, "clusterrole/"+i.Name)
	}
	crbs, _ := m.Client.RbacV1().ClusterRoleBindings().List(ctx, opts)
	for _, i := range crbs.Items {
		out = append(out, "clusterrolebinding/"+i.Name)
	}
	if ns, err := m.Client.CoreV1().Namespaces().Get(ctx, sandbox.KubeFedNamespace, metav1.GetOptions{}); err == nil && ns.DeletionTimestamp == nil {
		out = append(out, "namespace/"+ns.Name)
	}
	return out
}

func hostKubeFedClusters(t *testing.T, fed *sandbox.Federation) []string {
	t.Helper()
	list, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).List(context.Background(), metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, i := range list.Items {
		names = append(names, i.GetName())
	}
	return names
}

func TestJoinUnjoinLifecycle(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 3, KubeFed: true, ExecContexts: true})

	// Dry run first: prints everything, token redacted, creates nothing.
	dry := fed.OpenMCP(t, "join", "cluster1", "cluster2", "--dry-run=client", "-o", "json")
	if dry.Code != 0 {
		t.Fatalf("join --dry-run: exit %d: %s", dry.Code, dry.Stderr)
	}
	var list unstructured.UnstructuredList
	if err := json.Unmarshal([]byte(dry.Stdout), &list.Object); err != nil {
		t.Fatalf("dry-run output is not JSON: %v", err)
	}
	kinds := map[string]int{}
	for _, item := range list.Object["items"].([]any) {
		kinds[item.(map[string]any)["kind"].(string)]++
	}
	if kinds["KubeFedCluster"] != 2 || kinds["ServiceAccount"] != 2 || kinds["ClusterRoleBinding"] != 2 {
		t.Errorf("dry run lists %v; want 2 KubeFedClusters, ServiceAccounts, ClusterRoleBindings", kinds)
	}
	if !strings.Contains(dry.Stdout, "redacted") {
		t.Errorf("dry run does not show the redacted token placeholder")
	}
	if got := hostKubeFedClusters(t, fed); len(got) != 0 {
		t.Fatalf("dry run created KubeFedClusters %v", got)
	}
	if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 0 {
		t.Fatalf("dry run created %v on cluster1", got)
	}

	// Two members in one command; both turn Ready through the real KubeFed controller.
	start := time.Now()
	res := fed.OpenMCP(t, "join", "cluster1", "cluster2")
	elapsed := time.Since(start)
	if res.Code != 0 {
		t.Fatalf("join: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	t.Logf("join cluster1 cluster2 took %s:\n%s", elapsed.Round(time.Millisecond), res.Stdout)
	for _, c := range []string{"cluster1", "cluster2"} {
		if !strings.Contains(res.Stdout, "cluster/"+c+" joined") {
			t.Errorf("join output lacks a line for %s: %q", c, res.Stdout)
		}
		waitClusterReady(t, fed, c, "True", 60*time.Second)
	}
	// The token the host got works, and it is the member service account's.
	secret, err := fed.Host.Client.CoreV1().Secrets(sandbox.KubeFedNamespace).Get(context.Background(), "cluster1-kubefed-token", metav1.GetOptions{})
	if err != nil || len(secret.Data["token"]) == 0 {
		t.Fatalf("host secret with the token: %v", err)
	}
	if strings.Contains(dry.Stdout+res.Stdout+res.Stderr, string(secret.Data["token"])) {
		t.Fatalf("the token appears in the command output")
	}

	// A member whose context authenticates with an exec credential plugin.
	res = fed.OpenMCP(t, "join", "cluster3-exec", "--cluster-name", "cluster3", "--wait=60s")
	if res.Code != 0 {
		t.Fatalf("join through an exec plugin context: exit %d: %s", res.Code, res.Stderr)
	}
	kfc := waitClusterReady(t, fed, "cluster3", "True", 5*time.Second)
	if got := kfc.GetAnnotations()[fleet.ContextAnnotation]; got != "cluster3-exec" {
		t.Errorf("KubeFedCluster cluster3 records context %q, want cluster3-exec", got)
	}

	// Joining again changes nothing and exits 0.
	before := resourceVersions(t, fed, "cluster1")
	res = fed.OpenMCP(t, "join", "cluster1", "cluster2")
	if res.Code != 0 || !strings.Contains(res.Stdout, "cluster/cluster1 unchanged") || !strings.Contains(res.Stdout, "cluster/cluster2 unchanged") {
		t.Fatalf("re-join: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	if after := resourceVersions(t, fed, "cluster1"); after != before {
		t.Errorf("re-join changed objects: %s -> %s", before, after)
	}

	// Unjoin leaves nothing join created on either cluster.
	res = fed.OpenMCP(t, "unjoin", "cluster1", "--wait=60s")
	if res.Code != 0 {
		t.Fatalf("unjoin: exit %d: %s", res.Code, res.Stderr)
	}
	if got := hostKubeFedClusters(t, fed); strings.Contains(strings.Join(got, ","), "cluster1") {
		t.Errorf("KubeFedCluster cluster1 still on the host: %v", got)
	}
	if _, err := fed.Host.Client.CoreV1().Secrets(sandbox.KubeFedNamespace).Get(context.Background(), "cluster1-kubefed-token", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("host secret of cluster1 still there (err %v)", err)
	}
	if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 0 {
		t.Errorf("unjoin left %v on cluster1", got)
	}
	if got := memberFootprint(t, fed.Member("cluster2")); len(got) == 0 {
		t.Errorf("unjoin of cluster1 touched cluster2")
	}
}

// resourceVersions fingerprints the objects join made for a cluster.
func resourceVersions(t *testing.T, fed *sandbox.Federation, cluster string) string {
	t.Helper()
	ctx := context.Background()
	kfc, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).Get(ctx, cluster, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Status changes with every health check; the spec and labels are join's.
	spec, _ := json.Marshal(kfc.Object["spec"])
	sa, err := fed.Member(cluster).Client.CoreV1().ServiceAccounts(sandbox.KubeFedNamespace).Get(ctx, cluster+"-openmcp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	secret, err := fed.Host.Client.CoreV1().Secrets(sandbox.KubeFedNamespace).Get(ctx, cluster+"-kubefed-token", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return string(spec) + "|" + sa.ResourceVersion + "|" + secret.ResourceVersion + "|" + strings.Join(labelsOf(kfc), ",")
}

func labelsOf(u *unstructured.Unstructured) []string {
	var out []string
	for k, v := range u.GetLabels() {
		out = append(out, k+"="+v)
	}
	return out
}

// A join whose last step the host refuses leaves nothing behind on the member.
func TestJoinRollsBackWhenHostRefuses(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 1})
	ctx := context.Background()
	// An admission policy on the host that denies new KubeFedClusters.
	vap := schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicies"}
	vapb := schema.GroupVersionResource{Group: "admissionregistration.k8s.io", Version: "v1", Resource: "validatingadmissionpolicybindings"}
	policy := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicy",
		"metadata": map[string]any{"name": "deny-kubefedclusters"},
		"spec": map[string]any{
			"failurePolicy": "Fail",
			"matchConstraints": map[string]any{"resourceRules": []any{map[string]any{
				"apiGroups": []any{"core.kubefed.io"}, "apiVersions": []any{"*"},
				"operations": []any{"CREATE"}, "resources": []any{"kubefedclusters"},
			}}},
			"validations": []any{map[string]any{"expression": "false", "message": "no new clusters today"}},
		},
	}}
	binding := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingAdmissionPolicyBinding",
		"metadata": map[string]any{"name": "deny-kubefedclusters"},
		"spec":     map[string]any{"policyName": "deny-kubefedclusters", "validationActions": []any{"Deny"}},
	}}
	if _, err := fed.Host.Dynamic.Resource(vap).Create(ctx, policy, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := fed.Host.Dynamic.Resource(vapb).Create(ctx, binding, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	// The policy takes effect once the apiserver has loaded it.
	var res sandbox.Result
	deadline := time.Now().Add(20 * time.Second)
	for {
		res = fed.OpenMCP(t, "join", "cluster1")
		if res.Code != 0 || time.Now().After(deadline) {
			break
		}
		fed.OpenMCP(t, "unjoin", "cluster1", "--wait=30s")
		time.Sleep(500 * time.Millisecond)
	}
	if res.Code != 1 {
		t.Fatalf("join against a refusing host: exit %d, want 1; stderr %q", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stderr, "KubeFedCluster") || !strings.Contains(res.Stderr, "no new clusters today") {
		t.Errorf("error does not name the failed step and the host's reason: %q", res.Stderr)
	}
	if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 0 {
		t.Errorf("failed join left %v on the member", got)
	}
	secrets, _ := fed.Host.Client.CoreV1().Secrets(sandbox.KubeFedNamespace).List(ctx, metav1.ListOptions{LabelSelector: managedSelector})
	if len(secrets.Items) != 0 {
		t.Errorf("failed join left %d secrets on the host", len(secrets.Items))
	}
}

// Bad input: one line on stderr, the right exit code, nothing changed.
func TestJoinRefusesBadInput(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	// A context whose server is gone, and one whose name is no cluster name.
	cfg, err := clientcmd.LoadFromFile(fed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clusters["gone"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", CertificateAuthorityData: cfg.Clusters["cluster1"].CertificateAuthorityData}
	cfg.Contexts["gone"] = &clientcmdapi.Context{Cluster: "gone", AuthInfo: "cluster1-admin"}
	cfg.Contexts["Admin@Cluster2"] = cfg.Contexts["cluster2"]
	if err := clientcmd.WriteToFile(*cfg, fed.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		{"unknown context", []string{"join", "nosuch"}, 1, `context "nosuch" not found in kubeconfig`},
		{"empty context", []string{"join", ""}, 1, "empty context name"},
		{"host is not a KubeFed host", []string{"join", "cluster1", "--host-context", "cluster2"}, 1, `context "cluster2" is not a KubeFed host`},
		{"invalid cluster name", []string{"join", "cluster1", "--cluster-name", "Bad_Name"}, 2, `invalid cluster name "Bad_Name"`},
		{"context name needs --cluster-name", []string{"join", "Admin@Cluster2"}, 2, "need --cluster-name"},
		{"cluster name with two contexts", []string{"join", "cluster1", "cluster2", "--cluster-name", "x"}, 2, "names one cluster"},
		{"malformed endpoint", []string{"join", "cluster1", "--api-endpoint", "ftp://x"}, 2, `invalid --api-endpoint "ftp://x"`},
		{"unreachable member", []string{"join", "cluster1", "gone"}, 1, `member context "gone" does not answer`},
		{"bad dry-run", []string{"join", "cluster1", "--dry-run=maybe"}, 2, "maybe"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := fed.OpenMCP(t, tc.args...)
			if res.Code != tc.code {
				t.Errorf("exit %d, want %d; stderr %q", res.Code, tc.code, res.Stderr)
			}
			if !strings.Contains(res.Stderr, tc.want) {
				t.Errorf("stderr %q lacks %q", res.Stderr, tc.want)
			}
			if time.Since(start) > 30*time.Second {
				t.Errorf("took %s: a bad input must fail fast", time.Since(start))
			}
		})
	}
	if got := hostKubeFedClusters(t, fed); len(got) != 0 {
		t.Errorf("bad input created KubeFedClusters %v", got)
	}
	for _, m := range fed.Members {
		if got := memberFootprint(t, m); len(got) != 0 {
			t.Errorf("bad input left %v on %s", got, m.Name)
		}
	}
}

// The OpenMCP guide's steps 3 to 5 in one command, and their checks before
// any write: an overlapping pool or a bad code leaves the cluster unjoined.
func TestJoinLabelsAndSetsPoolInOneCommand(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, MetalLBCRDs: []string{"cluster1"}})
	for _, m := range fed.Members {
		m.CreateNodes(t, sandbox.Node{Name: m.Name + "-master", Roles: []string{"control-plane"}, Ready: true},
			sandbox.Node{Name: m.Name + "-worker", Roles: []string{"worker"}, Ready: true})
	}
	ctx := context.Background()
	res := fed.OpenMCP(t, "join", "cluster1", "--region", "as", "--zone", "kr", "--metallb-range", "10.0.3.241-10.0.3.250")
	if res.Code != 0 {
		t.Fatalf("join: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
	}
	node, err := fed.Member("cluster1").Client.CoreV1().Nodes().Get(ctx, "cluster1-master", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"topology.kubernetes.io/region", "failure-domain.beta.kubernetes.io/region"} {
		if node.Labels[k] != "AS" {
			t.Errorf("control-plane node label %s = %q, want AS", k, node.Labels[k])
		}
	}
	for _, k := range []string{"topology.kubernetes.io/zone", "failure-domain.beta.kubernetes.io/zone"} {
		if node.Labels[k] != "KR" {
			t.Errorf("control-plane node label %s = %q, want KR", k, node.Labels[k])
		}
	}
	// Every node by default: managed members show no control plane, and
	// OpenMCP's scheduler reads the labels of any node.
	worker, _ := fed.Member("cluster1").Client.CoreV1().Nodes().Get(ctx, "cluster1-worker", metav1.GetOptions{})
	if worker.Labels["failure-domain.beta.kubernetes.io/region"] != "AS" {
		t.Errorf("worker labels %v, want region AS on every node", worker.Labels)
	}
	kfc, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).Get(ctx, "cluster1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := kfc.GetLabels(); l["topology.kubernetes.io/region"] != "AS" || l["topology.kubernetes.io/zone"] != "KR" {
		t.Errorf("KubeFedCluster labels %v", l)
	}
	pools := schema.GroupVersionResource{Group: "metallb.io", Version: "v1beta1", Resource: "ipaddresspools"}
	pool, err := fed.Member("cluster1").Dynamic.Resource(pools).Namespace("metallb-system").Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatalf("IPAddressPool default on cluster1: %v", err)
	}
	if addrs, _, _ := unstructured.NestedStringSlice(pool.Object, "spec", "addresses"); len(addrs) != 1 || addrs[0] != "10.0.3.241-10.0.3.250" {
		t.Errorf("pool addresses %v", addrs)
	}

	// Refused before any write: overlap with cluster1's pool, bad zone, --overwrite needed.
	for _, tc := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"join", "cluster2", "--metallb-range", "10.0.3.245-10.0.3.246"}, 1, "cluster1"},
		{[]string{"join", "cluster2", "--region", "AS", "--zone", "KO"}, 2, `"KO"`},
		{[]string{"join", "cluster1", "cluster2", "--metallb-range", "10.0.9.0/28"}, 2, "one cluster"},
	} {
		res := fed.OpenMCP(t, tc.args...)
		if res.Code != tc.code || !strings.Contains(res.Stderr, tc.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)", tc.args, res.Code, tc.code, res.Stderr, tc.want)
		}
	}
	if got := hostKubeFedClusters(t, fed); len(got) != 1 {
		t.Errorf("refused joins created KubeFedClusters: %v", got)
	}
	if got := memberFootprint(t, fed.Member("cluster2")); len(got) != 0 {
		t.Errorf("refused joins left %v on cluster2", got)
	}
	// Re-joining cluster1 with other labels needs --overwrite, like kubectl label.
	res = fed.OpenMCP(t, "join", "cluster1", "--region", "EU", "--zone", "DE")
	if res.Code != 1 || !strings.Contains(res.Stderr, "overwrite") {
		t.Errorf("relabel without --overwrite: exit %d, stderr %q", res.Code, res.Stderr)
	}
	res = fed.OpenMCP(t, "join", "cluster1", "--region", "EU", "--zone", "DE", "--overwrite")
	if res.Code != 0 {
		t.Errorf("relabel with --overwrite: exit %d, stderr %q", res.Code, res.Stderr)
	}
}
