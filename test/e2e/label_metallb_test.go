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
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

var topologyKeys = []string{topology.RegionLabel, topology.ZoneLabel, topology.BetaRegionLabel, topology.BetaZoneLabel}

func nodeTopology(t *testing.T, c *sandbox.Cluster, node string) map[string]string {
	t.Helper()
	n, err := c.Client.CoreV1().Nodes().Get(context.Background(), node, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, k := range topologyKeys {
		if v, ok := n.Labels[k]; ok {
			out[k] = v
		}
	}
	return out
}

func kubeFedCluster(t *testing.T, fed *sandbox.Federation, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return obj
}

func kubeFedClusterTopology(t *testing.T, fed *sandbox.Federation, name string) map[string]string {
	t.Helper()
	out := map[string]string{}
	for k, v := range kubeFedCluster(t, fed, name).GetLabels() {
		for _, tk := range topologyKeys {
			if k == tk {
				out[k] = v
			}
		}
	}
	return out
}

func wantTopology(region, zone string) map[string]string {
	return topology.Labels(region, zone)
}

func sameMap(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	for k, v := range a {
		if w, ok := b[k]; !ok || w != v {
			return false
		}
	}
	return true
}

// TestLabelRegionZone: label writes the GA and beta keys on the member's
// control-plane nodes and on its KubeFedCluster, where placement selects on
// them; bad input and refused overwrites change nothing anywhere.
func TestLabelRegionZone(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, KubeFed: true})
	c1, c2 := fed.Member("cluster1"), fed.Member("cluster2")
	c1.CreateNodes(t,
		sandbox.Node{Name: "c1-cp", Roles: []string{"control-plane"}},
		sandbox.Node{Name: "c1-worker", Roles: []string{"worker"}},
	)
	c2.CreateNodes(t,
		sandbox.Node{Name: "c2-master", Roles: []string{"master"}},
		sandbox.Node{Name: "c2-worker"},
	)
	fed.JoinForTest(t, "cluster1")

	// Invalid codes: usage errors naming the value, nothing written.
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"--region", "XX", "--zone", "KR"}, `invalid region "XX"`},
		{[]string{"--region", "AS", "--zone", "KO"}, `invalid zone "KO"`},
		{[]string{"--region", "Asia", "--zone", "KR"}, "did you mean AS (Asia)?"},
		{[]string{"--region", "AS", "--zone", "KR", "--nodes", "role in (a"}, "invalid node selection"},
	} {
		res := fed.OpenMCP(t, append([]string{"label", "cluster1"}, tc.args...)...)
		if res.Code != 2 || !strings.Contains(res.Stderr, tc.want) || len(lines(res.Stderr)) != 2 {
			t.Errorf("label %v: exit %d, stderr %q; want exit 2 and %q", tc.args, res.Code, res.Stderr, tc.want)
		}
	}
	if got := nodeTopology(t, c1, "c1-cp"); len(got) != 0 {
		t.Fatalf("invalid input labelled c1-cp: %v", got)
	}
	if got := kubeFedClusterTopology(t, fed, "cluster1"); len(got) != 0 {
		t.Fatalf("invalid input labelled the KubeFedCluster: %v", got)
	}

	// Client dry run: prints the objects, changes nothing.
	dry := fed.OpenMCP(t, "label", "cluster1", "--region", "as", "--zone", "kr", "--nodes", "control-plane", "--dry-run=client", "-o", "json")
	if dry.Code != 0 {
		t.Fatalf("dry run: exit %d: %s", dry.Code, dry.Stderr)
	}
	var list unstructured.UnstructuredList
	if err := json.Unmarshal([]byte(dry.Stdout), &list.Object); err != nil {
		t.Fatalf("dry-run output is not JSON: %v\n%s", err, dry.Stdout)
	}
	items, _ := list.Object["items"].([]any)
	if len(items) != 2 || !strings.Contains(dry.Stdout, `"`+topology.BetaZoneLabel+`": "KR"`) {
		t.Errorf("dry run printed %d objects:\n%s", len(items), dry.Stdout)
	}
	if got := nodeTopology(t, c1, "c1-cp"); len(got) != 0 {
		t.Fatalf("dry run labelled c1-cp: %v", got)
	}

	// The real thing, lower case normalised, on the control plane only.
	res := fed.OpenMCP(t, "label", "cluster1", "--region", "as", "--zone", "kr", "--nodes", "control-plane")
	if res.Code != 0 {
		t.Fatalf("label: exit %d: %s", res.Code, res.Stderr)
	}
	for _, want := range []string{"node/c1-cp labeled", "kubefedcluster.core.kubefed.io/cluster1 labeled"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("stdout %q lacks %q", res.Stdout, want)
		}
	}
	if got := nodeTopology(t, c1, "c1-cp"); !sameMap(got, wantTopology("AS", "KR")) {
		t.Errorf("c1-cp labels %v", got)
	}
	if got := nodeTopology(t, c1, "c1-worker"); len(got) != 0 {
		t.Errorf("the worker was labelled with --nodes control-plane: %v", got)
	}
	kfc := kubeFedCluster(t, fed, "cluster1")
	if got := kubeFedClusterTopology(t, fed, "cluster1"); !sameMap(got, wantTopology("AS", "KR")) {
		t.Errorf("KubeFedCluster labels %v", got)
	}
	if ep, _, _ := unstructured.NestedString(kfc.Object, "spec", "apiEndpoint"); ep != c1.Server {
		t.Errorf("KubeFedCluster apiEndpoint now %q, want %q", ep, c1.Server)
	}

	// Again: nothing to do, nothing written.
	res = fed.OpenMCP(t, "label", "cluster1", "--region", "AS", "--zone", "KR", "--nodes", "control-plane")
	if res.Code != 0 || !strings.Contains(res.Stdout, "node/c1-cp not labeled") {
		t.Errorf("re-run: exit %d, stdout %q", res.Code, res.Stdout)
	}
	// The labels are owned by the plugin's field manager.
	n, err := c1.Client.CoreV1().Nodes().Get(context.Background(), "c1-cp", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	managers := []string{}
	for _, m := range n.ManagedFields {
		managers = append(managers, m.Manager)
	}
	if !strings.Contains(strings.Join(managers, ","), write.FieldManager) {
		t.Errorf("node c1-cp managers %v lack %s", managers, write.FieldManager)
	}

	// Another value without --overwrite: refused, nothing changed anywhere.
	res = fed.OpenMCP(t, "label", "cluster1", "--region", "EU", "--zone", "DE")
	if res.Code != 1 || !strings.Contains(res.Stderr, "--overwrite") || !strings.Contains(res.Stderr, "node/c1-cp "+topology.RegionLabel+"=AS (want EU)") {
		t.Errorf("overwrite without --overwrite: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if got := nodeTopology(t, c1, "c1-cp"); !sameMap(got, wantTopology("AS", "KR")) {
		t.Errorf("refused overwrite changed c1-cp: %v", got)
	}
	if got := kubeFedClusterTopology(t, fed, "cluster1"); !sameMap(got, wantTopology("AS", "KR")) {
		t.Errorf("refused overwrite changed the KubeFedCluster: %v", got)
	}

	// A context that is not joined: its nodes only, with a warning; by
	// default every node, as managed clusters show no control plane.
	res = fed.OpenMCP(t, "label", "cluster2", "--region", "EU", "--zone", "DE")
	if res.Code != 0 || !strings.Contains(res.Stderr, "not joined") {
		t.Fatalf("unjoined cluster2: exit %d, stderr %q", res.Code, res.Stderr)
	}
	if got := nodeTopology(t, c2, "c2-master"); !sameMap(got, wantTopology("EU", "DE")) {
		t.Errorf("c2-master labels %v", got)
	}
	if got := nodeTopology(t, c2, "c2-worker"); !sameMap(got, wantTopology("EU", "DE")) {
		t.Errorf("c2-worker labels %v, want every node labelled by default", got)
	}
	fed.JoinForTest(t, "cluster2")
	res = fed.OpenMCP(t, "label", "cluster2", "--region", "EU", "--zone", "FR", "--nodes", "all", "--overwrite")
	if res.Code != 0 {
		t.Fatalf("label cluster2 --nodes all --overwrite: exit %d: %s", res.Code, res.Stderr)
	}
	for _, n := range []string{"c2-master", "c2-worker"} {
		if got := nodeTopology(t, c2, n); !sameMap(got, wantTopology("EU", "FR")) {
			t.Errorf("%s labels %v", n, got)
		}
	}
	if got := kubeFedClusterTopology(t, fed, "cluster2"); !sameMap(got, wantTopology("EU", "FR")) {
		t.Errorf("cluster2 KubeFedCluster labels %v", got)
	}

	// --list flags a node whose GA and beta labels disagree.
	patch := `{"metadata":{"labels":{"` + topology.BetaRegionLabel + `":"AS"}}}`
	if _, err := c2.Client.CoreV1().Nodes().Patch(context.Background(), "c2-worker", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	res = fed.OpenMCP(t, "label", "--list")
	if res.Code != 0 {
		t.Fatalf("label --list: exit %d: %s", res.Code, res.Stderr)
	}
	rows := map[string]string{}
	for _, l := range lines(res.Stdout)[1:] {
		f := strings.Fields(l)
		rows[f[0]+"/"+f[1]] = l
	}
	for node, want := range map[string][]string{
		"cluster1/c1-cp":     {"AS", "KR", "ok"},
		"cluster1/c1-worker": {"<none>", "<none>", "ok"},
		"cluster2/c2-master": {"EU", "FR", "ok"},
		"cluster2/c2-worker": {"EU", "FR", "region GA EU != beta AS"},
	} {
		for _, w := range want {
			if !strings.Contains(rows[node], w) {
				t.Errorf("--list row for %s is %q, lacks %q\n%s", node, rows[node], w, res.Stdout)
			}
		}
	}
	if !strings.Contains(res.Stderr, "1 node(s) have GA and beta region/zone labels that disagree") {
		t.Errorf("--list stderr %q", res.Stderr)
	}

	// What KubeFed placement and OpenMCP select on: the KubeFedCluster labels.
	// (KubeFed v0.10.0's controller never fills status.region/zones: its
	// GetClusterZones is never called, so the labels are the only source.)
	sel, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(sandbox.KubeFedNamespace).List(context.Background(),
		metav1.ListOptions{LabelSelector: topology.BetaRegionLabel + "=AS," + topology.ZoneLabel + "=KR"})
	if err != nil || len(sel.Items) != 1 || sel.Items[0].GetName() != "cluster1" {
		t.Errorf("clusterSelector region=AS zone=KR: %v %v", err, sel)
	}
	res = fed.OpenMCP(t, "clusters")
	if res.Code != 0 {
		t.Fatalf("clusters: exit %d: %s", res.Code, res.Stderr)
	}
	for _, l := range lines(res.Stdout)[1:] {
		f := strings.Fields(l)
		if f[0] == "cluster1" && (f[2] != "AS" || f[3] != "KR") || f[0] == "cluster2" && (f[2] != "EU" || f[3] != "FR") {
			t.Errorf("clusters row %q", l)
		}
	}
}

// TestMetalLBPools: metallb writes the ConfigMap on a member without the
// MetalLB CRDs and IPAddressPool + L2Advertisement on one with them, keeps
// what it does not own, and refuses a range that overlaps another member's.
func TestMetalLBPools(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, MetalLBCRDs: []string{"cluster1"}})
	c1, c2 := fed.Member("cluster1"), fed.Member("cluster2")
	ctx := context.Background()
	if err := c1.WaitCRDsEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	// Discovery serves a new CRD a moment after it is Established.
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		m, err := metallb.DetectMode(ctx, c1.Client.Discovery())
		return err == nil && m == metallb.ModeCRD, nil
	}); err != nil {
		t.Fatalf("cluster1 never served %s", metallb.GroupVersion)
	}
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")

	// Bad ranges: usage errors naming the value, nothing written.
	for _, r := range []string{"10.0.3.250-10.0.3.241", "10.0.3.1-fd00::1", "10.0.3.300/24", "10.0.3.255/32"} {
		res := fed.OpenMCP(t, "metallb", "cluster2", "--range", r)
		if res.Code != 2 || !strings.Contains(res.Stderr, `"`+r+`"`) {
			t.Errorf("--range %s: exit %d, stderr %q", r, res.Code, res.Stderr)
		}
	}
	if _, err := c2.Client.CoreV1().Namespaces().Get(ctx, metallb.DefaultNamespace, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("a refused range created the namespace (err %v)", err)
	}

	// cluster2 has no CRDs: the guide's ConfigMap.
	res := fed.OpenMCP(t, "metallb", "cluster2", "--range", "10.0.3.241-10.0.3.250")
	if res.Code != 0 {
		t.Fatalf("metallb cluster2: exit %d: %s", res.Code, res.Stderr)
	}
	if !strings.Contains(res.Stdout, "configmap/config created") {
		t.Errorf("stdout %q", res.Stdout)
	}
	cm, err := c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, "config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(cm.Data["config"], "protocol: layer2") || !strings.Contains(cm.Data["config"], "- 10.0.3.241-10.0.3.250") {
		t.Errorf("ConfigMap config:\n%s", cm.Data["config"])
	}
	if _, err := c2.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace).List(ctx, metav1.ListOptions{}); err == nil {
		t.Errorf("cluster2 serves IPAddressPools, but it has no MetalLB CRDs")
	}

	// cluster1 has the CRDs: an IPAddressPool and its L2Advertisement.
	res = fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.4.240/28")
	if res.Code != 0 {
		t.Fatalf("metallb cluster1: exit %d: %s", res.Code, res.Stderr)
	}
	for _, want := range []string{"ipaddresspool.metallb.io/default created", "l2advertisement.metallb.io/default created"} {
		if !strings.Contains(res.Stdout, want) {
			t.Errorf("stdout %q lacks %q", res.Stdout, want)
		}
	}
	pool, err := c1.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, _ := unstructured.NestedStringSlice(pool.Object, "spec", "addresses"); strings.Join(a, ",") != "10.0.4.240/28" {
		t.Errorf("IPAddressPool addresses %v", a)
	}
	adv, err := c1.Dynamic.Resource(metallb.L2Advertisements).Namespace(metallb.DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := unstructured.NestedStringSlice(adv.Object, "spec", "ipAddressPools"); strings.Join(p, ",") != "default" {
		t.Errorf("L2Advertisement ipAddressPools %v", p)
	}
	if _, err := c1.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, "config", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a ConfigMap was written on the CRD member (err %v)", err)
	}

	// A range overlapping cluster2's pool is refused, naming it; nothing changes.
	res = fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.3.245-10.0.3.254")
	if res.Code != 1 || !strings.Contains(res.Stderr, `overlaps pool "default" (10.0.3.241-10.0.3.250) of cluster cluster2`) || !strings.Contains(res.Stderr, "--allow-overlap") {
		t.Errorf("overlap: exit %d, stderr %q", res.Code, res.Stderr)
	}
	after, _ := c1.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if after.GetResourceVersion() != pool.GetResourceVersion() {
		t.Errorf("the refused overlap changed cluster1's pool")
	}

	// The same range again: unchanged, not rewritten.
	res = fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.4.240/28")
	if res.Code != 0 || !strings.Contains(res.Stdout, "ipaddresspool.metallb.io/default unchanged") {
		t.Errorf("re-run: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	after, _ = c1.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if after.GetResourceVersion() != pool.GetResourceVersion() {
		t.Errorf("re-run rewrote cluster1's pool")
	}

	// Another range on cluster2 replaces its pool and keeps the ConfigMap's other keys.
	cm.Data["note"] = "kept by the platform team"
	if _, err := c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Update(ctx, cm, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	res = fed.OpenMCP(t, "metallb", "cluster2", "--range", "10.0.5.0/28", "--pool", "default")
	if res.Code != 0 || !strings.Contains(res.Stdout, "configmap/config configured") {
		t.Fatalf("new range on cluster2: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	cm, _ = c2.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(ctx, "config", metav1.GetOptions{})
	if cm.Data["note"] != "kept by the platform team" || strings.Contains(cm.Data["config"], "10.0.3.241") || !strings.Contains(cm.Data["config"], "10.0.5.0/28") {
		t.Errorf("ConfigMap now %v", cm.Data)
	}

	// --list shows both members' pools.
	res = fed.OpenMCP(t, "metallb", "--list")
	if res.Code != 0 {
		t.Fatalf("metallb --list: exit %d: %s", res.Code, res.Stderr)
	}
	out := lines(res.Stdout)
	if len(out) != 3 || strings.Join(strings.Fields(out[0]), " ") != "CLUSTER POOL ADDRESSES MODE AUTO-ASSIGN USED FREE" {
		t.Fatalf("--list:\n%s", res.Stdout)
	}
	if strings.Join(strings.Fields(out[1]), " ") != "cluster1 default 10.0.4.240/28 crd true 0 16" ||
		strings.Join(strings.Fields(out[2]), " ") != "cluster2 default 10.0.5.0/28 configmap true 0 16" {
		t.Errorf("--list rows:\n%s", res.Stdout)
	}

	// Now that cluster2 moved, cluster1 may take the old range.
	res = fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.3.245-10.0.3.254", "--dry-run=server", "-o", "yaml")
	if res.Code != 0 || !strings.Contains(res.Stdout, "- 10.0.3.245-10.0.3.254") {
		t.Errorf("server dry run: exit %d, stdout %q, stderr %q", res.Code, res.Stdout, res.Stderr)
	}
	after, _ = c1.Dynamic.Resource(metallb.IPAddressPools).Namespace(metallb.DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if a, _, _ := unstructured.NestedStringSlice(after.Object, "spec", "addresses"); strings.Join(a, ",") != "10.0.4.240/28" {
		t.Errorf("server dry run changed the pool: %v", a)
	}
}
