package topology

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// NodeTopology is one node's region and zone as its labels say.
type NodeTopology struct {
	Node  string
	Roles []string
	// Region and Zone read the GA key first and fall back to the beta key,
	// as Kubernetes components do.
	Region, Zone string
	// The raw label values, "" when absent.
	GARegion, GAZone, BetaRegion, BetaZone string
}

// Mismatches describes where the GA and beta labels disagree (a value on one
// key only counts: a reader of the other key sees nothing). Empty when they agree.
func (n NodeTopology) Mismatches() []string {
	var out []string
	check := func(what, ga, beta string) {
		switch {
		case ga == beta:
		case beta == "":
			out = append(out, fmt.Sprintf("%s %s has no beta label", what, ga))
		case ga == "":
			out = append(out, fmt.Sprintf("%s %s has no GA label", what, beta))
		default:
			out = append(out, fmt.Sprintf("%s GA %s != beta %s", what, ga, beta))
		}
	}
	check("region", n.GARegion, n.BetaRegion)
	check("zone", n.GAZone, n.BetaZone)
	return out
}

// Read returns every node's region and zone, sorted by node name.
func Read(ctx context.Context, member kubernetes.Interface) ([]NodeTopology, error) {
	list, err := member.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot list nodes: %w", err)
	}
	out := make([]NodeTopology, 0, len(list.Items))
	for _, n := range list.Items {
		out = append(out, NodeTopologyOf(n))
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Node < out[j].Node })
	return out, nil
}

// NodeTopologyOf reads one node's labels.
func NodeTopologyOf(n corev1.Node) NodeTopology {
	l := n.Labels
	t := NodeTopology{
		Node:       n.Name,
		Roles:      Roles(n),
		GARegion:   l[RegionLabel],
		GAZone:     l[ZoneLabel],
		BetaRegion: l[BetaRegionLabel],
		BetaZone:   l[BetaZoneLabel],
	}
	t.Region = firstNonEmpty(t.GARegion, t.BetaRegion)
	t.Zone = firstNonEmpty(t.GAZone, t.BetaZone)
	return t
}

// Roles are the node-role.kubernetes.io/<role> labels, as kubectl get nodes shows them.
func Roles(n corev1.Node) []string {
	var roles []string
	for k := range n.Labels {
		if r, ok := strings.CutPrefix(k, "node-role.kubernetes.io/"); ok && r != "" {
			roles = append(roles, r)
		}
	}
	sort.Strings(roles)
	return roles
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
