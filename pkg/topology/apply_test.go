package topology

import (
	"context"
	"errors"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

func node(name string, l map[string]string) *corev1.Node {
	return &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: l}}
}

func kubeFedCluster(name string, l map[string]string) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "core.kubefed.io/v1beta1",
		"kind":       "KubeFedCluster",
		"metadata":   map[string]any{"name": name, "namespace": fleet.DefaultKubeFedNamespace},
		"spec": map[string]any{
			"apiEndpoint": "https://10.0.0.1:6443",
			"secretRef":   map[string]any{"name": name + "-token"},
		},
	}}
	if l != nil {
		u.SetLabels(l)
	}
	return u
}

type fixture struct {
	member *fake.Clientset
	host   *dynamicfake.FakeDynamicClient
}

func newFixture(nodes []*corev1.Node, kfc *unstructured.Unstructured) fixture {
	objs := make([]runtime.Object, len(nodes))
	for i, n := range nodes {
		objs[i] = n
	}
	var hostObjs []runtime.Object
	if kfc != nil {
		hostObjs = append(hostObjs, kfc)
	}
	host := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(),
		map[schema.GroupVersionResource]string{fleet.KubeFedClusters: "KubeFedClusterList"}, hostObjs...)
	return fixture{member: fake.NewClientset(objs...), host: host}
}

func (f fixture) writes() []string {
	var out []string
	for _, a := range append(f.member.Actions(), f.host.Actions()...) {
		if a.GetVerb() != "get" && a.GetVerb() != "list" && a.GetVerb() != "watch" {
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func (f fixture) nodeLabels(t *testing.T, name string) map[string]string {
	t.Helper()
	n, err := f.member.CoreV1().Nodes().Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return n.Labels
}

func (f fixture) kfcLabels(t *testing.T, name string) (map[string]string, *unstructured.Unstructured) {
	t.Helper()
	u, err := f.host.Resource(fleet.KubeFedClusters).Namespace(fleet.DefaultKubeFedNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return u.GetLabels(), u
}

func standardNodes() []*corev1.Node {
	return []*corev1.Node{
		node("cp1", map[string]string{ControlPlaneRoleLabel: "", "keep": "me"}),
		node("old-master", map[string]string{MasterRoleLabel: ""}),
		node("worker1", map[string]string{"node-role.kubernetes.io/worker": "", "pool": "a"}),
		node("worker2", map[string]string{"pool": "b"}),
	}
}

var fourKeys = []string{RegionLabel, ZoneLabel, BetaRegionLabel, BetaZoneLabel}

func TestApplyLabelsEveryNodeByDefaultAndKubeFedCluster(t *testing.T) {
	f := newFixture(standardNodes(), kubeFedCluster("cluster1", map[string]string{"platform": "gke"}))
	res, err := Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "as", Zone: "kr"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Region != "AS" || res.Zone != "KR" {
		t.Fatalf("normalised to %q/%q", res.Region, res.Zone)
	}
	for _, n := range []string{"cp1", "old-master", "worker1", "worker2"} {
		l := f.nodeLabels(t, n)
		for _, k := range fourKeys {
			want := "KR"
			if strings.HasSuffix(k, "region") {
				want = "AS"
			}
			if l[k] != want {
				t.Errorf("node %s: %s=%q, want %q", n, k, l[k], want)
			}
		}
	}
	if l := f.nodeLabels(t, "cp1"); l["keep"] != "me" || l[ControlPlaneRoleLabel] != "" {
		t.Errorf("other labels of cp1 changed: %v", l)
	}
	l, u := f.kfcLabels(t, "cluster1")
	if l[RegionLabel] != "AS" || l[ZoneLabel] != "KR" || l[BetaRegionLabel] != "AS" || l[BetaZoneLabel] != "KR" || l["platform"] != "gke" {
		t.Errorf("KubeFedCluster labels %v", l)
	}
	if ep, _, _ := unstructured.NestedString(u.Object, "spec", "apiEndpoint"); ep != "https://10.0.0.1:6443" {
		t.Errorf("KubeFedCluster spec clobbered: %v", u.Object["spec"])
	}
	if len(res.Nodes) != 4 || res.KubeFedCluster == nil || !res.KubeFedCluster.Changed() {
		t.Fatalf("result %+v", res)
	}
	// Only patches, one per object, and only of labels.
	for _, a := range f.member.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			if !strings.Contains(string(p.GetPatch()), `"labels"`) || strings.Contains(string(p.GetPatch()), `"spec"`) {
				t.Errorf("patch touches more than labels: %s", p.GetPatch())
			}
		}
	}
	if got := strings.Join(f.writes(), ","); got != "patch nodes,patch nodes,patch nodes,patch nodes,patch kubefedclusters" {
		t.Errorf("writes %s", got)
	}

	// The same values again change nothing.
	before := len(f.writes())
	res, err = Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "AS", Zone: "KR"})
	if err != nil {
		t.Fatal(err)
	}
	if len(f.writes()) != before {
		t.Errorf("re-run wrote: %v", f.writes()[before:])
	}
	for _, c := range res.Changes() {
		if c.Changed() {
			t.Errorf("re-run reports %s %s changed", c.Kind, c.Name)
		}
	}
}

func TestApplyRefusesOverwriteAndChangesNothing(t *testing.T) {
	nodes := standardNodes()
	nodes[1].Labels[ZoneLabel] = "JP" // old-master already has another zone
	f := newFixture(nodes, kubeFedCluster("cluster1", nil))
	_, err := Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "AS", Zone: "KR"})
	var ce *ConflictError
	if !errors.As(err, &ce) {
		t.Fatalf("want a ConflictError, got %v", err)
	}
	if !strings.Contains(err.Error(), "node/old-master "+ZoneLabel+"=JP (want KR)") || !strings.Contains(err.Error(), "--overwrite") {
		t.Errorf("error %q", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Fatalf("a refused overwrite wrote %v", w)
	}

	// With --overwrite it goes through.
	if _, err := Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "AS", Zone: "KR", Overwrite: true}); err != nil {
		t.Fatal(err)
	}
	if l := f.nodeLabels(t, "old-master"); l[ZoneLabel] != "KR" {
		t.Errorf("overwrite did not change the zone: %v", l)
	}
}

func TestApplyKubeFedClusterConflictAlsoBlocksNodes(t *testing.T) {
	f := newFixture(standardNodes(), kubeFedCluster("cluster1", map[string]string{RegionLabel: "EU"}))
	_, err := Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "AS"})
	if err == nil || !strings.Contains(err.Error(), "kubefedcluster/cluster1 "+RegionLabel+"=EU") {
		t.Fatalf("err %v", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestApplyInvalidCodeChangesNothing(t *testing.T) {
	for _, o := range []Options{{Region: "XX", Zone: "KR"}, {Region: "AS", Zone: "KO"}, {Region: "AS", Nodes: "a in (b"}} {
		f := newFixture(standardNodes(), kubeFedCluster("cluster1", nil))
		if _, err := Apply(context.Background(), f.member, f.host, "", "cluster1", o); err == nil {
			t.Errorf("%+v accepted", o)
		}
		if len(f.member.Actions())+len(f.host.Actions()) != 0 {
			t.Errorf("%+v: called the API before validating: %v %v", o, f.member.Actions(), f.host.Actions())
		}
	}
}

func TestApplyNodeSelections(t *testing.T) {
	f := newFixture(standardNodes(), nil)
	res, err := Apply(context.Background(), f.member, nil, "", "", Options{Zone: "DE", Nodes: "all"})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Nodes) != 4 || res.KubeFedCluster != nil {
		t.Fatalf("all: %d nodes, kfc %v", len(res.Nodes), res.KubeFedCluster)
	}
	if l := f.nodeLabels(t, "worker2"); l[ZoneLabel] != "DE" || l[BetaZoneLabel] != "DE" || l[RegionLabel] != "" {
		t.Errorf("worker2 %v", l)
	}

	f = newFixture(standardNodes(), nil)
	res, err = Apply(context.Background(), f.member, nil, "", "", Options{Region: "EU", Nodes: "pool=a"})
	if err != nil || len(res.Nodes) != 1 || res.Nodes[0].Name != "worker1" {
		t.Fatalf("selector: %v %+v", err, res.Nodes)
	}

	f = newFixture(standardNodes(), nil)
	res, err = Apply(context.Background(), f.member, nil, "", "", Options{Region: "EU", Nodes: NodesControlPlane})
	if err != nil || len(res.Nodes) != 2 {
		t.Fatalf("control-plane: %v %+v", err, res.Nodes)
	}
	for _, n := range []string{"worker1", "worker2"} {
		if l := f.nodeLabels(t, n); l[RegionLabel] != "" || l[BetaRegionLabel] != "" {
			t.Errorf("worker %s labelled with --nodes control-plane: %v", n, l)
		}
	}

	// A managed member (GKE, EKS, AKS) shows only workers: labelled by default.
	f = newFixture([]*corev1.Node{node("w", nil)}, nil)
	res, err = Apply(context.Background(), f.member, nil, "", "", Options{Region: "EU"})
	if err != nil || len(res.Nodes) != 1 || f.nodeLabels(t, "w")[BetaRegionLabel] != "EU" {
		t.Fatalf("worker-only member: %v %+v", err, res.Nodes)
	}
	_, err = Apply(context.Background(), f.member, nil, "", "", Options{Region: "EU", Nodes: NodesControlPlane})
	if err == nil || !strings.Contains(err.Error(), "no control-plane nodes") || !strings.Contains(err.Error(), "--nodes all") {
		t.Fatalf("no control-plane nodes: %v", err)
	}
}

func TestApplyUnjoinedClusterIsAnError(t *testing.T) {
	f := newFixture(standardNodes(), nil)
	_, err := Apply(context.Background(), f.member, f.host, "", "cluster9", Options{Region: "EU"})
	if err == nil || !strings.Contains(err.Error(), `"cluster9" is not joined`) {
		t.Fatalf("err %v", err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestApplyClientDryRunReturnsObjectsAndWritesNothing(t *testing.T) {
	f := newFixture(standardNodes(), kubeFedCluster("cluster1", nil))
	res, err := Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "AS", Zone: "KR", DryRun: write.DryRunClient})
	if err != nil {
		t.Fatal(err)
	}
	if w := f.writes(); len(w) != 0 {
		t.Fatalf("client dry-run wrote %v", w)
	}
	if l := f.nodeLabels(t, "cp1"); l[RegionLabel] != "" {
		t.Fatalf("client dry-run changed cp1: %v", l)
	}
	n, ok := res.Nodes[0].Object.(*corev1.Node)
	if !ok || n.Labels[BetaRegionLabel] != "AS" || n.Kind != "Node" || n.APIVersion != "v1" {
		t.Fatalf("dry-run node %#v", res.Nodes[0].Object)
	}
	k := res.KubeFedCluster.Object.(*unstructured.Unstructured)
	if k.GetLabels()[ZoneLabel] != "KR" {
		t.Fatalf("dry-run KubeFedCluster %v", k.GetLabels())
	}
}

func TestApplyServerDryRunSendsDryRunAll(t *testing.T) {
	f := newFixture(standardNodes(), kubeFedCluster("cluster1", nil))
	if _, err := Apply(context.Background(), f.member, f.host, "", "cluster1", Options{Region: "AS", DryRun: write.DryRunServer}); err != nil {
		t.Fatal(err)
	}
	var patches int
	for _, a := range append(f.member.Actions(), f.host.Actions()...) {
		if p, ok := a.(k8stesting.PatchActionImpl); ok {
			patches++
			if len(p.PatchOptions.DryRun) != 1 || p.PatchOptions.DryRun[0] != metav1.DryRunAll || p.PatchOptions.FieldManager != write.FieldManager {
				t.Errorf("patch options %+v", p.PatchOptions)
			}
		}
	}
	if patches != 5 { // four nodes and the KubeFedCluster
		t.Fatalf("%d patches, want 5", patches)
	}
}

func TestReadFlagsGAAndBetaDisagreement(t *testing.T) {
	f := newFixture([]*corev1.Node{
		node("a", map[string]string{RegionLabel: "AS", BetaRegionLabel: "AS", ZoneLabel: "KR", BetaZoneLabel: "KR", ControlPlaneRoleLabel: ""}),
		node("b", map[string]string{RegionLabel: "AS", BetaRegionLabel: "EU"}),
		node("c", map[string]string{BetaZoneLabel: "JP"}),
		node("d", nil),
	}, nil)
	got, err := Read(context.Background(), f.member)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 4 {
		t.Fatalf("%d nodes", len(got))
	}
	if m := got[0].Mismatches(); len(m) != 0 || got[0].Region != "AS" || got[0].Zone != "KR" || strings.Join(got[0].Roles, ",") != "control-plane" {
		t.Errorf("a: %+v %v", got[0], m)
	}
	if m := strings.Join(got[1].Mismatches(), ";"); m != "region GA AS != beta EU" || got[1].Region != "AS" {
		t.Errorf("b: region %q mismatches %q", got[1].Region, m)
	}
	if m := strings.Join(got[2].Mismatches(), ";"); m != "zone JP has no GA label" || got[2].Zone != "JP" {
		t.Errorf("c: zone %q (beta fallback) mismatches %q", got[2].Zone, m)
	}
	if len(got[3].Mismatches()) != 0 {
		t.Errorf("d: unlabelled node flagged: %v", got[3].Mismatches())
	}
}
