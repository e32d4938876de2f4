// Package topology reads where the nodes of an MCKS cluster run: the cloud
// provider (CSP), region and zone MCKS labels every node with, the node-IP
// drift MCKS nodes suffer after a reboot, and counts per CSP and region.
package topology

import (
	"fmt"
	"net"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
)

// The node labels MCKS sets.
const (
	CSPLabel    = "topology.cloud-barista.github.io/csp"
	RegionLabel = corev1.LabelTopologyRegion // topology.kubernetes.io/region
	ZoneLabel   = corev1.LabelTopologyZone   // topology.kubernetes.io/zone
	// The deprecated keys, still read by KubeFed and older schedulers.
	BetaRegionLabel = corev1.LabelFailureDomainBetaRegion
	BetaZoneLabel   = corev1.LabelFailureDomainBetaZone
)

// KnownCSPs are the cloud providers MCKS builds nodes on, as its csp label spells them.
var KnownCSPs = []string{"aws", "gcp", "azure", "alibaba", "tencent", "openstack", "ibm", "cloudit", "ncp", "ncpvpc", "nhncloud"}

// IsKnownCSP reports whether csp is one of KnownCSPs.
func IsKnownCSP(csp string) bool { return slices.Contains(KnownCSPs, csp) }

// Topology is where a node runs. Empty fields are unknown (MCKS leaves the
// zone empty on some clouds).
type Topology struct {
	CSP, Region, Zone string
}

// NodeTopology reads a node's labels: the GA region/zone keys first, the
// deprecated beta keys when the GA ones are missing.
func NodeTopology(node *corev1.Node) Topology {
	l := node.Labels
	return Topology{
		CSP:    l[CSPLabel],
		Region: firstNonEmpty(l[RegionLabel], l[BetaRegionLabel]),
		Zone:   firstNonEmpty(l[ZoneLabel], l[BetaZoneLabel]),
	}
}

func firstNonEmpty(vals ...string) string {
	for _, v := range vals {
		if v != "" {
			return v
		}
	}
	return ""
}

// Roles lists a node's roles from its node-role.kubernetes.io/ labels, as kubectl get nodes does.
func Roles(node *corev1.Node) []string {
	var roles []string
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if r := strings.TrimPrefix(k, "node-role.kubernetes.io/"); r != "" {
				roles = append(roles, r)
			}
		case k == "kubernetes.io/role" && v != "":
			roles = append(roles, v)
		}
	}
	sort.Strings(roles)
	return slices.Compact(roles)
}

// IsReady reports whether the node's Ready condition is True.
func IsReady(node *corev1.Node) bool {
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}

// Status is the STATUS column of kubectl get nodes: Ready, NotReady or
// Unknown, with SchedulingDisabled for a cordoned node.
func Status(node *corev1.Node) string {
	s := "Unknown"
	for _, c := range node.Status.Conditions {
		if c.Type == corev1.NodeReady {
			switch c.Status {
			case corev1.ConditionTrue:
				s = "Ready"
			case corev1.ConditionFalse:
				s = "NotReady"
			}
		}
	}
	if node.Spec.Unschedulable {
		s += ",SchedulingDisabled"
	}
	return s
}

// Addresses of one type from the node's status.
func Addresses(node *corev1.Node, typ corev1.NodeAddressType) []string {
	var out []string
	for _, a := range node.Status.Addresses {
		if a.Type == typ && a.Address != "" {
			out = append(out, a.Address)
		}
	}
	return out
}

// InternalIP is the node's first InternalIP, "" if none.
func InternalIP(node *corev1.Node) string {
	if ips := Addresses(node, corev1.NodeInternalIP); len(ips) > 0 {
		return ips[0]
	}
	return ""
}

// Annotations in which the CNIs MCKS installs record a node's public address.
const (
	FlannelPublicIPAnnotation          = "flannel.alpha.coreos.com/public-ip"
	FlannelPublicIPOverwriteAnnotation = "flannel.alpha.coreos.com/public-ip-overwrite"
	KiloForceEndpointAnnotation        = "kilo.squat.ai/force-endpoint"
	KiloEndpointAnnotation             = "kilo.squat.ai/endpoint"
)

// PublicAddresses are the addresses a node is known by from outside: its
// ExternalIPs and the public address canal (flannel) or kilo recorded for it.
func PublicAddresses(node *corev1.Node) []string {
	var out []string
	for _, ip := range Addresses(node, corev1.NodeExternalIP) {
		if ip = normalizeIP(ip); !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	for _, key := range []string{FlannelPublicIPOverwriteAnnotation, FlannelPublicIPAnnotation, KiloForceEndpointAnnotation, KiloEndpointAnnotation} {
		if ip := hostIP(node.Annotations[key]); ip != "" && !slices.Contains(out, ip) {
			out = append(out, ip)
		}
	}
	return out
}

// hostIP is the IP in "IP", "IP:PORT" or "[IPv6]:PORT", "" if there is none.
func hostIP(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if host, _, err := net.SplitHostPort(v); err == nil {
		v = host
	}
	if ip := net.ParseIP(strings.Trim(v, "[]")); ip != nil {
		return ip.String()
	}
	return ""
}

// Drift explains why a node's INTERNAL-IP looks stale, "" when it does not.
// MCKS starts every kubelet with --node-ip=<public IP>; after a reboot that
// gives the VM a new public address the kubelet keeps announcing the old one
// and traffic to the node's pods breaks. With no public address known
// nothing can be said.
func Drift(node *corev1.Node) string {
	public := PublicAddresses(node)
	if len(public) == 0 {
		return ""
	}
	internal := Addresses(node, corev1.NodeInternalIP)
	if len(internal) == 0 {
		return fmt.Sprintf("no INTERNAL-IP; public address %s", strings.Join(public, ", "))
	}
	for _, ip := range internal {
		if slices.Contains(public, normalizeIP(ip)) {
			return ""
		}
	}
	return fmt.Sprintf("INTERNAL-IP %s is not one of its public addresses (%s): node-IP drift, the kubelet's --node-ip is stale", internal[0], strings.Join(public, ", "))
}

func normalizeIP(s string) string {
	if ip := net.ParseIP(s); ip != nil {
		return ip.String()
	}
	return s
}
