package mcks

import (
	"context"
	"fmt"
	"strconv"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const podsExample = `  # Pods of the current namespace with the cloud, region and zone they run in
  kubectl mcks pods

  # Every namespace, only the pods of app=web
  kubectl mcks pods -A -l app=web

  # With pod IPs
  kubectl mcks pods -n prod -o wide`

// PodsOptions are the options of `kubectl mcks pods`.
type PodsOptions struct {
	root          *cli.Root
	streams       genericiooptions.IOStreams
	out           *listOutput
	selector      string
	allNamespaces bool

	namespace string
	client    kubernetes.Interface
}

// NewCmdPods builds `kubectl mcks pods`.
func NewCmdPods(root *cli.Root) *cobra.Command {
	o := &PodsOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "pods [-n NAMESPACE | -A] [-l SELECTOR] [-o wide|json|yaml|name] [--no-headers] [--sort-by JSONPATH]",
		Short: "List pods with the cloud provider, region and zone of their node",
		Long: `List pods with the node they run on and that node's cloud provider (CSP),
region and zone, so a multi-cloud placement can be checked at a glance.
Pods not scheduled yet show <none>.`,
		Example: podsExample,
		Args:    cli.NoArgs(),
		RunE:    cli.Run(o),
	}
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Label selector to filter pods on")
	cmd.Flags().BoolVarP(&o.allNamespaces, "all-namespaces", "A", false, "List pods of every namespace")
	o.out = newListOutput(cmd, true)
	return cmd
}

// Complete resolves the namespace and builds the client.
func (o *PodsOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.allNamespaces {
		o.out.WithNamespace()
	} else {
		if o.namespace, err = namespace(o.root); err != nil {
			return err
		}
	}
	o.client, err = kubeClient(o.root)
	return err
}

// Validate checks -o and the selector.
func (o *PodsOptions) Validate() error {
	if err := o.out.Validate(); err != nil {
		return err
	}
	return checkSelector(o.selector)
}

// Run lists pods and their nodes and prints them.
func (o *PodsOptions) Run(ctx context.Context) error {
	pods, err := o.client.CoreV1().Pods(o.namespace).List(ctx, metav1.ListOptions{LabelSelector: o.selector})
	if err != nil {
		return fmt.Errorf("cannot list pods: %w", err)
	}
	items := make([]runtime.Object, len(pods.Items))
	for i := range pods.Items {
		pods.Items[i].SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Pod"))
		items[i] = &pods.Items[i]
	}
	if !o.out.Table() {
		if err := o.out.Sort(items); err != nil {
			return err
		}
		sorted := &corev1.PodList{ListMeta: pods.ListMeta, Items: make([]corev1.Pod, len(items))}
		sorted.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("PodList"))
		for i, it := range items {
			sorted.Items[i] = *it.(*corev1.Pod)
		}
		return o.out.PrintObjects(o.streams.Out, sorted, items, false)
	}
	if len(pods.Items) == 0 {
		if o.allNamespaces {
			fmt.Fprintln(o.streams.ErrOut, "No pods found.")
		} else {
			termsafe.Fprintf(o.streams.ErrOut, "No pods found in %s namespace.\n", o.namespace)
		}
		return nil
	}
	topo, err := nodeTopologies(ctx, o.client)
	if apierrors.IsForbidden(err) {
		cli.Warnf(o.streams.ErrOut, "cannot list nodes (%v): CSP, REGION and ZONE are unknown", err)
		topo, err = map[string]topology.Topology{}, nil
	}
	if err != nil {
		return fmt.Errorf("cannot list nodes: %w", err)
	}

	// -A adds kubectl's NAMESPACE column, read from each row's pod.
	t := tableOf(col("Name"), col("Ready"), col("Status"), col("Restarts"), col("Node"), col("CSP"), col("Region"), col("Zone"), col("Age"), wideCol("IP"))
	for _, it := range items {
		p := it.(*corev1.Pod)
		tp, known := topo[p.Spec.NodeName]
		if p.Spec.NodeName != "" && !known {
			tp = topology.Topology{CSP: "<unknown>", Region: "<unknown>", Zone: "<unknown>"}
		}
		ready, total, restarts := containerCounts(p)
		addRow(t, p, p.Name, fmt.Sprintf("%d/%d", ready, total), podStatus(p), strconv.Itoa(restarts), p.Spec.NodeName, tp.CSP, tp.Region, tp.Zone, age(p.CreationTimestamp.Time), p.Status.PodIP)
	}
	return o.out.PrintTable(o.streams.Out, t)
}

// nodeTopologies maps node names to their topology.
func nodeTopologies(ctx context.Context, c kubernetes.Interface) (map[string]topology.Topology, error) {
	nodes, err := c.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	out := make(map[string]topology.Topology, len(nodes.Items))
	for i := range nodes.Items {
		out[nodes.Items[i].Name] = topology.NodeTopology(&nodes.Items[i])
	}
	return out, nil
}

func containerCounts(p *corev1.Pod) (ready, total, restarts int) {
	total = len(p.Spec.Containers)
	for _, s := range p.Status.ContainerStatuses {
		if s.Ready {
			ready++
		}
		restarts += int(s.RestartCount)
	}
	return ready, total, restarts
}

// podStatus is a short form of kubectl get pods' STATUS column.
func podStatus(p *corev1.Pod) string {
	if p.DeletionTimestamp != nil {
		return "Terminating"
	}
	status := string(p.Status.Phase)
	if p.Status.Reason != "" {
		status = p.Status.Reason
	}
	for _, s := range p.Status.InitContainerStatuses {
		if s.State.Waiting != nil && s.State.Waiting.Reason != "" && s.State.Waiting.Reason != "PodInitializing" {
			return "Init:" + s.State.Waiting.Reason
		}
	}
	for _, s := range p.Status.ContainerStatuses {
		switch {
		case s.State.Waiting != nil && s.State.Waiting.Reason != "":
			status = s.State.Waiting.Reason
		case s.State.Terminated != nil && s.State.Terminated.Reason != "":
			status = s.State.Terminated.Reason
		}
	}
	if status == "" {
		status = "Unknown"
	}
	return status
}
