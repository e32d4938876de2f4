package sandbox

import (
	"context"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
)

// Node describes a Node to create through the API: no kubelet runs here, so
// nodes exist only as the API objects commands read and label.
type Node struct {
	Name       string
	Labels     map[string]string
	Roles      []string // e.g. "control-plane", "worker": node-role.kubernetes.io/<role>
	InternalIP string
	ExternalIP string
	CPU        string // capacity, e.g. "4"
	Memory     string // capacity, e.g. "16Gi"
	Ready      bool
}

// CreateNodes creates the nodes and sets their status (addresses, capacity,
// Ready condition) through the status subresource, as a kubelet would.
func (c *Cluster) CreateNodes(t TB, nodes ...Node) {
	t.Helper()
	if err := c.createNodes(context.Background(), nodes...); err != nil {
		t.Fatalf("%s: create nodes: %v", c.Name, err)
	}
}

func (c *Cluster) createNodes(ctx context.Context, nodes ...Node) error {
	for _, n := range nodes {
		labels := map[string]string{"kubernetes.io/hostname": n.Name, "kubernetes.io/os": "linux"}
		for k, v := range n.Labels {
			labels[k] = v
		}
		for _, r := range n.Roles {
			labels["node-role.kubernetes.io/"+r] = ""
		}
		created, err := c.Client.CoreV1().Nodes().Create(ctx, &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.Name, Labels: labels}}, metav1.CreateOptions{})
		if err != nil {
			return err
		}
		cpu, mem := n.CPU, n.Memory
		if cpu == "" {
			cpu = "4"
		}
		if mem == "" {
			mem = "8Gi"
		}
		capacity := corev1.ResourceList{
			corev1.ResourceCPU:    resource.MustParse(cpu),
			corev1.ResourceMemory: resource.MustParse(mem),
			corev1.ResourcePods:   resource.MustParse("110"),
			// OpenMCP's scheduler counts a node only when it reports
			// ephemeral storage beside cpu and memory.
			corev1.ResourceEphemeralStorage: resource.MustParse("100Gi"),
		}
		ready := corev1.ConditionFalse
		if n.Ready {
			ready = corev1.ConditionTrue
		}
		now := metav1.Now()
		created.Status = corev1.NodeStatus{
			Capacity:    capacity,
			Allocatable: capacity,
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: ready, Reason: "SandboxNode",
				LastHeartbeatTime: now, LastTransitionTime: now,
			}},
			NodeInfo: corev1.NodeSystemInfo{KubeletVersion: "v1.37.2", OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "none://sandbox"},
		}
		if n.InternalIP != "" {
			created.Status.Addresses = append(created.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeInternalIP, Address: n.InternalIP})
		}
		if n.ExternalIP != "" {
			created.Status.Addresses = append(created.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeExternalIP, Address: n.ExternalIP})
		}
		created.Status.Addresses = append(created.Status.Addresses, corev1.NodeAddress{Type: corev1.NodeHostName, Address: n.Name})
		status := created.Status
		// The controller manager annotates new nodes at once, and kwok (with
		// Pods) initializes them: retry on their conflicts, patiently.
		patient := wait.Backoff{Steps: 40, Duration: 20 * time.Millisecond, Factor: 1.3, Cap: time.Second, Jitter: 0.2}
		err = retry.RetryOnConflict(patient, func() error {
			cur, err := c.Client.CoreV1().Nodes().Get(ctx, n.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur.Status = status
			_, err = c.Client.CoreV1().Nodes().UpdateStatus(ctx, cur, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			return fmt.Errorf("node %s status: %w", n.Name, err)
		}
	}
	return nil
}
