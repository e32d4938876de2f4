package openmcp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// ClustersOptions are the options of `kubectl openmcp clusters`.
type ClustersOptions struct {
	PrintFlags     *genericclioptions.PrintFlags
	NoHeaders      bool
	MaxParallel    int
	ClusterTimeout time.Duration

	kc   *fleet.Kubeconfig
	host *hostTarget
	genericiooptions.IOStreams
}

// NewCmdClusters is `kubectl openmcp clusters`.
func NewCmdClusters(root *cli.Root) *cobra.Command {
	o := &ClustersOptions{IOStreams: root.Streams, PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(nil), MaxParallel: 16, ClusterTimeout: 10 * time.Second}
	cmd := &cobra.Command{
		Use:     "clusters",
		Aliases: []string{"cluster", "members"},
		Short:   "List the member clusters with their health, region, zone and size",
		Long: `List the member clusters joined to the host: one row per KubeFedCluster with
KubeFed's Ready condition, the region and zone labels, the Kubernetes version,
and the node count read from each member in parallel through your contexts.
-o wide adds the platform and the members' CPU and memory capacity.`,
		Example: `  kubectl openmcp clusters
  kubectl openmcp clusters -o wide
  kubectl openmcp clusters -o name`,
		Args: cli.NoArgs(),
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(root, cmd); err != nil {
				return err
			}
			return o.Run(cmd.Context())
		},
	}
	o.PrintFlags.AddFlags(cmd)
	// Tables are ours: add wide to the formats -o accepts.
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, go-template, ...)"
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Don't print headers")
	cmd.Flags().IntVar(&o.MaxParallel, "max-parallel", o.MaxParallel, "Members asked at the same time")
	cmd.Flags().DurationVar(&o.ClusterTimeout, "cluster-timeout", o.ClusterTimeout, "Give up on a member that has not answered within this time")
	return cmd
}

func (o *ClustersOptions) Complete(root *cli.Root, cmd *cobra.Command) error {
	if err := checkFanOut(o.MaxParallel, o.ClusterTimeout); err != nil {
		return err
	}
	if f := o.format(); f != "" && f != "wide" {
		if _, err := o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	o.kc = fleet.NewKubeconfig(root.ConfigFlags)
	var err error
	o.host, err = resolveHost(cmd, o.kc)
	return err
}

func (o *ClustersOptions) format() string {
	if o.PrintFlags.OutputFormat == nil {
		return ""
	}
	return *o.PrintFlags.OutputFormat
}

// memberFacts is what a member tells about itself.
type memberFacts struct {
	Nodes       int
	CPU, Memory resource.Quantity
	Version     string
}

func (o *ClustersOptions) Run(ctx context.Context) error {
	members, err := fleet.ListMembers(ctx, o.host.Cluster.Dynamic, o.host.Namespace, o.kc)
	if err != nil {
		return err
	}
	if f := o.format(); f != "" && f != "wide" {
		return o.printObjects(ctx)
	}
	names := make([]string, len(members))
	byName := map[string]fleet.Member{}
	for i, m := range members {
		names[i] = m.Name
		byName[m.Name] = m
	}
	warnInsecureMembers(o.ErrOut, o.kc, members)
	facts := fleet.FanOut(ctx, names, o.MaxParallel, o.ClusterTimeout, func(ctx context.Context, name string) (memberFacts, error) {
		m := byName[name]
		if m.Context == "" {
			return memberFacts{}, fmt.Errorf("no kubeconfig context reaches it")
		}
		c, err := connect(o.kc, m.Context)
		if err != nil {
			return memberFacts{}, err
		}
		nodes, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return memberFacts{}, err
		}
		f := memberFacts{Nodes: len(nodes.Items)}
		for _, n := range nodes.Items {
			f.CPU.Add(n.Status.Capacity[corev1.ResourceCPU])
			f.Memory.Add(n.Status.Capacity[corev1.ResourceMemory])
		}
		return f, nil
	})
	table := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string"},
		{Name: "Ready", Type: "string"},
		{Name: "Region", Type: "string"},
		{Name: "Zone", Type: "string"},
		{Name: "Kubernetes Version", Type: "string"},
		{Name: "Nodes", Type: "string"},
		{Name: "Endpoint", Type: "string"},
		{Name: "Age", Type: "string"},
		{Name: "Platform", Type: "string", Priority: 1},
		{Name: "CPU", Type: "string", Priority: 1},
		{Name: "Memory", Type: "string", Priority: 1},
	}}
	failed := false
	for i, m := range members {
		f := facts[i]
		nodes, cpu, mem := "<unknown>", "<unknown>", "<unknown>"
		if f.Err != nil {
			failed = true
			warnCluster(o.ErrOut, m.Name, f.Err, o.ClusterTimeout)
		} else {
			nodes, cpu, mem = fmt.Sprint(f.Value.Nodes), f.Value.CPU.String(), humanMemory(f.Value.Memory)
		}
		region, zone := regionZone(m)
		table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{
			m.Name, m.Ready(), orNone(region), orNone(zone), orNone(m.Cluster.Status.KubernetesVersion), nodes,
			m.Cluster.Spec.APIEndpoint, age(m.Cluster.CreationTimestamp), orNone(m.Cluster.Labels[fleet.PlatformLabel]), cpu, mem,
		}})
	}
	if len(members) == 0 {
		termsafe.Fprintf(o.ErrOut, "No clusters joined to host %q (namespace %s).\n", o.host.Context, o.host.Namespace)
	} else {
		termsafe.Table(table) // endpoints, versions and labels are the KubeFedClusters' word
		p := printers.NewTablePrinter(printers.PrintOptions{Wide: o.format() == "wide", NoHeaders: o.NoHeaders})
		if err := p.PrintObj(table, o.Out); err != nil {
			return err
		}
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// printObjects prints the KubeFedClusters themselves (-o json|yaml|name|jsonpath).
func (o *ClustersOptions) printObjects(ctx context.Context) error {
	list, err := o.host.Cluster.Dynamic.Resource(fleet.KubeFedClusters).Namespace(o.host.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	if o.format() == "name" {
		for i := range list.Items {
			if err := printer.PrintObj(&list.Items[i], o.Out); err != nil {
				return err
			}
		}
		return nil
	}
	out := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
	out.Items = list.Items
	var obj runtime.Object = out
	return printer.PrintObj(obj, o.Out)
}

// regionZone reads the labels join/label set, then what KubeFed saw on the nodes.
func regionZone(m fleet.Member) (string, string) {
	l := m.Cluster.Labels
	region := firstNonEmpty(l[fleet.RegionLabel], l[corev1.LabelFailureDomainBetaRegion])
	zone := firstNonEmpty(l[fleet.ZoneLabel], l[corev1.LabelFailureDomainBetaZone])
	if region == "" && m.Cluster.Status.Region != nil {
		region = *m.Cluster.Status.Region
	}
	if zone == "" {
		zone = strings.Join(m.Cluster.Status.Zones, ",")
	}
	return region, zone
}

func firstNonEmpty(s ...string) string {
	for _, v := range s {
		if v != "" {
			return v
		}
	}
	return ""
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func age(t metav1.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(time.Since(t.Time))
}

func humanMemory(q resource.Quantity) string {
	gi := float64(q.Value()) / (1 << 30)
	return fmt.Sprintf("%.1fGi", gi)
}
