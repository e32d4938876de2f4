package manifest

import (
	"encoding/base64"
	"fmt"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

func encodeBase64(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

// ToPlain turns one document into the plain Kubernetes object it stands
// for, for a federation that runs KubeFed without OpenMCP's controllers:
// plain objects are checked and cleaned; the OpenMCP kinds that wrap a plain
// object are unwrapped (an OpenMCPDeployment's clusters, affinity and
// replicas come back in Converted.Placement). Any other kind is passed
// through cleaned, for the caller to match with a FederatedTypeConfig.
func ToPlain(doc Document, opts Options) (Converted, error) {
	out := Converted{Doc: doc}
	gvk, isOpenMCP, err := identify(doc)
	if err != nil {
		return out, err
	}
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
		// Check it as an OpenMCP object first, so errors name the fields
		// the user wrote.
		c, err := ToOpenMCP(doc, Options{Namespace: opts.Namespace, EnforceNamespace: opts.EnforceNamespace})
		if err != nil {
			return out, err
		}
		out.Warnings = c.Warnings
		out.Placement = c.Placement
		obj, err = unwrap(c.Object)
		if err != nil {
			return out, &FieldError{Where: doc.Where(), Field: "kind", Msg: err.Error()}
		}
	} else {
		if p, ok, err := findPlain(gvk); err != nil {
			return out, &FieldError{Where: doc.Where(), Field: "apiVersion", Msg: err.Error()}
		} else if ok {
			// Same strict checks as for OpenMCP placement.
			if _, err := convertPlain(doc, gvk, p); err != nil {
				return out, err
			}
		}
		obj = cleanObject(doc.Object)
		if gvk.Kind == "Ingress" && (gvk.Group == "extensions" || gvk.Version == "v1beta1") {
			obj = &unstructured.Unstructured{Object: IngressToV1Shape(obj.Object)}
			obj.SetAPIVersion("networking.k8s.io/v1")
			out.Warnings = append(out.Warnings, fmt.Sprintf("%s: %s Ingress rewritten as networking.k8s.io/v1 (served since Kubernetes 1.19, the only version since 1.22)", doc.Where(), gvk.GroupVersion()))
		}
		if gvk.Kind == "Service" {
			if spec, ok := obj.Object["spec"].(map[string]any); ok {
				for _, k := range []string{"clusterIP", "clusterIPs", "healthCheckNodePort"} {
					delete(spec, k)
				}
			}
		}
	}
	if ns != "" && obj.GetNamespace() == "" {
		obj.SetNamespace(ns)
	}
	out.Object = obj
	return out, nil
}

// unwrap rebuilds the plain object an OpenMCP object wraps.
func unwrap(o *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	spec, _ := o.Object["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	md := map[string]any{"name": o.GetName()}
	if ns := o.GetNamespace(); ns != "" {
		md["namespace"] = ns
	}
	build := func(apiVersion, kind string, body map[string]any) *unstructured.Unstructured {
		obj := map[string]any{"apiVersion": apiVersion, "kind": kind}
		for k, v := range body {
			if k == "metadata" || k == "apiVersion" || k == "kind" || k == "status" {
				continue
			}
			obj[k] = runtime.DeepCopyJSONValue(v)
		}
		m := runtime.DeepCopyJSONValue(md).(map[string]any)
		if tm, ok := body["metadata"].(map[string]any); ok {
			for k, v := range cleanMeta(tm, false) {
				m[k] = v
			}
		}
		for k, v := range cleanMeta(o.Object["metadata"].(map[string]any), false) {
			if _, set := m[k]; !set {
				m[k] = v
			}
		}
		obj["metadata"] = m
		return &unstructured.Unstructured{Object: obj}
	}
	switch o.GetKind() {
	case "OpenMCPDeployment":
		ds, _ := tmpl["spec"].(map[string]any)
		ds = runtime.DeepCopyJSON(ds)
		labels, _ := spec["labels"].(map[string]any)
		if _, ok := ds["selector"]; !ok && len(labels) > 0 {
			ds["selector"] = map[string]any{"matchLabels": runtime.DeepCopyJSONValue(labels)}
		}
		if len(labels) > 0 {
			pod, _ := ds["template"].(map[string]any)
			pmd, _ := pod["metadata"].(map[string]any)
			if pmd == nil {
				pmd = map[string]any{}
				pod["metadata"] = pmd
			}
			pl, _ := pmd["labels"].(map[string]any)
			if pl == nil {
				pl = map[string]any{}
			}
			for k, v := range labels {
				pl[k] = v
			}
			pmd["labels"] = pl
		}
		if n, ok := spec["replicas"].(int64); ok {
			ds["replicas"] = n
		}
		return build("apps/v1", "Deployment", map[string]any{"metadata": tmpl["metadata"], "spec": ds}), nil
	case "OpenMCPService":
		s := build("v1", "Service", tmpl)
		if sp, ok := s.Object["spec"].(map[string]any); ok {
			for _, k := range []string{"clusterIP", "clusterIPs", "healthCheckNodePort"} {
				delete(sp, k)
			}
		}
		return s, nil
	case "OpenMCPIngress":
		return build("networking.k8s.io/v1", "Ingress", IngressToV1Shape(tmpl)), nil
	case "OpenMCPConfigMap":
		return build("v1", "ConfigMap", tmpl), nil
	case "OpenMCPSecret":
		return build("v1", "Secret", tmpl), nil
	case "OpenMCPHybridAutoScaler":
		hpa, _, _ := unstructured.NestedMap(o.Object, "spec", "scalingOptions", "hpaTemplate")
		if hpa == nil {
			return nil, fmt.Errorf("OpenMCPHybridAutoScaler %s has no hpaTemplate: KubeFed has no counterpart for OpenMCP's own CPA scaling", o.GetName())
		}
		hs, _ := hpa["spec"].(map[string]any)
		if ref, ok := hs["scaleTargetRef"].(map[string]any); ok {
			hs["scaleTargetRef"] = map[string]any{"apiVersion": "apps/v1", "kind": "Deployment", "name": ref["name"]}
		}
		return build("autoscaling/v2", "HorizontalPodAutoscaler", map[string]any{"metadata": hpa["metadata"], "spec": hs}), nil
	}
	return nil, fmt.Errorf("%s has no KubeFed counterpart: place it with --federation openmcp on a host that runs OpenMCP", o.GetKind())
}
