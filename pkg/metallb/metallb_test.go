package metallb

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
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	"k8s.io/client-go/kubernetes/fake"

	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

type cluster struct {
	kube *fake.Clientset
	dyn  *dynamicfake.FakeDynamicClient
}

func (c cluster) clients() *fleet.Clients { return &fleet.Clients{Kube: c.kube, Dynamic: c.dyn} }

func newCluster(crds bool, kubeObjs []runtime.Object, crs ...runtime.Object) cluster {
	kube := fake.NewClientset(kubeObjs...)
	if crds {
		kube.Discovery().(*fakediscovery.FakeDiscovery).Resources = []*metav1.APIResourceList{{
			GroupVersion: GroupVersion,
			APIResources: []metav1.APIResource{{Name: "ipaddresspools", Kind: "IPAddressPool", Namespaced: true}, {Name: "l2advertisements", Kind: "L2Advertisement", Namespaced: true}},
		}}
	}
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), map[schema.GroupVersionResource]string{
		IPAddressPools:   "IPAddressPoolList",
		L2Advertisements: "L2AdvertisementList",
	}, crs...)
	return cluster{kube, dyn}
}

func (c cluster) writes() []string {
	var out []string
	for _, a := range append(c.kube.Actions(), c.dyn.Actions()...) {
		switch a.GetVerb() {
		case "get", "list", "watch":
		default:
			out = append(out, a.GetVerb()+" "+a.GetResource().Resource)
		}
	}
	return out
}

func namespace(name string) *corev1.Namespace {
	return &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}
}

func configMap(text string, extra map[string]string) *corev1.ConfigMap {
	data := map[string]string{ConfigMapKey: text}
	for k, v := range extra {
		data[k] = v
	}
	return &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: DefaultNamespace, Labels: map[string]string{"owner": "ops"}}, Data: data}
}

func crObject(kind, name string, spec map[string]any) *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GroupVersion, "kind": kind,
		"metadata": map[string]any{"name": name, "namespace": DefaultNamespace},
		"spec":     spec,
	}}
}

func TestDetectMode(t *testing.T) {
	for crds, want := range map[bool]Mode{true: ModeCRD, false: ModeConfigMap} {
		c := newCluster(crds, nil)
		got, err := DetectMode(context.Background(), c.kube.Discovery())
		if err != nil || got != want {
			t.Errorf("crds=%v: %s, %v; want %s", crds, got, err, want)
		}
	}
}

func TestApplyConfigMapModeCreatesNamespaceAndConfigMap(t *testing.T) {
	c := newCluster(false, nil)
	res, err := Apply(context.Background(), c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != ModeConfigMap || res.Pool != "default" || res.Namespace != "metallb-system" {
		t.Fatalf("result %+v", res)
	}
	if got := strings.Join(c.writes(), ","); got != "create namespaces,create configmaps" {
		t.Fatalf("writes %s", got)
	}
	cm, err := c.kube.CoreV1().ConfigMaps("metallb-system").Get(context.Background(), "config", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	pools, _ := configPools(cm.Data["config"])
	if len(pools) != 1 || pools[0].Name != "default" || pools[0].Protocol != "layer2" || pools[0].Addresses[0] != "10.0.3.241-10.0.3.250" {
		t.Fatalf("config:\n%s", cm.Data["config"])
	}
	for _, o := range res.Objects {
		if o.Action != Created || o.Object.GetObjectKind().GroupVersionKind().Kind == "" {
			t.Errorf("object %#v", o)
		}
	}
}

func TestApplyConfigMapModeKeepsOtherKeysAndIsIdempotent(t *testing.T) {
	c := newCluster(false, []runtime.Object{namespace(DefaultNamespace), configMap(guideConfig, map[string]string{"other": "keep me"})})
	ctx := context.Background()
	res, err := Apply(ctx, c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250")})
	if err != nil || res.Changed() || len(c.writes()) != 0 {
		t.Fatalf("same range: changed=%v writes=%v err=%v", res.Changed(), c.writes(), err)
	}
	res, err = Apply(ctx, c.clients(), Options{Ranges: ranges(t, "10.0.6.0/28")})
	if err != nil || !res.Changed() || res.Objects[0].Action != Configured {
		t.Fatalf("new range: %+v %v", res, err)
	}
	if strings.Join(res.Previous, ",") != "10.0.3.241-10.0.3.250" {
		t.Errorf("previous %v", res.Previous)
	}
	// A merge patch of the one key, pinned to a resourceVersion.
	for _, a := range c.kube.Actions() {
		if p, ok := a.(k8stesting.PatchAction); ok {
			if !strings.Contains(string(p.GetPatch()), `"resourceVersion"`) || strings.Contains(string(p.GetPatch()), `"other"`) {
				t.Errorf("patch %s", p.GetPatch())
			}
		}
	}
	cm, _ := c.kube.CoreV1().ConfigMaps(DefaultNamespace).Get(ctx, "config", metav1.GetOptions{})
	if cm.Data["other"] != "keep me" || cm.Labels["owner"] != "ops" {
		t.Errorf("other data or labels lost: %v %v", cm.Data, cm.Labels)
	}
	pools, _ := configPools(cm.Data["config"])
	if len(pools) != 2 || pools[0].Name != "bgp-pool" || pools[1].Addresses[0] != "10.0.6.0/28" || !strings.Contains(cm.Data["config"], "peer-asn: 64501") {
		t.Errorf("config now:\n%s", cm.Data["config"])
	}
}

func TestApplyCRDModeCreatesPoolAndAdvertisement(t *testing.T) {
	c := newCluster(true, []runtime.Object{namespace(DefaultNamespace)})
	ctx := context.Background()
	res, err := Apply(ctx, c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250")})
	if err != nil {
		t.Fatal(err)
	}
	if res.Mode != ModeCRD || len(res.Objects) != 2 {
		t.Fatalf("result %+v", res)
	}
	if got := strings.Join(c.writes(), ","); got != "create ipaddresspools,create l2advertisements" {
		t.Fatalf("writes %s", got)
	}
	pool, err := c.dyn.Resource(IPAddressPools).Namespace(DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if a, _, _ := unstructured.NestedStringSlice(pool.Object, "spec", "addresses"); strings.Join(a, ",") != "10.0.3.241-10.0.3.250" {
		t.Errorf("pool addresses %v", a)
	}
	adv, err := c.dyn.Resource(L2Advertisements).Namespace(DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if p, _, _ := unstructured.NestedStringSlice(adv.Object, "spec", "ipAddressPools"); strings.Join(p, ",") != "default" {
		t.Errorf("advertisement pools %v", p)
	}

	// Again: nothing written.
	before := len(c.writes())
	res, err = Apply(ctx, c.clients(), Options{Ranges: ranges(t, "10.0.3.241 - 10.0.3.250")})
	if err != nil || res.Changed() || len(c.writes()) != before {
		t.Fatalf("re-run: %+v %v %v", res, err, c.writes()[before:])
	}
}

func TestApplyCRDModeReplacesAddressesOnly(t *testing.T) {
	pool := crObject("IPAddressPool", "default", map[string]any{"addresses": []any{"10.0.3.241-10.0.3.250"}, "avoidBuggyIPs": true})
	other := crObject("IPAddressPool", "other", map[string]any{"addresses": []any{"10.0.9.0/24"}})
	adv := crObject("L2Advertisement", "all", map[string]any{}) // announces every pool
	c := newCluster(true, []runtime.Object{namespace(DefaultNamespace)}, pool, other, adv)
	ctx := context.Background()
	res, err := Apply(ctx, c.clients(), Options{Ranges: ranges(t, "10.0.4.0/28")})
	if err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(c.writes(), ","); got != "patch ipaddresspools" {
		t.Fatalf("writes %s (an advertisement of all pools exists already)", got)
	}
	if res.Objects[0].Action != Configured {
		t.Errorf("action %s", res.Objects[0].Action)
	}
	got, _ := c.dyn.Resource(IPAddressPools).Namespace(DefaultNamespace).Get(ctx, "default", metav1.GetOptions{})
	if a, _, _ := unstructured.NestedStringSlice(got.Object, "spec", "addresses"); strings.Join(a, ",") != "10.0.4.0/28" {
		t.Errorf("addresses %v", a)
	}
	if b, _, _ := unstructured.NestedBool(got.Object, "spec", "avoidBuggyIPs"); !b {
		t.Errorf("avoidBuggyIPs lost: %v", got.Object["spec"])
	}
	pools, mode, err := ListPools(ctx, c.clients(), "", ModeAuto)
	if err != nil || mode != ModeCRD || len(pools) != 2 || pools[1].Addresses[0] != "10.0.9.0/24" {
		t.Fatalf("pools %+v %s %v", pools, mode, err)
	}
}

func TestApplyCRDModeAddsPoolToNamedAdvertisement(t *testing.T) {
	adv := crObject("L2Advertisement", "lab", map[string]any{"ipAddressPools": []any{"other"}, "interfaces": []any{"eth1"}})
	c := newCluster(true, []runtime.Object{namespace(DefaultNamespace)}, adv)
	ctx := context.Background()
	if _, err := Apply(ctx, c.clients(), Options{Pool: "lab", Ranges: ranges(t, "10.0.4.0/28")}); err != nil {
		t.Fatal(err)
	}
	got, _ := c.dyn.Resource(L2Advertisements).Namespace(DefaultNamespace).Get(ctx, "lab", metav1.GetOptions{})
	p, _, _ := unstructured.NestedStringSlice(got.Object, "spec", "ipAddressPools")
	i, _, _ := unstructured.NestedStringSlice(got.Object, "spec", "interfaces")
	if strings.Join(p, ",") != "other,lab" || strings.Join(i, ",") != "eth1" {
		t.Errorf("advertisement now pools %v interfaces %v", p, i)
	}
}

func TestApplyForcedCRDModeWithoutCRDsChangesNothing(t *testing.T) {
	c := newCluster(false, []runtime.Object{namespace(DefaultNamespace)})
	_, err := Apply(context.Background(), c.clients(), Options{Mode: ModeCRD, Ranges: ranges(t, "10.0.3.241-10.0.3.250")})
	if err == nil || !strings.Contains(err.Error(), "CRDs are not installed") {
		t.Fatalf("err %v", err)
	}
	if w := c.writes(); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestApplyForcedConfigMapModeOnCRDCluster(t *testing.T) {
	c := newCluster(true, []runtime.Object{namespace(DefaultNamespace)})
	res, err := Apply(context.Background(), c.clients(), Options{Mode: ModeConfigMap, Ranges: ranges(t, "10.0.3.241-10.0.3.250")})
	if err != nil || res.Mode != ModeConfigMap || res.Detected != ModeCRD {
		t.Fatalf("%+v %v", res, err)
	}
	if got := strings.Join(c.writes(), ","); got != "create configmaps" {
		t.Fatalf("writes %s", got)
	}
}

func TestApplyRefusesBrokenConfigBeforeWriting(t *testing.T) {
	c := newCluster(false, []runtime.Object{namespace(DefaultNamespace), configMap("address-pools: [", nil)})
	_, err := Apply(context.Background(), c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250")})
	if err == nil || !strings.Contains(err.Error(), "not valid YAML") {
		t.Fatalf("err %v", err)
	}
	if w := c.writes(); len(w) != 0 {
		t.Fatalf("wrote %v", w)
	}
}

func TestApplyValidatesOptionsBeforeCallingTheCluster(t *testing.T) {
	for _, o := range []Options{
		{Pool: "Bad_Name", Ranges: ranges(t, "10.0.3.241-10.0.3.250")},
		{Namespace: "no/slash", Ranges: ranges(t, "10.0.3.241-10.0.3.250")},
		{Mode: "bgp", Ranges: ranges(t, "10.0.3.241-10.0.3.250")},
		{},
	} {
		c := newCluster(false, nil)
		if _, err := Apply(context.Background(), c.clients(), o); err == nil {
			t.Errorf("%+v accepted", o)
		}
		if n := len(c.kube.Actions()) + len(c.dyn.Actions()); n != 0 {
			t.Errorf("%+v: %d API calls before validation", o, n)
		}
	}
}

func TestApplyClientDryRunWritesNothing(t *testing.T) {
	for _, crds := range []bool{false, true} {
		c := newCluster(crds, nil)
		res, err := Apply(context.Background(), c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250"), DryRun: DryRunClient})
		if err != nil {
			t.Fatal(err)
		}
		if w := c.writes(); len(w) != 0 {
			t.Fatalf("crds=%v: client dry-run wrote %v", crds, w)
		}
		kinds := []string{}
		for _, o := range res.Objects {
			kinds = append(kinds, o.Object.GetObjectKind().GroupVersionKind().Kind+"/"+o.Action)
		}
		want := "Namespace/created,ConfigMap/created"
		if crds {
			want = "Namespace/created,IPAddressPool/created,L2Advertisement/created"
		}
		if strings.Join(kinds, ",") != want {
			t.Errorf("crds=%v: objects %v, want %s", crds, kinds, want)
		}
	}
}

func TestApplyServerDryRunSendsDryRunAll(t *testing.T) {
	c := newCluster(true, []runtime.Object{namespace(DefaultNamespace)})
	if _, err := Apply(context.Background(), c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250"), DryRun: DryRunServer}); err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, a := range c.dyn.Actions() {
		if cr, ok := a.(k8stesting.CreateActionImpl); ok {
			n++
			if len(cr.CreateOptions.DryRun) != 1 || cr.CreateOptions.FieldManager != DefaultFieldManager {
				t.Errorf("create options %+v", cr.CreateOptions)
			}
		}
	}
	if n != 2 {
		t.Fatalf("%d creates", n)
	}
}

func TestFindOverlaps(t *testing.T) {
	existing := []ClusterPools{
		{Cluster: "cluster1", Pools: []Pool{{Name: "default", Ranges: ranges(t, "10.0.3.241-10.0.3.250")}, {Name: "other", Ranges: ranges(t, "10.0.7.0/28")}}},
		{Cluster: "cluster2", Pools: []Pool{{Name: "default", Ranges: ranges(t, "10.0.4.0/28")}}},
	}
	// Replacing cluster1's own default pool is not an overlap with itself.
	if o := FindOverlaps("cluster1", "default", ranges(t, "10.0.3.245-10.0.3.254"), existing); len(o) != 0 {
		t.Errorf("self overlap reported: %v", o)
	}
	o := FindOverlaps("cluster1", "default", ranges(t, "10.0.4.8-10.0.4.20", "10.0.7.1/32"), existing)
	if len(o) != 2 {
		t.Fatalf("overlaps %v", o)
	}
	err := error(&OverlapError{Overlaps: o})
	var oe *OverlapError
	if !errors.As(err, &oe) || !strings.Contains(err.Error(), `10.0.4.8-10.0.4.20 overlaps pool "default" (10.0.4.0/28) of cluster cluster2`) ||
		!strings.Contains(err.Error(), `10.0.7.1/32 overlaps pool "other" (10.0.7.0/28) of cluster cluster1`) {
		t.Errorf("error %q", err)
	}
}

func TestReadAllKeepsOrderAndErrors(t *testing.T) {
	c1 := newCluster(false, []runtime.Object{namespace(DefaultNamespace), configMap(guideConfig, nil)})
	c2 := newCluster(true, nil, crObject("IPAddressPool", "p", map[string]any{"addresses": []any{"10.0.4.0/28"}, "autoAssign": false}))
	got := ReadAll(context.Background(), []*fleet.Cluster{fleet.NewClusterWithClients("cluster1", "cluster1", c1.clients()), fleet.NewClusterWithClients("cluster2", "cluster2", c2.clients())}, "", fleet.FanOutFlags{MaxParallel: 4})
	if len(got) != 2 || got[0].Cluster != "cluster1" || got[0].Mode != ModeConfigMap || len(got[0].Pools) != 2 {
		t.Fatalf("cluster1 %+v", got[0])
	}
	if got[1].Mode != ModeCRD || len(got[1].Pools) != 1 || got[1].Pools[0].AutoAssign {
		t.Fatalf("cluster2 %+v", got[1])
	}
}

func TestApplyServerDryRunWithoutNamespaceComputesTheRest(t *testing.T) {
	c := newCluster(false, nil)
	res, err := Apply(context.Background(), c.clients(), Options{Ranges: ranges(t, "10.0.3.241-10.0.3.250"), DryRun: DryRunServer})
	if err != nil {
		t.Fatal(err)
	}
	// Only the namespace goes to the server (with dryRun=All): nothing can be
	// dry-run inside a namespace that a dry run did not create.
	if got := strings.Join(c.writes(), ","); got != "create namespaces" {
		t.Fatalf("writes %s", got)
	}
	for _, a := range c.kube.Actions() {
		if cr, ok := a.(k8stesting.CreateActionImpl); ok && len(cr.CreateOptions.DryRun) != 1 {
			t.Errorf("namespace created without dryRun: %+v", cr.CreateOptions)
		}
	}
	if len(res.Objects) != 2 || res.Objects[1].Object.GetObjectKind().GroupVersionKind().Kind != "ConfigMap" {
		t.Fatalf("objects %+v", res.Objects)
	}
}
