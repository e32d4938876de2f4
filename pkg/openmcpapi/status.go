package openmcpapi

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Plan is what OpenMCP's control plane decided for one resource: how many
// replicas (or, for services and ingresses, 1 = created) go to each cluster.
type Plan struct {
	Clusters map[string]int64
	// Min and Max are a HybridAutoScaler's per-cluster bounds.
	Min, Max map[string]int64
}

// PlanOf reads status.clusterMaps (and a HAS's clusterMinMaps and
// clusterMaxMaps); clusters named only in spec.clusters count with 0.
func PlanOf(obj *unstructured.Unstructured) Plan {
	p := Plan{Clusters: intMap(obj, "status", "clusterMaps"), Min: intMap(obj, "status", "clusterMinMaps"), Max: intMap(obj, "status", "clusterMaxMaps")}
	if names, ok, _ := unstructured.NestedStringSlice(obj.Object, "spec", "clusters"); ok {
		for _, n := range names {
			if _, has := p.Clusters[n]; !has {
				p.Clusters[n] = 0
			}
		}
	}
	return p
}

// ClusterNames lists every cluster the plan mentions, sorted.
func (p Plan) ClusterNames() []string {
	seen := map[string]bool{}
	for _, m := range []map[string]int64{p.Clusters, p.Min, p.Max} {
		for k := range m {
			seen[k] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func intMap(obj *unstructured.Unstructured, fields ...string) map[string]int64 {
	out := map[string]int64{}
	m, ok, _ := unstructured.NestedMap(obj.Object, fields...)
	if !ok {
		return out
	}
	for k, v := range m {
		switch n := v.(type) {
		case int64:
			out[k] = n
		case float64:
			out[k] = int64(n)
		case int32:
			out[k] = int64(n)
		case int:
			out[k] = int64(n)
		}
	}
	return out
}

// ReplicaVerdict sums ready against planned replicas: the line OpenMCP never prints.
func ReplicaVerdict(planned, ready map[string]int64) string {
	var want, have int64
	clusters := 0
	for c, n := range planned {
		if n > 0 {
			clusters++
			want += n
		}
		have += ready[c]
	}
	for c, n := range ready {
		if _, ok := planned[c]; !ok {
			have += n
		}
	}
	return fmt.Sprintf("%d/%d replicas ready in %d clusters", have, want, clusters)
}
