package manifest

import (
	"fmt"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	networkingv1beta1 "k8s.io/api/networking/v1beta1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Values OpenMCP's controllers accept (openmcp-has-controller, policy engine).
var (
	MainControllers = []string{"OpenMCP", "MemberCluster"}
	VPAModes        = []string{"Auto", "Always", "Never"}
	PolicyStatuses  = []string{"Enabled", "Disabled"}
	AffinityKeys    = []string{"region", "zone"}
)

// openMCPNeeds is OpenMCP's own addition to container resources
// (OpenMCPResourceRequirements.Needs), unknown to a plain DeploymentSpec.
const openMCPNeeds = `.resources.needs"`

// ValidateOpenMCP checks an OpenMCP object against the fields of OpenMCP's
// API types. Wrong types and missing required fields are errors; fields
// OpenMCP does not know are warnings.
func ValidateOpenMCP(where string, obj *unstructured.Unstructured) (warnings []string, err error) {
	c := &checker{where: where}
	c.metadata(obj.Object)
	kind := obj.GetKind()
	spec := c.object(obj.Object, "", "spec", kind != "OpenMCPNamespace" && kind != "OpenMCPCluster")
	if spec == nil {
		return c.warns, c.err()
	}
	switch kind {
	case "OpenMCPDeployment":
		validateDeploymentSpec(c, spec)
	case "OpenMCPService":
		c.knownFields(spec, "spec", kind, "labelselector", "template")
		c.stringMap(spec, "spec", "labelselector")
		if t := c.object(spec, "spec", "template", true); t != nil {
			c.typed(t, "spec.template", &corev1.Service{}, false)
		}
	case "OpenMCPIngress":
		c.knownFields(spec, "spec", kind, "ingressForClientFrom", "template")
		c.str(spec, "spec", "ingressForClientFrom", false)
		if t := c.object(spec, "spec", "template", true); t != nil {
			c.object(t, "spec.template", "spec", true)
			if IngressIsV1(t) {
				c.typed(t, "spec.template", &networkingv1.Ingress{}, false)
			} else {
				c.typed(t, "spec.template", &networkingv1beta1.Ingress{}, false)
			}
		}
	case "OpenMCPHybridAutoScaler":
		validateHASSpec(c, spec)
	case "OpenMCPPolicy":
		validatePolicySpec(c, spec)
	case "OpenMCPConfigMap":
		c.knownFields(spec, "spec", kind, "template")
		if t := c.object(spec, "spec", "template", true); t != nil {
			c.typed(t, "spec.template", &corev1.ConfigMap{}, false)
		}
	case "OpenMCPSecret":
		c.knownFields(spec, "spec", kind, "template")
		if t := c.object(spec, "spec", "template", true); t != nil {
			c.typed(t, "spec.template", &corev1.Secret{}, false)
		}
	}
	return c.warns, c.err()
}

func validateDeploymentSpec(c *checker, spec map[string]any) {
	c.knownFields(spec, "spec", "OpenMCPDeployment", "affinity", "clusters", "labels", "policy", "replicas", "schedulingType", "template")
	c.integer(spec, "spec", "replicas", false, 0)
	c.stringSlice(spec, "spec", "clusters")
	c.labels(spec, "spec", "labels")
	c.stringMap(spec, "spec", "policy")
	c.str(spec, "spec", "schedulingType", false)
	if aff := c.object(spec, "spec", "affinity", false); aff != nil {
		for k, v := range aff {
			if k != "region" && k != "zone" {
				c.fail("spec.affinity."+k, "unknown affinity key (allowed: region, zone)")
				continue
			}
			c.stringSliceValue(v, "spec.affinity."+k)
		}
	}
	t := c.object(spec, "spec", "template", true)
	if t == nil {
		return
	}
	ts := c.object(t, "spec.template", "spec", true)
	if ts == nil {
		return
	}
	if !c.typed(ts, "spec.template.spec", &appsv1.DeploymentSpec{}, false, openMCPNeeds) {
		return
	}
	pod := c.object(ts, "spec.template.spec", "template", true)
	if pod == nil {
		return
	}
	podSpec := c.object(pod, "spec.template.spec.template", "spec", true)
	if podSpec == nil {
		return
	}
	if cs, ok := podSpec["containers"].([]any); !ok || len(cs) == 0 {
		c.fail("spec.template.spec.template.spec.containers", "required: at least one container")
	}
}

func validateHASSpec(c *checker, spec map[string]any) {
	c.knownFields(spec, "spec", "OpenMCPHybridAutoScaler", "mainController", "scalingOptions")
	c.enum(spec, "spec", "mainController", false, MainControllers...)
	opts := c.object(spec, "spec", "scalingOptions", true)
	if opts == nil {
		return
	}
	c.knownFields(opts, "spec.scalingOptions", "OpenMCPHybridAutoScaler", "cpaTemplate", "hpaTemplate", "vpaTemplate")
	c.enum(opts, "spec.scalingOptions", "vpaTemplate", false, VPAModes...)
	if hpa := c.object(opts, "spec.scalingOptions", "hpaTemplate", false); hpa != nil {
		const f = "spec.scalingOptions.hpaTemplate"
		if hs := c.object(hpa, f, "spec", true); hs != nil {
			if c.typed(hpa, f, &autoscalingv2.HorizontalPodAutoscaler{}, false) {
				checkScaleTarget(c, hs, f+".spec")
				c.integer(hs, f+".spec", "minReplicas", false, 1)
				c.integer(hs, f+".spec", "maxReplicas", true, 1)
			}
		}
	}
	if cpa := c.object(opts, "spec.scalingOptions", "cpaTemplate", false); cpa != nil {
		const f = "spec.scalingOptions.cpaTemplate"
		c.knownFields(cpa, f, "OpenMCPHybridAutoScaler", "maxReplicas", "minReplicas", "scaleTargetRef")
		checkScaleTarget(c, cpa, f)
		c.integer(cpa, f, "minReplicas", false, 0)
		c.integer(cpa, f, "maxReplicas", true, 1)
	}
	_, hasHPA := opts["hpaTemplate"]
	_, hasCPA := opts["cpaTemplate"]
	if !hasHPA && !hasCPA {
		c.fail("spec.scalingOptions", "needs hpaTemplate or cpaTemplate")
	}
}

func checkScaleTarget(c *checker, m map[string]any, parent string) {
	ref := c.object(m, parent, "scaleTargetRef", true)
	if ref == nil {
		return
	}
	f := parent + ".scaleTargetRef"
	if kind, ok := c.str(ref, f, "kind", true); ok && kind != "OpenMCPDeployment" {
		c.fail(f+".kind", "must be OpenMCPDeployment (the HAS controller scales OpenMCPDeployments), got %q", kind)
	}
	c.str(ref, f, "name", true)
}

func validatePolicySpec(c *checker, spec map[string]any) {
	c.knownFields(spec, "spec", "OpenMCPPolicy", "policyStatus", "rangeOfApplication", "template")
	c.enum(spec, "spec", "policyStatus", false, PolicyStatuses...)
	c.str(spec, "spec", "rangeOfApplication", false)
	t := c.object(spec, "spec", "template", true)
	if t == nil {
		return
	}
	ts := c.object(t, "spec.template", "spec", true)
	if ts == nil {
		return
	}
	if tc := c.object(ts, "spec.template.spec", "targetController", true); tc != nil {
		c.str(tc, "spec.template.spec.targetController", "kind", true)
	}
	raw, ok := ts["policies"]
	if !ok {
		c.fail("spec.template.spec.policies", "required field is missing")
		return
	}
	arr, ok := raw.([]any)
	if !ok {
		c.fail("spec.template.spec.policies", "must be an array, got %s", typeName(raw))
		return
	}
	for i, p := range arr {
		f := fmt.Sprintf("spec.template.spec.policies[%d]", i)
		pm, ok := p.(map[string]any)
		if !ok {
			c.fail(f, "must be an object, got %s", typeName(p))
			continue
		}
		c.str(pm, f, "type", true)
		if v, ok := pm["value"]; !ok {
			c.fail(f+".value", "required field is missing")
		} else {
			c.stringSliceValue(v, f+".value")
		}
	}
}

// FixStaleHAS rewrites the layout of OpenMCP's published HAS sample
// (sample/openmcphybridautoscaler/cr.yaml: spec.hpaTemplate and spec.vpaMode)
// into the one its Go types and controller read (spec.scalingOptions.
// hpaTemplate and .vpaTemplate, plus spec.mainController). It returns a note
// saying what it moved, "" when there was nothing to fix, or an error when
// both layouts are present and it cannot tell which one is meant.
func FixStaleHAS(obj *unstructured.Unstructured) (string, error) {
	if obj.GetKind() != "OpenMCPHybridAutoScaler" {
		return "", nil
	}
	spec, ok := obj.Object["spec"].(map[string]any)
	if !ok {
		return "", nil
	}
	hpa, hasHPA := spec["hpaTemplate"]
	vpa, hasVPA := spec["vpaMode"]
	if !hasHPA && !hasVPA {
		return "", nil
	}
	opts, _ := spec["scalingOptions"].(map[string]any)
	if opts == nil {
		if _, present := spec["scalingOptions"]; present {
			return "", fmt.Errorf("spec.scalingOptions: must be an object, got %s", typeName(spec["scalingOptions"]))
		}
		opts = map[string]any{}
	}
	var moved []string
	if hasHPA {
		if _, both := opts["hpaTemplate"]; both {
			return "", fmt.Errorf("spec.hpaTemplate: stale field next to spec.scalingOptions.hpaTemplate; keep only spec.scalingOptions.hpaTemplate")
		}
		opts["hpaTemplate"] = hpa
		delete(spec, "hpaTemplate")
		moved = append(moved, "spec.hpaTemplate -> spec.scalingOptions.hpaTemplate")
	}
	if hasVPA {
		if _, both := opts["vpaTemplate"]; both {
			return "", fmt.Errorf("spec.vpaMode: stale field next to spec.scalingOptions.vpaTemplate; keep only spec.scalingOptions.vpaTemplate")
		}
		opts["vpaTemplate"] = vpa
		delete(spec, "vpaMode")
		moved = append(moved, "spec.vpaMode -> spec.scalingOptions.vpaTemplate")
	}
	spec["scalingOptions"] = opts
	if _, ok := spec["mainController"]; !ok {
		// The stale sample predates mainController; an hpaTemplate is run by
		// the members' HPAs, which OpenMCP calls MemberCluster.
		spec["mainController"] = "MemberCluster"
		moved = append(moved, "spec.mainController set to MemberCluster")
	}
	return "stale OpenMCPHybridAutoScaler layout fixed: " + joinComma(moved), nil
}

func joinComma(s []string) string {
	out := ""
	for i, v := range s {
		if i > 0 {
			out += ", "
		}
		out += v
	}
	return out
}
