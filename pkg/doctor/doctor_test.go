package doctor

import (
	"context"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/version"
	fakediscovery "k8s.io/client-go/discovery/fake"
	dynamicfake "k8s.io/client-go/dynamic/fake"
	kubefake "k8s.io/client-go/kubernetes/fake"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

func obj(apiVersion, kind, ns, name string, fields map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{"apiVersion": apiVersion, "kind": kind}}
	for k, v := range fields {
		u.Object[k] = v
	}
	u.SetName(name)
	u.SetNamespace(ns)
	return u
}

var listKinds = map[schema.GroupVersionResource]string{
	crdGVR:                        "CustomResourceDefinitionList",
	fleet.KubeFedClusters:         "KubeFedClusterList",
	kubeFedConfigGVR:              "KubeFedConfigList",
	openmcpapi.PolicyKind().GVR(): "OpenMCPPolicyList",
	ipPoolGVR:                     "IPAddressPoolList",
	deploymentKind().GVR():        "OpenMCPDeploymentList",
}

func deploymentKind() openmcpapi.Kind { k, _ := openmcpapi.KindByName("OpenMCPDeployment"); return k }

// fixture is a host where KubeFed and OpenMCP are installed and healthy,
// except what skip leaves out.
func doctorFixture(t *testing.T, skipCRD string) (*Doctor, func() []Finding) {
	t.Helper()
	var objs []runtime.Object
	crd := func(name string) {
		if name != skipCRD {
			objs = append(objs, obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", name, nil))
		}
	}
	for _, n := range KubeFedCRDs {
		crd(n)
	}
	for _, k := range openmcpapi.Kinds {
		crd(k.CRDName())
	}
	objs = append(objs, obj("core.kubefed.io/v1beta1", "KubeFedConfig", "kube-federation-system", "kubefed", map[string]any{"spec": map[string]any{"scope": "Cluster"}}))
	kfc := obj("core.kubefed.io/v1beta1", "KubeFedCluster", "kube-federation-system", "cluster1", map[string]any{
		"spec":   map[string]any{"apiEndpoint": "https://cluster1", "secretRef": map[string]any{"name": "cluster1"}},
		"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True"}}},
	})
	kfc.SetLabels(map[string]string{fleet.RegionLabel: "AS"})
	objs = append(objs, kfc)
	dyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds, objs...)
	// Created through the client: the fake would guess the plural
	// "openmcppolicies", and OpenMCP's is "openmcppolicys".
	for _, p := range openmcpapi.DefaultPolicies {
		pol := obj(openmcpapi.Group+"/"+openmcpapi.Version, "OpenMCPPolicy", openmcpapi.Namespace, p, map[string]any{"spec": map[string]any{"policyStatus": "Enabled"}})
		if _, err := dyn.Resource(openmcpapi.PolicyKind().GVR()).Namespace(openmcpapi.Namespace).Create(context.Background(), pol, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	ready := func(ns, name string) *appsv1.Deployment {
		one := int32(1)
		return &appsv1.Deployment{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name}, Spec: appsv1.DeploymentSpec{Replicas: &one}, Status: appsv1.DeploymentStatus{AvailableReplicas: 1}}
	}
	kubeObjs := []runtime.Object{&corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: openmcpapi.Namespace}}, ready("kube-federation-system", KubeFedController)}
	for _, c := range Controllers {
		kubeObjs = append(kubeObjs, ready(openmcpapi.Namespace, c))
	}
	kube := kubefake.NewClientset(kubeObjs...)
	kube.Discovery().(*fakediscovery.FakeDiscovery).FakedServerVersion = &version.Info{GitVersion: "v1.37.2"}

	member := kubefake.NewClientset(&corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{Namespace: MetalLBNamespace, Name: "config"},
		Data:       map[string]string{"config": "address-pools:\n- name: default\n  protocol: layer2\n  addresses: [10.0.0.100-10.0.0.120]\n"},
	})
	memberDyn := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds)

	d := &Doctor{
		HostContext: "openmcp", Discovery: kube.Discovery(), Kube: kube, Dynamic: dyn,
		KubeFedNamespace: "kube-federation-system",
		Member: func(context string) (*fleet.Clients, error) {
			if context != "cluster1" {
				return nil, fmt.Errorf("no context %s", context)
			}
			return &fleet.Clients{Kube: member, Dynamic: memberDyn}, nil
		},
	}
	run := func() []Finding {
		var out []Finding
		d.Run(context.Background(), func(f Finding) { out = append(out, f) })
		return out
	}
	return d, run
}

func find(fs []Finding, item string) Finding {
	for _, f := range fs {
		if f.Item == item {
			return f
		}
	}
	return Finding{}
}

func TestDoctorNamesTheMissingOpenMCPCRD(t *testing.T) {
	_, run := doctorFixture(t, "openmcpdomains.openmcp.k8s.io")
	fs := run()
	f := find(fs, "OpenMCP CRDs")
	if f.Status != CheckFail || !strings.Contains(f.Detail, "1 of 16 missing: openmcpdomains.openmcp.k8s.io") {
		t.Errorf("OpenMCP CRDs: %+v", f)
	}
	if f := find(fs, "KubeFed CRDs"); f.Status != CheckOK {
		t.Errorf("KubeFed CRDs: %+v", f)
	}
}

func TestDoctorHealthyFederation(t *testing.T) {
	d, run := doctorFixture(t, "")
	// The member has no kubeconfig context in this test: pair it by hand.
	d.Kubeconfig = nil
	fs := run()
	for _, item := range []string{"host", "KubeFed CRDs", "KubeFedConfig", "KubeFed controller", "OpenMCP CRDs", "OpenMCP namespace", "OpenMCP controllers", "OpenMCP policies", "cluster cluster1"} {
		if f := find(fs, item); f.Status != CheckOK {
			t.Errorf("%s: %+v", item, f)
		}
	}
	if f := find(fs, "labels cluster1"); f.Status != CheckWarn || !strings.Contains(f.Detail, fleet.ZoneLabel) {
		t.Errorf("a member without a zone label must warn: %+v", f)
	}
	// No kubeconfig context reaches cluster1 here, so MetalLB is not checked.
	if f := find(fs, "metallb cluster1"); f.Status != CheckWarn {
		t.Errorf("metallb without a context: %+v", f)
	}
	// The order is fixed: host first.
	if fs[0].Item != "host" {
		t.Errorf("first finding %+v", fs[0])
	}
}

func TestDoctorMetalLB(t *testing.T) {
	d, _ := doctorFixture(t, "")
	f := d.checkMetalLB(context.Background(), fleet.Member{Name: "cluster1", Context: "cluster1"})
	if f.Status != CheckOK || !strings.Contains(f.Detail, "address-pools default (ConfigMap metallb-system/config)") {
		t.Errorf("legacy ConfigMap pools: %+v", f)
	}
	empty := kubefake.NewClientset()
	d.Member = func(string) (*fleet.Clients, error) {
		return &fleet.Clients{Kube: empty, Dynamic: dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds)}, nil
	}
	f = d.checkMetalLB(context.Background(), fleet.Member{Name: "cluster2", Context: "cluster2"})
	if f.Status != CheckFail || !strings.Contains(f.Detail, "no MetalLB address pool") {
		t.Errorf("no MetalLB: %+v", f)
	}
	crdMode := dynamicfake.NewSimpleDynamicClientWithCustomListKinds(runtime.NewScheme(), listKinds,
		obj("apiextensions.k8s.io/v1", "CustomResourceDefinition", "", MetalLBPoolsCRD, nil),
		obj("metallb.io/v1beta1", "IPAddressPool", MetalLBNamespace, "pool1", map[string]any{"spec": map[string]any{"addresses": []any{"10.0.0.0/28"}}}))
	d.Member = func(string) (*fleet.Clients, error) { return &fleet.Clients{Kube: empty, Dynamic: crdMode}, nil }
	f = d.checkMetalLB(context.Background(), fleet.Member{Name: "cluster3", Context: "cluster3"})
	if f.Status != CheckOK || !strings.Contains(f.Detail, "IPAddressPools metallb-system/pool1") {
		t.Errorf("CRD mode: %+v", f)
	}
}

func TestDoctorKubeFedControllerOutsideTheHost(t *testing.T) {
	d, run := doctorFixture(t, "")
	ctx := context.Background()
	if err := d.Kube.AppsV1().Deployments("kube-federation-system").Delete(ctx, KubeFedController, metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if f := find(run(), "KubeFed controller"); f.Status != CheckFail || !strings.Contains(f.Detail, "not running") {
		t.Errorf("no Deployment, no probes: %+v", f)
	}
	kfcs := d.Dynamic.Resource(fleet.KubeFedClusters).Namespace("kube-federation-system")
	kfc, err := kfcs.Get(ctx, "cluster1", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now().UTC().Format("2006-01-02T15:04:05Z")
	_ = unstructured.SetNestedSlice(kfc.Object, []any{map[string]any{"type": "Ready", "status": "True", "lastProbeTime": now}}, "status", "conditions")
	if _, err := kfcs.Update(ctx, kfc, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	if f := find(run(), "KubeFed controller"); f.Status != CheckWarn || !strings.Contains(f.Detail, "probed the member clusters") {
		t.Errorf("a controller that probes the members: %+v", f)
	}
}

// OpenMCP's controllers running as processes (as in the sandbox) show in
// what they do: scheduled OpenMCPDeployments turn the missing Deployments
// into a WARN; one left without a plan past the grace fails.
func TestDoctorOpenMCPScheduling(t *testing.T) {
	d, run := doctorFixture(t, "")
	ctx := context.Background()
	if f := find(run(), "OpenMCP scheduling"); f.Status != CheckOK || !strings.Contains(f.Detail, "no OpenMCPDeployment") {
		t.Errorf("nothing placed: %+v", f)
	}
	for _, c := range Controllers {
		if err := d.Kube.AppsV1().Deployments(openmcpapi.Namespace).Delete(ctx, c, metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if f := find(run(), "OpenMCP controllers"); f.Status != CheckFail || !strings.Contains(f.Detail, "missing") {
		t.Errorf("no controllers, nothing scheduled: %+v", f)
	}
	odeploys := d.Dynamic.Resource(deploymentKind().GVR()).Namespace("default")
	scheduled := obj(openmcpapi.Group+"/"+openmcpapi.Version, "OpenMCPDeployment", "default", "web", map[string]any{
		"status": map[string]any{"schedulingComplete": true, "clusterMaps": map[string]any{"cluster1": int64(2)}},
	})
	if _, err := odeploys.Create(ctx, scheduled, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs := run()
	if f := find(fs, "OpenMCP controllers"); f.Status != CheckWarn || !strings.Contains(f.Detail, "running outside the host") {
		t.Errorf("controllers as processes: %+v", f)
	}
	if f := find(fs, "OpenMCP scheduling"); f.Status != CheckOK || !strings.Contains(f.Detail, "1 of 1") {
		t.Errorf("one scheduled: %+v", f)
	}
	stuck := obj(openmcpapi.Group+"/"+openmcpapi.Version, "OpenMCPDeployment", "default", "stuck", nil)
	stuck.SetCreationTimestamp(metav1.NewTime(time.Now().Add(-2 * schedulingGrace)))
	if _, err := odeploys.Create(ctx, stuck, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fs = run()
	if f := find(fs, "OpenMCP scheduling"); f.Status != CheckFail || !strings.Contains(f.Detail, "default/stuck") || !strings.Contains(f.Detail, "joinStatus JOIN") {
		t.Errorf("one stuck: %+v", f)
	}
	if f := find(fs, "OpenMCP controllers"); f.Status != CheckFail {
		t.Errorf("stuck scheduling keeps the missing controllers a FAIL: %+v", f)
	}
}

func TestLegacyMetalLBPools(t *testing.T) {
	pools, err := LegacyMetalLBPools("address-pools:\n- name: default\n  protocol: layer2\n  addresses: [10.0.0.100-10.0.0.120]\n- name: empty\n  protocol: layer2\n")
	if err != nil || !reflect.DeepEqual(pools, []string{"default"}) {
		t.Errorf("pools %v, err %v", pools, err)
	}
	if _, err := LegacyMetalLBPools("address-pools: {"); err == nil {
		t.Error("broken config accepted")
	}
}
