package printing

import (
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// Redacted replaces every value of a Secret's data when objects are printed.
const Redacted = "REDACTED"

// IsSecretKind reports whether objects of kind carry Secret data: Secret,
// OpenMCPSecret and KubeFed's FederatedSecret.
func IsSecretKind(kind string) bool { return strings.HasSuffix(kind, "Secret") }

// Redact returns a copy of obj fit for printing: the values of a Secret's
// data and stringData (at the top, in spec.template, and in KubeFed
// overrides of them) become REDACTED; keys stay, so the user sees what would
// be written. Other objects are returned as they are.
func Redact(obj *unstructured.Unstructured) *unstructured.Unstructured {
	if obj == nil || !IsSecretKind(obj.GetKind()) {
		return obj
	}
	out := &unstructured.Unstructured{Object: runtime.DeepCopyJSON(obj.Object)}
	redactData(out.Object)
	if t, ok, _ := unstructured.NestedMap(out.Object, "spec", "template"); ok {
		redactData(t)
		_ = unstructured.SetNestedMap(out.Object, t, "spec", "template")
	}
	if ovs, ok, _ := unstructured.NestedSlice(out.Object, "spec", "overrides"); ok {
		for _, ov := range ovs {
			om, _ := ov.(map[string]any)
			cos, _ := om["clusterOverrides"].([]any)
			for _, co := range cos {
				cm, _ := co.(map[string]any)
				path, _ := cm["path"].(string)
				if strings.HasPrefix(path, "/data") || strings.HasPrefix(path, "/stringData") {
					if _, has := cm["value"]; has {
						cm["value"] = Redacted
					}
				}
			}
		}
		_ = unstructured.SetNestedSlice(out.Object, ovs, "spec", "overrides")
	}
	// The last-applied annotation is a full copy of the object, data included.
	if ann := out.GetAnnotations(); ann != nil {
		if _, ok := ann["kubectl.kubernetes.io/last-applied-configuration"]; ok {
			ann["kubectl.kubernetes.io/last-applied-configuration"] = Redacted
			out.SetAnnotations(ann)
		}
	}
	return out
}

func redactData(m map[string]any) {
	for _, k := range []string{"data", "stringData"} {
		d, ok := m[k].(map[string]any)
		if !ok {
			continue
		}
		for key := range d {
			d[key] = Redacted
		}
	}
}
