package openmcp

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/resource"
	"k8s.io/kubectl/pkg/cmd/get"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
)

// The merge of get: each cluster's answer (what fetch keeps of it) is given
// by hand, as the fan-out hands it to printTables and printObjects.

var (
	deployMapping = &meta.RESTMapping{Resource: deployGVR, GroupVersionKind: schema.GroupVersionKind{Group: "apps", Version: "v1", Kind: "Deployment"}, Scope: meta.RESTScopeNamespace}
	svcMapping    = &meta.RESTMapping{Resource: svcGVR, GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "Service"}, Scope: meta.RESTScopeNamespace}
	secretMapping = &meta.RESTMapping{Resource: schema.GroupVersionResource{Version: "v1", Resource: "secrets"}, GroupVersionKind: schema.GroupVersionKind{Version: "v1", Kind: "Secret"}, Scope: meta.RESTScopeNamespace}
)

// deployTable is a Deployment Table as an apiserver sends it (rows in the
// server's order, each with its object's metadata).
func deployTable(ns string, rows ...[]any) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"}, {Name: "Ready", Type: "string"}, {Name: "Up-to-date", Type: "integer"},
		{Name: "Available", Type: "integer"}, {Name: "Age", Type: "string"}, {Name: "Images", Type: "string", Priority: 1},
	}}
	for _, cells := range rows {
		m := &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: cells[0].(string), Namespace: ns}}
		t.Rows = append(t.Rows, metav1.TableRow{Cells: cells, Object: runtime.RawExtension{Object: m}})
	}
	return t
}

func svcTable(ns string, names ...string) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{{Name: "Name", Type: "string", Format: "name"}, {Name: "Type", Type: "string"}, {Name: "Age", Type: "string"}}}
	for _, n := range names {
		t.Rows = append(t.Rows, metav1.TableRow{Cells: []any{n, "ClusterIP", "1d"}, Object: runtime.RawExtension{Object: &metav1.PartialObjectMetadata{ObjectMeta: metav1.ObjectMeta{Name: n, Namespace: ns}}}})
	}
	return t
}

func answerOf(cluster string, infos ...*resource.Info) fleet.Result[clusterAnswer] {
	return fleet.Result[clusterAnswer]{Cluster: cluster, Value: clusterAnswer{infos: infos}}
}

func getOptions(tf *testFleet, format string) *GetOptions {
	o := &GetOptions{PrintFlags: get.NewGetPrintFlags(), IOStreams: tf.streams(), namespace: "web"}
	*o.PrintFlags.OutputFormat = format
	return o
}

// bareOutput is a testFleet with output only: printing needs no cluster.
func bareOutput() *testFleet { return &testFleet{out: &bytes.Buffer{}, errOut: &bytes.Buffer{}} }

// Rows of every cluster make one table: CLUSTER after NAME, rows by
// cluster, then namespace and name, whatever order the clusters answered in.
func TestGetMergesClustersIntoOneTable(t *testing.T) {
	tf := bareOutput()
	o := getOptions(tf, "")
	results := []fleet.Result[clusterAnswer]{
		answerOf("cluster2", &resource.Info{Mapping: deployMapping, Object: deployTable("web", []any{"web", "1/1", int64(1), int64(1), "2d", "nginx:1.27"})}),
		answerOf("cluster1", &resource.Info{Mapping: deployMapping, Object: deployTable("web",
			[]any{"web", "2/2", int64(2), int64(2), "5d", "nginx:1.27"},
			[]any{"api", "0/1", int64(1), int64(0), "1h", "api:2"},
		)}),
	}
	if err := o.printTables(results); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "get deploy", tf.out.String(),
		"NAME CLUSTER READY UP-TO-DATE AVAILABLE AGE",
		"api cluster1 0/1 1 0 1h",
		"web cluster1 2/2 2 2 5d",
		"web cluster2 1/1 1 1 2d",
	)

	// -o wide shows the wide columns after CLUSTER's.
	tf = bareOutput()
	o = getOptions(tf, "wide")
	if err := o.printTables(results); err != nil {
		t.Fatal(err)
	}
	if got := lines(tf.out.String()); len(got) != 4 || got[0] != "NAME CLUSTER READY UP-TO-DATE AVAILABLE AGE IMAGES" || got[3] != "web cluster2 1/1 1 1 2d nginx:1.27" {
		t.Errorf("-o wide:\n%s", tf.out)
	}
}

// Two types make one table each, in the order asked, names with their kind
// as kubectl get deploy,svc prints them; -A adds NAMESPACE before NAME.
func TestGetMergesEachTypeOnItsOwn(t *testing.T) {
	tf := bareOutput()
	o := getOptions(tf, "")
	o.AllNamespaces = true
	_ = o.PrintFlags.EnsureWithNamespace()
	results := []fleet.Result[clusterAnswer]{
		answerOf("cluster1",
			&resource.Info{Mapping: deployMapping, Object: deployTable("web", []any{"web", "2/2", int64(2), int64(2), "5d", "nginx"})},
			&resource.Info{Mapping: svcMapping, Object: svcTable("web", "web")}),
		answerOf("cluster2",
			&resource.Info{Mapping: deployMapping, Object: deployTable("shop", []any{"cart", "1/1", int64(1), int64(1), "2d", "cart"})},
			&resource.Info{Mapping: svcMapping, Object: svcTable("web", "web")}),
	}
	if err := o.printTables(results); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "get deploy,svc -A", tf.out.String(),
		"NAMESPACE NAME CLUSTER READY UP-TO-DATE AVAILABLE AGE",
		"web deployment.apps/web cluster1 2/2 2 2 5d",
		"shop deployment.apps/cart cluster2 1/1 1 1 2d",
		"",
		"NAMESPACE NAME CLUSTER TYPE AGE",
		"web service/web cluster1 ClusterIP 1d",
		"web service/web cluster2 ClusterIP 1d",
	)
}

// Clusters that answered with nothing: one line on stderr, as kubectl get.
func TestGetNothingFound(t *testing.T) {
	tf := bareOutput()
	o := getOptions(tf, "")
	results := []fleet.Result[clusterAnswer]{
		answerOf("cluster1", &resource.Info{Mapping: deployMapping, Object: deployTable("web")}),
		answerOf("cluster2", &resource.Info{Mapping: deployMapping, Object: deployTable("web")}),
	}
	if err := o.printTables(results); err != nil {
		t.Fatal(err)
	}
	if tf.out.Len() != 0 || tf.errOut.String() != "No resources found in namespace web of 2 clusters.\n" {
		t.Errorf("stdout %q stderr %q", tf.out, tf.errOut)
	}
}

func unstructuredDeployment(ns, name string) *unstructured.Unstructured {
	u := obj("apps/v1", "Deployment", ns, name)
	_ = unstructured.SetNestedField(u.Object, int64(2), "spec", "replicas")
	return u
}

// -o json is one List: every cluster's objects, each annotated with its
// cluster, in cluster then name order, and the clusters that failed in the
// List's failed-clusters annotation. Secrets' values are REDACTED.
func TestGetPrintsOneListWithFailedClusters(t *testing.T) {
	tf := bareOutput()
	o := getOptions(tf, "json")
	secret := obj("v1", "Secret", "web", "db")
	secret.Object["data"] = map[string]any{"password": "c2VjcmV0"}
	results := []fleet.Result[clusterAnswer]{
		answerOf("cluster1",
			&resource.Info{Mapping: deployMapping, Object: unstructuredDeployment("web", "web")},
			&resource.Info{Mapping: deployMapping, Object: unstructuredDeployment("web", "api")},
			&resource.Info{Mapping: secretMapping, Object: secret}),
		answerOf("cluster2", &resource.Info{Mapping: deployMapping, Object: unstructuredDeployment("web", "web")}),
	}
	failures := []printing.Failure{{Cluster: "cluster3", Reason: "no answer within --cluster-timeout 10s"}}
	if err := o.printObjects(results, failures); err != nil {
		t.Fatal(err)
	}
	var list unstructured.UnstructuredList
	if err := json.Unmarshal(tf.out.Bytes(), &list.Object); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, tf.out)
	}
	if list.Object["kind"] != "List" {
		t.Errorf("kind %v", list.Object["kind"])
	}
	items, _, _ := unstructured.NestedSlice(list.Object, "items")
	var got []string
	for _, it := range items {
		u := unstructured.Unstructured{Object: it.(map[string]any)}
		got = append(got, u.GetAnnotations()[fleet.ClusterAnnotation]+" "+u.GetKind()+" "+u.GetName())
		if u.GetKind() == "Secret" {
			if v, _, _ := unstructured.NestedString(u.Object, "data", "password"); v != printing.Redacted {
				t.Errorf("Secret value printed: %q", v)
			}
		}
	}
	if want := []string{"cluster1 Deployment api", "cluster1 Secret db", "cluster1 Deployment web", "cluster2 Deployment web"}; !slices.Equal(got, want) {
		t.Errorf("items %v, want %v", got, want)
	}
	ann, _, _ := unstructured.NestedString(list.Object, "metadata", "annotations", printing.FailedClustersAnnotation)
	if ann != `[{"cluster":"cluster3","reason":"no answer within --cluster-timeout 10s"}]` {
		t.Errorf("failed-clusters annotation %q", ann)
	}
	if !strings.Contains(tf.errOut.String(), "The values of 1 Secret(s) are shown as "+printing.Redacted) {
		t.Errorf("stderr %q", tf.errOut)
	}
	// The objects handed in are not changed by printing them.
	if v, _, _ := unstructured.NestedString(secret.Object, "data", "password"); v != "c2VjcmV0" {
		t.Errorf("the Secret handed in was changed: %q", v)
	}

	// Without failures the List has no failed-clusters annotation.
	tf = bareOutput()
	o = getOptions(tf, "json")
	if err := o.printObjects(results[1:], nil); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(tf.out.String(), printing.FailedClustersAnnotation) {
		t.Errorf("annotation without failures:\n%s", tf.out)
	}
}

// -o name prints CLUSTER/TYPE/NAME, one line each, from the Tables it asks
// for (the Name column).
func TestGetPrintsNamesWithTheirCluster(t *testing.T) {
	tf := bareOutput()
	o := getOptions(tf, "name")
	results := []fleet.Result[clusterAnswer]{
		answerOf("cluster1", &resource.Info{Mapping: deployMapping, Object: deployTable("web", []any{"web", "1/1", int64(1), int64(1), "2d", "nginx"})}),
		answerOf("cluster2", &resource.Info{Mapping: deployMapping, Object: deployTable("web", []any{"web", "1/1", int64(1), int64(1), "2d", "nginx"})}),
	}
	sink, err := o.newSink()
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range results {
		if err := sink.add(r.Cluster, r.Value); err != nil {
			t.Fatal(err)
		}
	}
	if err := sink.finish(nil); err != nil {
		t.Fatal(err)
	}
	if want := "cluster1/deployment.apps/web\ncluster2/deployment.apps/web\n"; tf.out.String() != want {
		t.Errorf("stdout %q, want %q", tf.out, want)
	}
}
