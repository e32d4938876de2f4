package api

import (
	"errors"
	"fmt"
	"net"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
)

// Allowed values of the create body (swagger enums).
const (
	EtcdLocal    = "local"
	EtcdExternal = "external"
	CNIKilo      = "kilo"
	CNICanal     = "canal"
	LBHAProxy    = "haproxy"
	LBNLB        = "nlb"
)

var (
	EtcdValues = []string{EtcdLocal, EtcdExternal}
	CNIValues  = []string{CNIKilo, CNICanal}
	LBValues   = []string{LBHAProxy, LBNLB}
)

// ParseNodeSet reads CONNECTION:SPEC[:COUNT], e.g. config-aws-ap-northeast-2:t3.medium:3.
// flag names the flag in errors.
func ParseNodeSet(flag, value string) (NodeSetReq, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid %s %q: %s; want CONNECTION:SPEC[:COUNT], e.g. config-aws-ap-northeast-2:t3.medium:2", flag, value, why)
	}
	parts := strings.Split(value, ":")
	if len(parts) < 2 || len(parts) > 3 {
		return NodeSetReq{}, bad("wrong number of ':'-separated parts")
	}
	set := NodeSetReq{Connection: strings.TrimSpace(parts[0]), Spec: strings.TrimSpace(parts[1]), Count: 1}
	if set.Connection == "" {
		return NodeSetReq{}, bad("empty connection name")
	}
	if set.Spec == "" {
		return NodeSetReq{}, bad("empty spec")
	}
	if len(parts) == 3 {
		n, err := strconv.Atoi(strings.TrimSpace(parts[2]))
		if err != nil || n < 1 {
			return NodeSetReq{}, bad("COUNT must be a whole number of at least 1")
		}
		set.Count = n
	}
	return set, nil
}

// Defaulted is the body as it is sent: etcd and the network CNI filled with
// MCKS's own defaults, because some server versions reject a body without
// them (their defaulting works on a copy of the request).
func (r ClusterReq) Defaulted() ClusterReq {
	if r.Config.Kubernetes.Etcd == "" {
		r.Config.Kubernetes.Etcd = EtcdLocal
	}
	if r.Config.Kubernetes.NetworkCNI == "" {
		r.Config.Kubernetes.NetworkCNI = CNIKilo
	}
	return r
}

// Validate checks a create body as the server would, and more, so that a bad
// request fails before minutes of provisioning are spent on it.
func (r *ClusterReq) Validate() error {
	if r.Name == "" {
		return errors.New("the cluster has no name")
	}
	if errs := validation.IsDNS1123Label(r.Name); len(errs) > 0 {
		return fmt.Errorf("invalid cluster name %q: %s", r.Name, strings.Join(errs, "; "))
	}
	if len(r.ControlPlane) != 1 {
		return fmt.Errorf("cluster %q needs exactly one control-plane node set (MCKS supports one), got %d", r.Name, len(r.ControlPlane))
	}
	if len(r.Worker) == 0 {
		return fmt.Errorf("cluster %q needs at least one worker node set", r.Name)
	}
	if err := checkSets("control-plane", r.ControlPlane); err != nil {
		return err
	}
	if err := checkSets("worker", r.Worker); err != nil {
		return err
	}
	k := r.Config.Kubernetes
	if err := oneOf("etcd", k.Etcd, EtcdValues, false); err != nil {
		return err
	}
	if err := oneOf("network CNI", k.NetworkCNI, CNIValues, true); err != nil {
		return err
	}
	if err := oneOf("load balancer", k.Loadbalancer, LBValues, true); err != nil {
		return err
	}
	for what, cidr := range map[string]string{"pod CIDR": k.PodCIDR, "service CIDR": k.ServiceCIDR} {
		if cidr == "" {
			continue
		}
		if _, _, err := net.ParseCIDR(cidr); err != nil {
			return fmt.Errorf("invalid %s %q: want a CIDR such as 10.244.0.0/16", what, cidr)
		}
	}
	if v := r.Config.InstallMonAgent; v != "" && v != "yes" && v != "no" {
		return fmt.Errorf("invalid installMonAgent %q: allowed values are yes, no", v)
	}
	return nil
}

// Validate checks a node add body.
func (r *NodeReq) Validate() error {
	if len(r.ControlPlane)+len(r.Worker) == 0 {
		return errors.New("no nodes to add: give at least one worker node set")
	}
	if err := checkSets("control-plane", r.ControlPlane); err != nil {
		return err
	}
	return checkSets("worker", r.Worker)
}

func checkSets(role string, sets []NodeSetReq) error {
	for _, s := range sets {
		if strings.TrimSpace(s.Connection) == "" || strings.TrimSpace(s.Spec) == "" {
			return fmt.Errorf("a %s node set lacks its connection or spec", role)
		}
		if s.Count < 1 {
			return fmt.Errorf("invalid %s node count %d for %s:%s: must be at least 1", role, s.Count, s.Connection, s.Spec)
		}
	}
	return nil
}

func oneOf(what, value string, allowed []string, emptyOK bool) error {
	if value == "" && emptyOK {
		return nil
	}
	if !slices.Contains(allowed, value) {
		return fmt.Errorf("invalid %s %q: allowed values are %s", what, value, strings.Join(allowed, ", "))
	}
	return nil
}
