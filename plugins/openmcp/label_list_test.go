package openmcp

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// seoulAndFrankfurt are two members: cluster1 in Asia/Korea with a
// control-plane node and a worker, cluster2 in Europe/Germany with one node.
func seoulAndFrankfurt() []fakeMember {
	return []fakeMember{
		{name: "cluster1", region: "AS", zone: "KR", kube: []runtime.Object{
			node("c1-cp", "AS", "KR", "4", "16Gi", true),
			node("c1-w1", "AS", "KR", "8", "32Gi", false),
		}},
		{name: "cluster2", region: "EU", zone: "DE", kube: []runtime.Object{
			node("c2-w1", "EU", "DE", "2", "8Gi", false),
		}},
	}
}

// labelOptions are label's options as NewCmdLabel makes them, on a fake fleet.
func labelOptions(tf *testFleet) *LabelOptions {
	return &LabelOptions{
		IOStreams:  tf.streams(),
		PrintFlags: genericclioptions.NewPrintFlags("labeled").WithTypeSetter(scheme.Scheme),
		Nodes:      topology.NodesAll,
		Selection:  fleet.NewSelectionFlags(false, false),
		FanOut:     fleet.NewFanOutFlags(),
		cmd:        &cobra.Command{},
		fleet:      tf.fleet,
	}
}

func runLabel(t *testing.T, o *LabelOptions) error {
	t.Helper()
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return o.Run(background)
}

func TestLabelListShowsEveryNodeOfEveryMember(t *testing.T) {
	tf := newTestFleet(t, seoulAndFrankfurt())
	o := labelOptions(tf)
	o.List = true
	if err := runLabel(t, o); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	want := []string{
		"CLUSTER NODE ROLES REGION ZONE LABELS",
		"cluster1 c1-cp control-plane AS KR ok",
		"cluster1 c1-w1 <none> AS KR ok",
		"cluster2 c2-w1 <none> EU DE ok",
	}
	if got := lines(tf.out.String()); !slices.Equal(got, want) {
		t.Errorf("stdout\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tf.errOut.Len() != 0 {
		t.Errorf("stderr %q", tf.errOut)
	}

	// -o wide adds the KubeFedCluster's own labels.
	tf.out.Reset()
	o = labelOptions(tf)
	o.List, *o.PrintFlags.OutputFormat = true, "wide"
	if err := runLabel(t, o); err != nil {
		t.Fatal(err)
	}
	if got := lines(tf.out.String()); len(got) != 4 || got[0] != "CLUSTER NODE ROLES REGION ZONE LABELS KUBEFEDCLUSTER" || got[3] != "cluster2 c2-w1 <none> EU DE ok EU/DE" {
		t.Errorf("-o wide:\n%s", tf.out)
	}
}

// A node whose GA and beta labels disagree is flagged on its row and in one
// warning that says how to fix it.
func TestLabelListFlagsDisagreeingLabels(t *testing.T) {
	members := seoulAndFrankfurt()
	stale := node("c2-w2", "EU", "DE", "2", "8Gi", false)
	stale.Labels["failure-domain.beta.kubernetes.io/zone"] = "FR"
	members[1].kube = append(members[1].kube, stale)
	tf := newTestFleet(t, members)
	o := labelOptions(tf)
	o.List = true
	if err := runLabel(t, o); err != nil {
		t.Fatal(err)
	}
	got := lines(tf.out.String())
	if len(got) != 5 || !strings.HasPrefix(got[4], "cluster2 c2-w2 <none> EU DE ") || strings.HasSuffix(got[4], " ok") {
		t.Errorf("stdout\n%s", tf.out)
	}
	if !strings.Contains(tf.errOut.String(), "1 node(s) have GA and beta region/zone labels that disagree") {
		t.Errorf("stderr %q", tf.errOut)
	}
}

// -C keeps the members whose KubeFedCluster labels match; the others are
// not even asked.
func TestLabelListClusterSelector(t *testing.T) {
	tf := newTestFleet(t, seoulAndFrankfurt())
	o := labelOptions(tf)
	o.List, o.Selection.Selector = true, fleet.RegionLabel+"=AS"
	if err := runLabel(t, o); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	got := lines(tf.out.String())
	if len(got) != 3 || !strings.HasPrefix(got[1], "cluster1 c1-cp ") || !strings.HasPrefix(got[2], "cluster1 c1-w1 ") {
		t.Errorf("stdout\n%s", tf.out)
	}
	if n := len(tf.kube["cluster2"].Actions()); n != 0 {
		t.Errorf("cluster2 does not match and was asked %d times: %v", n, tf.kube["cluster2"].Actions())
	}
}

// A selector that matches no member is an error that lists the members and
// the labels the selector was matched against.
func TestLabelListSelectorMatchingNone(t *testing.T) {
	tf := newTestFleet(t, seoulAndFrankfurt())
	o := labelOptions(tf)
	o.List, o.Selection.Selector = true, fleet.RegionLabel+"=NA"
	err := runLabel(t, o)
	want := `no member cluster of host "openmcp" matches --cluster-selector "topology.kubernetes.io/region=NA" (members: ` +
		"cluster1 {topology.kubernetes.io/region=AS,topology.kubernetes.io/zone=KR}; cluster2 {topology.kubernetes.io/region=EU,topology.kubernetes.io/zone=DE})"
	if err == nil || err.Error() != want {
		t.Errorf("Run: %v\nwant: %s", err, want)
	}
	if tf.out.Len() != 0 {
		t.Errorf("stdout %q", tf.out)
	}
}

// A member that cannot be read is one warning line; the others' rows are
// printed and the exit code is 1.
func TestLabelListMemberFails(t *testing.T) {
	tf := newTestFleet(t, seoulAndFrankfurt())
	tf.failNodes("cluster1")
	o := labelOptions(tf)
	o.List = true
	wantExit1(t, runLabel(t, o))
	if want := []string{"CLUSTER NODE ROLES REGION ZONE LABELS", "cluster2 c2-w1 <none> EU DE ok"}; !slices.Equal(lines(tf.out.String()), want) {
		t.Errorf("stdout\n%s", tf.out)
	}
	if want := "Warning: cluster cluster1: cannot list nodes: dial tcp 10.0.9.9:6443: connect: connection refused\n"; tf.errOut.String() != want {
		t.Errorf("stderr %q, want %q", tf.errOut, want)
	}
}

// -o json is one List of the nodes, each naming its cluster, with the
// member that failed (and why) in the List's failed-clusters annotation.
func TestLabelListJSONCarriesFailedClusters(t *testing.T) {
	tf := newTestFleet(t, seoulAndFrankfurt())
	tf.failNodes("cluster2")
	o := labelOptions(tf)
	o.List, *o.PrintFlags.OutputFormat = true, "json"
	wantExit1(t, runLabel(t, o))
	var list unstructured.UnstructuredList
	if err := json.Unmarshal(tf.out.Bytes(), &list.Object); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, tf.out)
	}
	items, _, _ := unstructured.NestedSlice(list.Object, "items")
	var got []string
	for _, it := range items {
		u := unstructured.Unstructured{Object: it.(map[string]any)}
		got = append(got, u.GetAnnotations()[fleet.ClusterAnnotation]+"/"+u.GetKind()+"/"+u.GetName())
	}
	if want := []string{"cluster1/Node/c1-cp", "cluster1/Node/c1-w1"}; !slices.Equal(got, want) {
		t.Errorf("items %v, want %v", got, want)
	}
	ann, _, _ := unstructured.NestedString(list.Object, "metadata", "annotations", printing.FailedClustersAnnotation)
	var failed []printing.Failure
	if err := json.Unmarshal([]byte(ann), &failed); err != nil {
		t.Fatalf("annotation %q: %v", ann, err)
	}
	want := []printing.Failure{{Cluster: "cluster2", Reason: "cannot list nodes: dial tcp 10.0.9.9:6443: connect: connection refused"}}
	if !slices.Equal(failed, want) {
		t.Errorf("failed clusters %+v, want %+v", failed, want)
	}
}

// nodeLabels are a fake member's nodes' region and zone labels, GA and beta.
func nodeLabels(t *testing.T, tf *testFleet, member string) map[string]string {
	t.Helper()
	list, err := tf.kube[member].CoreV1().Nodes().List(background, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, n := range list.Items {
		for _, k := range []string{fleet.RegionLabel, fleet.ZoneLabel, "failure-domain.beta.kubernetes.io/region", "failure-domain.beta.kubernetes.io/zone"} {
			out[n.Name+" "+k] = n.Labels[k]
		}
	}
	return out
}

// Labelling a member writes its nodes' labels (GA and beta) and its
// KubeFedCluster's on the host, as merge patches of the label keys only.
func TestLabelWritesNodesAndKubeFedCluster(t *testing.T) {
	members := []fakeMember{{name: "cluster1", kube: []runtime.Object{node("c1-cp", "", "", "4", "16Gi", true), node("c1-w1", "", "", "8", "32Gi", false)}}}
	tf := newTestFleet(t, members)
	o := labelOptions(tf)
	o.Clusters, o.Region, o.Zone = []string{"cluster1"}, "as", "kr"
	if err := runLabel(t, o); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	if want := "node/c1-cp labeled\nnode/c1-w1 labeled\nkubefedcluster.core.kubefed.io/cluster1 labeled\n"; tf.out.String() != want {
		t.Errorf("stdout %q, want %q", tf.out, want)
	}
	for k, v := range nodeLabels(t, tf, "cluster1") {
		want := "AS"
		if strings.HasSuffix(k, "zone") {
			want = "KR"
		}
		if v != want {
			t.Errorf("node label %s = %q, want %q", k, v, want)
		}
	}
	kfc, err := tf.host.Resource(fleet.KubeFedClusters).Namespace(fleet.DefaultKubeFedNamespace).Get(background, "cluster1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if l := kfc.GetLabels(); l[fleet.RegionLabel] != "AS" || l[fleet.ZoneLabel] != "KR" || l["failure-domain.beta.kubernetes.io/zone"] != "KR" {
		t.Errorf("KubeFedCluster labels %v", l)
	}
	for _, a := range writes(tf.kube["cluster1"].Actions()) {
		p, ok := a.(k8stesting.PatchAction)
		if !ok || p.GetPatchType() != types.MergePatchType || strings.Contains(string(p.GetPatch()), "spec") {
			t.Errorf("node write %v is not a merge patch of labels", a)
		}
	}
}

// Without --overwrite a label that holds another value changes nothing on
// any cluster, and the error names it.
func TestLabelRefusesToOverwriteAndWritesNothing(t *testing.T) {
	members := []fakeMember{{name: "cluster1", region: "EU", kube: []runtime.Object{node("c1-w1", "", "", "8", "32Gi", false), node("c1-w2", "AS", "JP", "8", "32Gi", false)}}}
	tf := newTestFleet(t, members)
	o := labelOptions(tf)
	o.Clusters, o.Region, o.Zone = []string{"cluster1"}, "AS", "KR"
	err := runLabel(t, o)
	if err == nil || !strings.Contains(err.Error(), "node/c1-w2 topology.kubernetes.io/zone=JP (want KR)") ||
		!strings.Contains(err.Error(), "kubefedcluster/cluster1 topology.kubernetes.io/region=EU (want AS)") || !strings.HasSuffix(err.Error(), "nothing was changed") {
		t.Errorf("Run: %v", err)
	}
	if w := append(writes(tf.kube["cluster1"].Actions()), writes(tf.host.Actions())...); len(w) != 0 {
		t.Errorf("wrote despite the conflict: %v", w)
	}
}

// --dry-run=client prints what would be labelled and writes nothing.
func TestLabelClientDryRunWritesNothing(t *testing.T) {
	members := []fakeMember{{name: "cluster1", kube: []runtime.Object{node("c1-w1", "", "", "8", "32Gi", false)}}}
	tf := newTestFleet(t, members)
	o := labelOptions(tf)
	o.Clusters, o.Region, o.Zone, o.DryRun = []string{"cluster1"}, "AS", "KR", write.DryRunClient
	if err := runLabel(t, o); err != nil {
		t.Fatal(err)
	}
	if want := "node/c1-w1 labeled (dry run)\nkubefedcluster.core.kubefed.io/cluster1 labeled (dry run)\n"; tf.out.String() != want {
		t.Errorf("stdout %q, want %q", tf.out, want)
	}
	if w := writes(tf.kube["cluster1"].Actions()); len(w) != 0 {
		t.Errorf("dry run wrote to the member: %v", w)
	}
	// A client dry run sends no write request at all, as kubectl's.
	if w := writes(tf.host.Actions()); len(w) != 0 {
		t.Errorf("client dry run sent writes to the host: %v", w)
	}
	if l := nodeLabels(t, tf, "cluster1"); l["c1-w1 "+fleet.RegionLabel] != "" {
		t.Errorf("node labelled by a dry run: %v", l)
	}
}
