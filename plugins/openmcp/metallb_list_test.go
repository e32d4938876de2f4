package openmcp

import (
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/kubernetes/scheme"
	k8stesting "k8s.io/client-go/testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
)

// legacyPool is MetalLB's legacy ConfigMap (metallb-system/config) with
// one layer2 pool, as the OpenMCP guide writes it.
func legacyPool(addresses string) []runtime.Object {
	return []runtime.Object{
		&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: metallb.DefaultNamespace}},
		&corev1.ConfigMap{
			ObjectMeta: metav1.ObjectMeta{Name: metallb.ConfigMapName, Namespace: metallb.DefaultNamespace},
			Data:       map[string]string{metallb.ConfigMapKey: "address-pools:\n- name: default\n  protocol: layer2\n  addresses:\n  - " + addresses + "\n"},
		},
	}
}

// loadBalancer is a LoadBalancer Service MetalLB gave an address.
func loadBalancer(ns, name, ip string) *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec:       corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer},
		Status:     corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: ip}}}},
	}
}

// twoPools are two members whose MetalLB reads the legacy ConfigMap (they
// serve no metallb.io CRDs); cluster1's pool has one address in use.
func twoPools() []fakeMember {
	return []fakeMember{
		{name: "cluster1", region: "AS", zone: "KR", kube: append(legacyPool("10.0.3.241-10.0.3.250"), loadBalancer("web", "nginx", "10.0.3.241"))},
		{name: "cluster2", region: "EU", zone: "DE", kube: legacyPool("10.0.4.0/28")},
	}
}

// metallbListOptions are metallb --list's options as NewCmdMetalLB and
// Complete make them, on a fake fleet.
func metallbListOptions(tf *testFleet) *MetalLBOptions {
	return &MetalLBOptions{
		IOStreams:  tf.streams(),
		PrintFlags: genericclioptions.NewPrintFlags("configured").WithTypeSetter(scheme.Scheme),
		Pool:       metallb.DefaultPool,
		Mode:       string(metallb.ModeAuto),
		AutoAssign: true,
		List:       true,
		Selection:  fleet.NewSelectionFlags(false, false),
		FanOut:     fleet.NewFanOutFlags(),
		namespace:  metallb.DefaultNamespace,
		cmd:        &cobra.Command{},
		fleet:      tf.fleet,
	}
}

func runMetalLB(t *testing.T, o *MetalLBOptions) error {
	t.Helper()
	if err := o.Validate(); err != nil {
		t.Fatalf("Validate: %v", err)
	}
	return o.Run(background)
}

func TestMetalLBListShowsEveryMembersPools(t *testing.T) {
	tf := newTestFleet(t, twoPools())
	o := metallbListOptions(tf)
	if err := runMetalLB(t, o); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	want := []string{
		"CLUSTER POOL ADDRESSES MODE AUTO-ASSIGN USED FREE",
		"cluster1 default 10.0.3.241-10.0.3.250 configmap true 1 9",
		"cluster2 default 10.0.4.0/28 configmap true 0 16",
	}
	if got := lines(tf.out.String()); !slices.Equal(got, want) {
		t.Errorf("stdout\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if tf.errOut.Len() != 0 {
		t.Errorf("stderr %q", tf.errOut)
	}

	// -o wide names the Service that holds each address.
	tf.out.Reset()
	o = metallbListOptions(tf)
	*o.PrintFlags.OutputFormat = "wide"
	if err := runMetalLB(t, o); err != nil {
		t.Fatal(err)
	}
	if got := lines(tf.out.String()); len(got) != 3 || !strings.HasSuffix(got[1], " metallb-system layer2 web/nginx=10.0.3.241") {
		t.Errorf("-o wide:\n%s", tf.out)
	}
}

// A member whose pools cannot be read is one warning; the others' pools are
// listed, the exit code is 1, and -o json carries it in failedClusters.
func TestMetalLBListMemberFails(t *testing.T) {
	tf := newTestFleet(t, twoPools())
	tf.kube["cluster1"].PrependReactor("get", "configmaps", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, errors.New("dial tcp 10.0.9.9:6443: i/o timeout")
	})
	o := metallbListOptions(tf)
	wantExit1(t, runMetalLB(t, o))
	if got := lines(tf.out.String()); len(got) != 2 || !strings.HasPrefix(got[1], "cluster2 default 10.0.4.0/28 ") {
		t.Errorf("stdout\n%s", tf.out)
	}
	if got := tf.errOut.String(); strings.Count(got, "\n") != 1 || !strings.HasPrefix(got, "Warning: cluster cluster1: ") || !strings.Contains(got, "i/o timeout") {
		t.Errorf("stderr %q, want one warning about cluster1", got)
	}

	tf.out.Reset()
	o = metallbListOptions(tf)
	*o.PrintFlags.OutputFormat = "json"
	wantExit1(t, runMetalLB(t, o))
	var doc struct {
		Pools []struct {
			Cluster, Pool string
			Addresses     []string
			Size          *int64
			Used          *int
			Free          *int64
		}
		FailedClusters []struct{ Cluster, Reason string }
	}
	if err := json.Unmarshal(tf.out.Bytes(), &doc); err != nil {
		t.Fatalf("stdout is not JSON: %v\n%s", err, tf.out)
	}
	if len(doc.Pools) != 1 || doc.Pools[0].Cluster != "cluster2" || *doc.Pools[0].Size != 16 || *doc.Pools[0].Used != 0 || *doc.Pools[0].Free != 16 {
		t.Errorf("pools %+v", doc.Pools)
	}
	if len(doc.FailedClusters) != 1 || doc.FailedClusters[0].Cluster != "cluster1" || !strings.Contains(doc.FailedClusters[0].Reason, "i/o timeout") {
		t.Errorf("failedClusters %+v", doc.FailedClusters)
	}
}

// -C lists the pools of the matching members only.
func TestMetalLBListClusterSelector(t *testing.T) {
	tf := newTestFleet(t, twoPools())
	o := metallbListOptions(tf)
	o.Selection.Selector = fleet.ZoneLabel + " in (DE,FR)"
	if err := runMetalLB(t, o); err != nil {
		t.Fatal(err)
	}
	if got := lines(tf.out.String()); len(got) != 2 || !strings.HasPrefix(got[1], "cluster2 ") {
		t.Errorf("stdout\n%s", tf.out)
	}
}

// A range that overlaps another member's pool is refused, naming that
// cluster and pool, and nothing is written anywhere.
func TestMetalLBRefusesOverlapWithAnotherMember(t *testing.T) {
	tf := newTestFleet(t, twoPools())
	o := metallbListOptions(tf)
	o.List, o.Clusters, o.RangeValues = false, []string{"cluster2"}, []string{"10.0.3.248/29"}
	err := runMetalLB(t, o)
	if err == nil || !strings.Contains(err.Error(), `pool "default" (10.0.3.241-10.0.3.250) of cluster cluster1`) || !strings.Contains(err.Error(), "nothing was changed") {
		t.Errorf("Run: %v", err)
	}
	for name, kube := range tf.kube {
		if w := writes(kube.Actions()); len(w) != 0 {
			t.Errorf("%s: written despite the overlap: %v", name, w)
		}
	}
	if tf.out.Len() != 0 {
		t.Errorf("stdout %q", tf.out)
	}
}

// A range that leaves out an address a Service holds is refused, naming
// the Service.
func TestMetalLBRefusesToStrandServices(t *testing.T) {
	tf := newTestFleet(t, twoPools())
	o := metallbListOptions(tf)
	o.List, o.Clusters, o.RangeValues = false, []string{"cluster1"}, []string{"10.0.3.242-10.0.3.250"}
	err := runMetalLB(t, o)
	if err == nil || !strings.Contains(err.Error(), `leaves out 1 address(es) of pool "default" of cluster cluster1 that Services hold: 10.0.3.241 (Service web/nginx)`) {
		t.Errorf("Run: %v", err)
	}
	if w := writes(tf.kube["cluster1"].Actions()); len(w) != 0 {
		t.Errorf("written despite the stranded Service: %v", w)
	}
}

// A free range replaces the member's legacy pool in its ConfigMap; the
// other member is only read.
func TestMetalLBWritesTheLegacyConfigMap(t *testing.T) {
	tf := newTestFleet(t, twoPools())
	o := metallbListOptions(tf)
	o.List, o.Clusters, o.RangeValues = false, []string{"cluster1"}, []string{"10.0.3.240/28"}
	if err := runMetalLB(t, o); err != nil {
		t.Fatalf("Run: %v (stderr %q)", err, tf.errOut)
	}
	if want := "configmap/config configured\n"; tf.out.String() != want {
		t.Errorf("stdout %q, want %q", tf.out, want)
	}
	if want := `cluster cluster1: MetalLB pool "default" in metallb-system, as the legacy ConfigMap`; !strings.Contains(tf.errOut.String(), want) {
		t.Errorf("stderr %q lacks %q", tf.errOut, want)
	}
	cm, err := tf.kube["cluster1"].CoreV1().ConfigMaps(metallb.DefaultNamespace).Get(background, metallb.ConfigMapName, metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if cfg := cm.Data[metallb.ConfigMapKey]; !strings.Contains(cfg, "10.0.3.240/28") || strings.Contains(cfg, "10.0.3.241-10.0.3.250") {
		t.Errorf("config not replaced:\n%s", cfg)
	}
	if w := writes(tf.kube["cluster2"].Actions()); len(w) != 0 {
		t.Errorf("cluster2 written: %v", w)
	}
}
