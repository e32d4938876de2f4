package kubefedtypes

import (
	"os"
	"reflect"
	"strings"
	"testing"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// discovery answers as a kube-apiserver would for the types the tests use.
var discovery = []*metav1.APIResourceList{
	{GroupVersion: "v1", APIResources: []metav1.APIResource{
		{Name: "configmaps", SingularName: "configmap", Namespaced: true, Kind: "ConfigMap", ShortNames: []string{"cm"}},
		{Name: "namespaces", SingularName: "namespace", Namespaced: false, Kind: "Namespace", ShortNames: []string{"ns"}},
		{Name: "services", SingularName: "service", Namespaced: true, Kind: "Service", ShortNames: []string{"svc"}},
		{Name: "services/status", Namespaced: true, Kind: "Service"},
	}},
	{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{
		{Name: "deployments", SingularName: "deployment", Namespaced: true, Kind: "Deployment", ShortNames: []string{"deploy"}},
		{Name: "deployments/scale", Namespaced: true, Kind: "Scale"},
	}},
	{GroupVersion: "networking.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "ingresses", SingularName: "ingress", Namespaced: true, Kind: "Ingress", ShortNames: []string{"ing"}},
	}},
	{GroupVersion: "rbac.authorization.k8s.io/v1", APIResources: []metav1.APIResource{
		{Name: "clusterroles", SingularName: "clusterrole", Namespaced: false, Kind: "ClusterRole"},
	}},
	// Two groups with a "widgets" resource make a bare name ambiguous.
	{GroupVersion: "a.example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Namespaced: true, Kind: "Widget"}}},
	{GroupVersion: "b.example.com/v1", APIResources: []metav1.APIResource{{Name: "widgets", Namespaced: true, Kind: "Widget"}}},
}

func chartTypeConfigs(t *testing.T) map[string]fedv1b1.FederatedTypeConfig {
	t.Helper()
	data, err := os.ReadFile("testdata/kubefed-chart-ftcs.yaml")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]fedv1b1.FederatedTypeConfig{}
	for _, doc := range strings.Split(string(data), "\n---\n") {
		var ftc fedv1b1.FederatedTypeConfig
		if err := yaml.Unmarshal([]byte(doc), &ftc); err != nil {
			t.Fatal(err)
		}
		out[ftc.Name] = ftc
	}
	return out
}

// The FederatedTypeConfigs must be exactly those KubeFed's own chart ships
// (and kubefedctl enable writes): the controller keys everything off them.
func TestTypeConfigMatchesKubeFedChart(t *testing.T) {
	chart := chartTypeConfigs(t)
	for _, name := range []string{"deployments", "configmaps", "ns", "svc", "ingresses.networking.k8s.io", "clusterroles"} {
		target, err := Resolve(discovery, name)
		if err != nil {
			t.Fatalf("Resolve(%q): %v", name, err)
		}
		want, ok := chart[target.Name()]
		if !ok {
			t.Fatalf("Resolve(%q) = %s, which the chart does not have", name, target.Name())
		}
		got := target.TypeConfig("kube-federation-system")
		if got.Name != want.Name || got.Namespace != "kube-federation-system" {
			t.Errorf("%s: name %s/%s", name, got.Namespace, got.Name)
		}
		if !reflect.DeepEqual(got.Spec, want.Spec) {
			t.Errorf("%s: spec differs from KubeFed's chart\n got: %+v\nwant: %+v", name, got.Spec, want.Spec)
		}
	}
}

func TestResolveLikeKubefedctl(t *testing.T) {
	for name, want := range map[string]string{
		"deployments": "deployments.apps", "Deployment": "deployments.apps", "deploy": "deployments.apps",
		"deployments.apps": "deployments.apps", "cm": "configmaps", "widgets.a.example.com": "widgets.a.example.com",
	} {
		got, err := Resolve(discovery, name)
		if err != nil || got.Name() != want {
			t.Errorf("Resolve(%q) = %q, %v; want %q", name, got.Name(), err, want)
		}
	}
	if _, err := Resolve(discovery, "widgets"); err == nil || !strings.Contains(err.Error(), "widgets.a.example.com, widgets.b.example.com") {
		t.Errorf("ambiguous name: %v", err)
	}
	if _, err := Resolve(discovery, "gizmos"); err == nil || !strings.Contains(err.Error(), `"gizmos"`) {
		t.Errorf("unknown name: %v", err)
	}
	d, _ := Resolve(discovery, "deployments")
	s, _ := Resolve(discovery, "services")
	if !d.Scalable || s.Scalable {
		t.Errorf("scalable: deployments %v, services %v", d.Scalable, s.Scalable)
	}
}

func TestCRD(t *testing.T) {
	d, _ := Resolve(discovery, "deployments")
	crd := d.CRD()
	if crd.Name != "federateddeployments.types.kubefed.io" || crd.Spec.Group != "types.kubefed.io" ||
		crd.Spec.Names.Kind != "FederatedDeployment" || crd.Spec.Scope != apiextv1.NamespaceScoped {
		t.Fatalf("names: %s %s %+v %s", crd.Name, crd.Spec.Group, crd.Spec.Names, crd.Spec.Scope)
	}
	if !reflect.DeepEqual(crd.Spec.Names.ShortNames, []string{"fdeploy"}) {
		t.Errorf("short names %v", crd.Spec.Names.ShortNames)
	}
	v := crd.Spec.Versions[0]
	if v.Name != "v1beta1" || !v.Served || !v.Storage || v.Subresources == nil || v.Subresources.Status == nil {
		t.Fatalf("version %+v", v)
	}
	spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
	tmpl := spec.Properties["template"]
	if tmpl.Type != "object" || tmpl.XPreserveUnknownFields == nil || !*tmpl.XPreserveUnknownFields {
		t.Errorf("template must be an open object: %+v", tmpl)
	}
	if spec.Properties["placement"].Type != "object" || spec.Properties["overrides"].Type != "array" {
		t.Errorf("placement %q overrides %q", spec.Properties["placement"].Type, spec.Properties["overrides"].Type)
	}
	if _, ok := spec.Properties[RetainReplicasField]; !ok {
		t.Error("a scalable type needs retainReplicas")
	}
	cm, _ := Resolve(discovery, "configmaps")
	if _, ok := cm.CRD().Spec.Versions[0].Schema.OpenAPIV3Schema.Properties["spec"].Properties[RetainReplicasField]; ok {
		t.Error("configmaps are not scalable")
	}
	ns, _ := Resolve(discovery, "namespaces")
	if ns.CRD().Spec.Scope != apiextv1.NamespaceScoped {
		t.Error("FederatedNamespace must be namespaced")
	}
	cr, _ := Resolve(discovery, "clusterroles")
	if cr.CRD().Spec.Scope != apiextv1.ClusterScoped {
		t.Error("FederatedClusterRole must be cluster-scoped")
	}
}

func deploymentFTC(t *testing.T) *fedv1b1.FederatedTypeConfig {
	ftc := chartTypeConfigs(t)["deployments.apps"]
	return &ftc
}

func nginx() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apps/v1", "kind": "Deployment",
		"metadata": map[string]any{"name": "web", "namespace": "demo", "labels": map[string]any{"app": "web"}},
		"spec": map[string]any{
			"replicas": int64(2),
			"selector": map[string]any{"matchLabels": map[string]any{"app": "web"}},
			"template": map[string]any{"metadata": map[string]any{"labels": map[string]any{"app": "web"}},
				"spec": map[string]any{"containers": []any{map[string]any{"name": "nginx", "image": "nginx"}}}},
		},
		"status": map[string]any{"replicas": int64(2)},
	}}
}

var members = []Member{
	{Name: "cluster1", Labels: map[string]string{fleet.RegionLabel: "AS", fleet.ZoneLabel: "KR"}},
	{Name: "cluster2", Labels: map[string]string{fleet.RegionLabel: "AS", fleet.ZoneLabel: "JP"}},
	{Name: "cluster3", Labels: map[string]string{fleet.RegionLabel: "EU", fleet.ZoneLabel: "DE"}},
}

func TestFederateDefaultsToEveryCluster(t *testing.T) {
	fed, err := Federate(nginx(), deploymentFTC(t), Placement{}, members)
	if err != nil {
		t.Fatal(err)
	}
	if fed.GetAPIVersion() != "types.kubefed.io/v1beta1" || fed.GetKind() != "FederatedDeployment" || fed.GetName() != "web" || fed.GetNamespace() != "demo" {
		t.Fatalf("identity: %s %s %s/%s", fed.GetAPIVersion(), fed.GetKind(), fed.GetNamespace(), fed.GetName())
	}
	sel, found, _ := unstructured.NestedMap(fed.Object, "spec", "placement", "clusterSelector")
	if !found || len(sel) != 0 {
		t.Errorf("want an empty clusterSelector (every cluster), got %v (found %v)", sel, found)
	}
	tmpl, _, _ := unstructured.NestedMap(fed.Object, "spec", "template")
	for _, k := range []string{"apiVersion", "kind", "status"} {
		if _, ok := tmpl[k]; ok {
			t.Errorf("template carries %s", k)
		}
	}
	if n, _, _ := unstructured.NestedInt64(tmpl, "spec", "replicas"); n != 2 {
		t.Errorf("without --replicas the Deployment's own count stays: %d", n)
	}
	if _, ok, _ := unstructured.NestedFieldNoCopy(tmpl, "metadata", "name"); ok {
		t.Error("template metadata must not name the object")
	}
	if _, ok := fed.Object["spec"].(map[string]any)["overrides"]; ok {
		t.Error("no overrides without --replicas")
	}
}

func TestFederateClustersAndReplicaOverrides(t *testing.T) {
	five := int64(5)
	fed, err := Federate(nginx(), deploymentFTC(t), Placement{Clusters: []string{"cluster2", "cluster1"}, Replicas: &five}, members)
	if err != nil {
		t.Fatal(err)
	}
	clusters, _, _ := unstructured.NestedSlice(fed.Object, "spec", "placement", "clusters")
	if len(clusters) != 2 || clusters[0].(map[string]any)["name"] != "cluster2" {
		t.Errorf("clusters %v", clusters)
	}
	ovs, _, _ := unstructured.NestedSlice(fed.Object, "spec", "overrides")
	got := map[string]int64{}
	for _, o := range ovs {
		om := o.(map[string]any)
		co := om["clusterOverrides"].([]any)[0].(map[string]any)
		if co["path"] != "/spec/replicas" || co["op"] != "replace" {
			t.Errorf("override %v", co)
		}
		got[om["clusterName"].(string)] = co["value"].(int64)
	}
	if !reflect.DeepEqual(got, map[string]int64{"cluster1": 3, "cluster2": 2}) {
		t.Errorf("5 replicas over 2 clusters: %v", got)
	}
	if _, err := Federate(nginx(), deploymentFTC(t), Placement{Clusters: []string{"nosuch"}}, members); err == nil || !strings.Contains(err.Error(), "cluster1, cluster2, cluster3") {
		t.Errorf("unknown cluster: %v", err)
	}
}

func TestFederateRegionZoneSelector(t *testing.T) {
	four := int64(4)
	fed, err := Federate(nginx(), deploymentFTC(t), Placement{Regions: []string{"AS"}, Replicas: &four}, members)
	if err != nil {
		t.Fatal(err)
	}
	ml, _, _ := unstructured.NestedStringMap(fed.Object, "spec", "placement", "clusterSelector", "matchLabels")
	if !reflect.DeepEqual(ml, map[string]string{fleet.RegionLabel: "AS"}) {
		t.Errorf("matchLabels %v", ml)
	}
	ovs, _, _ := unstructured.NestedSlice(fed.Object, "spec", "overrides")
	if len(ovs) != 2 {
		t.Errorf("region AS selects cluster1 and cluster2, overrides: %v", ovs)
	}
	fed, err = Federate(nginx(), deploymentFTC(t), Placement{Zones: []string{"KR", "DE"}}, members)
	if err != nil {
		t.Fatal(err)
	}
	ex, _, _ := unstructured.NestedSlice(fed.Object, "spec", "placement", "clusterSelector", "matchExpressions")
	if len(ex) != 1 || ex[0].(map[string]any)["operator"] != "In" || ex[0].(map[string]any)["key"] != fleet.ZoneLabel {
		t.Errorf("two zones need an In expression: %v", ex)
	}
	one := int64(1)
	if _, err := Federate(nginx(), deploymentFTC(t), Placement{Regions: []string{"SA"}, Replicas: &one}, members); err == nil || !strings.Contains(err.Error(), "region SA") {
		t.Errorf("no cluster in SA: %v", err)
	}
}

func TestSpread(t *testing.T) {
	for _, c := range []struct {
		total int64
		n     int
		want  []int64
	}{{5, 2, []int64{3, 2}}, {6, 3, []int64{2, 2, 2}}, {1, 3, []int64{1, 0, 0}}, {0, 2, []int64{0, 0}}} {
		if got := Spread(c.total, c.n); !reflect.DeepEqual(got, c.want) {
			t.Errorf("Spread(%d, %d) = %v, want %v", c.total, c.n, got, c.want)
		}
	}
}

func TestFederatedNamespaceAndHints(t *testing.T) {
	ftc := chartTypeConfigs(t)["namespaces"]
	ns := FederatedNamespace("demo", &ftc)
	if ns.GetKind() != "FederatedNamespace" || ns.GetName() != "demo" || ns.GetNamespace() != "demo" {
		t.Errorf("FederatedNamespace %s/%s %s", ns.GetNamespace(), ns.GetName(), ns.GetKind())
	}
	if got := EnableHint(schema.GroupKind{Group: "apps", Kind: "Deployment"}, ""); got != "kubectl openmcp enable deployments.apps" {
		t.Errorf("hint %q", got)
	}
	all := chartTypeConfigs(t)
	list := make([]fedv1b1.FederatedTypeConfig, 0, len(all))
	for _, f := range all {
		list = append(list, f)
	}
	for _, name := range []string{"deployments", "deployments.apps", "deployment"} {
		if f, ok := FindByName(list, name); !ok || f.Name != "deployments.apps" {
			t.Errorf("FindByName(%q) = %v, %v", name, f, ok)
		}
	}
	if f, ok := FindTypeConfig(list, schema.GroupKind{Group: "apps", Kind: "Deployment"}); !ok || f.Name != "deployments.apps" {
		t.Errorf("FindTypeConfig: %v %v", f, ok)
	}
}
