// Package placement edits where a workload's pods may run on an MCKS
// cluster: node affinity on the CSP, region and zone labels, and topology
// spread over one of them. It owns those label keys in the pod template and
// nothing else: affinity on other keys, pod (anti-)affinity and spread on
// other keys, as the user wrote them, are kept.
package placement

import (
	"fmt"
	"slices"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/validation"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
)

// OwnKeys are the node label keys whose terms place writes and replaces.
var OwnKeys = []string{topology.CSPLabel, topology.RegionLabel, topology.ZoneLabel}

// SpreadKeys maps --spread values to label keys.
var SpreadKeys = map[string]string{"csp": topology.CSPLabel, "region": topology.RegionLabel, "zone": topology.ZoneLabel}

// DefaultWeight is the weight of a preferred term.
const DefaultWeight = 100

// Placement is what place is asked to set.
type Placement struct {
	CSPs, Regions, Zones []string
	// Preferred writes a preferred term instead of a required one.
	Preferred bool
	Weight    int32
	// Spread is "", "csp", "region" or "zone".
	Spread            string
	MaxSkew           int32
	WhenUnsatisfiable corev1.UnsatisfiableConstraintAction
}

// Validate checks a placement; allowAnyCSP lets CSP names outside KnownCSPs through.
func (p Placement) Validate(allowAnyCSP bool) error {
	if len(p.CSPs)+len(p.Regions)+len(p.Zones) == 0 && p.Spread == "" {
		return fmt.Errorf("nothing to place: give --csp, --region, --zone or --spread (or --clear)")
	}
	if p.Preferred && len(p.CSPs)+len(p.Regions)+len(p.Zones) == 0 {
		return fmt.Errorf("--preferred needs --csp, --region or --zone")
	}
	for _, c := range p.CSPs {
		if !allowAnyCSP && !topology.IsKnownCSP(c) {
			return fmt.Errorf("unknown CSP %q: MCKS knows %s (use --allow-any for another name)", c, strings.Join(topology.KnownCSPs, ", "))
		}
	}
	for flag, vals := range map[string][]string{"--csp": p.CSPs, "--region": p.Regions, "--zone": p.Zones} {
		for _, v := range vals {
			if v == "" {
				return fmt.Errorf("empty %s value", flag)
			}
			if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
				return fmt.Errorf("invalid %s value %q: %s", flag, v, strings.Join(errs, "; "))
			}
		}
	}
	if p.Spread != "" {
		if _, ok := SpreadKeys[p.Spread]; !ok {
			return fmt.Errorf("invalid --spread %q: allowed values are csp, region, zone", p.Spread)
		}
		if p.MaxSkew < 1 {
			return fmt.Errorf("invalid --max-skew %d: must be at least 1", p.MaxSkew)
		}
		switch p.WhenUnsatisfiable {
		case "", corev1.DoNotSchedule, corev1.ScheduleAnyway:
		default:
			return fmt.Errorf("invalid --when-unsatisfiable %q: allowed values are DoNotSchedule, ScheduleAnyway", p.WhenUnsatisfiable)
		}
	}
	if p.Preferred && (p.Weight < 1 || p.Weight > 100) {
		return fmt.Errorf("invalid --weight %d: must be 1 to 100", p.Weight)
	}
	return nil
}

// Requirements are the node selector expressions of the placement, in the
// fixed order csp, region, zone. All must hold: region names repeat across
// clouds, so a region is only meaningful with its CSP.
func (p Placement) Requirements() []corev1.NodeSelectorRequirement {
	var reqs []corev1.NodeSelectorRequirement
	for _, r := range []struct {
		key  string
		vals []string
	}{{topology.CSPLabel, p.CSPs}, {topology.RegionLabel, p.Regions}, {topology.ZoneLabel, p.Zones}} {
		if len(r.vals) > 0 {
			reqs = append(reqs, corev1.NodeSelectorRequirement{Key: r.key, Operator: corev1.NodeSelectorOpIn, Values: slices.Clone(r.vals)})
		}
	}
	return reqs
}

// DescribeNodes is the node part of the placement, e.g. "csp=gcp, region=europe-west2".
func (p Placement) DescribeNodes() string {
	var parts []string
	for _, r := range []struct {
		name string
		vals []string
	}{{"csp", p.CSPs}, {"region", p.Regions}, {"zone", p.Zones}} {
		if len(r.vals) > 0 {
			parts = append(parts, r.name+"="+strings.Join(r.vals, "|"))
		}
	}
	return strings.Join(parts, ", ")
}

// Describe is the placement in a few words, for messages.
func (p Placement) Describe() string {
	out := ""
	if nodes := p.DescribeNodes(); nodes != "" {
		kind := "required"
		if p.Preferred {
			kind = fmt.Sprintf("preferred (weight %d)", p.Weight)
		}
		out = kind + " " + nodes
	}
	if p.Spread != "" {
		if out != "" {
			out += "; "
		}
		out += fmt.Sprintf("spread over %s (max skew %d, %s)", p.Spread, p.MaxSkew, p.whenUnsatisfiable())
	}
	return out
}

func (p Placement) whenUnsatisfiable() corev1.UnsatisfiableConstraintAction {
	if p.WhenUnsatisfiable != "" {
		return p.WhenUnsatisfiable
	}
	if p.Preferred {
		return corev1.ScheduleAnyway
	}
	return corev1.DoNotSchedule
}

// Spread describes how the workload's own pods are selected for a spread constraint.
type Spread struct {
	Selector *metav1.LabelSelector
	// MatchLabelKeys narrow the selector to one revision, e.g. pod-template-hash.
	MatchLabelKeys []string
}

// Apply sets the placement on a pod spec: its own terms are removed first,
// then the new ones added. Required expressions are ANDed into every
// existing required term, because terms are ORed: a new term beside the
// user's would loosen the user's constraint instead of adding ours to it.
func Apply(spec *corev1.PodSpec, p Placement, spread Spread) {
	Clear(spec)
	if reqs := p.Requirements(); len(reqs) > 0 {
		na := nodeAffinity(spec)
		if p.Preferred {
			w := p.Weight
			if w == 0 {
				w = DefaultWeight
			}
			na.PreferredDuringSchedulingIgnoredDuringExecution = append(na.PreferredDuringSchedulingIgnoredDuringExecution,
				corev1.PreferredSchedulingTerm{Weight: w, Preference: corev1.NodeSelectorTerm{MatchExpressions: reqs}})
		} else {
			if na.RequiredDuringSchedulingIgnoredDuringExecution == nil {
				na.RequiredDuringSchedulingIgnoredDuringExecution = &corev1.NodeSelector{}
			}
			req := na.RequiredDuringSchedulingIgnoredDuringExecution
			if len(req.NodeSelectorTerms) == 0 {
				req.NodeSelectorTerms = []corev1.NodeSelectorTerm{{}}
			}
			for i := range req.NodeSelectorTerms {
				req.NodeSelectorTerms[i].MatchExpressions = append(req.NodeSelectorTerms[i].MatchExpressions, p.Requirements()...)
			}
		}
	}
	if p.Spread != "" {
		maxSkew := p.MaxSkew
		if maxSkew < 1 {
			maxSkew = 1
		}
		spec.TopologySpreadConstraints = append(spec.TopologySpreadConstraints, corev1.TopologySpreadConstraint{
			MaxSkew:           maxSkew,
			TopologyKey:       SpreadKeys[p.Spread],
			WhenUnsatisfiable: p.whenUnsatisfiable(),
			LabelSelector:     spread.Selector.DeepCopy(),
			MatchLabelKeys:    slices.Clone(spread.MatchLabelKeys),
		})
	}
	tidy(spec)
}

// Clear removes what place owns from a pod spec: expressions on OwnKeys in
// required terms (a term left empty goes, since an empty term matches no
// node), preferred terms made only of such expressions, and spread
// constraints on OwnKeys. It reports whether anything was removed.
func Clear(spec *corev1.PodSpec) bool {
	changed := false
	if spec.Affinity != nil && spec.Affinity.NodeAffinity != nil {
		na := spec.Affinity.NodeAffinity
		if req := na.RequiredDuringSchedulingIgnoredDuringExecution; req != nil {
			var terms []corev1.NodeSelectorTerm
			for _, t := range req.NodeSelectorTerms {
				kept := slices.DeleteFunc(slices.Clone(t.MatchExpressions), isOwn)
				if len(kept) != len(t.MatchExpressions) {
					changed = true
					if len(kept) == 0 && len(t.MatchFields) == 0 {
						continue
					}
				}
				if len(kept) == 0 {
					kept = nil
				}
				t.MatchExpressions = kept
				terms = append(terms, t)
			}
			req.NodeSelectorTerms = terms
		}
		var preferred []corev1.PreferredSchedulingTerm
		for _, t := range na.PreferredDuringSchedulingIgnoredDuringExecution {
			if isOwnTerm(t.Preference) {
				changed = true
				continue
			}
			preferred = append(preferred, t)
		}
		na.PreferredDuringSchedulingIgnoredDuringExecution = preferred
	}
	var spreads []corev1.TopologySpreadConstraint
	for _, c := range spec.TopologySpreadConstraints {
		if slices.Contains(OwnKeys, c.TopologyKey) {
			changed = true
			continue
		}
		spreads = append(spreads, c)
	}
	spec.TopologySpreadConstraints = spreads
	tidy(spec)
	return changed
}

func isOwn(r corev1.NodeSelectorRequirement) bool { return slices.Contains(OwnKeys, r.Key) }

// isOwnTerm: a preferred term place could have written, only OwnKeys.
func isOwnTerm(t corev1.NodeSelectorTerm) bool {
	if len(t.MatchFields) > 0 || len(t.MatchExpressions) == 0 {
		return false
	}
	for _, r := range t.MatchExpressions {
		if !isOwn(r) {
			return false
		}
	}
	return true
}

func nodeAffinity(spec *corev1.PodSpec) *corev1.NodeAffinity {
	if spec.Affinity == nil {
		spec.Affinity = &corev1.Affinity{}
	}
	if spec.Affinity.NodeAffinity == nil {
		spec.Affinity.NodeAffinity = &corev1.NodeAffinity{}
	}
	return spec.Affinity.NodeAffinity
}

// tidy drops the empty shells removal leaves, so a cleared pod spec is the
// one the user had before place.
func tidy(spec *corev1.PodSpec) {
	if len(spec.TopologySpreadConstraints) == 0 {
		spec.TopologySpreadConstraints = nil
	}
	a := spec.Affinity
	if a == nil {
		return
	}
	if na := a.NodeAffinity; na != nil {
		if na.RequiredDuringSchedulingIgnoredDuringExecution != nil && len(na.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms) == 0 {
			na.RequiredDuringSchedulingIgnoredDuringExecution = nil
		}
		if len(na.PreferredDuringSchedulingIgnoredDuringExecution) == 0 {
			na.PreferredDuringSchedulingIgnoredDuringExecution = nil
		}
		if na.RequiredDuringSchedulingIgnoredDuringExecution == nil && na.PreferredDuringSchedulingIgnoredDuringExecution == nil {
			a.NodeAffinity = nil
		}
	}
	if a.NodeAffinity == nil && a.PodAffinity == nil && a.PodAntiAffinity == nil {
		spec.Affinity = nil
	}
}

// Matches reports whether a node satisfies the placement's expressions.
func Matches(node *corev1.Node, p Placement) bool {
	for _, r := range p.Requirements() {
		v, ok := node.Labels[r.Key]
		if !ok || !slices.Contains(r.Values, v) {
			return false
		}
	}
	return true
}

// Conflicts lists what else in the pod spec pins the same keys to other
// values: the pods must satisfy both, which no node may do.
func Conflicts(spec *corev1.PodSpec, p Placement) []string {
	var out []string
	for _, r := range p.Requirements() {
		if v, ok := spec.NodeSelector[r.Key]; ok && !slices.Contains(r.Values, v) {
			out = append(out, fmt.Sprintf("the pod template's nodeSelector also requires %s=%s; pods must match both", r.Key, v))
		}
	}
	return out
}
