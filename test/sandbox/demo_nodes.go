package sandbox

import (
	"context"
	"fmt"
)

// DemoNodes gives every member a control-plane and a worker node, as a
// freshly built cluster of the OpenMCP guide has; and, when mcks names a
// member, turns that member into a multi-cloud MCKS cluster whose nodes come
// from three clouds in several regions.
func (f *Federation) DemoNodes(ctx context.Context, mcks string) error {
	for i, m := range f.Members {
		if m.Name == mcks {
			continue
		}
		err := m.createNodes(ctx,
			Node{Name: m.Name + "-master", Roles: []string{"control-plane"}, InternalIP: fmt.Sprintf("10.0.%d.10", i+1), CPU: "4", Memory: "8Gi", Ready: true},
			Node{Name: m.Name + "-worker1", Roles: []string{"worker"}, InternalIP: fmt.Sprintf("10.0.%d.11", i+1), CPU: "8", Memory: "16Gi", Ready: true},
		)
		if err != nil {
			return fmt.Errorf("%s: %w", m.Name, err)
		}
	}
	m := f.Member(mcks)
	if m == nil {
		return nil
	}
	node := func(name, role, csp, region, zone, ip string) Node {
		labels := map[string]string{"topology.cloud-barista.github.io/csp": csp, "topology.kubernetes.io/region": region}
		if zone != "" {
			labels["topology.kubernetes.io/zone"] = zone
		}
		// MCKS runs kubelet with --node-ip=<public IP>: INTERNAL-IP is public.
		return Node{Name: name, Roles: []string{role}, Labels: labels, InternalIP: ip, ExternalIP: ip, CPU: "2", Memory: "4Gi", Ready: true}
	}
	return m.createNodes(ctx,
		node("mcks-cp-aws-1", "control-plane", "aws", "ap-northeast-2", "ap-northeast-2a", "3.34.10.1"),
		node("mcks-w-aws-1", "worker", "aws", "ap-northeast-2", "ap-northeast-2c", "3.34.10.2"),
		node("mcks-w-gcp-1", "worker", "gcp", "europe-west2", "europe-west2-a", "34.89.10.3"),
		node("mcks-w-gcp-2", "worker", "gcp", "asia-northeast3", "asia-northeast3-a", "34.64.10.4"),
		node("mcks-w-azure-1", "worker", "azure", "koreacentral", "", "20.194.10.5"),
	)
}
