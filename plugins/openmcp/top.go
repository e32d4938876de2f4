package openmcp

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// The metrics API (metrics-server's) that `kubectl top` reads.
var (
	nodeMetricsGVR = schema.GroupVersionResource{Group: "metrics.k8s.io", Version: "v1beta1", Resource: "nodes"}
	podMetricsGVR  = schema.GroupVersionResource{Group: "metrics.k8s.io", Version: "v1beta1", Resource: "pods"}
)

// Rows of the totals: uppercase, so no node or pod (DNS names) is called so.
const (
	topTotalName    = "TOTAL"
	topTotalCluster = "ALL"
)

// TopOptions are the options of `kubectl openmcp top nodes|pods`.
type TopOptions struct {
	Pods          bool // pods, else nodes
	Name          string
	LabelSelector string
	AllNamespaces bool
	SortBy        string
	Sum           bool
	NoHeaders     bool

	Selection *fleet.SelectionFlags
	FanOut    *fleet.FanOutFlags

	root      *cli.Root
	cmd       *cobra.Command
	fleet     *fleet.Fleet
	namespace string
	genericiooptions.IOStreams
}

// NewCmdTop is `kubectl openmcp top`.
func NewCmdTop(root *cli.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "top (nodes|pods) (--all-clusters | --clusters NAMES | --cluster-selector SELECTOR)",
		Short: "Show CPU and memory use of nodes or pods across member clusters",
		Long: `Show the CPU and memory use of the member clusters' nodes or pods, as
kubectl top does, in one table with a CLUSTER column. Each member must serve the
metrics API (metrics-server); a member that does not, or does not answer, is
named on stderr and the others are shown (exit code 1).`,
		Args: cli.NoArgs(),
	}
	cmd.AddCommand(newCmdTopKind(root, false), newCmdTopKind(root, true))
	return cmd
}

func newCmdTopKind(root *cli.Root, pods bool) *cobra.Command {
	o := &TopOptions{Pods: pods, root: root, IOStreams: root.Streams,
		Selection: fleet.NewSelectionFlags(false, false), FanOut: fleet.NewFanOutFlags()}
	use, aliases, what := "nodes [NAME]", []string{"node", "no"}, "nodes"
	example := `  # Nodes of every member, busiest CPU first, with totals per member and overall
  kubectl openmcp top nodes --all-clusters --sort-by cpu --sum

  # Nodes of the members in region AS
  kubectl openmcp top nodes -C topology.kubernetes.io/region=AS`
	if pods {
		use, aliases, what = "pods [NAME]", []string{"pod", "po"}, "pods"
		example = `  # Pods of app=web in namespace shop, in every member
  kubectl openmcp top pods -n shop -l app=web --all-clusters

  # Pods of all namespaces in two members, by memory, with totals
  kubectl openmcp top pods -A --clusters cluster1,cluster2 --sort-by memory --sum`
	}
	cmd := &cobra.Command{
		Use:     use,
		Aliases: aliases,
		Short:   "Show CPU and memory use of " + what + " across member clusters",
		Example: example,
		Args:    cobra.MaximumNArgs(1),
		RunE:    cli.Run(o),
	}
	o.Selection.AddFlags(cmd)
	o.FanOut.AddFlags(cmd.Flags())
	f := cmd.Flags()
	f.StringVarP(&o.LabelSelector, "selector", "l", "", "Selector (label query) to filter on, as kubectl -l")
	f.StringVar(&o.SortBy, "sort-by", "", "Sort all rows by this figure, largest first: cpu or memory (default: by cluster, then namespace and name)")
	f.BoolVar(&o.Sum, "sum", false, "Add a TOTAL row per member and an ALL TOTAL row")
	f.BoolVar(&o.NoHeaders, "no-headers", false, "Don't print headers")
	if pods {
		f.BoolVarP(&o.AllNamespaces, "all-namespaces", "A", false, "Pods of every namespace")
	}
	return cmd
}

// Complete reads the arguments and the namespace.
func (o *TopOptions) Complete(cmd *cobra.Command, args []string) error {
	if len(args) == 1 {
		o.Name = args[0]
	}
	if o.root.ConfigFlags.Namespace != nil {
		o.namespace = *o.root.ConfigFlags.Namespace
	}
	if o.namespace == "" {
		o.namespace = metav1.NamespaceDefault
	}
	o.cmd = cmd
	return nil
}

// Validate refuses bad flags before any request.
func (o *TopOptions) Validate() error {
	if err := validateFanOut(o.Selection, o.FanOut); err != nil {
		return err
	}
	if o.SortBy != "" && o.SortBy != "cpu" && o.SortBy != "memory" {
		return cli.Usagef("invalid --sort-by %q: use cpu or memory", o.SortBy)
	}
	if _, err := labels.Parse(o.LabelSelector); err != nil {
		return cli.Usagef("invalid --selector %q: %v", o.LabelSelector, err)
	}
	if o.Name != "" && o.LabelSelector != "" {
		return cli.Usagef("give a NAME or --selector, not both")
	}
	if o.Name != "" && o.AllNamespaces {
		return cli.Usagef("a pod NAME needs one namespace: -n NAMESPACE, not --all-namespaces")
	}
	return nil
}

// topRow is one node or pod of one member.
type topRow struct {
	Cluster, Namespace, Name string
	CPU, Memory              resource.Quantity
	// Allocatable, of nodes, for the percentages (zero if unknown).
	AllocCPU, AllocMemory resource.Quantity
	// NoMetrics marks a node the metrics API has no figures for.
	NoMetrics bool
}

// Run reads every selected member's metrics and prints one table.
func (o *TopOptions) Run(ctx context.Context) error {
	f, err := fleetFor(o.fleet, o.root, o.cmd, o.FanOut)
	if err != nil {
		return err
	}
	clusters, err := f.Select(ctx, o.Selection.Selection())
	if err != nil {
		return err
	}
	results := fleet.Each(ctx, f, clusters, func(ctx context.Context, c *fleet.Cluster) ([]topRow, error) {
		return o.read(ctx, c)
	})
	var rows []topRow
	failed, answered := 0, 0
	for _, r := range results {
		if r.Err != nil {
			failed++
			continue
		}
		answered++
		rows = append(rows, r.Value...)
	}
	if answered == 0 {
		return &cli.SilentError{Code: cli.ExitError}
	}
	if len(rows) == 0 {
		what := "nodes"
		if o.Pods {
			what = "pods in namespace " + o.namespace
			if o.AllNamespaces {
				what = "pods in any namespace"
			}
		}
		if o.Name != "" {
			what = o.Name + " in " + what
		}
		fmt.Fprintf(o.ErrOut, "No metrics of %s in the %d clusters that answered\n", what, answered)
	} else if err := o.print(o.Out, rows, clusters, results); err != nil {
		return err
	}
	if failed > 0 {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// read lists one member's metrics (and, for nodes, their allocatable).
func (o *TopOptions) read(ctx context.Context, c *fleet.Cluster) ([]topRow, error) {
	cl, err := c.Clients()
	if err != nil {
		return nil, err
	}
	gvr, ns := nodeMetricsGVR, ""
	if o.Pods {
		gvr, ns = podMetricsGVR, o.namespace
		if o.AllNamespaces {
			ns = metav1.NamespaceAll
		}
	}
	var items []unstructured.Unstructured
	if o.Name != "" {
		obj, err := cl.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, o.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) && metricsServed(ctx, cl) {
			if !o.Pods { // a node without figures yet, or none of that name here
				return o.joinNodes(ctx, cl, c.Name, nil)
			}
			return nil, nil // no such pod here
		}
		if err != nil {
			return nil, metricsError(err)
		}
		items = []unstructured.Unstructured{*obj}
	} else {
		list, err := cl.Dynamic.Resource(gvr).Namespace(ns).List(ctx, metav1.ListOptions{LabelSelector: o.LabelSelector})
		if err != nil {
			return nil, metricsError(err)
		}
		items = list.Items
	}
	rows := make([]topRow, 0, len(items))
	for _, it := range items {
		r := topRow{Cluster: c.Name, Namespace: it.GetNamespace(), Name: it.GetName()}
		if o.Pods {
			containers, _, _ := unstructured.NestedSlice(it.Object, "containers")
			for _, ct := range containers {
				m, _ := ct.(map[string]any)
				usage, _ := m["usage"].(map[string]any)
				addQuantity(&r.CPU, usage["cpu"])
				addQuantity(&r.Memory, usage["memory"])
			}
		} else {
			usage, _, _ := unstructured.NestedMap(it.Object, "usage")
			addQuantity(&r.CPU, usage["cpu"])
			addQuantity(&r.Memory, usage["memory"])
		}
		rows = append(rows, r)
	}
	if !o.Pods {
		return o.joinNodes(ctx, cl, c.Name, rows)
	}
	return rows, nil
}

// joinNodes adds each node's allocatable to its metrics, and lists the
// nodes that have none yet (metrics-server leaves out a node it could not
// scrape, or whose usage is zero) as kubectl top does: <unknown>.
func (o *TopOptions) joinNodes(ctx context.Context, cl *fleet.Clients, cluster string, rows []topRow) ([]topRow, error) {
	opts := metav1.ListOptions{LabelSelector: o.LabelSelector}
	if o.Name != "" {
		opts.FieldSelector = "metadata.name=" + o.Name
	}
	nodes, err := cl.Kube.CoreV1().Nodes().List(ctx, opts)
	if err != nil {
		return nil, err
	}
	byName := map[string]int{}
	for i, r := range rows {
		byName[r.Name] = i
	}
	for _, n := range nodes.Items {
		i, ok := byName[n.Name]
		if !ok {
			rows = append(rows, topRow{Cluster: cluster, Name: n.Name, NoMetrics: true})
			i = len(rows) - 1
		}
		rows[i].AllocCPU, rows[i].AllocMemory = n.Status.Allocatable.Cpu().DeepCopy(), n.Status.Allocatable.Memory().DeepCopy()
	}
	return rows, nil
}

// metricsServed says whether the member serves the metrics API at all.
func metricsServed(ctx context.Context, cl *fleet.Clients) bool {
	_, err := cl.Kube.Discovery().ServerResourcesForGroupVersion("metrics.k8s.io/v1beta1")
	return err == nil
}

// metricsError names what a user must do when a member has no metrics API.
func metricsError(err error) error {
	if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) || apierrors.IsServiceUnavailable(err) {
		return fmt.Errorf("metrics API not available (is metrics-server running?): %w", err)
	}
	return err
}

func addQuantity(sum *resource.Quantity, v any) {
	s, ok := v.(string)
	if !ok {
		return
	}
	if q, err := resource.ParseQuantity(s); err == nil {
		sum.Add(q)
	}
}

// sortTopRows orders rows by cluster, namespace and name, or by the --sort-by
// figure, largest first (ties by cluster, namespace and name).
func sortTopRows(rows []topRow, by string) {
	slices.SortStableFunc(rows, func(a, b topRow) int {
		switch by {
		case "cpu":
			if c := b.CPU.Cmp(a.CPU); c != 0 {
				return c
			}
		case "memory":
			if c := b.Memory.Cmp(a.Memory); c != 0 {
				return c
			}
		}
		if c := strings.Compare(a.Cluster, b.Cluster); c != 0 {
			return c
		}
		if c := strings.Compare(a.Namespace, b.Namespace); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
}

// topTotals are a TOTAL row per answering member (in the clusters' order)
// and the ALL TOTAL row.
func topTotals(rows []topRow, clusters []*fleet.Cluster, results []fleet.Result[[]topRow]) []topRow {
	all := topRow{Cluster: topTotalCluster, Name: topTotalName}
	var out []topRow
	for i, c := range clusters {
		if results[i].Err != nil {
			continue
		}
		t := topRow{Cluster: c.Name, Name: topTotalName}
		for _, r := range rows {
			if r.Cluster == c.Name && !r.NoMetrics {
				t.CPU.Add(r.CPU)
				t.Memory.Add(r.Memory)
				t.AllocCPU.Add(r.AllocCPU)
				t.AllocMemory.Add(r.AllocMemory)
			}
		}
		all.CPU.Add(t.CPU)
		all.Memory.Add(t.Memory)
		all.AllocCPU.Add(t.AllocCPU)
		all.AllocMemory.Add(t.AllocMemory)
		out = append(out, t)
	}
	return append(out, all)
}

func (o *TopOptions) print(out io.Writer, rows []topRow, clusters []*fleet.Cluster, results []fleet.Result[[]topRow]) error {
	sortTopRows(rows, o.SortBy)
	if o.Sum {
		rows = append(rows, topTotals(rows, clusters, results)...)
	}
	w := tabwriter.NewWriter(out, 0, 8, 3, ' ', 0)
	if !o.NoHeaders {
		switch {
		case !o.Pods:
			fmt.Fprintln(w, "CLUSTER\tNAME\tCPU(cores)\tCPU(%)\tMEMORY(bytes)\tMEMORY(%)")
		case o.AllNamespaces:
			fmt.Fprintln(w, "CLUSTER\tNAMESPACE\tNAME\tCPU(cores)\tMEMORY(bytes)")
		default:
			fmt.Fprintln(w, "CLUSTER\tNAME\tCPU(cores)\tMEMORY(bytes)")
		}
	}
	for _, r := range rows {
		cells := []string{termsafe.Cell(r.Cluster)}
		if o.Pods && o.AllNamespaces {
			cells = append(cells, termsafe.Cell(r.Namespace))
		}
		cells = append(cells, termsafe.Cell(r.Name))
		if r.NoMetrics {
			fmt.Fprintln(w, strings.Join(append(cells, "<unknown>", "<unknown>", "<unknown>", "<unknown>"), "\t"))
			continue
		}
		cells = append(cells, formatCPU(r.CPU))
		if !o.Pods {
			cells = append(cells, percent(r.CPU.MilliValue(), r.AllocCPU.MilliValue()))
		}
		cells = append(cells, formatMemory(r.Memory))
		if !o.Pods {
			cells = append(cells, percent(r.Memory.Value(), r.AllocMemory.Value()))
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	return w.Flush()
}

// formatCPU and formatMemory print figures as kubectl top does.
func formatCPU(q resource.Quantity) string { return fmt.Sprintf("%dm", q.MilliValue()) }

func formatMemory(q resource.Quantity) string { return fmt.Sprintf("%dMi", q.Value()/(1024*1024)) }

func percent(used, allocatable int64) string {
	if allocatable <= 0 {
		return "<unknown>"
	}
	return fmt.Sprintf("%d%%", used*100/allocatable)
}
