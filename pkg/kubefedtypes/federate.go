package kubefedtypes

import (
	"fmt"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// Placement says where a federated object goes. Clusters wins over
// Regions/Zones, which select KubeFedClusters by their region and zone
// labels; none of them means every member cluster.
type Placement struct {
	Clusters []string
	Regions  []string
	Zones    []string
	// Replicas, when set, is the total over the selected clusters, spread
	// as evenly as possible with per-cluster overrides of /spec/replicas.
	Replicas *int64
}

// Member is a joined cluster as placement sees it: its name and the labels
// of its KubeFedCluster.
type Member struct {
	Name   string
	Labels map[string]string
}

// FindTypeConfig returns the FederatedTypeConfig whose target is gk.
func FindTypeConfig(ftcs []fedv1b1.FederatedTypeConfig, gk schema.GroupKind) (*fedv1b1.FederatedTypeConfig, bool) {
	for i := range ftcs {
		tt := ftcs[i].Spec.TargetType
		if tt.Group == gk.Group && tt.Kind == gk.Kind {
			return &ftcs[i], true
		}
	}
	return nil, false
}

// EnableHint names the command that creates the FederatedTypeConfig for gk,
// with the resource name kubefedctl and we accept ("deployments.apps").
func EnableHint(gk schema.GroupKind, plural string) string {
	if plural == "" {
		plural = fedv1b1.PluralName(gk.Kind)
	}
	return "kubectl openmcp enable " + qualified(plural, gk.Group)
}

// Federate wraps a plain object into the Federated<Kind> its
// FederatedTypeConfig names: spec.template is the object (without
// identity, status and cluster-specific metadata), spec.placement comes
// from p, and spec.overrides spreads p.Replicas over the selected members.
func Federate(obj *unstructured.Unstructured, ftc *fedv1b1.FederatedTypeConfig, p Placement, members []Member) (*unstructured.Unstructured, error) {
	ft := ftc.Spec.FederatedType
	md := map[string]any{"name": obj.GetName()}
	if ft.Scope != "Cluster" && obj.GetNamespace() != "" {
		md["namespace"] = obj.GetNamespace()
	}
	tmpl := templateOf(obj.Object)
	placement, err := placementOf(p, members)
	if err != nil {
		return nil, err
	}
	spec := map[string]any{
		"template":  tmpl,
		"placement": placement,
	}
	if p.Replicas != nil {
		selected, err := selectedMembers(p, members)
		if err != nil {
			return nil, err
		}
		if len(selected) == 0 {
			return nil, fmt.Errorf("no joined cluster matches %s: nothing to spread %d replicas over (joined: %s)", describe(p), *p.Replicas, memberNames(members))
		}
		ts, _ := tmpl["spec"].(map[string]any)
		if ts == nil {
			return nil, fmt.Errorf("%s has no spec.replicas to spread: --replicas applies to workloads such as Deployments", obj.GetKind())
		}
		shares := Spread(*p.Replicas, len(selected))
		// A cluster that joins later and matches the selector gets the
		// template's count: the largest share keeps it in proportion.
		ts["replicas"] = shares[0]
		overrides := make([]any, 0, len(selected))
		for i, name := range selected {
			overrides = append(overrides, map[string]any{
				"clusterName": name,
				"clusterOverrides": []any{map[string]any{
					"op": "replace", "path": "/spec/replicas", "value": shares[i],
				}},
			})
		}
		spec["overrides"] = overrides
	}
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": schema.GroupVersion{Group: ft.Group, Version: ft.Version}.String(),
		"kind":       ft.Kind,
		"metadata":   md,
		"spec":       spec,
	}}, nil
}

// FederatedNamespace places namespace ns in every member, the precondition
// for KubeFed (deployed cluster-wide) to propagate anything namespaced in it.
func FederatedNamespace(ns string, ftc *fedv1b1.FederatedTypeConfig) *unstructured.Unstructured {
	ft := ftc.Spec.FederatedType
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": schema.GroupVersion{Group: ft.Group, Version: ft.Version}.String(),
		"kind":       ft.Kind,
		"metadata":   map[string]any{"name": ns, "namespace": ns},
		"spec": map[string]any{
			"template":  map[string]any{},
			"placement": map[string]any{"clusterSelector": map[string]any{}},
		},
	}}
}

// Spread divides total into n shares as evenly as possible, larger first.
func Spread(total int64, n int) []int64 {
	if n <= 0 {
		return nil
	}
	out := make([]int64, n)
	base, rest := total/int64(n), total%int64(n)
	for i := range out {
		out[i] = base
		if int64(i) < rest {
			out[i]++
		}
	}
	return out
}

// templateOf is obj as a KubeFed template: no apiVersion/kind (the
// FederatedTypeConfig's target sets them), no status, and metadata reduced
// to labels and annotations.
func templateOf(obj map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range obj {
		switch k {
		case "apiVersion", "kind", "status":
		case "metadata":
			md, _ := v.(map[string]any)
			m := map[string]any{}
			for _, key := range []string{"labels", "annotations"} {
				if x, ok := md[key].(map[string]any); ok && len(x) > 0 {
					m[key] = runtime.DeepCopyJSONValue(x)
				}
			}
			if len(m) > 0 {
				out["metadata"] = m
			}
		default:
			out[k] = runtime.DeepCopyJSONValue(v)
		}
	}
	return out
}

func placementOf(p Placement, members []Member) (map[string]any, error) {
	if len(p.Clusters) > 0 {
		if members != nil {
			known := map[string]bool{}
			for _, m := range members {
				known[m.Name] = true
			}
			for _, c := range p.Clusters {
				if !known[c] {
					return nil, fmt.Errorf("cluster %q is not joined to the federation (joined: %s)", c, memberNames(members))
				}
			}
		}
		clusters := make([]any, 0, len(p.Clusters))
		for _, c := range p.Clusters {
			clusters = append(clusters, map[string]any{"name": c})
		}
		return map[string]any{"clusters": clusters}, nil
	}
	sel := map[string]any{}
	labels := map[string]any{}
	var exprs []any
	add := func(key string, values []string) {
		switch len(values) {
		case 0:
		case 1:
			labels[key] = values[0]
		default:
			vs := make([]any, len(values))
			for i, v := range values {
				vs[i] = v
			}
			exprs = append(exprs, map[string]any{"key": key, "operator": "In", "values": vs})
		}
	}
	add(fleet.RegionLabel, p.Regions)
	add(fleet.ZoneLabel, p.Zones)
	if len(labels) > 0 {
		sel["matchLabels"] = labels
	}
	if len(exprs) > 0 {
		sel["matchExpressions"] = exprs
	}
	// An empty selector selects every cluster; no placement at all would
	// select none.
	return map[string]any{"clusterSelector": sel}, nil
}

// selectedMembers is the sorted list of members p selects, as KubeFed's
// placement computes it.
func selectedMembers(p Placement, members []Member) ([]string, error) {
	var out []string
	if len(p.Clusters) > 0 {
		out = append(out, p.Clusters...)
		sort.Strings(out)
		return dedupe(out), nil
	}
	for _, m := range members {
		if inOrEmpty(m.Labels[fleet.RegionLabel], p.Regions) && inOrEmpty(m.Labels[fleet.ZoneLabel], p.Zones) {
			out = append(out, m.Name)
		}
	}
	sort.Strings(out)
	return out, nil
}

func inOrEmpty(v string, set []string) bool {
	if len(set) == 0 {
		return true
	}
	for _, s := range set {
		if s == v {
			return true
		}
	}
	return false
}

func dedupe(s []string) []string {
	out := s[:0]
	for i, v := range s {
		if i == 0 || v != s[i-1] {
			out = append(out, v)
		}
	}
	return out
}

func describe(p Placement) string {
	var parts []string
	if len(p.Regions) > 0 {
		parts = append(parts, "region "+strings.Join(p.Regions, ","))
	}
	if len(p.Zones) > 0 {
		parts = append(parts, "zone "+strings.Join(p.Zones, ","))
	}
	if len(parts) == 0 {
		return "the placement"
	}
	return strings.Join(parts, " and ")
}

func memberNames(members []Member) string {
	if len(members) == 0 {
		return "none"
	}
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Name
	}
	return strings.Join(names, ", ")
}
