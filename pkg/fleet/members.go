package fleet

import (
	"context"
	"fmt"
	"sort"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"
)

// Labels and annotations this project reads and writes on KubeFedClusters.
const (
	// ContextAnnotation records the kubeconfig context a cluster was joined
	// from, for members whose context name differs from the cluster name.
	ContextAnnotation = "openmcp.k8s.io/kubeconfig-context"
	// ClusterAnnotation marks, in -o json|yaml output, the cluster an item came from.
	ClusterAnnotation = "openmcp.k8s.io/cluster"
	// ManagedByLabel marks every object join creates, so unjoin removes exactly those.
	ManagedByLabel = "app.kubernetes.io/managed-by"
	ManagedByValue = "kubectl-openmcp"
	// Region, zone and platform labels on the KubeFedCluster, read by
	// KubeFed placement clusterSelectors and OpenMCP's scheduler.
	RegionLabel   = "topology.kubernetes.io/region"
	ZoneLabel     = "topology.kubernetes.io/zone"
	PlatformLabel = "platform"
)

// KubeFedClusters is the GVR of KubeFed's member cluster records.
var KubeFedClusters = schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedclusters"}

// Member is one KubeFedCluster and the kubeconfig context that reaches it.
type Member struct {
	Name    string
	Context string // "" when the kubeconfig has no context for it
	Cluster fedv1b1.KubeFedCluster
}

// Ready is the KubeFedCluster's Ready condition: True, False or Unknown.
func (m Member) Ready() string {
	for _, c := range m.Cluster.Status.Conditions {
		if string(c.Type) == "Ready" {
			return string(c.Status)
		}
	}
	return "Unknown"
}

// ListMembers reads the host's KubeFedClusters, sorted by name, and pairs each
// with the user's context of the same name, or the one recorded at join.
func ListMembers(ctx context.Context, host dynamic.Interface, namespace string, kc *Kubeconfig) ([]Member, error) {
	has := func(string) bool { return false }
	if kc != nil {
		has = kc.HasContext
	}
	return listMembers(ctx, host, namespace, has)
}

func listMembers(ctx context.Context, host dynamic.Interface, namespace string, hasContext func(string) bool) ([]Member, error) {
	list, err := host.Resource(KubeFedClusters).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, fmt.Errorf("cannot list KubeFedClusters in %s on the host: %w", namespace, err)
	}
	members := make([]Member, 0, len(list.Items))
	for _, item := range list.Items {
		var c fedv1b1.KubeFedCluster
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &c); err != nil {
			return nil, fmt.Errorf("KubeFedCluster %s: %w", item.GetName(), err)
		}
		m := Member{Name: c.Name, Cluster: c}
		switch {
		case hasContext(c.Name):
			m.Context = c.Name
		case c.Annotations[ContextAnnotation] != "" && hasContext(c.Annotations[ContextAnnotation]):
			m.Context = c.Annotations[ContextAnnotation]
		}
		members = append(members, m)
	}
	sort.Slice(members, func(i, j int) bool { return members[i].Name < members[j].Name })
	return members, nil
}

// Select keeps the members named in names (all when names is empty) and
// fails on a name the host does not know, listing the ones it does.
func Select(members []Member, names []string) ([]Member, error) {
	if len(names) == 0 {
		return members, nil
	}
	byName := map[string]Member{}
	known := make([]string, 0, len(members))
	for _, m := range members {
		byName[m.Name] = m
		known = append(known, m.Name)
	}
	out := make([]Member, 0, len(names))
	for _, n := range names {
		m, ok := byName[n]
		if !ok {
			return nil, fmt.Errorf("cluster %q is not joined to the federation (joined: %s)", n, joinedList(known))
		}
		out = append(out, m)
	}
	return out, nil
}

func joinedList(names []string) string {
	if len(names) == 0 {
		return "none"
	}
	s := names[0]
	for _, n := range names[1:] {
		s += ", " + n
	}
	return s
}

// MatchingMembers keeps the members whose KubeFedCluster labels match.
func MatchingMembers(members []Member, sel labels.Selector) []Member {
	var out []Member
	for _, m := range members {
		if sel.Matches(labels.Set(m.Cluster.Labels)) {
			out = append(out, m)
		}
	}
	return out
}
