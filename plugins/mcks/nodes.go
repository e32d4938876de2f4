package mcks

import (
	"context"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
)

const nodesExample = `  # Nodes with their cloud provider, region and zone
  kubectl mcks nodes

  # Only the AWS nodes, with external addresses and the drift check
  kubectl mcks nodes -l topology.cloud-barista.github.io/csp=aws -o wide

  # The nodes as JSON, labels included
  kubectl mcks nodes -o json`

// NodesOptions are the options of `kubectl mcks nodes`.
type NodesOptions struct {
	root     *cli.Root
	streams  genericiooptions.IOStreams
	out      *listOutput
	selector string

	client kubernetes.Interface
}

// NewCmdNodes builds `kubectl mcks nodes`.
func NewCmdNodes(root *cli.Root) *cobra.Command {
	o := &NodesOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "nodes [-l SELECTOR] [-o wide|json|yaml|name] [--no-headers] [--sort-by JSONPATH]",
		Short: "List nodes with their cloud provider, region and zone",
		Long: `List the cluster's nodes with the cloud provider (CSP), region and zone MCKS
labels them with (topology.cloud-barista.github.io/csp, topology.kubernetes.io/region
and topology.kubernetes.io/zone).

Two problems are reported as warnings on stderr: a node without a CSP label, and
node-IP drift, a node whose INTERNAL-IP is not one of its public addresses
(ExternalIP, or the public address canal or kilo recorded). MCKS runs every
kubelet with --node-ip=<public IP>; a VM that comes back from a reboot with a
new public IP keeps announcing the old one.

These are the Kubernetes nodes, as kubectl get nodes lists them. The VMs behind
them, as the MCKS API keeps them, are listed by kubectl mcks machine list.`,
		Example: nodesExample,
		Args:    cli.NoArgs(),
		RunE:    cli.Run(o),
	}
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Label selector to filter nodes on (e.g. topology.cloud-barista.github.io/csp=gcp)")
	o.out = newListOutput(cmd, true)
	return cmd
}

// Complete builds the Kubernetes client.
func (o *NodesOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	o.client, err = kubeClient(o.root)
	return err
}

// Validate checks -o and the selector.
func (o *NodesOptions) Validate() error {
	if err := o.out.Validate(); err != nil {
		return err
	}
	return checkSelector(o.selector)
}

// Run lists and prints the nodes.
func (o *NodesOptions) Run(ctx context.Context) error {
	list, err := o.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.selector})
	if err != nil {
		return fmt.Errorf("cannot list nodes: %w", err)
	}
	items := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		list.Items[i].SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
		items[i] = &list.Items[i]
	}
	if !o.out.Table() {
		if err := o.out.Sort(items); err != nil {
			return err
		}
		sorted := &corev1.NodeList{ListMeta: list.ListMeta, Items: make([]corev1.Node, len(items))}
		sorted.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
		for i, it := range items {
			sorted.Items[i] = *it.(*corev1.Node)
		}
		return o.out.PrintObjects(o.streams.Out, sorted, items, false)
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No nodes found.")
		return nil
	}
	t := tableOf(col("Name"), col("CSP"), col("Region"), col("Zone"), col("Role"), col("Status"), col("Internal-IP"), col("Age"),
		wideCol("Public-IP"), wideCol("Version"), wideCol("Drift"))
	var warnings []string
	for _, it := range items {
		n := it.(*corev1.Node)
		topo := topology.NodeTopology(n)
		drift := topology.Drift(n)
		addRow(t, n, n.Name, topo.CSP, topo.Region, topo.Zone, strings.Join(topology.Roles(n), ","), topology.Status(n), topology.InternalIP(n), age(n.CreationTimestamp.Time),
			strings.Join(topology.PublicAddresses(n), ","), n.Status.NodeInfo.KubeletVersion, yesNo(drift != ""))
		if topo.CSP == "" {
			warnings = append(warnings, fmt.Sprintf("node %s has no %s label: MCKS did not provision it, or the label was removed (set it with kubectl mcks label %s --csp ...)", n.Name, topology.CSPLabel, n.Name))
		}
		if drift != "" {
			warnings = append(warnings, fmt.Sprintf("node %s: %s", n.Name, drift))
		}
	}
	if err := o.out.PrintTable(o.streams.Out, t); err != nil {
		return err
	}
	for _, w := range warnings {
		cli.Warnf(o.streams.ErrOut, "%s", w)
	}
	return nil
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}
