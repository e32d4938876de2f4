package manifest

import (
	"encoding/base64"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
)

func one(t *testing.T, src string) Document {
	t.Helper()
	docs := parse(t, src)
	if len(docs) != 1 {
		t.Fatalf("want one document, got %d", len(docs))
	}
	return docs[0]
}

func convert(t *testing.T, src string, opts Options) Converted {
	t.Helper()
	c, err := ToOpenMCP(one(t, src), opts)
	if err != nil {
		t.Fatalf("ToOpenMCP: %v", err)
	}
	return c
}

func str(t *testing.T, obj map[string]any, path ...string) string {
	t.Helper()
	s, _, err := unstructured.NestedString(obj, path...)
	if err != nil {
		t.Fatalf("%s: %v", strings.Join(path, "."), err)
	}
	return s
}

const nginxDeployment = `apiVersion: apps/v1
kind: Deployment
metadata:
  name: nginx
  namespace: web
  uid: 0b0c1e0e-0000-0000-0000-000000000000
  resourceVersion: "42"
  labels: {app: nginx}
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"secret":"stuff"}'
    team: edge
spec:
  replicas: 3
  selector:
    matchLabels: {app: nginx}
  template:
    metadata:
      labels: {app: nginx, tier: front}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80}]
status:
  replicas: 3
`

// Every reference sample of the OpenMCP guide places, the stale HAS sample
// after a warning that says what was moved.
func TestPlaceReferenceSamples(t *testing.T) {
	// The guide's sample directory places as one batch.
	docs, err := ReadManifests([]string{"testdata/reference/sample"}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	convs, warnings, err := ConvertAll(docs, Options{Namespace: "default"}, ToOpenMCP)
	if err != nil {
		t.Fatalf("the guide's samples must place: %v", err)
	}
	// The controllers' examples and the default policies, one by one (the
	// HAS examples all use the name test-has).
	more, err := ReadManifests([]string{"testdata/reference/has-examples", "testdata/reference/policy", "testdata/reference/test-deploy.yaml"}, true, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, d := range more {
		c, err := ToOpenMCP(d, Options{Namespace: "default"})
		if err != nil {
			t.Errorf("%v", err)
			continue
		}
		convs = append(convs, c)
	}
	kinds := map[string]int{}
	for _, c := range convs {
		kinds[c.Object.GetKind()]++
		if c.Object.GetAPIVersion() != "openmcp.k8s.io/v1alpha1" {
			t.Errorf("%s: apiVersion %s", c.Doc.Where(), c.Object.GetAPIVersion())
		}
	}
	want := map[string]int{"OpenMCPDeployment": 3, "OpenMCPService": 1, "OpenMCPIngress": 2, "OpenMCPHybridAutoScaler": 5, "OpenMCPPolicy": 8}
	if !reflect.DeepEqual(kinds, want) {
		t.Errorf("kinds %v, want %v", kinds, want)
	}
	var stale string
	for _, w := range warnings {
		if strings.Contains(w, "openmcphybridautoscaler/cr.yaml, document 1: stale OpenMCPHybridAutoScaler layout fixed") {
			stale = w
		}
	}
	if stale == "" || !strings.Contains(stale, "spec.hpaTemplate -> spec.scalingOptions.hpaTemplate") || !strings.Contains(stale, "spec.vpaMode -> spec.scalingOptions.vpaTemplate") {
		t.Errorf("no warning about the stale HAS sample in %q", warnings)
	}
	for _, c := range convs {
		if c.Object.GetName() != "openmcp-has" {
			continue
		}
		if n, _, _ := unstructured.NestedInt64(c.Object.Object, "spec", "scalingOptions", "hpaTemplate", "spec", "maxReplicas"); n != 10 {
			t.Errorf("fixed HAS lost maxReplicas: %v", c.Object.Object)
		}
		if v := str(t, c.Object.Object, "spec", "scalingOptions", "vpaTemplate"); v != "Auto" {
			t.Errorf("fixed HAS vpaTemplate %q", v)
		}
		if _, found := c.Object.Object["spec"].(map[string]any)["hpaTemplate"]; found {
			t.Error("stale spec.hpaTemplate left behind")
		}
	}
	// The .backup sample uses OpenMCP's resources.needs extension: accepted
	// without a warning (it is OpenMCP's field, not a typo).
	d, err := ReadManifests([]string{"testdata/reference/sample/openmcpdeployment/cr.yaml.backup"}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ToOpenMCP(d[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range c.Warnings {
		if strings.Contains(w, "needs") {
			t.Errorf("warning about OpenMCP's own needs field: %s", w)
		}
	}
}

func TestDeploymentBecomesOpenMCPDeployment(t *testing.T) {
	six := int64(6)
	c := convert(t, nginxDeployment, Options{Placement: Placement{Clusters: []string{"cluster1", "cluster2"}, Regions: []string{"AS"}, Zones: []string{"KR"}, Replicas: &six}})
	o := c.Object.Object
	if c.Object.GetKind() != "OpenMCPDeployment" || c.Object.GetName() != "nginx" || c.Object.GetNamespace() != "web" {
		t.Fatalf("identity %s %s/%s", c.Object.GetKind(), c.Object.GetNamespace(), c.Object.GetName())
	}
	if n, _, _ := unstructured.NestedInt64(o, "spec", "replicas"); n != 6 {
		t.Errorf("--replicas 6 gave spec.replicas %d", n)
	}
	if l, _, _ := unstructured.NestedStringMap(o, "spec", "labels"); !reflect.DeepEqual(l, map[string]string{"app": "nginx"}) {
		t.Errorf("spec.labels %v (want the selector's labels)", l)
	}
	if cl, _, _ := unstructured.NestedStringSlice(o, "spec", "clusters"); !reflect.DeepEqual(cl, []string{"cluster1", "cluster2"}) {
		t.Errorf("spec.clusters %v", cl)
	}
	aff, _, _ := unstructured.NestedMap(o, "spec", "affinity")
	if !reflect.DeepEqual(aff, map[string]any{"region": []any{"AS"}, "zone": []any{"KR"}}) {
		t.Errorf("spec.affinity %v", aff)
	}
	ts, _, _ := unstructured.NestedMap(o, "spec", "template", "spec")
	if _, ok := ts["replicas"]; ok {
		t.Error("template.spec.replicas must go: OpenMCP's spec.replicas counts")
	}
	if img := ts["template"].(map[string]any)["spec"].(map[string]any)["containers"].([]any)[0].(map[string]any)["image"]; img != "nginx:1.27" {
		t.Errorf("template lost the pod spec: %v", ts)
	}
	for _, f := range []string{"uid", "resourceVersion"} {
		if _, ok := o["metadata"].(map[string]any)[f]; ok {
			t.Errorf("metadata.%s copied", f)
		}
	}
	if ann := c.Object.GetAnnotations(); ann["team"] != "edge" || ann["kubectl.kubernetes.io/last-applied-configuration"] != "" {
		t.Errorf("annotations %v", ann)
	}
	if _, ok := o["status"]; ok {
		t.Error("status copied")
	}
	// Without flags the Deployment's own replicas count, and nothing is placed.
	c = convert(t, nginxDeployment, Options{})
	if n, _, _ := unstructured.NestedInt64(c.Object.Object, "spec", "replicas"); n != 3 {
		t.Errorf("spec.replicas %d, want the Deployment's 3", n)
	}
	if _, ok := c.Object.Object["spec"].(map[string]any)["clusters"]; ok {
		t.Error("clusters without --clusters")
	}
}

func TestServiceBecomesOpenMCPService(t *testing.T) {
	c := convert(t, `apiVersion: v1
kind: Service
metadata: {name: nginx}
spec:
  type: NodePort
  clusterIP: 10.96.0.10
  clusterIPs: [10.96.0.10]
  selector: {app: nginx}
  ports: [{port: 80, targetPort: 80, nodePort: 30080}]
`, Options{Namespace: "web"})
	if c.Object.GetKind() != "OpenMCPService" || c.Object.GetNamespace() != "web" {
		t.Fatalf("%s %s", c.Object.GetKind(), c.Object.GetNamespace())
	}
	spec, _, _ := unstructured.NestedMap(c.Object.Object, "spec", "template", "spec")
	if spec["type"] != "NodePort" {
		t.Errorf("type %v", spec["type"])
	}
	if _, ok := spec["clusterIP"]; ok {
		t.Error("the source cluster's clusterIP must not travel")
	}
	if np := spec["ports"].([]any)[0].(map[string]any)["nodePort"]; np != int64(30080) {
		t.Errorf("an explicit nodePort is the user's choice and stays: %v", np)
	}
}

func TestIngressBecomesOpenMCPIngressInOpenMCPsShape(t *testing.T) {
	c := convert(t, `apiVersion: networking.k8s.io/v1
kind: Ingress
metadata: {name: web, namespace: web}
spec:
  defaultBackend:
    service: {name: fallback, port: {number: 8080}}
  rules:
  - host: web.example.com
    http:
      paths:
      - path: /
        pathType: Prefix
        backend:
          service: {name: web, port: {name: http}}
`, Options{})
	if c.Object.GetKind() != "OpenMCPIngress" {
		t.Fatal(c.Object.GetKind())
	}
	tmpl, _, _ := unstructured.NestedMap(c.Object.Object, "spec", "template")
	if b, _, _ := unstructured.NestedMap(tmpl, "spec", "backend"); b["serviceName"] != "fallback" || b["servicePort"] != int64(8080) {
		t.Errorf("default backend %v", b)
	}
	rules, _, _ := unstructured.NestedSlice(tmpl, "spec", "rules")
	b := rules[0].(map[string]any)["http"].(map[string]any)["paths"].([]any)[0].(map[string]any)["backend"].(map[string]any)
	if b["serviceName"] != "web" || b["servicePort"] != "http" {
		t.Errorf("rule backend %v", b)
	}
}

func TestHPABecomesHybridAutoScaler(t *testing.T) {
	c := convert(t, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: nginx, namespace: web}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: nginx}
  minReplicas: 2
  maxReplicas: 8
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 60}}
`, Options{})
	ref, _, _ := unstructured.NestedStringMap(c.Object.Object, "spec", "scalingOptions", "hpaTemplate", "spec", "scaleTargetRef")
	if !reflect.DeepEqual(ref, map[string]string{"kind": "OpenMCPDeployment", "name": "nginx"}) {
		t.Errorf("scaleTargetRef %v", ref)
	}
	if m := str(t, c.Object.Object, "spec", "mainController"); m != "MemberCluster" {
		t.Errorf("mainController %q", m)
	}
	// autoscaling/v1's CPU target becomes a v2 metric.
	c = convert(t, `apiVersion: autoscaling/v1
kind: HorizontalPodAutoscaler
metadata: {name: nginx}
spec:
  scaleTargetRef: {kind: Deployment, name: nginx}
  maxReplicas: 4
  targetCPUUtilizationPercentage: 70
`, Options{})
	ms, _, _ := unstructured.NestedSlice(c.Object.Object, "spec", "scalingOptions", "hpaTemplate", "spec", "metrics")
	if len(ms) != 1 {
		t.Fatalf("metrics %v", ms)
	}
	if u, _, _ := unstructured.NestedInt64(ms[0].(map[string]any), "resource", "target", "averageUtilization"); u != 70 {
		t.Errorf("CPU target %d", u)
	}
	_, err := ToOpenMCP(one(t, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: db}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: StatefulSet, name: db}
  maxReplicas: 3
`), Options{})
	if err == nil || !strings.Contains(err.Error(), `app.yaml, document 1: spec.scaleTargetRef.kind: an OpenMCPHybridAutoScaler scales OpenMCPDeployments, so the target must be a Deployment, got "StatefulSet"`) {
		t.Errorf("StatefulSet target: %v", err)
	}
}

func TestSecretDataIsKeptButNeverPrinted(t *testing.T) {
	const password = "hunter2-very-secret"
	src := `apiVersion: v1
kind: Secret
metadata:
  name: db
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{"stringData":{"password":"` + password + `"}}'
type: Opaque
data:
  user: ` + base64.StdEncoding.EncodeToString([]byte("admin")) + `
stringData:
  password: ` + password + `
`
	c := convert(t, src, Options{})
	data, _, _ := unstructured.NestedStringMap(c.Object.Object, "spec", "template", "data")
	if data["password"] != base64.StdEncoding.EncodeToString([]byte(password)) || data["user"] == "" {
		t.Errorf("stringData must be folded into data: %v", data)
	}
	if _, ok, _ := unstructured.NestedMap(c.Object.Object, "spec", "template", "stringData"); ok {
		t.Error("stringData left in the template")
	}
	printed, err := yaml.Marshal(printing.Redact(c.Object).Object)
	if err != nil {
		t.Fatal(err)
	}
	for _, secret := range []string{password, base64.StdEncoding.EncodeToString([]byte(password)), base64.StdEncoding.EncodeToString([]byte("admin"))} {
		if strings.Contains(string(printed), secret) {
			t.Errorf("printed OpenMCPSecret contains secret data:\n%s", printed)
		}
	}
	if !strings.Contains(string(printed), "password: REDACTED") {
		t.Errorf("keys should stay visible:\n%s", printed)
	}
	if printing.Redact(c.Object) == c.Object {
		t.Error("Redact must copy, not change, the object to write")
	}
	// A bad value is reported by field, without echoing the data.
	_, err = ToOpenMCP(one(t, "apiVersion: v1\nkind: Secret\nmetadata: {name: db}\ndata:\n  password: "+password+"!\n"), Options{})
	if err == nil || strings.Contains(err.Error(), password) {
		t.Errorf("invalid base64 error leaks or is missing: %v", err)
	}
}

// Wrong field types are errors naming the file, the document and the field.
func TestFieldErrorsNameFileDocumentAndField(t *testing.T) {
	prefix := "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: first}\n---\n"
	cases := []struct {
		name, doc, want string
	}{
		{"openmcp replicas", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPDeployment
metadata: {name: web}
spec:
  replicas: three
  template: {spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}}
`, "app.yaml, document 2: spec.replicas: must be an integer, got string"},
		{"openmcp clusters", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPDeployment
metadata: {name: web}
spec:
  clusters: cluster1
  template: {spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}}
`, "app.yaml, document 2: spec.clusters: must be an array of strings, got string"},
		{"openmcp affinity key", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPDeployment
metadata: {name: web}
spec:
  affinity: {country: [KR]}
  template: {spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}}
`, "app.yaml, document 2: spec.affinity.country: unknown affinity key (allowed: region, zone)"},
		{"openmcp template deep", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPDeployment
metadata: {name: web}
spec:
  template: {spec: {template: {spec: {containers: [{name: a, image: nginx, ports: [{containerPort: http}]}]}}}}
`, "app.yaml, document 2: spec.template.spec.template.spec.containers.ports.containerPort: must be an integer, got string"},
		{"plain deployment", `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: "3"
  selector: {matchLabels: {app: web}}
  template: {metadata: {labels: {app: web}}, spec: {containers: [{name: a, image: nginx}]}}
`, "app.yaml, document 2: spec.replicas: must be an integer, got string"},
		{"plain unknown field", `apiVersion: v1
kind: Service
metadata: {name: web}
spec:
  ports: [{port: 80}]
  selektor: {app: web}
`, `app.yaml, document 2: unknown field "spec.selektor"`},
		{"has vpa", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPHybridAutoScaler
metadata: {name: has}
spec:
  scalingOptions:
    hpaTemplate: {spec: {scaleTargetRef: {kind: OpenMCPDeployment, name: web}, maxReplicas: 3}}
    vpaTemplate: Sometimes
`, "app.yaml, document 2: spec.scalingOptions.vpaTemplate: must be one of Auto, Always, Never"},
		{"policy values", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPPolicy
metadata: {name: p}
spec:
  policyStatus: Enabled
  template: {spec: {targetController: {kind: OpenMCPSchduler}, policies: [{type: algorithm, value: OpenMCP}]}}
`, "app.yaml, document 2: spec.template.spec.policies[0].value: must be an array of strings, got string"},
		{"name", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPService
metadata: {name: Web_1}
spec: {template: {spec: {ports: [{port: 80}]}}}
`, `app.yaml, document 2: metadata.name: invalid name "Web_1"`},
		{"missing template", `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPService
metadata: {name: web}
spec: {}
`, "app.yaml, document 2: spec.template: required field is missing"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			docs := parse(t, prefix+c.doc)
			_, _, err := ConvertAll(docs, Options{}, ToOpenMCP)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("error = %v\nwant it to contain %q", err, c.want)
			}
		})
	}
}

func TestUnknownKindsListTheSupportedOnes(t *testing.T) {
	_, err := ToOpenMCP(one(t, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {}\n"), Options{})
	if err == nil {
		t.Fatal("StatefulSet must be refused")
	}
	for _, want := range []string{"StatefulSet apps/v1 cannot be placed", "Deployment, Service, Ingress, HorizontalPodAutoscaler, ConfigMap, Secret", "OpenMCPDeployment", "OpenMCPPolicy"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q: %v", want, err)
		}
	}
	_, err = ToOpenMCP(one(t, "apiVersion: openmcp.k8s.io/v1alpha1\nkind: OpenMCPThing\nmetadata: {name: x}\nspec: {}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), `unknown OpenMCP kind "OpenMCPThing"`) {
		t.Errorf("unknown OpenMCP kind: %v", err)
	}
	_, err = ToOpenMCP(one(t, "apiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: x}\nspec: {}\n"), Options{})
	if err == nil || !strings.Contains(err.Error(), "write it as apps/v1") {
		t.Errorf("old version: %v", err)
	}
}

func TestNamespaceFlagMustAgreeWithDocuments(t *testing.T) {
	if _, err := ToOpenMCP(one(t, nginxDeployment), Options{Namespace: "other", EnforceNamespace: true}); err == nil ||
		!strings.Contains(err.Error(), `metadata.namespace: the document's namespace "web" does not match the namespace "other" given with -n`) {
		t.Errorf("namespace mismatch: %v", err)
	}
	c := convert(t, nginxDeployment, Options{Namespace: "web", EnforceNamespace: true})
	if c.Object.GetNamespace() != "web" {
		t.Error(c.Object.GetNamespace())
	}
}

// One bad document means no object at all comes back, and every bad
// document is named.
func TestConvertAllIsAllOrNothing(t *testing.T) {
	docs := parse(t, nginxDeployment+"---\n"+`apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {n: 1}
---
apiVersion: v1
kind: Service
metadata: {name: svc}
spec: {ports: [{port: eighty}]}
`)
	convs, _, err := ConvertAll(docs, Options{}, ToOpenMCP)
	if convs != nil {
		t.Errorf("objects returned despite errors: %d", len(convs))
	}
	if err == nil || !strings.Contains(err.Error(), "app.yaml, document 2: data: must be a string, got number") ||
		!strings.Contains(err.Error(), "app.yaml, document 3: spec.ports.port: must be an integer, got string") {
		t.Errorf("error must name both bad documents: %v", err)
	}
	_, _, err = ConvertAll(parse(t, nginxDeployment+"---\n"+nginxDeployment), Options{}, ToOpenMCP)
	if err == nil || !strings.Contains(err.Error(), "is also defined in app.yaml, document 1") {
		t.Errorf("duplicate: %v", err)
	}
}

func TestStaleHASWithBothLayoutsIsAnError(t *testing.T) {
	_, err := ToOpenMCP(one(t, `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPHybridAutoScaler
metadata: {name: has}
spec:
  hpaTemplate: {spec: {scaleTargetRef: {kind: OpenMCPDeployment, name: a}, maxReplicas: 2}}
  scalingOptions:
    hpaTemplate: {spec: {scaleTargetRef: {kind: OpenMCPDeployment, name: b}, maxReplicas: 2}}
`), Options{})
	if err == nil || !strings.Contains(err.Error(), "spec.hpaTemplate: stale field next to spec.scalingOptions.hpaTemplate") {
		t.Errorf("err = %v", err)
	}
}

func TestPlacementFlagsWarnForKindsWithoutPlacement(t *testing.T) {
	c := convert(t, "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cfg}\n", Options{Placement: Placement{Clusters: []string{"cluster1"}}})
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "do not apply to OpenMCPConfigMap cfg") {
		t.Errorf("warnings %v", c.Warnings)
	}
}

func TestUnknownOpenMCPFieldsWarn(t *testing.T) {
	c := convert(t, `apiVersion: openmcp.k8s.io/v1alpha1
kind: OpenMCPDeployment
metadata: {name: web}
spec:
  replica: 3
  template: {spec: {template: {spec: {containers: [{name: a, image: nginx}]}}}}
`, Options{})
	if len(c.Warnings) != 1 || !strings.Contains(c.Warnings[0], "spec.replica: unknown field") {
		t.Errorf("warnings %v", c.Warnings)
	}
}

func TestToPlainUnwrapsOpenMCPKinds(t *testing.T) {
	docs, err := ReadManifests([]string{filepath.Join("testdata", "reference", "test-deploy.yaml")}, false, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := ToPlain(docs[0], Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := c.Object.Object
	if c.Object.GetKind() != "Deployment" || c.Object.GetAPIVersion() != "apps/v1" || c.Object.GetNamespace() != "test" {
		t.Fatalf("%s %s %s", c.Object.GetAPIVersion(), c.Object.GetKind(), c.Object.GetNamespace())
	}
	if sel, _, _ := unstructured.NestedStringMap(o, "spec", "selector", "matchLabels"); sel["app"] != "test-pod" {
		t.Errorf("selector from spec.labels: %v", sel)
	}
	if pl, _, _ := unstructured.NestedStringMap(o, "spec", "template", "metadata", "labels"); pl["app"] != "test-pod" {
		t.Errorf("pod labels from spec.labels: %v", pl)
	}
	if !reflect.DeepEqual(c.Placement.Clusters, []string{"cluster01", "cluster02", "cluster03"}) || c.Placement.Replicas == nil || *c.Placement.Replicas != 30 {
		t.Errorf("placement %+v", c.Placement)
	}
	ing := one(t, `apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata: {name: rr, namespace: openmcp}
spec:
  backend: {serviceName: sysbench-test, servicePort: 80}
`)
	c, err = ToPlain(ing, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if c.Object.GetAPIVersion() != "networking.k8s.io/v1" || str(t, c.Object.Object, "spec", "defaultBackend", "service", "name") != "sysbench-test" {
		t.Errorf("v1beta1 Ingress not rewritten: %v", c.Object.Object)
	}
	if _, err := ToPlain(one(t, "apiVersion: openmcp.k8s.io/v1alpha1\nkind: OpenMCPPolicy\nmetadata: {name: p}\nspec: {template: {spec: {targetController: {kind: X}, policies: []}}}\n"), Options{}); err == nil ||
		!strings.Contains(err.Error(), "OpenMCPPolicy has no KubeFed counterpart") {
		t.Errorf("policy in kubefed mode: %v", err)
	}
	// Kinds OpenMCP does not convert pass through, for a FederatedTypeConfig to match.
	c, err = ToPlain(one(t, "apiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: db}\nspec: {}\n"), Options{Namespace: "x"})
	if err != nil || c.Object.GetKind() != "StatefulSet" || c.Object.GetNamespace() != "x" {
		t.Errorf("StatefulSet: %v %v", err, c.Object)
	}
}
