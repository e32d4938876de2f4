package e2e

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// webApp puts a Deployment "web" with its HPA into a member.
func webApp(t *testing.T, c *sandbox.Cluster, ns string, replicas, maxPods int32) {
	t.Helper()
	ctx := context.Background()
	if err := c.EnsureNamespace(ctx, ns); err != nil {
		t.Fatal(err)
	}
	labels := map[string]string{"app": "web"}
	_, err := c.Client.AppsV1().Deployments(ns).Create(ctx, &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: appsv1.DeploymentSpec{
			Replicas: ptr.To(replicas),
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}},
			},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Client.AutoscalingV2().HorizontalPodAutoscalers(ns).Create(ctx, &autoscalingv2.HorizontalPodAutoscaler{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Labels: labels},
		Spec: autoscalingv2.HorizontalPodAutoscalerSpec{
			ScaleTargetRef: autoscalingv2.CrossVersionObjectReference{APIVersion: "apps/v1", Kind: "Deployment", Name: "web"},
			MinReplicas:    ptr.To(int32(1)),
			MaxReplicas:    maxPods,
			Metrics: []autoscalingv2.MetricSpec{{Type: autoscalingv2.ResourceMetricSourceType, Resource: &autoscalingv2.ResourceMetricSource{
				Name: corev1.ResourceCPU, Target: autoscalingv2.MetricTarget{Type: autoscalingv2.UtilizationMetricType, AverageUtilization: ptr.To(int32(50))},
			}}},
		},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
}

func TestFederatedTablesAndStatus(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, KubeFed: true})
	if res := fed.OpenMCP(t, "join", "cluster1", "cluster2", "--wait=60s"); res.Code != 0 {
		t.Fatalf("join: exit %d: %s", res.Code, res.Stderr)
	}
	fed.Member("cluster1").CreateNodes(t,
		sandbox.Node{Name: "c1-master", Roles: []string{"control-plane"}, CPU: "4", Memory: "8Gi", Ready: true},
		sandbox.Node{Name: "c1-worker", Roles: []string{"worker"}, CPU: "8", Memory: "16Gi", Ready: true})
	webApp(t, fed.Member("cluster1"), "openmcp", 3, 10)
	webApp(t, fed.Member("cluster2"), "openmcp", 5, 7)

	t.Run("clusters", func(t *testing.T) {
		res := fed.OpenMCP(t, "clusters", "-o", "wide")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		rows := lines(res.Stdout)
		header := strings.Fields(rows[0])
		want := []string{"NAME", "READY", "REGION", "ZONE", "KUBERNETES", "VERSION", "NODES", "ENDPOINT", "AGE", "PLATFORM", "CPU", "MEMORY"}
		if strings.Join(header, " ") != strings.Join(want, " ") {
			t.Errorf("header %q, want %q", header, want)
		}
		if len(rows) != 3 || !strings.HasPrefix(rows[1], "cluster1 ") || !strings.HasPrefix(rows[2], "cluster2 ") {
			t.Fatalf("rows:\n%s", res.Stdout)
		}
		c1 := parseTable(t, res.Stdout)[0]
		if c1["READY"] != "True" || c1["NODES"] != "2" || c1["CPU"] != "12" || c1["MEMORY"] != "24.0Gi" {
			t.Errorf("cluster1 row %v: want Ready True, 2 nodes, 12 CPUs, 24.0Gi", c1)
		}
		if !strings.HasPrefix(c1["KUBERNETES VERSION"], "v1.37") {
			t.Errorf("cluster1 Kubernetes version %q", c1["KUBERNETES VERSION"])
		}
	})

	t.Run("completion of TYPE, clusters and contexts", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"__complete", "get", "horizontalpod"}, "horizontalpodautoscalers"},
			{[]string{"__complete", "get", "openmcpdep"}, "openmcpdeployments"},
			{[]string{"__complete", "unjoin", ""}, "cluster2"},
			{[]string{"__complete", "join", "clu"}, "cluster1"},
			{[]string{"__complete", "status", "odep"}, "odeploy/"},
		} {
			res := fed.OpenMCP(t, c.args...)
			if res.Code != 0 || !strings.Contains(res.Stdout, c.want+"\n") {
				t.Errorf("%v: exit %d, completions %q lack %q", c.args, res.Code, res.Stdout, c.want)
			}
		}
	})

	t.Run("get hpa in one table", func(t *testing.T) {
		res := fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		rows := lines(res.Stdout)
		header := strings.Fields(rows[0])
		want := []string{"NAMESPACE", "NAME", "CLUSTER", "REFERENCE", "TARGETS", "MINPODS", "MAXPODS", "REPLICAS", "AGE"}
		if strings.Join(header, " ") != strings.Join(want, " ") {
			t.Errorf("header %v, want %v", header, want)
		}
		if len(rows) != 3 {
			t.Fatalf("want 2 rows:\n%s", res.Stdout)
		}
		table := parseTable(t, res.Stdout)
		for i, c := range []struct{ cluster, max, replicas string }{{"cluster1", "10", "3"}, {"cluster2", "7", "5"}} {
			r := table[i]
			if r["NAMESPACE"] != "openmcp" || r["NAME"] != "web" || r["CLUSTER"] != c.cluster || r["REFERENCE"] != "Deployment/web" || r["MAXPODS"] != c.max || !strings.HasSuffix(r["TARGETS"], "/50%") {
				t.Errorf("row %d %v: want openmcp web %s Deployment/web, targets .../50%%, max %s", i+1, r, c.cluster, c.max)
			}
		}
	})

	t.Run("-A --show-labels and -L print labels from rows stripped of managed fields", func(t *testing.T) {
		res := fed.OpenMCP(t, "get", "deploy", "--all-clusters", "-A", "--show-labels", "-L", "app")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		table := parseTable(t, res.Stdout)
		if len(table) != 2 {
			t.Fatalf("want 2 rows:\n%s", res.Stdout)
		}
		for i, r := range table {
			if r["NAMESPACE"] != "openmcp" || r["NAME"] != "web" || r["APP"] != "web" || !strings.Contains(r["LABELS"], "app=web") {
				t.Errorf("row %d %v: want namespace openmcp, APP web and app=web among the labels", i+1, r)
			}
		}
	})

	t.Run("the member cache starts requests early but never changes the table", func(t *testing.T) {
		hpas := func(t *testing.T) {
			t.Helper()
			res := fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A")
			if res.Code != 0 {
				t.Fatalf("exit %d: %s", res.Code, res.Stderr)
			}
			table := parseTable(t, res.Stdout)
			if len(table) != 2 || table[0]["CLUSTER"] != "cluster1" || table[0]["MAXPODS"] != "10" ||
				table[1]["CLUSTER"] != "cluster2" || table[1]["MAXPODS"] != "7" {
				t.Fatalf("with a stale cache the table is\n%s\nwant cluster1 (max 10) and cluster2 (max 7)", res.Stdout)
			}
		}
		hpas(t) // fills the cache
		files, _ := filepath.Glob(filepath.Join(fed.Dir, "kube-cache", "openmcp", "members", "*.json"))
		if len(files) != 1 {
			t.Fatalf("member cache files %v, want one for the host", files)
		}
		cache := files[0]
		b, err := os.ReadFile(cache)
		if err != nil {
			t.Fatal(err)
		}
		if string(b) != `{"members":[{"name":"cluster1","context":"cluster1"},{"name":"cluster2","context":"cluster2"}]}` {
			t.Errorf("member cache holds %s, want the two members and their contexts only", b)
		}
		if st, _ := os.Stat(cache); st.Mode().Perm() != 0o600 {
			t.Errorf("member cache mode %v, want 0600", st.Mode().Perm())
		}
		for name, stale := range map[string]string{
			// an unjoined member, and cluster2 missing
			"unjoined member": `{"members":[{"name":"cluster1","context":"cluster1"},{"name":"ghost","context":"cluster2"}]}`,
			// cluster2 guessed through cluster1's context: its rows must not be cluster1's
			"wrong context": `{"members":[{"name":"cluster2","context":"cluster1"}]}`,
			"unreadable":    `{"members":[`,
		} {
			t.Run(name, func(t *testing.T) {
				if err := os.WriteFile(cache, []byte(stale), 0o600); err != nil {
					t.Fatal(err)
				}
				hpas(t)
				if b, _ := os.ReadFile(cache); !strings.Contains(string(b), `"cluster2","context":"cluster2"`) || strings.Contains(string(b), "ghost") {
					t.Errorf("after the host answered the cache holds %s", b)
				}
			})
		}
	})

	t.Run("a type installed after the discovery cache was filled is found", func(t *testing.T) {
		// Both members' caches are warm and alike (they share one decoded
		// API); a CRD installed since must send each back to its server.
		if res := fed.OpenMCP(t, "get", "pods", "--all-clusters", "-n", "openmcp"); res.Code != 0 {
			t.Fatalf("warming the cache: exit %d: %s", res.Code, res.Stderr)
		}
		crd := filepath.Join(t.TempDir(), "widgets.yaml")
		if err := os.WriteFile(crd, []byte(`apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: widgets.example.test}
spec:
  group: example.test
  scope: Namespaced
  names: {plural: widgets, singular: widget, kind: Widget, shortNames: [wdg]}
  versions:
  - name: v1
    served: true
    storage: true
    schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}
`), 0o600); err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		for _, name := range []string{"cluster1", "cluster2"} {
			c := fed.Member(name)
			if err := c.ApplyFile(ctx, crd); err != nil {
				t.Fatal(err)
			}
			if err := wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
				_, err := c.Client.Discovery().ServerResourcesForGroupVersion("example.test/v1")
				return err == nil, nil
			}); err != nil {
				t.Fatalf("%s never served example.test/v1", name)
			}
		}
		widget := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "example.test/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "gear", "namespace": "openmcp"},
		}}
		gvr := schema.GroupVersionResource{Group: "example.test", Version: "v1", Resource: "widgets"}
		if _, err := fed.Member("cluster2").Dynamic.Resource(gvr).Namespace("openmcp").Create(ctx, widget, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		res := fed.OpenMCP(t, "get", "wdg", "--all-clusters", "-n", "openmcp")
		if res.Code != 0 {
			t.Fatalf("get wdg: exit %d: %s", res.Code, res.Stderr)
		}
		table := parseTable(t, res.Stdout)
		if len(table) != 1 || table[0]["NAME"] != "gear" || table[0]["CLUSTER"] != "cluster2" {
			t.Fatalf("get wdg printed\n%s\nwant gear in cluster2", res.Stdout)
		}
	})

	t.Run("several types print one table each with kind-qualified names", func(t *testing.T) {
		res := fed.OpenMCP(t, "get", "deploy,hpa", "-n", "openmcp", "--all-clusters")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		tables := strings.Split(strings.TrimSpace(res.Stdout), "\n\n")
		if len(tables) != 2 {
			t.Fatalf("want two tables:\n%s", res.Stdout)
		}
		for i, want := range []string{"deployment.apps/web", "horizontalpodautoscaler.autoscaling/web"} {
			rows := parseTable(t, tables[i])
			if len(rows) != 2 || rows[0]["NAME"] != want || rows[0]["CLUSTER"] != "cluster1" || rows[1]["CLUSTER"] != "cluster2" {
				t.Errorf("table %d: %v, want %s in cluster1 and cluster2", i+1, rows, want)
			}
		}
	})

	t.Run("get -o json is one List naming clusters", func(t *testing.T) {
		res := fed.OpenMCP(t, "get", "deploy,hpa", "-n", "openmcp", "--all-clusters", "-o", "json")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		var list unstructured.UnstructuredList
		if err := list.UnmarshalJSON([]byte(res.Stdout)); err != nil {
			t.Fatalf("not one List: %v\n%s", err, res.Stdout)
		}
		got := map[string]string{}
		for _, it := range list.Items {
			got[it.GetKind()+"/"+it.GetAnnotations()[fleet.ClusterAnnotation]] = it.GetName()
		}
		for _, k := range []string{"Deployment/cluster1", "Deployment/cluster2", "HorizontalPodAutoscaler/cluster1", "HorizontalPodAutoscaler/cluster2"} {
			if got[k] != "web" {
				t.Errorf("List lacks %s (got %v)", k, got)
			}
		}
	})

	t.Run("-o yaml, -o name and --no-headers, printed as each member answers, say what -o json says", func(t *testing.T) {
		args := []string{"get", "deploy,hpa", "-n", "openmcp", "--all-clusters"}
		js := fed.OpenMCP(t, append(args, "-o", "json")...)
		ym := fed.OpenMCP(t, append(args, "-o", "yaml")...)
		names := fed.OpenMCP(t, append(args, "-o", "name")...)
		rows := fed.OpenMCP(t, append(args, "--no-headers")...)
		for _, r := range []sandbox.Result{js, ym, names, rows} {
			if r.Code != 0 {
				t.Fatalf("exit %d: %s", r.Code, r.Stderr)
			}
		}
		fromYAML, err := yaml.YAMLToJSON([]byte(ym.Stdout))
		if err != nil {
			t.Fatal(err)
		}
		var a, b any
		if err := json.Unmarshal([]byte(js.Stdout), &a); err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(fromYAML, &b); err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(a, b) {
			t.Errorf("-o yaml is another List than -o json:\n%s\n%s", ym.Stdout, js.Stdout)
		}
		var list unstructured.UnstructuredList
		if err := list.UnmarshalJSON([]byte(js.Stdout)); err != nil {
			t.Fatal(err)
		}
		var want []string
		for _, it := range list.Items {
			gvk := it.GroupVersionKind()
			want = append(want, it.GetAnnotations()[fleet.ClusterAnnotation]+"/"+strings.ToLower(gvk.Kind)+"."+gvk.Group+"/"+it.GetName())
		}
		if got := lines(names.Stdout); strings.Join(got, " ") != strings.Join(want, " ") || len(want) != 4 {
			t.Errorf("-o name printed %v; the List has %v", got, want)
		}
		var cells []string
		for _, l := range lines(rows.Stdout) {
			if f := strings.Fields(l); len(f) > 2 {
				cells = append(cells, f[1]+"/"+f[0])
			}
		}
		if strings.Join(cells, " ") != "cluster1/deployment.apps/web cluster2/deployment.apps/web cluster1/horizontalpodautoscaler.autoscaling/web cluster2/horizontalpodautoscaler.autoscaling/web" {
			t.Errorf("--no-headers printed\n%s", rows.Stdout)
		}
	})

	t.Run("status of an OpenMCPDeployment", func(t *testing.T) {
		ctx := context.Background()
		odeploy := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "openmcp.k8s.io/v1alpha1", "kind": "OpenMCPDeployment",
			"metadata": map[string]any{"name": "web", "namespace": "openmcp"},
			"spec":     map[string]any{"replicas": int64(8), "labels": map[string]any{"app": "web"}},
		}}
		kind, _ := openmcpapi.KindByName("odeploy")
		created, err := fed.Host.Dynamic.Resource(kind.GVR()).Namespace("openmcp").Create(ctx, odeploy, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		// What OpenMCP's scheduler would write.
		_ = unstructured.SetNestedField(created.Object, map[string]any{"cluster1": int64(3), "cluster2": int64(5)}, "status", "clusterMaps")
		_ = unstructured.SetNestedField(created.Object, int64(8), "status", "replicas")
		if _, err := fed.Host.Dynamic.Resource(kind.GVR()).Namespace("openmcp").UpdateStatus(ctx, created, metav1.UpdateOptions{}); err != nil {
			t.Fatal(err)
		}
		res := fed.OpenMCP(t, "status", "odeploy/web", "-n", "openmcp")
		if res.Code != 0 {
			t.Fatalf("exit %d: %s", res.Code, res.Stderr)
		}
		rows := lines(res.Stdout)
		if len(rows) != 5 {
			t.Fatalf("want title, header, 2 rows and verdict:\n%s", res.Stdout)
		}
		if h := strings.Join(strings.Fields(rows[1]), " "); h != "CLUSTER PLANNED DESIRED READY AVAILABLE UP-TO-DATE" {
			t.Errorf("header %q", h)
		}
		c1, c2 := strings.Fields(rows[2]), strings.Fields(rows[3])
		if c1[0] != "cluster1" || c1[1] != "3" || c1[2] != "3" || c2[0] != "cluster2" || c2[1] != "5" || c2[2] != "5" {
			t.Errorf("rows %q / %q: want planned = desired 3 and 5", rows[2], rows[3])
		}
		// No kubelet runs here, so no replica is ready: the verdict must say so.
		if rows[4] != "0/8 replicas ready in 2 clusters" {
			t.Errorf("verdict %q", rows[4])
		}
	})

	t.Run("member RBAC forbids one cluster", func(t *testing.T) {
		ctx := context.Background()
		// "viewer" may read the host's KubeFedClusters and cluster1's HPAs, nothing on cluster2.
		grant := func(c *sandbox.Cluster, rules []rbacv1.PolicyRule) {
			_, err := c.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: "viewer"}, Rules: rules}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
			_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
				ObjectMeta: metav1.ObjectMeta{Name: "viewer"},
				RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: "viewer"},
				Subjects:   []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: "viewer"}},
			}, metav1.CreateOptions{})
			if err != nil {
				t.Fatal(err)
			}
		}
		grant(fed.Host, []rbacv1.PolicyRule{{APIGroups: []string{"core.kubefed.io"}, Resources: []string{"kubefedclusters"}, Verbs: []string{"get", "list"}}})
		grant(fed.Member("cluster1"), []rbacv1.PolicyRule{{APIGroups: []string{"autoscaling"}, Resources: []string{"horizontalpodautoscalers"}, Verbs: []string{"get", "list"}}})
		var res sandbox.Result
		for range 50 { // RBAC reaches the authorizer's cache within moments
			res = fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A", "--as", "viewer")
			if strings.Contains(res.Stdout, "cluster1") {
				break
			}
			time.Sleep(100 * time.Millisecond)
		}
		if res.Code != 1 {
			t.Errorf("exit %d, want 1", res.Code)
		}
		if !strings.Contains(res.Stdout, "cluster1") || strings.Contains(res.Stdout, "cluster2") {
			t.Errorf("want cluster1's rows only:\n%s", res.Stdout)
		}
		if !strings.Contains(res.Stderr, "cluster cluster2") || !strings.Contains(res.Stderr, "forbidden") || strings.Count(res.Stderr, "\n") != 1 {
			t.Errorf("want one warning naming cluster2 as forbidden, got %q", res.Stderr)
		}
	})

	t.Run("a stopped member", func(t *testing.T) {
		fed.Member("cluster2").StopCluster()
		start := time.Now()
		res := fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A", "--cluster-timeout", "5s")
		elapsed := time.Since(start)
		if res.Code != 1 {
			t.Errorf("exit %d, want 1", res.Code)
		}
		if !strings.Contains(res.Stdout, "cluster1") || strings.Contains(res.Stdout, "cluster2") {
			t.Errorf("want cluster1's rows only:\n%s", res.Stdout)
		}
		if !strings.Contains(res.Stderr, "cluster cluster2") {
			t.Errorf("no warning naming cluster2: %q", res.Stderr)
		}
		if elapsed > 8*time.Second {
			t.Errorf("took %s with --cluster-timeout 5s", elapsed)
		}
		_ = json.Valid
	})
}
