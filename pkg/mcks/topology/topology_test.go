package topology

import (
	"reflect"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

type nodeOpt func(*corev1.Node)

func node(name string, labels map[string]string, opts ...nodeOpt) corev1.Node {
	n := corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels, Annotations: map[string]string{}}}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	for _, o := range opts {
		o(&n)
	}
	return n
}

func addr(typ corev1.NodeAddressType, ip string) nodeOpt {
	return func(n *corev1.Node) {
		n.Status.Addresses = append(n.Status.Addresses, corev1.NodeAddress{Type: typ, Address: ip})
	}
}

func annotate(k, v string) nodeOpt { return func(n *corev1.Node) { n.Annotations[k] = v } }

func notReady(n *corev1.Node) { n.Status.Conditions[0].Status = corev1.ConditionFalse }

func topo(csp, region, zone string) map[string]string {
	l := map[string]string{}
	if csp != "" {
		l[CSPLabel] = csp
	}
	if region != "" {
		l[RegionLabel] = region
	}
	if zone != "" {
		l[ZoneLabel] = zone
	}
	return l
}

func TestNodeTopologyReadsGAThenBetaKeys(t *testing.T) {
	n := node("a", topo("aws", "ap-northeast-2", "ap-northeast-2a"))
	if got := NodeTopology(&n); got != (Topology{"aws", "ap-northeast-2", "ap-northeast-2a"}) {
		t.Errorf("GA labels: %+v", got)
	}
	n = node("b", map[string]string{CSPLabel: "gcp", BetaRegionLabel: "europe-west2", BetaZoneLabel: "europe-west2-b"})
	if got := NodeTopology(&n); got != (Topology{"gcp", "europe-west2", "europe-west2-b"}) {
		t.Errorf("beta fallback: %+v", got)
	}
	n = node("c", map[string]string{RegionLabel: "ga", BetaRegionLabel: "beta"})
	if got := NodeTopology(&n); got.Region != "ga" || got.CSP != "" {
		t.Errorf("GA wins over beta: %+v", got)
	}
}

func TestDrift(t *testing.T) {
	for _, tc := range []struct {
		name string
		n    corev1.Node
		want string // substring, "" for no drift
	}{
		{"internal is the public IP", node("a", nil, addr(corev1.NodeInternalIP, "3.3.3.3"), addr(corev1.NodeExternalIP, "3.3.3.3")), ""},
		{"no public address known", node("b", nil, addr(corev1.NodeInternalIP, "10.0.0.5")), ""},
		{"stale node-ip after a reboot", node("c", nil, addr(corev1.NodeInternalIP, "3.3.3.3"), addr(corev1.NodeExternalIP, "4.4.4.4")), "INTERNAL-IP 3.3.3.3 is not one of its public addresses (4.4.4.4)"},
		{"kilo endpoint with port matches", node("d", nil, addr(corev1.NodeInternalIP, "5.5.5.5"), annotate(KiloForceEndpointAnnotation, "5.5.5.5:51820")), ""},
		{"flannel public ip differs", node("e", nil, addr(corev1.NodeInternalIP, "10.1.1.1"), annotate(FlannelPublicIPOverwriteAnnotation, "6.6.6.6")), "(6.6.6.6)"},
		{"ipv6 forms compare equal", node("f", nil, addr(corev1.NodeInternalIP, "2001:db8::1"), annotate(KiloEndpointAnnotation, "[2001:db8:0::1]:51820")), ""},
		{"no internal ip", node("g", nil, addr(corev1.NodeExternalIP, "7.7.7.7")), "no INTERNAL-IP"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := Drift(&tc.n)
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("Drift = %q, want %q", got, tc.want)
			}
		})
	}
}

func TestRolesAndStatus(t *testing.T) {
	n := node("a", map[string]string{"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/master": ""})
	if got := Roles(&n); !reflect.DeepEqual(got, []string{"control-plane", "master"}) {
		t.Errorf("roles %v", got)
	}
	n.Spec.Unschedulable = true
	if got := Status(&n); got != "Ready,SchedulingDisabled" {
		t.Errorf("status %q", got)
	}
	notReady(&n)
	if IsReady(&n) || Status(&n) != "NotReady,SchedulingDisabled" {
		t.Errorf("not ready: %q", Status(&n))
	}
	n.Status.Conditions = nil
	if Status(&n) != "Unknown,SchedulingDisabled" {
		t.Errorf("no condition: %q", Status(&n))
	}
}

func pod(name, nodeName string, phase corev1.PodPhase) corev1.Pod {
	return corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Spec: corev1.PodSpec{NodeName: nodeName}, Status: corev1.PodStatus{Phase: phase}}
}

func TestSummarizeCountsPerCSPAndRegion(t *testing.T) {
	nodes := []corev1.Node{
		node("gcp-1", topo("gcp", "europe-west2", "europe-west2-a")),
		node("aws-1", topo("aws", "ap-northeast-2", "ap-northeast-2a")),
		node("aws-2", topo("aws", "ap-northeast-2", "ap-northeast-2c"), notReady),
		node("aws-3", topo("aws", "us-east-1", "")),
		node("ncp-1", topo("ncp", "ap-northeast-2", "")), // same region name, another cloud
		node("bare", nil),
	}
	pods := []corev1.Pod{
		pod("p1", "aws-1", corev1.PodRunning), pod("p2", "aws-2", corev1.PodRunning),
		pod("p3", "gcp-1", corev1.PodPending), pod("p4", "gcp-1", corev1.PodSucceeded),
		pod("p5", "", corev1.PodPending), pod("p6", "gone", corev1.PodRunning),
		pod("p7", "ncp-1", corev1.PodRunning), pod("p8", "bare", corev1.PodRunning),
	}
	s := Summarize(nodes, pods)
	want := []Group{
		{CSP: "aws", Region: "ap-northeast-2", Zones: []string{"ap-northeast-2a", "ap-northeast-2c"}, Nodes: 2, Ready: 1, Pods: 2},
		{CSP: "aws", Region: "us-east-1", Nodes: 1, Ready: 1},
		{CSP: "gcp", Region: "europe-west2", Zones: []string{"europe-west2-a"}, Nodes: 1, Ready: 1, Pods: 1},
		{CSP: "ncp", Region: "ap-northeast-2", Nodes: 1, Ready: 1, Pods: 1},
		{Nodes: 1, Ready: 1, Pods: 1},
	}
	if !reflect.DeepEqual(s.Groups, want) {
		t.Errorf("groups:\n got %+v\nwant %+v", s.Groups, want)
	}
	if s.UnscheduledPods != 1 || s.UnknownNodePods != 1 {
		t.Errorf("unscheduled %d, unknown node %d; want 1 and 1", s.UnscheduledPods, s.UnknownNodePods)
	}
}

func TestKnownCSPs(t *testing.T) {
	for _, c := range []string{"aws", "gcp", "azure", "alibaba", "tencent", "openstack", "ibm", "cloudit", "ncp", "ncpvpc", "nhncloud"} {
		if !IsKnownCSP(c) {
			t.Errorf("%s unknown", c)
		}
	}
	if IsKnownCSP("AWS") || IsKnownCSP("digitalocean") {
		t.Error("unknown CSP accepted")
	}
}
