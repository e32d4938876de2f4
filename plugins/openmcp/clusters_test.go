package openmcp

import (
	"slices"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// sizedMembers: cluster1 (AS/KR) 2 nodes, 12 CPUs, 48Gi; cluster2 (EU/DE)
// 1 node, 2 CPUs, 8Gi; cluster3 (AS/JP) 3 nodes, 12 CPUs, 24Gi.
func sizedMembers() []fakeMember {
	return []fakeMember{
		{name: "cluster1", region: "AS", zone: "KR", platform: "kubeadm", kube: []runtime.Object{
			node("c1-cp", "AS", "KR", "4", "16Gi", true), node("c1-w1", "AS", "KR", "8", "32Gi", false),
		}},
		{name: "cluster2", region: "EU", zone: "DE", platform: "eks", kube: []runtime.Object{
			node("c2-w1", "EU", "DE", "2", "8Gi", false),
		}},
		{name: "cluster3", region: "AS", zone: "JP", kube: []runtime.Object{
			node("c3-w1", "AS", "JP", "4", "8Gi", false), node("c3-w2", "AS", "JP", "4", "8Gi", false), node("c3-w3", "AS", "JP", "4", "8Gi", false),
		}},
	}
}

func clustersOptions(tf *testFleet) *ClustersOptions {
	return &ClustersOptions{
		IOStreams:  tf.streams(),
		PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(nil),
		FanOut:     fleet.NewFanOutFlags(),
		Selection:  fleet.NewSelectionFlags(false, false),
		fleet:      tf.fleet, hostc: tf.hostc,
	}
}

func runClusters(t *testing.T, o *ClustersOptions) error {
	t.Helper()
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return o.Run(background)
}

func wantLines(t *testing.T, what, out string, want ...string) {
	t.Helper()
	if got := lines(out); !slices.Equal(got, want) {
		t.Errorf("%s: stdout\n%s\nwant\n%s", what, strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

func TestClustersListsMembersWithTheirSize(t *testing.T) {
	tf := newTestFleet(t, sizedMembers())
	if err := runClusters(t, clustersOptions(tf)); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	wantLines(t, "clusters", tf.out.String(),
		"NAME READY REGION ZONE KUBERNETES VERSION NODES ENDPOINT AGE",
		"cluster1 True AS KR v1.31.0 2 https://cluster1.example:6443 <unknown>",
		"cluster2 True EU DE v1.31.0 1 https://cluster2.example:6443 <unknown>",
		"cluster3 True AS JP v1.31.0 3 https://cluster3.example:6443 <unknown>",
	)

	tf.out.Reset()
	o := clustersOptions(tf)
	*o.PrintFlags.OutputFormat = "wide"
	if err := runClusters(t, o); err != nil {
		t.Fatal(err)
	}
	got := lines(tf.out.String())
	if len(got) != 4 || !strings.HasSuffix(got[0], " PLATFORM CPU MEMORY") || !strings.HasSuffix(got[1], " kubeadm 12 48.0Gi") || !strings.HasSuffix(got[3], " <none> 12 24.0Gi") {
		t.Errorf("-o wide:\n%s", tf.out)
	}
}

func TestClustersGroupByRegion(t *testing.T) {
	tf := newTestFleet(t, sizedMembers())
	o := clustersOptions(tf)
	o.GroupBy = "region"
	if err := runClusters(t, o); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "--group-by region", tf.out.String(),
		"REGION CLUSTERS READY NODES CPU MEMORY",
		"AS 2 2 5 24 72.0Gi",
		"EU 1 1 1 2 8.0Gi",
		"TOTAL 3 3 6 26 80.0Gi",
	)
}

func TestClustersSortByNodes(t *testing.T) {
	tf := newTestFleet(t, sizedMembers())
	o := clustersOptions(tf)
	o.SortBy = "nodes"
	if err := runClusters(t, o); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, l := range lines(tf.out.String())[1:] {
		names = append(names, strings.Fields(l)[0])
	}
	if want := []string{"cluster2", "cluster1", "cluster3"}; !slices.Equal(names, want) {
		t.Errorf("--sort-by nodes: %v, want %v\n%s", names, want, tf.out)
	}

	// A column the table does not have is refused, naming the ones it has.
	o = clustersOptions(tf)
	o.SortBy = "pods"
	if err := runClusters(t, o); err == nil || !strings.Contains(err.Error(), `invalid --sort-by "pods": not a column of this table (columns: name, ready, region, zone, kubernetes version, nodes,`) {
		t.Errorf("--sort-by pods: %v", err)
	}
}

func TestClustersSelector(t *testing.T) {
	tf := newTestFleet(t, sizedMembers())
	o := clustersOptions(tf)
	o.Selection.Selector = fleet.RegionLabel + "=AS"
	if err := runClusters(t, o); err != nil {
		t.Fatal(err)
	}
	got := lines(tf.out.String())
	if len(got) != 3 || !strings.HasPrefix(got[1], "cluster1 ") || !strings.HasPrefix(got[2], "cluster3 ") {
		t.Errorf("-C region=AS:\n%s", tf.out)
	}
	if n := len(tf.kube["cluster2"].Actions()); n != 0 {
		t.Errorf("cluster2 does not match and was asked: %v", tf.kube["cluster2"].Actions())
	}

	// -o name prints the matching KubeFedClusters.
	tf.out.Reset()
	o = clustersOptions(tf)
	o.Selection.Selector, *o.PrintFlags.OutputFormat = "platform=eks", "name"
	if err := runClusters(t, o); err != nil {
		t.Fatal(err)
	}
	if want := "kubefedcluster.core.kubefed.io/cluster2\n"; tf.out.String() != want {
		t.Errorf("-o name: %q, want %q", tf.out, want)
	}
}

// A member that does not answer shows <unknown>, gets one warning, counts
// in CLUSTERS only when grouped, and the exit code is 1.
func TestClustersMemberFails(t *testing.T) {
	tf := newTestFleet(t, sizedMembers())
	tf.failNodes("cluster3")
	o := clustersOptions(tf)
	wantExit1(t, runClusters(t, o))
	if got := lines(tf.out.String()); len(got) != 4 || got[3] != "cluster3 True AS JP v1.31.0 <unknown> https://cluster3.example:6443 <unknown>" {
		t.Errorf("stdout\n%s", tf.out)
	}
	if want := "Warning: cluster cluster3: dial tcp 10.0.9.9:6443: connect: connection refused\n"; tf.errOut.String() != want {
		t.Errorf("stderr %q, want %q", tf.errOut, want)
	}

	tf.out.Reset()
	o = clustersOptions(tf)
	o.GroupBy = "region"
	wantExit1(t, runClusters(t, o))
	wantLines(t, "--group-by region with cluster3 down", tf.out.String(),
		"REGION CLUSTERS READY NODES CPU MEMORY",
		"AS 2 2 2 12 48.0Gi",
		"EU 1 1 1 2 8.0Gi",
		"TOTAL 3 3 3 14 56.0Gi",
	)
}
