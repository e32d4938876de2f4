package openmcp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
	"strconv"
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

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// ClustersOptions are the options of `kubectl openmcp clusters`.
type ClustersOptions struct {
	PrintFlags *genericclioptions.PrintFlags
	NoHeaders  bool
	SortBy     string
	GroupBy    string
	Selection  *fleet.SelectionFlags
	FanOut     *fleet.FanOutFlags

	root  *cli.Root
	fleet *fleet.Fleet
	hostc *fleet.Clients
	genericiooptions.IOStreams
}

// NewCmdClusters is `kubectl openmcp clusters`.
func NewCmdClusters(root *cli.Root) *cobra.Command {
	o := &ClustersOptions{IOStreams: root.Streams, PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(nil), FanOut: fleet.NewFanOutFlags(), Selection: fleet.NewSelectionFlags(false, false), root: root}
	cmd := &cobra.Command{
		Use:     "clusters",
		Aliases: []string{"cluster", "members"},
		Short:   "List the member clusters with their health, region, zone and size",
		Long: `List the member clusters joined to the host: one row per KubeFedCluster with
KubeFed's Ready condition, the region and zone labels, the Kubernetes version,
and the node count read from each member in parallel through your contexts.
-o wide adds the platform and the members' CPU and memory capacity.

--group-by region|zone prints one row per region (or zone) instead: its
clusters, how many are Ready, and their nodes, CPU and memory, with a TOTAL
row. -C/--cluster-selector keeps the members whose KubeFedCluster labels
match; --sort-by orders rows by a column (name, nodes, cpu, ...).`,
		Example: `  kubectl openmcp clusters
  kubectl openmcp clusters -o wide --sort-by nodes
  kubectl openmcp clusters --group-by region
  kubectl openmcp clusters -C 'topology.kubernetes.io/region=AS'
  kubectl openmcp clusters -o name`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	o.PrintFlags.AddFlags(cmd)
	// Tables are ours: add wide to the formats -o accepts.
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (wide, json, yaml, name, jsonpath, go-template, ...)"
	cmd.Flags().BoolVar(&o.NoHeaders, "no-headers", false, "Don't print headers")
	cmd.Flags().StringVar(&o.SortBy, "sort-by", "", "Order the rows by this column (name, region, zone, nodes, cpu, memory, ...)")
	cmd.Flags().StringVar(&o.GroupBy, "group-by", "", "One row per region or zone, with totals: region or zone")
	_ = cmd.RegisterFlagCompletionFunc("group-by", cobra.FixedCompletions([]string{"region", "zone"}, cobra.ShellCompDirectiveNoFileComp))
	o.Selection.AddSelectorFlag(cmd, "Only the ")
	o.FanOut.AddFlags(cmd.Flags())
	return cmd
}

func (o *ClustersOptions) Complete(cmd *cobra.Command, _ []string) error {
	if err := o.Validate(); err != nil {
		return err
	}
	var err error
	o.fleet, o.hostc, err = openFleet(o.root, cmd, o.FanOut)
	return err
}

// Validate refuses bad flags before the host is looked for.
func (o *ClustersOptions) Validate() error {
	if err := o.FanOut.Validate(); err != nil {
		return err
	}
	if err := o.Selection.Validate(); err != nil {
		return err
	}
	if o.GroupBy != "" && o.GroupBy != "region" && o.GroupBy != "zone" {
		return cli.Usagef("invalid --group-by %q: allowed values are region, zone", o.GroupBy)
	}
	if o.GroupBy != "" && !o.tableFormat() {
		return cli.Usagef("--group-by prints a table: it does not combine with -o %s", outputFormat(o.PrintFlags))
	}
	if f := outputFormat(o.PrintFlags); f != "" && f != "wide" {
		if _, err := o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	return nil
}

func (o *ClustersOptions) tableFormat() bool {
	f := outputFormat(o.PrintFlags)
	return f == "" || f == "wide"
}

// memberFacts is what a member tells about itself.
type memberFacts struct {
	Nodes       int
	CPU, Memory resource.Quantity
	Version     string
}

func (o *ClustersOptions) Run(ctx context.Context) error {
	members, err := o.fleet.Members(ctx)
	if err != nil {
		return err
	}
	if sel := o.Selection.Selection(); sel.Selector != nil {
		members = fleet.MatchingMembers(members, sel.Selector)
	}
	if !o.tableFormat() {
		return o.printObjects(ctx, members)
	}
	var reachable []*fleet.Cluster
	for _, m := range members {
		if m.Context == "" {
			continue
		}
		c, err := o.fleet.Reach(ctx, m)
		if err != nil {
			return err
		}
		reachable = append(reachable, c)
	}
	answers := fleet.Each(ctx, o.fleet, reachable, func(ctx context.Context, c *fleet.Cluster) (memberFacts, error) {
		kube, err := c.Kube()
		if err != nil {
			return memberFacts{}, err
		}
		nodes, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
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
	facts := map[string]fleet.Result[memberFacts]{}
	for _, a := range answers {
		facts[a.Cluster] = a
	}
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
	for _, m := range members {
		f, reached := facts[m.Name]
		nodes, cpu, mem := "<unknown>", "<unknown>", "<unknown>"
		switch {
		case !reached:
			failed = true
			o.fleet.Warn(m.Name, errors.New("no kubeconfig context reaches it"))
		case f.Err != nil:
			failed = true // Each said why
		default:
			nodes, cpu, mem = fmt.Sprint(f.Value.Nodes), f.Value.CPU.String(), humanMemory(f.Value.Memory)
		}
		region, zone := regionZone(m)
		table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{
			m.Name, m.Ready(), orNone(region), orNone(zone), orNone(m.Cluster.Status.KubernetesVersion), nodes,
			m.Cluster.Spec.APIEndpoint, age(m.Cluster.CreationTimestamp), orNone(m.Cluster.Labels[fleet.PlatformLabel]), cpu, mem,
		}})
	}
	if o.GroupBy != "" {
		table = groupClusters(table, o.GroupBy)
	}
	out := printing.OutputOfGeneric(o.PrintFlags, o.NoHeaders, o.SortBy)
	if len(members) == 0 {
		termsafe.Fprintf(o.ErrOut, "No clusters joined to host %q (namespace %s).\n", o.fleet.Host.Context, o.fleet.Namespace)
	} else if err := out.PrintTable(o.Out, table); err != nil {
		return &cli.UsageError{Err: err}
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// printObjects prints the KubeFedClusters themselves (-o json|yaml|name|jsonpath).
func (o *ClustersOptions) printObjects(ctx context.Context, members []fleet.Member) error {
	list, err := o.hostc.Dynamic.Resource(fleet.KubeFedClusters).Namespace(o.fleet.Namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return err
	}
	list.Items = slices.DeleteFunc(list.Items, func(u unstructured.Unstructured) bool {
		return !slices.ContainsFunc(members, func(m fleet.Member) bool { return m.Name == u.GetName() })
	})
	printer, err := o.PrintFlags.ToPrinter()
	if err != nil {
		return err
	}
	if outputFormat(o.PrintFlags) == "name" {
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

// groupClusters folds the clusters' table into one row per region or zone:
// how many clusters, how many Ready, and their nodes, CPU and memory, with a
// TOTAL row. A cluster that did not answer counts in CLUSTERS only.
func groupClusters(t *metav1.Table, by string) *metav1.Table {
	col := map[string]int{"region": 2, "zone": 3}[by]
	type sums struct {
		clusters, ready, nodes int
		cpu, mem               resource.Quantity
	}
	groups := map[string]*sums{}
	var order []string
	total := &sums{}
	for _, r := range t.Rows {
		key := fmt.Sprint(r.Cells[col])
		g, ok := groups[key]
		if !ok {
			g = &sums{}
			groups[key] = g
			order = append(order, key)
		}
		for _, s := range []*sums{g, total} {
			s.clusters++
			if r.Cells[1] == "True" {
				s.ready++
			}
			if n, err := strconv.Atoi(fmt.Sprint(r.Cells[5])); err == nil {
				s.nodes += n
			}
			if q, err := resource.ParseQuantity(fmt.Sprint(r.Cells[9])); err == nil {
				s.cpu.Add(q)
			}
			if q, err := resource.ParseQuantity(fmt.Sprint(r.Cells[10])); err == nil {
				s.mem.Add(q)
			}
		}
	}
	sort.Strings(order)
	out := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: strings.ToUpper(by[:1]) + by[1:], Type: "string"},
		{Name: "Clusters", Type: "integer"},
		{Name: "Ready", Type: "integer"},
		{Name: "Nodes", Type: "integer"},
		{Name: "CPU", Type: "string"},
		{Name: "Memory", Type: "string"},
	}}
	row := func(name string, s *sums) metav1.TableRow {
		return metav1.TableRow{Cells: []any{name, s.clusters, s.ready, s.nodes, s.cpu.String(), humanMemory(s.mem)}}
	}
	for _, k := range order {
		out.Rows = append(out.Rows, row(k, groups[k]))
	}
	out.Rows = append(out.Rows, row("TOTAL", total))
	return out
}
