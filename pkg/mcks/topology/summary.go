package topology

import (
	"sort"

	corev1 "k8s.io/api/core/v1"
)

// Group counts the nodes and pods of one CSP and region. Region names repeat
// across clouds (aws and ncp both have ap-northeast-2 style names), so a
// group is always the pair.
type Group struct {
	CSP    string   `json:"csp"`
	Region string   `json:"region"`
	Zones  []string `json:"zones,omitempty"`
	Nodes  int      `json:"nodes"`
	Ready  int      `json:"readyNodes"`
	Pods   int      `json:"pods"`
}

// Summary is a cluster counted per CSP and region.
type Summary struct {
	Groups []Group `json:"groups"`
	// UnscheduledPods have no node yet.
	UnscheduledPods int `json:"unscheduledPods"`
	// UnknownNodePods run on nodes not in the node list (deleted meanwhile).
	UnknownNodePods int `json:"unknownNodePods,omitempty"`
}

// Summarize counts nodes and the pods that occupy them (finished pods do
// not) per CSP and region. Groups are sorted by CSP then region; nodes
// without a CSP label come last.
func Summarize(nodes []corev1.Node, pods []corev1.Pod) Summary {
	type key struct{ csp, region string }
	groups := map[key]*Group{}
	zones := map[key]map[string]bool{}
	nodeKey := map[string]key{}
	for i := range nodes {
		t := NodeTopology(&nodes[i])
		k := key{t.CSP, t.Region}
		g := groups[k]
		if g == nil {
			g = &Group{CSP: t.CSP, Region: t.Region}
			groups[k] = g
			zones[k] = map[string]bool{}
		}
		g.Nodes++
		if IsReady(&nodes[i]) {
			g.Ready++
		}
		if t.Zone != "" {
			zones[k][t.Zone] = true
		}
		nodeKey[nodes[i].Name] = k
	}
	var s Summary
	for i := range pods {
		p := &pods[i]
		if p.Status.Phase == corev1.PodSucceeded || p.Status.Phase == corev1.PodFailed {
			continue
		}
		if p.Spec.NodeName == "" {
			s.UnscheduledPods++
			continue
		}
		k, ok := nodeKey[p.Spec.NodeName]
		if !ok {
			s.UnknownNodePods++
			continue
		}
		groups[k].Pods++
	}
	for k, g := range groups {
		for z := range zones[k] {
			g.Zones = append(g.Zones, z)
		}
		sort.Strings(g.Zones)
		s.Groups = append(s.Groups, *g)
	}
	sort.Slice(s.Groups, func(i, j int) bool {
		a, b := s.Groups[i], s.Groups[j]
		if (a.CSP == "") != (b.CSP == "") {
			return b.CSP == ""
		}
		if a.CSP != b.CSP {
			return a.CSP < b.CSP
		}
		if (a.Region == "") != (b.Region == "") {
			return b.Region == ""
		}
		return a.Region < b.Region
	})
	return s
}
