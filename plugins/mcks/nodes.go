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
	out      *output
	selector string

	client kubernetes.Interface
}

// NewCmdNodes builds `kubectl mcks nodes`.
func NewCmdNodes(root *cli.Root) *cobra.Command {
	o := &NodesOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "nodes [-l SELECTOR] [-o wide|json|yaml|name]",
		Short: "List nodes with their cloud provider, region and zone",
		Long: `List the cluster's nodes with the cloud provider (CSP), region and zone MCKS
labels them with (topology.cloud-barista.github.io/csp, topology.kubernetes.io/region
and topology.kubernetes.io/zone).

Two problems are reported as warnings on stderr: a node without a CSP label, and
node-IP drift, a node whose INTERNAL-IP is not one of its public addresses
(ExternalIP, or the public address canal or kilo recorded). MCKS runs every
kubelet with --node-ip=<public IP>; a VM that comes back from a reboot with a
new public IP keeps announcing the old one.`,
		Example: nodesExample,
		Args:    cli.NoArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(cmd, args); err != nil {
				return err
			}
			if err := o.Validate(); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	cmd.Flags().StringVarP(&o.selector, "selector", "l", "", "Label selector to filter nodes on (e.g. topology.cloud-barista.github.io/csp=gcp)")
	o.out = newOutput(cmd, true)
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
	if !o.out.Table() {
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("NodeList"))
		items := make([]runtime.Object, len(list.Items))
		for i := range list.Items {
			list.Items[i].SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
			items[i] = &list.Items[i]
		}
		return o.out.Print(o.streams.Out, list, items)
	}
	if len(list.Items) == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No nodes found.")
		return nil
	}
	header := []string{"NAME", "CSP", "REGION", "ZONE", "ROLE", "STATUS", "INTERNAL-IP", "AGE"}
	if o.out.Wide() {
		header = append(header, "PUBLIC-IP", "VERSION", "DRIFT")
	}
	t := newTable(o.streams.Out, header...)
	var warnings []string
	for i := range list.Items {
		n := &list.Items[i]
		topo := topology.NodeTopology(n)
		drift := topology.Drift(n)
		row := []string{n.Name, topo.CSP, topo.Region, topo.Zone, strings.Join(topology.Roles(n), ","), topology.Status(n), topology.InternalIP(n), age(n.CreationTimestamp.Time)}
		if o.out.Wide() {
			row = append(row, strings.Join(topology.PublicAddresses(n), ","), n.Status.NodeInfo.KubeletVersion, yesNo(drift != ""))
		}
		t.row(row...)
		if topo.CSP == "" {
			warnings = append(warnings, fmt.Sprintf("node %s has no %s label: MCKS did not provision it, or the label was removed (set it with kubectl mcks label %s --csp ...)", n.Name, topology.CSPLabel, n.Name))
		}
		if drift != "" {
			warnings = append(warnings, fmt.Sprintf("node %s: %s", n.Name, drift))
		}
	}
	if err := t.flush(); err != nil {
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
