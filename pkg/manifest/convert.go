package manifest

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// Placement is where the command line asks objects to go. Empty fields
// leave what the documents say.
type Placement struct {
	Clusters []string
	Regions  []string
	Zones    []string
	// Replicas is the federation-wide total, as OpenMCP counts spec.replicas.
	Replicas *int64
}

// IsZero reports whether no placement was asked for.
func (p Placement) IsZero() bool {
	return len(p.Clusters) == 0 && len(p.Regions) == 0 && len(p.Zones) == 0 && p.Replicas == nil
}

// Options steer the conversion of documents.
type Options struct {
	// Namespace is used for documents that name none.
	Namespace string
	// EnforceNamespace (-n given) makes a document in another namespace an
	// error, as kubectl apply -n does.
	EnforceNamespace bool
	Placement        Placement
}

// Converted is one document turned into the object to write.
type Converted struct {
	Doc      Document
	Object   *unstructured.Unstructured
	Warnings []string
	// Placement is what the object itself asks for (an OpenMCPDeployment's
	// clusters, affinity and replicas), for ToPlain.
	Placement Placement
}

// plainKind is a Kubernetes kind place accepts and the OpenMCP kind it becomes.
type plainKind struct {
	Group, Kind string
	Versions    []string
	OpenMCP     string
}

// PlainKinds are the Kubernetes kinds that convert to OpenMCP kinds.
var PlainKinds = []plainKind{
	{"apps", "Deployment", []string{"v1"}, "OpenMCPDeployment"},
	{"", "Service", []string{"v1"}, "OpenMCPService"},
	{"networking.k8s.io", "Ingress", []string{"v1", "v1beta1"}, "OpenMCPIngress"},
	{"extensions", "Ingress", []string{"v1beta1"}, "OpenMCPIngress"},
	{"autoscaling", "HorizontalPodAutoscaler", []string{"v2", "v2beta2", "v1"}, "OpenMCPHybridAutoScaler"},
	{"", "ConfigMap", []string{"v1"}, "OpenMCPConfigMap"},
	{"", "Secret", []string{"v1"}, "OpenMCPSecret"},
}

// SupportedKinds is the one-line list unknown kinds are answered with.
func SupportedKinds() string {
	var plain []string
	seen := map[string]bool{}
	for _, p := range PlainKinds {
		if !seen[p.Kind] {
			seen[p.Kind] = true
			plain = append(plain, p.Kind)
		}
	}
	omcp := make([]string, 0, len(openmcpapi.Kinds))
	for _, k := range openmcpapi.Kinds {
		omcp = append(omcp, k.Kind)
	}
	return fmt.Sprintf("%s, and the OpenMCP kinds (%s/%s): %s",
		strings.Join(plain, ", "), openmcpapi.Group, openmcpapi.Version, strings.Join(omcp, ", "))
}

func findPlain(gvk schema.GroupVersionKind) (plainKind, bool, error) {
	for _, p := range PlainKinds {
		if p.Group != gvk.Group || p.Kind != gvk.Kind {
			continue
		}
		for _, v := range p.Versions {
			if v == gvk.Version {
				return p, true, nil
			}
		}
		gv := schema.GroupVersion{Group: p.Group, Version: p.Versions[0]}
		return p, false, fmt.Errorf("%s %s is not supported: write it as %s", gvk.GroupVersion(), gvk.Kind, gv)
	}
	return plainKind{}, false, nil
}

// identify checks apiVersion and kind and tells whether the document is an
// OpenMCP object.
func identify(doc Document) (schema.GroupVersionKind, bool, error) {
	obj := doc.Object.Object
	c := &checker{where: doc.Where()}
	apiVersion, _ := c.str(obj, "", "apiVersion", true)
	kind, _ := c.str(obj, "", "kind", true)
	if err := c.err(); err != nil {
		return schema.GroupVersionKind{}, false, err
	}
	gv, err := schema.ParseGroupVersion(apiVersion)
	if err != nil {
		return schema.GroupVersionKind{}, false, &FieldError{Where: doc.Where(), Field: "apiVersion", Msg: err.Error()}
	}
	gvk := gv.WithKind(kind)
	if gv.Group == openmcpapi.Group {
		if gv.Version != openmcpapi.Version {
			return gvk, true, &FieldError{Where: doc.Where(), Field: "apiVersion", Msg: fmt.Sprintf("unknown version %q of %s (OpenMCP serves %s)", gv.Version, openmcpapi.Group, openmcpapi.Version)}
		}
		if _, ok := kindByKind(kind); !ok {
			return gvk, true, &FieldError{Where: doc.Where(), Field: "kind", Msg: fmt.Sprintf("unknown OpenMCP kind %q: supported kinds are %s", kind, SupportedKinds())}
		}
		return gvk, true, nil
	}
	return gvk, false, nil
}

func kindByKind(kind string) (openmcpapi.Kind, bool) {
	for _, k := range openmcpapi.Kinds {
		if k.Kind == kind {
			return k, true
		}
	}
	return openmcpapi.Kind{}, false
}

// resolveNamespace applies -n and the default namespace, as kubectl apply does.
func resolveNamespace(doc Document, opts Options) (string, error) {
	ns := doc.Object.GetNamespace()
	if ns == "" {
		return opts.Namespace, nil
	}
	if opts.EnforceNamespace && opts.Namespace != "" && ns != opts.Namespace {
		return "", &FieldError{Where: doc.Where(), Field: "metadata.namespace",
			Msg: fmt.Sprintf("the document's namespace %q does not match the namespace %q given with -n: pass -n %s or remove it from the document", ns, opts.Namespace, ns)}
	}
	return ns, nil
}

// ToOpenMCP turns one document into the OpenMCP object to write: OpenMCP
// kinds are checked (and the stale HAS layout fixed), plain kinds converted,
// and the command line's placement filled in.
func ToOpenMCP(doc Document, opts Options) (Converted, error) {
	out := Converted{Doc: doc}
	gvk, isOpenMCP, err := identify(doc)
	if err != nil {
		return out, err
	}
	// Metadata problems come first, whatever the kind: they are the same
	// checks for every object.
	mc := &checker{where: doc.Where()}
	mc.metadata(doc.Object.Object)
	if err := mc.err(); err != nil {
		return out, err
	}
	ns, err := resolveNamespace(doc, opts)
	if err != nil {
		return out, err
	}

	var obj *unstructured.Unstructured
	if isOpenMCP {
		obj = cleanObject(doc.Object)
		note, err := FixStaleHAS(obj)
		if err != nil {
			return out, &FieldError{Where: doc.Where(), Msg: err.Error()}
		}
		if note != "" {
			out.Warnings = append(out.Warnings, doc.Where()+": "+note)
		}
		warns, err := ValidateOpenMCP(doc.Where(), obj)
		out.Warnings = append(out.Warnings, warns...)
		if err != nil {
			return out, err
		}
	} else {
		p, ok, err := findPlain(gvk)
		if err != nil {
			return out, &FieldError{Where: doc.Where(), Field: "apiVersion", Msg: err.Error()}
		}
		if !ok {
			return out, &FieldError{Where: doc.Where(), Field: "kind",
				Msg: fmt.Sprintf("%s %s cannot be placed: supported kinds are %s", gvk.Kind, gvk.GroupVersion(), SupportedKinds())}
		}
		obj, err = convertPlain(doc, gvk, p)
		if err != nil {
			return out, err
		}
		// The result must be what ValidateOpenMCP accepts: a converter bug
		// should stop here, not on the host.
		if _, err := ValidateOpenMCP(doc.Where(), obj); err != nil {
			return out, fmt.Errorf("internal error converting %s: %w", gvk.Kind, err)
		}
	}
	if ns != "" {
		obj.SetNamespace(ns)
	}
	out.Warnings = append(out.Warnings, applyPlacement(doc, obj, opts.Placement)...)
	out.Placement = ownPlacement(obj)
	out.Object = obj
	return out, nil
}

// ConvertAll converts every document and fails, naming every bad document,
// if any of them is bad: nothing may be written unless all are good. The
// warnings of every document come back either way.
func ConvertAll(docs []Document, opts Options, convert func(Document, Options) (Converted, error)) ([]Converted, []string, error) {
	out := make([]Converted, 0, len(docs))
	var errs []error
	var warnings []string
	seen := map[string]string{}
	for _, d := range docs {
		c, err := convert(d, opts)
		warnings = append(warnings, c.Warnings...)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		key := c.Object.GetAPIVersion() + "/" + c.Object.GetKind() + "/" + c.Object.GetNamespace() + "/" + c.Object.GetName()
		if prev, dup := seen[key]; dup {
			errs = append(errs, &FieldError{Where: d.Where(), Field: "metadata.name",
				Msg: fmt.Sprintf("%s %s is also defined in %s", c.Object.GetKind(), c.Object.GetName(), prev)})
			continue
		}
		seen[key] = d.Where()
		out = append(out, c)
	}
	if len(errs) > 0 {
		return nil, warnings, errors.Join(errs...)
	}
	return out, warnings, nil
}

// placementKinds are the OpenMCP kinds whose spec carries clusters,
// affinity and replicas.
func placementKind(kind string) bool { return kind == "OpenMCPDeployment" }

func applyPlacement(doc Document, obj *unstructured.Unstructured, p Placement) []string {
	if p.IsZero() {
		return nil
	}
	if !placementKind(obj.GetKind()) {
		return []string{fmt.Sprintf("%s: --clusters, --region, --zone and --replicas do not apply to %s %s: OpenMCP places it in every member that runs its workload",
			doc.Where(), obj.GetKind(), obj.GetName())}
	}
	spec, _ := obj.Object["spec"].(map[string]any)
	if len(p.Clusters) > 0 {
		spec["clusters"] = toAnySlice(p.Clusters)
	}
	if len(p.Regions) > 0 || len(p.Zones) > 0 {
		aff := map[string]any{}
		if len(p.Regions) > 0 {
			aff["region"] = toAnySlice(p.Regions)
		}
		if len(p.Zones) > 0 {
			aff["zone"] = toAnySlice(p.Zones)
		}
		spec["affinity"] = aff
	}
	if p.Replicas != nil {
		spec["replicas"] = *p.Replicas
	}
	return nil
}

// ownPlacement reads the placement an OpenMCPDeployment carries.
func ownPlacement(obj *unstructured.Unstructured) Placement {
	var p Placement
	if !placementKind(obj.GetKind()) {
		return p
	}
	p.Clusters, _, _ = unstructured.NestedStringSlice(obj.Object, "spec", "clusters")
	p.Regions, _, _ = unstructured.NestedStringSlice(obj.Object, "spec", "affinity", "region")
	p.Zones, _, _ = unstructured.NestedStringSlice(obj.Object, "spec", "affinity", "zone")
	if n, ok, _ := unstructured.NestedInt64(obj.Object, "spec", "replicas"); ok {
		p.Replicas = &n
	}
	return p
}

func toAnySlice(s []string) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// droppedAnnotations never travel: kubectl's last-applied copy would carry
// a Secret's data in clear, and the others belong to the source cluster.
var droppedAnnotations = []string{
	"kubectl.kubernetes.io/last-applied-configuration",
	"deployment.kubernetes.io/revision",
}

// cleanMeta keeps the parts of metadata that describe the object rather
// than its life in one cluster (uid, resourceVersion, managedFields, ...).
func cleanMeta(md map[string]any, withIdentity bool) map[string]any {
	out := map[string]any{}
	if withIdentity {
		for _, k := range []string{"name", "namespace"} {
			if v, ok := md[k]; ok {
				out[k] = v
			}
		}
	}
	if l, ok := md["labels"].(map[string]any); ok && len(l) > 0 {
		out["labels"] = runtime.DeepCopyJSONValue(l)
	}
	if a, ok := md["annotations"].(map[string]any); ok {
		ann := runtime.DeepCopyJSONValue(a).(map[string]any)
		for _, k := range droppedAnnotations {
			delete(ann, k)
		}
		if len(ann) > 0 {
			out["annotations"] = ann
		}
	}
	return out
}

// cleanObject copies an object without status and cluster-specific metadata.
func cleanObject(in *unstructured.Unstructured) *unstructured.Unstructured {
	obj := runtime.DeepCopyJSON(in.Object)
	delete(obj, "status")
	md, _ := obj["metadata"].(map[string]any)
	obj["metadata"] = cleanMeta(md, true)
	return &unstructured.Unstructured{Object: obj}
}

func newOpenMCP(kind string, src *unstructured.Unstructured, spec map[string]any) *unstructured.Unstructured {
	md, _ := src.Object["metadata"].(map[string]any)
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": openmcpapi.Group + "/" + openmcpapi.Version,
		"kind":       kind,
		"metadata":   cleanMeta(md, true),
		"spec":       spec,
	}}
}

// template is an object as an OpenMCP or KubeFed template holds it: its
// labels and annotations, and its other top-level fields minus status.
func template(src map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range src {
		switch k {
		case "apiVersion", "kind", "status":
		case "metadata":
			md, _ := v.(map[string]any)
			if m := cleanMeta(md, false); len(m) > 0 {
				out["metadata"] = m
			}
		default:
			out[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	return out
}

// convertPlain checks a plain object strictly, as the API server would, and
// builds its OpenMCP counterpart.
func convertPlain(doc Document, gvk schema.GroupVersionKind, p plainKind) (*unstructured.Unstructured, error) {
	src := doc.Object
	c := &checker{where: doc.Where()}
	switch gvk.Kind {
	case "Deployment":
		c.typed(src.Object, "", &appsv1.Deployment{}, true)
	case "Service":
		c.typed(src.Object, "", &corev1.Service{}, true)
	case "Ingress":
		if gvk.Version == "v1" {
			c.typed(src.Object, "", &networkingv1.Ingress{}, true)
		} else {
			c.typed(src.Object, "", &networkingv1beta1.Ingress{}, true)
		}
	case "HorizontalPodAutoscaler":
		if gvk.Version == "v1" {
			c.typed(src.Object, "", &autoscalingv1.HorizontalPodAutoscaler{}, true)
		} else {
			c.typed(src.Object, "", &autoscalingv2.HorizontalPodAutoscaler{}, true)
		}
	case "ConfigMap":
		c.typed(src.Object, "", &corev1.ConfigMap{}, true)
	case "Secret":
		c.typed(src.Object, "", &corev1.Secret{}, true)
	}
	if err := c.err(); err != nil {
		return nil, err
	}

	switch gvk.Kind {
	case "Deployment":
		return deploymentToOpenMCP(c, src)
	case "Service":
		return newOpenMCP(p.OpenMCP, src, map[string]any{"template": serviceTemplate(src.Object)}), nil
	case "Ingress":
		return newOpenMCP(p.OpenMCP, src, map[string]any{"template": IngressToV1Beta1Shape(template(src.Object))}), nil
	case "HorizontalPodAutoscaler":
		return hpaToOpenMCP(c, src, gvk.Version)
	case "ConfigMap":
		return newOpenMCP(p.OpenMCP, src, map[string]any{"template": template(src.Object)}), nil
	case "Secret":
		t, err := secretTemplate(src.Object)
		if err != nil {
			return nil, &FieldError{Where: doc.Where(), Field: "stringData", Msg: err.Error()}
		}
		return newOpenMCP(p.OpenMCP, src, map[string]any{"template": t}), nil
	}
	return nil, fmt.Errorf("%s: no converter for %s", doc.Where(), gvk.Kind)
}

func deploymentToOpenMCP(c *checker, src *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	spec, _ := src.Object["spec"].(map[string]any)
	if spec == nil {
		c.fail("spec", "required field is missing")
		return nil, c.err()
	}
	ts := runtime.DeepCopyJSON(spec)
	delete(ts, "replicas") // OpenMCP's spec.replicas is the one that counts
	replicas := int64(1)
	if n, ok := spec["replicas"].(int64); ok {
		replicas = n
	}
	// OpenMCP builds the members' selector and pod labels from spec.labels.
	labels, _, _ := unstructured.NestedStringMap(spec, "selector", "matchLabels")
	if len(labels) == 0 {
		labels, _, _ = unstructured.NestedStringMap(spec, "template", "metadata", "labels")
	}
	if len(labels) == 0 {
		c.fail("spec.selector.matchLabels", "required: OpenMCP selects the pods of an OpenMCPDeployment by labels")
		return nil, c.err()
	}
	if cs, _, _ := unstructured.NestedSlice(spec, "template", "spec", "containers"); len(cs) == 0 {
		c.fail("spec.template.spec.containers", "required: at least one container")
		return nil, c.err()
	}
	lm := map[string]any{}
	for k, v := range labels {
		lm[k] = v
	}
	return newOpenMCP("OpenMCPDeployment", src, map[string]any{
		"replicas": replicas,
		"labels":   lm,
		"template": map[string]any{"spec": ts},
	}), nil
}

// serviceTemplate drops the fields the source cluster allocated: a
// clusterIP from one cluster would collide in another.
func serviceTemplate(src map[string]any) map[string]any {
	t := template(src)
	if spec, ok := t["spec"].(map[string]any); ok {
		for _, k := range []string{"clusterIP", "clusterIPs", "healthCheckNodePort"} {
			delete(spec, k)
		}
	}
	return t
}

// secretTemplate folds stringData into data, so OpenMCP's controller (which
// copies the template) writes what the user meant.
func secretTemplate(src map[string]any) (map[string]any, error) {
	t := template(src)
	sd, ok := t["stringData"].(map[string]any)
	if !ok {
		return t, nil
	}
	data, _ := t["data"].(map[string]any)
	if data == nil {
		data = map[string]any{}
	}
	keys := make([]string, 0, len(sd))
	for k := range sd {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		s, ok := sd[k].(string)
		if !ok {
			return nil, fmt.Errorf("%s: must be a string", k)
		}
		data[k] = encodeBase64(s)
	}
	delete(t, "stringData")
	t["data"] = data
	return t, nil
}

func hpaToOpenMCP(c *checker, src *unstructured.Unstructured, version string) (*unstructured.Unstructured, error) {
	spec, _ := src.Object["spec"].(map[string]any)
	if spec == nil {
		c.fail("spec", "required field is missing")
		return nil, c.err()
	}
	hs := runtime.DeepCopyJSON(spec)
	if version == "v1" {
		// autoscaling/v1 knows only a CPU target; OpenMCP's hpaTemplate is v2.
		if pct, ok := hs["targetCPUUtilizationPercentage"]; ok {
			delete(hs, "targetCPUUtilizationPercentage")
			hs["metrics"] = []any{map[string]any{
				"type": "Resource",
				"resource": map[string]any{
					"name":   "cpu",
					"target": map[string]any{"type": "Utilization", "averageUtilization": pct},
				},
			}}
		}
	}
	ref, _ := hs["scaleTargetRef"].(map[string]any)
	if ref == nil {
		c.fail("spec.scaleTargetRef", "required field is missing")
		return nil, c.err()
	}
	kind, _ := ref["kind"].(string)
	apiVersion, _ := ref["apiVersion"].(string)
	if kind != "Deployment" || (apiVersion != "" && !strings.HasPrefix(apiVersion, "apps/")) {
		c.fail("spec.scaleTargetRef.kind", "an OpenMCPHybridAutoScaler scales OpenMCPDeployments, so the target must be a Deployment, got %q", kind)
		return nil, c.err()
	}
	name, _ := ref["name"].(string)
	if name == "" {
		c.fail("spec.scaleTargetRef.name", "required field is missing")
		return nil, c.err()
	}
	hs["scaleTargetRef"] = map[string]any{"kind": "OpenMCPDeployment", "name": name}
	if _, ok := hs["maxReplicas"]; !ok {
		c.fail("spec.maxReplicas", "required field is missing")
		return nil, c.err()
	}
	return newOpenMCP("OpenMCPHybridAutoScaler", src, map[string]any{
		// Run by the members' own HPAs, which OpenMCP calls MemberCluster;
		// a plain HPA asks for no vertical scaling.
		"mainController": "MemberCluster",
		"scalingOptions": map[string]any{
			"hpaTemplate": map[string]any{"spec": hs},
			"vpaTemplate": "Never",
		},
	}), nil
}
