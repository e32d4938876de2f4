package openmcpapi

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// PolicyKind is the OpenMCPPolicy kind's entry of Kinds.
func PolicyKind() Kind { k, _ := KindByName("OpenMCPPolicy"); return k }

// DefaultPolicies are the OpenMCPPolicies OpenMCP's policy engine installs
// in namespace openmcp (openmcp-policy-engine/deploy/policy/).
var DefaultPolicies = []string{
	"analytic-metrics-weight",
	"cpa-period",
	"hpa-minmax-distribution-mode",
	"lb-scoring-weight",
	"log-level",
	"metric-collector-period",
	"post-scheduling-type",
	"scheduling-policy",
}

// PolicyValue is one entry of spec.template.spec.policies.
type PolicyValue struct {
	Type   string
	Values []string
}

func (p PolicyValue) String() string { return p.Type + "=" + strings.Join(p.Values, ",") }

// Policy is an OpenMCPPolicy as the policy table shows it.
type Policy struct {
	Name, Namespace string
	Status          string // spec.policyStatus
	Target          string // spec.template.spec.targetController.kind
	Range           string // spec.rangeOfApplication
	Policies        []PolicyValue
}

// PoliciesString is the POLICIES column: "type=v1,v2;type2=v".
func (p Policy) PoliciesString() string {
	parts := make([]string, len(p.Policies))
	for i, v := range p.Policies {
		parts[i] = v.String()
	}
	return strings.Join(parts, ";")
}

// Types lists the policy's type names in their order.
func (p Policy) Types() []string {
	out := make([]string, len(p.Policies))
	for i, v := range p.Policies {
		out[i] = v.Type
	}
	return out
}

// PolicyFrom reads an OpenMCPPolicy, tolerating missing fields (a table
// must show what is there rather than fail).
func PolicyFrom(u *unstructured.Unstructured) (Policy, error) {
	p := Policy{Name: u.GetName(), Namespace: u.GetNamespace()}
	p.Status, _, _ = unstructured.NestedString(u.Object, "spec", "policyStatus")
	p.Target, _, _ = unstructured.NestedString(u.Object, "spec", "template", "spec", "targetController", "kind")
	p.Range, _, _ = unstructured.NestedString(u.Object, "spec", "rangeOfApplication")
	raw, found, err := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "policies")
	if err != nil {
		return p, fmt.Errorf("openmcppolicy %s: spec.template.spec.policies: %v", p.Name, err)
	}
	if !found {
		return p, nil
	}
	for i, e := range raw {
		m, ok := e.(map[string]any)
		if !ok {
			return p, fmt.Errorf("openmcppolicy %s: spec.template.spec.policies[%d]: must be an object", p.Name, i)
		}
		t, _ := m["type"].(string)
		var vals []string
		switch v := m["value"].(type) {
		case []any:
			for _, x := range v {
				vals = append(vals, fmt.Sprint(x))
			}
		case nil:
		default:
			vals = []string{fmt.Sprint(v)}
		}
		p.Policies = append(p.Policies, PolicyValue{Type: t, Values: vals})
	}
	return p, nil
}

// ParsePolicyArgs parses TYPE=VALUE[,VALUE] arguments.
func ParsePolicyArgs(args []string) ([]PolicyValue, error) {
	if len(args) == 0 {
		return nil, fmt.Errorf("nothing to set: give TYPE=VALUE[,VALUE]")
	}
	out := make([]PolicyValue, 0, len(args))
	seen := map[string]bool{}
	for _, a := range args {
		t, v, ok := strings.Cut(a, "=")
		t = strings.TrimSpace(t)
		if !ok || t == "" {
			return nil, fmt.Errorf("invalid argument %q: expected TYPE=VALUE[,VALUE]", a)
		}
		var vals []string
		for _, x := range strings.Split(v, ",") {
			x = strings.TrimSpace(x)
			if x == "" {
				return nil, fmt.Errorf("invalid argument %q: empty value (expected TYPE=VALUE[,VALUE])", a)
			}
			vals = append(vals, x)
		}
		if seen[t] {
			return nil, fmt.Errorf("type %q given twice", t)
		}
		seen[t] = true
		out = append(out, PolicyValue{Type: t, Values: vals})
	}
	return out, nil
}

// SetPolicyValues replaces the values of existing policy types in u. Every
// type must already be in the policy (the policy engine reads only the types
// it defines, so a new one would be a silent typo); matching ignores case
// and keeps the policy's own spelling. It reports whether anything changed.
func SetPolicyValues(u *unstructured.Unstructured, sets []PolicyValue) (bool, error) {
	p, err := PolicyFrom(u)
	if err != nil {
		return false, err
	}
	raw, _, _ := unstructured.NestedSlice(u.Object, "spec", "template", "spec", "policies")
	index := map[string]int{}
	for i, v := range p.Policies {
		index[strings.ToLower(v.Type)] = i
	}
	changed := false
	for _, s := range sets {
		i, ok := index[strings.ToLower(s.Type)]
		if !ok {
			types := p.Types()
			sort.Strings(types)
			list := strings.Join(types, ", ")
			if list == "" {
				list = "none"
			}
			return false, fmt.Errorf("openmcppolicy %q has no policy type %q (its types: %s)", p.Name, s.Type, list)
		}
		if equalStrings(p.Policies[i].Values, s.Values) {
			continue
		}
		m := raw[i].(map[string]any)
		vals := make([]any, len(s.Values))
		for j, v := range s.Values {
			vals[j] = v
		}
		m["value"] = vals
		changed = true
	}
	if changed {
		if err := unstructured.SetNestedSlice(u.Object, raw, "spec", "template", "spec", "policies"); err != nil {
			return false, err
		}
	}
	return changed, nil
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
