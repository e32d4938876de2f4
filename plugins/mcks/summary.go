package mcks

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/kubectl/pkg/cmd/get"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const summaryExample = `  # Nodes and pods counted per cloud provider and region
  kubectl mcks summary

  # The same as YAML, for scripts
  kubectl mcks summary -o yaml

  # The busiest CSP and region last (the fields are those of -o json's groups)
  kubectl mcks summary --sort-by .pods`

// SummaryOptions are the options of `kubectl mcks summary`.
type SummaryOptions struct {
	root    *cli.Root
	streams genericiooptions.IOStreams
	output  string
	table   *listOutput

	client kubernetes.Interface
}

// NewCmdSummary builds `kubectl mcks summary`.
func NewCmdSummary(root *cli.Root) *cobra.Command {
	o := &SummaryOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "summary [-o json|yaml] [--no-headers] [--sort-by JSONPATH]",
		Short: "Count nodes and pods per cloud provider and region",
		Long: `Count the cluster's nodes (and how many are Ready) and the pods that occupy
them, in every namespace, per cloud provider (CSP) and region. Region names
repeat across clouds, so each row is a CSP and region pair; nodes without MCKS
labels come last as <none>. Finished pods (Succeeded, Failed) are not counted.`,
		Example: summaryExample,
		Args:    cli.NoArgs(),
		RunE:    cli.Run(o),
	}
	cmd.Flags().StringVarP(&o.output, "output", "o", "", "Output format. One of: (json, yaml).")
	// The table's flags, as kubectl get has them; -o json|yaml print the
	// counts as they are, not a list of objects.
	o.table = &listOutput{flags: get.NewGetPrintFlags()}
	cmd.Flags().BoolVar(o.table.flags.NoHeaders, "no-headers", false, "Don't print the table's header")
	cmd.Flags().StringVar(o.table.flags.HumanReadableFlags.SortBy, "sort-by", "", "Sort the table's rows by this JSONPath on a group as -o json shows it (e.g. .pods, .nodes, .readyNodes, .csp); numbers sort as numbers")
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
		return o.table.Validate()
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
	t := tableOf(col("CSP"), col("Region"), col("Zones"),
		metav1.TableColumnDefinition{Name: "Nodes", Type: "integer"}, metav1.TableColumnDefinition{Name: "Ready", Type: "integer"}, metav1.TableColumnDefinition{Name: "Pods", Type: "integer"})
	for i := range s.Groups {
		g := s.Groups[i]
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{orNone(g.CSP), orNone(g.Region), orNone(strings.Join(g.Zones, ",")), int64(g.Nodes), int64(g.Ready), int64(g.Pods)},
			Object: runtime.RawExtension{Object: &summaryRow{Group: g}},
		})
	}
	if err := o.table.PrintTable(o.streams.Out, t); err != nil {
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

// summaryRow is one group as the object of its table row, for --sort-by:
// its fields are those of -o json's groups.
type summaryRow struct {
	topology.Group
}

func (r *summaryRow) GetObjectKind() schema.ObjectKind { return schema.EmptyObjectKind }

func (r *summaryRow) DeepCopyObject() runtime.Object {
	c := *r
	c.Zones = append([]string(nil), r.Zones...)
	return &c
}
