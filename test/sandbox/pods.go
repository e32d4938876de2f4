package sandbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
)

// startPodRuntime makes a member's pods run: kube-scheduler binds them to
// nodes and kwok acts as the kubelet of every node, so nodes stay Ready and
// bound pods turn Running and Ready (no container is started).
func (f *Federation) startPodRuntime(ctx context.Context, c *Cluster) error {
	kubeconfig := filepath.Join(c.dir, "controller-manager.kubeconfig")
	var err error
	c.scheduler, err = startProcess(f.opts.BinDir, f.Dir, c.Name+"-kube-scheduler", "kube-scheduler", []string{
		"--kubeconfig=" + kubeconfig,
		"--leader-elect=false",
		// No serving port: nothing scrapes it here, and members would clash.
		"--secure-port=0",
	}, f.opts.Detached)
	if err != nil {
		return err
	}
	stages := filepath.Join(dataDir(), "kwok-stages.yaml")
	if _, err := os.Stat(stages); err != nil {
		return fmt.Errorf("kwok stages %s missing: run `make tools`", stages)
	}
	ports, err := freePorts(1)
	if err != nil {
		return err
	}
	c.KwokAddress = "127.0.0.1:" + strconv.Itoa(ports[0])
	config, extra := stages, []string(nil)
	if f.opts.Observability {
		// A configuration of its own, holding the stages too.
		if config, extra, err = f.observabilityKwok(ctx, c, stages, ports[0]); err != nil {
			return err
		}
	}
	c.kwok, err = startProcess(f.opts.BinDir, f.Dir, c.Name+"-kwok", "kwok", append([]string{
		"--kubeconfig=" + kubeconfig,
		"--manage-all-nodes=true",
		"--config=" + config,
		"--server-address=" + c.KwokAddress,
		// kwok renews each node's lease, as a kubelet does, only when told how long.
		"--node-lease-duration-seconds=40",
	}, extra...), f.opts.Detached)
	return err
}

// WaitPodsRunnable waits until the member's scheduler and kwok answer: a
// node-less check would pass at once, so it waits for kwok to hold a lease
// for every node (its heartbeat), which shows it manages them.
func (c *Cluster) WaitPodsRunnable(ctx context.Context, timeout time.Duration) error {
	return wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, n := range nodes.Items {
			if _, err := c.Client.CoordinationV1().Leases("kube-node-lease").Get(ctx, n.Name, metav1.GetOptions{}); err != nil {
				return false, nil
			}
		}
		return true, nil
	})
}
