package mcks

import (
	"context"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const summaryExample = `  # Nodes and pods counted per cloud provider and region
  kubectl mcks summary

  # The same as YAML, for scripts
  kubectl mcks summary -o yaml`

// SummaryOptions are the options of `kubectl mcks summary`.
type SummaryOptions struct {
	root    *cli.Root
	streams genericiooptions.IOStreams
	output  string

	client kubernetes.Interface
}

// NewCmdSummary builds `kubectl mcks summary`.
func NewCmdSummary(root *cli.Root) *cobra.Command {
	o := &SummaryOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "summary [-o json|yaml]",
		Short: "Count nodes and pods per cloud provider and region",
		Long: `Count the cluster's nodes (and how many are Ready) and the pods that occupy
them, in every namespace, per cloud provider (CSP) and region. Region names
repeat across clouds, so each row is a CSP and region pair; nodes without MCKS
labels come last as <none>. Finished pods (Succeeded, Failed) are not counted.`,
		Example: summaryExample,
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
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml).")
	return cmd
}

// Complete builds the client.
func (o *SummaryOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	o.client, err = kubeClient(o.root)
	return err
}

// Validate checks -o.
func (o *SummaryOptions) Validate() error {
	switch o.output {
	case "", "json", "yaml":
		return nil
	}
	return cli.Usagef("invalid output format %q: allowed values are json, yaml", o.output)
}

// Run counts and prints.
func (o *SummaryOptions) Run(ctx context.Context) error {
	nodes, err := o.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cannot list nodes: %w", err)
	}
	pods, err := o.client.CoreV1().Pods(metav1.NamespaceAll).List(ctx, metav1.ListOptions{})
	if err != nil {
		return fmt.Errorf("cannot list pods: %w", err)
	}
	s := topology.Summarize(nodes.Items, pods.Items)
	switch o.output {
	case "json":
		data, err := json.MarshalIndent(s, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.streams.Out, string(data))
		return err
	case "yaml":
		data, err := yaml.Marshal(s)
		if err != nil {
			return err
		}
		_, err = o.streams.Out.Write(data)
		return err
	}
	if len(s.Groups) == 0 {
		fmt.Fprintln(o.streams.ErrOut, "No nodes found.")
		return nil
	}
	t := newTable(o.streams.Out, "CSP", "REGION", "ZONES", "NODES", "READY", "PODS")
	for _, g := range s.Groups {
		t.row(g.CSP, g.Region, strings.Join(g.Zones, ","), strconv.Itoa(g.Nodes), strconv.Itoa(g.Ready), strconv.Itoa(g.Pods))
	}
	if err := t.flush(); err != nil {
		return err
	}
	if s.UnscheduledPods > 0 {
		termsafe.Fprintf(o.streams.ErrOut, "%d pods are not scheduled on any node yet.\n", s.UnscheduledPods)
	}
	if s.UnknownNodePods > 0 {
		termsafe.Fprintf(o.streams.ErrOut, "%d pods run on nodes that no longer exist.\n", s.UnknownNodePods)
	}
	return nil
}
