package e2e

import (
	"context"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// placeSamples is the OpenMCP guide's sample folder, as the reference has it
// (the HAS sample still in its stale layout).
func placeSamples() string {
	return filepath.Join(sandbox.RepoRoot(), "pkg", "openmcp", "testdata", "reference", "sample")
}

const placeNginx = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  namespace: web
  labels: {app: nginx}
spec:
  replicas: 2
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
---
apiVersion: v1
kind: Service
metadata:
  name: nginx
  namespace: web
spec:
  type: NodePort
  selector: {app: nginx}
  ports: [{port: 80, targetPort: 80, nodePort: 30080}]
`

func placeWrite(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func placeKind(kind string) openmcpapi.Kind {
	k, ok := openmcpapi.KindByName(kind)
	if !ok {
		panic(kind)
	}
	return k
}

func placeGet(t *testing.T, c *sandbox.Cluster, gvr schema.GroupVersionResource, ns, name string) *unstructured.Unstructured {
	t.Helper()
	obj, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return obj
}

// placeActions maps each "ref action" output line to its action.
func placeActions(t *testing.T, out string) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, l := range lines(out) {
		ref, action, ok := strings.Cut(l, " ")
		if !ok {
			t.Fatalf("output line %q is not \"ref action\"", l)
		}
		m[ref] = action
	}
	return m
}

// Placing the guide's samples and a plain nginx Deployment + NodePort
// Service creates the right OpenMCP objects; placing again changes nothing;
// a bad document keeps its whole directory off the host.
func TestPlaceOpenMCPObjects(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	ctx := context.Background()
	if err := fed.Host.EnsureNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}

	// The guide's samples, the stale HAS sample fixed on the way.
	res := fed.OpenMCP(t, "place", "-f", placeSamples(), "-R")
	if res.Code != 0 {
		t.Fatalf("place samples: exit %d\nstdout: %s\nstderr: %s", res.Code, res.Stdout, res.Stderr)
	}
	want := map[string]string{
		"openmcpdeployment.openmcp.k8s.io/openmcp-deployment": "created",
		"openmcphybridautoscaler.openmcp.k8s.io/openmcp-has":  "created",
		"openmcpdeployment.openmcp.k8s.io/test-deployment2":   "created",
		"openmcpingress.openmcp.k8s.io/openmcp-ingress-rr":    "created",
		"openmcpingress.openmcp.k8s.io/openmcp-ingress":       "created",
		"openmcpservice.openmcp.k8s.io/openmcp-service":       "created",
	}
	if got := placeActions(t, res.Stdout); !placeEqual(got, want) {
		t.Errorf("place samples printed %v, want %v", got, want)
	}
	if !strings.Contains(res.Stderr, "stale OpenMCPHybridAutoScaler layout fixed: spec.hpaTemplate -> spec.scalingOptions.hpaTemplate") {
		t.Errorf("no warning about the stale HAS sample: %q", res.Stderr)
	}
	has := placeGet(t, fed.Host, placeKind("OpenMCPHybridAutoScaler").GVR(), "openmcp", "openmcp-has")
	if kind, _, _ := unstructured.NestedString(has.Object, "spec", "scalingOptions", "hpaTemplate", "spec", "scaleTargetRef", "kind"); kind != "OpenMCPDeployment" {
		t.Errorf("HAS on the host lacks scalingOptions.hpaTemplate: %v", has.Object["spec"])
	}
	if _, stale := has.Object["spec"].(map[string]any)["hpaTemplate"]; stale {
		t.Error("HAS on the host still has the stale spec.hpaTemplate")
	}
	odep := placeGet(t, fed.Host, placeKind("OpenMCPDeployment").GVR(), "openmcp", "openmcp-deployment")
	if n, _, _ := unstructured.NestedInt64(odep.Object, "spec", "replicas"); n != 8 {
		t.Errorf("openmcp-deployment replicas %d, want the sample's 8", n)
	}
	if mgr := odep.GetManagedFields(); len(mgr) == 0 || mgr[0].Manager != openmcpapi.FieldManager || mgr[0].Operation != metav1.ManagedFieldsOperationApply {
		t.Errorf("managed fields %+v, want a server-side apply by %s", mgr, openmcpapi.FieldManager)
	}
	// The plain Deployment in the HAS folder had no namespace: the context's default.
	placeGet(t, fed.Host, placeKind("OpenMCPDeployment").GVR(), "default", "test-deployment2")

	res = fed.OpenMCP(t, "place", "-f", placeSamples(), "-R")
	if res.Code != 0 {
		t.Fatalf("place samples again: exit %d: %s", res.Code, res.Stderr)
	}
	for ref, action := range placeActions(t, res.Stdout) {
		if action != "unchanged" {
			t.Errorf("second place: %s %s, want unchanged", ref, action)
		}
	}

	// A plain nginx Deployment and NodePort Service, placed with flags.
	dir := t.TempDir()
	nginx := placeWrite(t, dir, "nginx.yaml", placeNginx)
	args := []string{"place", "-f", nginx, "--clusters", "cluster1,cluster2", "--replicas", "4", "--region", "as", "--zone", "KR"}
	res = fed.OpenMCP(t, args...)
	if res.Code != 0 {
		t.Fatalf("place nginx: exit %d: %s", res.Code, res.Stderr)
	}
	want = map[string]string{
		"openmcpdeployment.openmcp.k8s.io/nginx": "created",
		"openmcpservice.openmcp.k8s.io/nginx":    "created",
	}
	if got := placeActions(t, res.Stdout); !placeEqual(got, want) {
		t.Errorf("place nginx printed %v, want %v", got, want)
	}
	od := placeGet(t, fed.Host, placeKind("OpenMCPDeployment").GVR(), "web", "nginx")
	spec := od.Object["spec"].(map[string]any)
	if spec["replicas"] != int64(4) {
		t.Errorf("spec.replicas %v, want 4", spec["replicas"])
	}
	if cl, _, _ := unstructured.NestedStringSlice(od.Object, "spec", "clusters"); strings.Join(cl, ",") != "cluster1,cluster2" {
		t.Errorf("spec.clusters %v", cl)
	}
	if r, _, _ := unstructured.NestedStringSlice(od.Object, "spec", "affinity", "region"); strings.Join(r, ",") != "AS" {
		t.Errorf("spec.affinity.region %v (the flag's as, normalised)", r)
	}
	if l, _, _ := unstructured.NestedStringMap(od.Object, "spec", "labels"); l["app"] != "nginx" {
		t.Errorf("spec.labels %v", l)
	}
	if img, _, _ := unstructured.NestedSlice(od.Object, "spec", "template", "spec", "template", "spec", "containers"); len(img) != 1 {
		t.Errorf("template containers %v", img)
	}
	osvc := placeGet(t, fed.Host, placeKind("OpenMCPService").GVR(), "web", "nginx")
	if typ, _, _ := unstructured.NestedString(osvc.Object, "spec", "template", "spec", "type"); typ != "NodePort" {
		t.Errorf("OpenMCPService template type %q", typ)
	}
	res = fed.OpenMCP(t, args...)
	if got := placeActions(t, res.Stdout); res.Code != 0 || got["openmcpdeployment.openmcp.k8s.io/nginx"] != "unchanged" || got["openmcpservice.openmcp.k8s.io/nginx"] != "unchanged" {
		t.Errorf("place nginx again: exit %d, %v %s", res.Code, got, res.Stderr)
	}
	// A real change is reported as one.
	res = fed.OpenMCP(t, "place", "-f", nginx, "--replicas", "5")
	if got := placeActions(t, res.Stdout); got["openmcpdeployment.openmcp.k8s.io/nginx"] != "configured" || got["openmcpservice.openmcp.k8s.io/nginx"] != "unchanged" {
		t.Errorf("--replicas 5: %v %s", got, res.Stderr)
	}

	// One bad document: nothing from the directory is written.
	bad := t.TempDir()
	placeWrite(t, bad, "a-config.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good, namespace: web}\ndata: {k: v}\n")
	placeWrite(t, bad, "b-deploy.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: web}\n---\n"+
		"apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: broken, namespace: web}\nspec:\n  replicas: three\n  selector: {matchLabels: {app: b}}\n"+
		"  template: {metadata: {labels: {app: b}}, spec: {containers: [{name: b, image: busybox}]}}\n")
	res = fed.OpenMCP(t, "place", "-f", bad)
	if res.Code == 0 {
		t.Fatalf("a bad document must fail the place: %s", res.Stdout)
	}
	if !strings.Contains(res.Stderr, "b-deploy.yaml, document 2: spec.replicas: must be an integer, got string") {
		t.Errorf("the error must name file, document and field: %q", res.Stderr)
	}
	if res.Stdout != "" {
		t.Errorf("nothing may be reported as written: %q", res.Stdout)
	}
	cms, err := fed.Host.Dynamic.Resource(placeKind("OpenMCPConfigMap").GVR()).Namespace("web").List(ctx, metav1.ListOptions{})
	if err != nil || len(cms.Items) != 0 {
		t.Errorf("OpenMCPConfigMaps written despite the bad document: %v %v", err, cms)
	}

	// A server-side rejection (namespace missing) also keeps the batch off.
	res = fed.OpenMCP(t, "place", "-f", placeWrite(t, t.TempDir(), "two.yaml",
		"apiVersion: v1\nkind: ConfigMap\nmetadata: {name: one, namespace: web}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: two, namespace: nosuchns}\n"))
	if res.Code == 0 || !strings.Contains(res.Stderr, "nothing was written") || !strings.Contains(res.Stderr, "two.yaml, document 2") {
		t.Errorf("missing namespace: exit %d, %q", res.Code, res.Stderr)
	}
	if _, err := fed.Host.Dynamic.Resource(placeKind("OpenMCPConfigMap").GVR()).Namespace("web").Get(ctx, "one", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("OpenMCPConfigMap one written before the failing one: %v", err)
	}

	// A Secret's data is never printed, and a dry run writes nothing.
	secret := placeWrite(t, t.TempDir(), "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: web}\nstringData: {password: correct-horse-battery}\n")
	for _, dry := range []string{"--dry-run=client", "--dry-run=server"} {
		res = fed.OpenMCP(t, "place", "-f", secret, dry, "-o", "yaml")
		if res.Code != 0 || strings.Contains(res.Stdout+res.Stderr, "correct-horse-battery") || strings.Contains(res.Stdout, "Y29ycmVjdC1ob3JzZS1iYXR0ZXJ5") ||
			!strings.Contains(res.Stdout, "password: REDACTED") {
			t.Errorf("%s -o yaml: exit %d\n%s\n%s", dry, res.Code, res.Stdout, res.Stderr)
		}
	}
	if _, err := fed.Host.Dynamic.Resource(placeKind("OpenMCPSecret").GVR()).Namespace("web").Get(ctx, "db", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("a dry run wrote the OpenMCPSecret: %v", err)
	}

	// Unknown kinds name the supported ones.
	res = fed.OpenMCP(t, "place", "-f", placeWrite(t, t.TempDir(), "ss.yaml", "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {}\n"))
	if res.Code == 0 || !strings.Contains(res.Stderr, "supported kinds are Deployment, Service, Ingress, HorizontalPodAutoscaler, ConfigMap, Secret") {
		t.Errorf("StatefulSet: exit %d %q", res.Code, res.Stderr)
	}
}

// policy get shows the default policies as a table; policy set changes one
// value and refuses a type the policy does not have.
func TestPolicyGetAndSet(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 0})
	policies := filepath.Join(sandbox.RepoRoot(), "pkg", "openmcp", "testdata", "reference", "policy")
	if res := fed.OpenMCP(t, "place", "-f", policies); res.Code != 0 {
		t.Fatalf("place the default policies: %s", res.Stderr)
	}
	res := fed.OpenMCP(t, "policy", "get")
	if res.Code != 0 {
		t.Fatalf("policy get: exit %d: %s", res.Code, res.Stderr)
	}
	rows := lines(res.Stdout)
	if len(rows) != 9 || !regexp.MustCompile(`^NAME\s+STATUS\s+TARGET\s+POLICIES$`).MatchString(rows[0]) {
		t.Fatalf("table:\n%s", res.Stdout)
	}
	if !regexp.MustCompile(`(?m)^lb-scoring-weight\s+Enabled\s+OpenMCPLoadbalancingController\s+GeoRate=0.2;Period=5.0;RegionZoneMatchedScore=200;OnlyRegionMatchedScore=100;NoRegionZoneMatchedScore=0$`).MatchString(res.Stdout) {
		t.Errorf("lb-scoring-weight row missing:\n%s", res.Stdout)
	}
	res = fed.OpenMCP(t, "policy", "set", "scheduling-policy", "algorithm=RR")
	if res.Code != 0 || res.Stdout != "openmcppolicy.openmcp.k8s.io/scheduling-policy configured\n" {
		t.Fatalf("policy set: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
	}
	res = fed.OpenMCP(t, "policy", "set", "scheduling-policy", "algorithm=RR")
	if res.Stdout != "openmcppolicy.openmcp.k8s.io/scheduling-policy unchanged\n" {
		t.Errorf("same value again: %q", res.Stdout)
	}
	res = fed.OpenMCP(t, "policy", "get", "scheduling-policy", "-o", "yaml")
	if !strings.Contains(res.Stdout, "- RR") {
		t.Errorf("the new value is not stored:\n%s", res.Stdout)
	}
	res = fed.OpenMCP(t, "policy", "set", "lb-scoring-weight", "Weight=1")
	if res.Code != 2 || !strings.Contains(res.Stderr, `has no policy type "Weight" (its types: GeoRate, NoRegionZoneMatchedScore, OnlyRegionMatchedScore, Period, RegionZoneMatchedScore)`) {
		t.Errorf("unknown type: exit %d %q", res.Code, res.Stderr)
	}
	res = fed.OpenMCP(t, "policy", "get", "nosuch")
	if res.Code == 0 || !strings.Contains(res.Stderr, "analytic-metrics-weight") {
		t.Errorf("unknown policy: exit %d %q", res.Code, res.Stderr)
	}
}

// check reports FAIL naming a missing OpenMCP CRD, and OK once it is back.
func TestCheckOpenMCPCRDs(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 1, MetalLBCRDs: []string{"cluster1"}})
	fed.JoinForTest(t, "cluster1")
	ctx := context.Background()
	crdGVR := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	domain := placeKind("OpenMCPDomain")
	crds := fed.Host.Dynamic.Resource(crdGVR)
	if err := crds.Delete(ctx, domain.CRDName(), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := crds.Get(ctx, domain.CRDName(), metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Fatalf("CRD %s not gone: %v", domain.CRDName(), err)
	}

	res := fed.OpenMCP(t, "check")
	if res.Code != 1 {
		t.Errorf("check with a missing CRD: exit %d, want 1", res.Code)
	}
	line := placeCheckLine(t, res.Stdout, "OpenMCP CRDs")
	if !strings.HasPrefix(line, "FAIL") || !strings.Contains(line, "missing: "+domain.CRDName()) {
		t.Errorf("OpenMCP CRDs line %q", line)
	}
	if l := placeCheckLine(t, res.Stdout, "host"); !strings.HasPrefix(l, "OK") {
		t.Errorf("host line %q", l)
	}
	if l := placeCheckLine(t, res.Stdout, "KubeFed CRDs"); !strings.HasPrefix(l, "OK") {
		t.Errorf("KubeFed CRDs line %q", l)
	}
	// cluster1 has MetalLB's CRDs but no IPAddressPool yet.
	if l := placeCheckLine(t, res.Stdout, "metallb cluster1"); !strings.HasPrefix(l, "FAIL") || !strings.Contains(l, "no IPAddressPool") {
		t.Errorf("metallb line %q", l)
	}

	obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(domain.CRD())
	if err != nil {
		t.Fatal(err)
	}
	if _, err := crds.Create(ctx, &unstructured.Unstructured{Object: obj}, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := fed.Host.WaitCRDsEstablished(ctx); err != nil {
		t.Fatal(err)
	}
	res = fed.OpenMCP(t, "check")
	if line := placeCheckLine(t, res.Stdout, "OpenMCP CRDs"); !strings.HasPrefix(line, "OK") || !strings.Contains(line, "all 16 present") {
		t.Errorf("OpenMCP CRDs line after reinstalling: %q", line)
	}
	// The sandbox runs no OpenMCP controllers: the exit code still says so.
	if res.Code != 1 || !strings.HasPrefix(placeCheckLine(t, res.Stdout, "OpenMCP controllers"), "FAIL") {
		t.Errorf("exit %d\n%s", res.Code, res.Stdout)
	}
}

func placeCheckLine(t *testing.T, out, item string) string {
	t.Helper()
	re := regexp.MustCompile(`^(OK|WARN|FAIL)\s+` + regexp.QuoteMeta(item) + `\s`)
	for _, l := range lines(out) {
		if re.MatchString(l) {
			return l
		}
	}
	t.Fatalf("no %q line in:\n%s", item, out)
	return ""
}

// --federation kubefed, after enable, makes a FederatedDeployment that the
// real KubeFed controller propagates to both members, with the replicas
// spread by overrides.
func TestPlaceKubeFedPropagates(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, KubeFed: true})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	waitClusterReady(t, fed, "cluster1", "True", 90*time.Second)
	waitClusterReady(t, fed, "cluster2", "True", 90*time.Second)
	ctx := context.Background()
	if err := fed.Host.EnsureNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	nginx := placeWrite(t, t.TempDir(), "nginx.yaml", placeNginx)

	res := fed.OpenMCP(t, "place", "-f", nginx, "--federation", "kubefed")
	if res.Code == 0 || !strings.Contains(res.Stderr, "KubeFed has no FederatedTypeConfig for Deployment.apps in kube-federation-system: run 'kubectl openmcp enable deployments.apps' first") {
		t.Fatalf("place before enable: exit %d %q", res.Code, res.Stderr)
	}

	res = fed.OpenMCP(t, "enable", "deployments", "services", "namespaces")
	if res.Code != 0 {
		t.Fatalf("enable: exit %d %s", res.Code, res.Stderr)
	}
	want := map[string]string{
		"customresourcedefinition.apiextensions.k8s.io/federateddeployments.types.kubefed.io": "created",
		"federatedtypeconfig.core.kubefed.io/deployments.apps":                                "created",
		"customresourcedefinition.apiextensions.k8s.io/federatedservices.types.kubefed.io":    "created",
		"federatedtypeconfig.core.kubefed.io/services":                                        "created",
		"customresourcedefinition.apiextensions.k8s.io/federatednamespaces.types.kubefed.io":  "created",
		"federatedtypeconfig.core.kubefed.io/namespaces":                                      "created",
	}
	if got := placeActions(t, res.Stdout); !placeEqual(got, want) {
		t.Errorf("enable printed %v, want %v", got, want)
	}
	res = fed.OpenMCP(t, "enable", "deployments.apps")
	for ref, a := range placeActions(t, res.Stdout) {
		if a != "unchanged" {
			t.Errorf("enable again: %s %s", ref, a)
		}
	}

	res = fed.OpenMCP(t, "place", "-f", nginx, "--federation", "kubefed", "--replicas", "3")
	if res.Code != 0 {
		t.Fatalf("place --federation kubefed: exit %d %s", res.Code, res.Stderr)
	}
	want = map[string]string{
		"federatednamespace.types.kubefed.io/web":    "created",
		"federateddeployment.types.kubefed.io/nginx": "created",
		"federatedservice.types.kubefed.io/nginx":    "created",
	}
	if got := placeActions(t, res.Stdout); !placeEqual(got, want) {
		t.Errorf("place printed %v, want %v", got, want)
	}

	// The KubeFed controller propagates it to both members, with 2 + 1 replicas.
	replicas := map[string]int32{}
	for _, m := range fed.Members {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 120*time.Second, true, func(ctx context.Context) (bool, error) {
			d, err := m.Client.AppsV1().Deployments("web").Get(ctx, "nginx", metav1.GetOptions{})
			if err != nil {
				return false, nil
			}
			replicas[m.Name] = *d.Spec.Replicas
			return true, nil
		})
		if err != nil {
			fd := placeGet(t, fed.Host, schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federateddeployments"}, "web", "nginx")
			t.Fatalf("Deployment web/nginx never reached %s; FederatedDeployment status: %v", m.Name, fd.Object["status"])
		}
		// The Service is propagated by its own controller, maybe a moment later.
		if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
			_, err := m.Client.CoreV1().Services("web").Get(ctx, "nginx", metav1.GetOptions{})
			return err == nil, nil
		}); err != nil {
			t.Errorf("Service web/nginx never reached %s", m.Name)
		}
	}
	if replicas["cluster1"] != 2 || replicas["cluster2"] != 1 {
		t.Errorf("3 replicas over two members: %v, want cluster1 2, cluster2 1", replicas)
	}

	res = fed.OpenMCP(t, "place", "-f", nginx, "--federation", "kubefed", "--replicas", "3")
	got := placeActions(t, res.Stdout)
	if res.Code != 0 || got["federateddeployment.types.kubefed.io/nginx"] != "unchanged" || got["federatedservice.types.kubefed.io/nginx"] != "unchanged" {
		t.Errorf("place again: exit %d %v %s", res.Code, got, res.Stderr)
	}

	// disable refuses while FederatedDeployments exist.
	res = fed.OpenMCP(t, "disable", "deployments")
	if res.Code == 0 || !strings.Contains(res.Stderr, "FederatedDeployment objects still exist (web/nginx)") {
		t.Errorf("disable with objects: exit %d %q", res.Code, res.Stderr)
	}
	// With none left, it removes the type config and the CRD.
	if err := fed.Host.Dynamic.Resource(schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedservices"}).Namespace("web").Delete(ctx, "nginx", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 60*time.Second, true, func(ctx context.Context) (bool, error) {
		_, err := fed.Host.Dynamic.Resource(schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: "federatedservices"}).Namespace("web").Get(ctx, "nginx", metav1.GetOptions{})
		return apierrors.IsNotFound(err), nil
	}); err != nil {
		t.Fatalf("FederatedService not deleted (KubeFed finalizer): %v", err)
	}
	res = fed.OpenMCP(t, "disable", "services")
	if res.Code != 0 {
		t.Fatalf("disable services: exit %d %s", res.Code, res.Stderr)
	}
	if got := placeActions(t, res.Stdout); got["federatedtypeconfig.core.kubefed.io/services"] != "deleted" || got["customresourcedefinition.apiextensions.k8s.io/federatedservices.types.kubefed.io"] != "deleted" {
		t.Errorf("disable printed %v", got)
	}
	if _, err := fed.Host.Dynamic.Resource(schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "federatedtypeconfigs"}).Namespace(sandbox.KubeFedNamespace).Get(ctx, "services", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("FederatedTypeConfig services still there: %v", err)
	}
}

func placeEqual(a, b map[string]string) bool {
	if len(a) != len(b) {
		return false
	}
	keys := make([]string, 0, len(a))
	for k := range a {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if b[k] != a[k] {
			return false
		}
	}
	return true
}
