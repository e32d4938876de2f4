package openmcp

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// LabelOptions are the options of `kubectl openmcp label`.
type LabelOptions struct {
	Clusters     []string
	Region, Zone string
	Nodes        string
	Overwrite    bool
	AllowAny     bool
	List         bool
	NoHeaders    bool
	Selection    *fleet.SelectionFlags
	FanOut       *fleet.FanOutFlags
	DryRun       write.DryRun
	PrintFlags   *genericclioptions.PrintFlags

	root  *cli.Root
	cmd   *cobra.Command
	fleet *fleet.Fleet // made in Run, so a bad command line is reported before a missing host context
	genericiooptions.IOStreams
}

// NewCmdLabel is `kubectl openmcp label`.
func NewCmdLabel(root *cli.Root) *cobra.Command {
	o := &LabelOptions{
		IOStreams:  root.Streams,
		PrintFlags: genericclioptions.NewPrintFlags("labeled").WithTypeSetter(scheme.Scheme),
		Nodes:      topology.NodesAll,
		Selection:  fleet.NewSelectionFlags(false, false),
		FanOut:     fleet.NewFanOutFlags(),
		root:       root,
	}
	cmd := &cobra.Command{
		Use:   "label CLUSTER --region REGION --zone ZONE | label [CLUSTER...] --list",
		Short: "Set a member's region and zone on its nodes and its KubeFedCluster",
		Long: `Set a member cluster's region and zone, where OpenMCP's scheduler and KubeFed's
placement both look for them.

The labels topology.kubernetes.io/region|zone and the deprecated
failure-domain.beta.kubernetes.io/region|zone (still read by OpenMCP and by
KubeFed's cluster controller) are written on every node of the member
(--nodes control-plane for the control-plane nodes only, or a label selector),
and the same four labels on the cluster's KubeFedCluster on the host. Every
node is the default because managed members (GKE, EKS, AKS) show no
control-plane node, cloud providers put these labels on every node, and
OpenMCP's scheduler matches a workload's region/zone affinity against the
labels of any node. When the host serves OpenMCP's CRDs, the member's
OpenMCPCluster (spec.nodeInfo) is kept in step.

REGION is a continent code: AF Africa, AN Antarctica, AS Asia, EU Europe,
NA North America, OC Oceania, SA South America. ZONE is an assigned ISO 3166-1
alpha-2 country code (KR, JP, DE, US, ...). Lower case is accepted.
--allow-any accepts any valid label value instead, for a scheme of your own.

Everything is checked before anything is written: an unknown code, or a label
that already holds another value (without --overwrite, as kubectl label),
changes nothing on any cluster. CLUSTER is a member joined to the host; a
kubeconfig context that is not joined yet gets its nodes labelled only.

--list shows every node's region and zone per cluster (all members when no
CLUSTER is given) and flags nodes whose GA and beta labels disagree.`,
		Example: `  # Seoul: Asia, Korea, on every node and the KubeFedCluster
  kubectl openmcp label cluster1 --region AS --zone KR

  # The control-plane nodes only, changing labels that are already set
  kubectl openmcp label cluster2 --region eu --zone de --nodes control-plane --overwrite

  # Only the nodes of one pool; show the result without writing it
  kubectl openmcp label cluster2 --zone JP --nodes pool=edge --dry-run=client -o yaml

  # Region and zone of every node of every member
  kubectl openmcp label --list`,
		ValidArgsFunction: completeContexts(root),
		RunE:              cli.Run(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.Region, "region", "", "Continent code: AF, AN, AS, EU, NA, OC or SA")
	f.StringVar(&o.Zone, "zone", "", "ISO 3166-1 alpha-2 country code, e.g. KR")
	f.StringVar(&o.Nodes, "nodes", o.Nodes, "Nodes to label: all (the default), control-plane (role control-plane or master), or a label selector")
	f.BoolVar(&o.Overwrite, "overwrite", false, "Change region and zone labels that already hold other values")
	f.BoolVar(&o.AllowAny, "allow-any", false, "Accept any label value, not only continent and country codes")
	f.BoolVar(&o.List, "list", false, "Show the region and zone of every node instead of setting them")
	f.BoolVar(&o.NoHeaders, "no-headers", false, "With --list: don't print headers")
	o.Selection.AddSelectorFlag(cmd, "With --list: ")
	o.FanOut.AddFlags(f)
	_ = cmd.RegisterFlagCompletionFunc("region", cobra.FixedCompletions(topology.Regions(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("zone", cobra.FixedCompletions(topology.Zones(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("nodes", cobra.FixedCompletions([]string{topology.NodesControlPlane, topology.NodesAll}, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (json, yaml, name, go-template, jsonpath, ...); with --list also wide"
	return cmd
}

// Complete reads flags that need parsing and finds the host.
func (o *LabelOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Clusters, o.cmd = args, cmd
	var err error
	if o.DryRun, err = cli.GetDryRun(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	return nil
}

// Validate checks the command line before any cluster is asked.
func (o *LabelOptions) Validate() error {
	if err := o.FanOut.Validate(); err != nil {
		return err
	}
	if err := o.Selection.Validate(); err != nil {
		return err
	}
	format := outputFormat(o.PrintFlags)
	if o.List {
		if len(o.Clusters) > 0 && o.Selection.Selector != "" {
			return cli.Usagef("give CLUSTER names or --cluster-selector, not both")
		}
		return validateListMode(o.cmd, format, "region", "zone", "nodes", "overwrite", "allow-any", "dry-run")
	}
	if o.Selection.Selector != "" {
		return cli.Usagef("--cluster-selector chooses the clusters of --list; label names one CLUSTER")
	}
	if len(o.Clusters) != 1 {
		return cli.Usagef("give exactly one CLUSTER to label (got %d), or --list to show the labels", len(o.Clusters))
	}
	if o.Region == "" && o.Zone == "" {
		return cli.Usagef("nothing to set: give --region, --zone or both (or --list to show the labels)")
	}
	if _, _, err := topology.ParseRegionZone(o.Region, o.Zone, o.AllowAny); err != nil {
		var ce *topology.CodeError
		if errors.As(err, &ce) && !o.AllowAny {
			return cli.Usagef("%v (--allow-any accepts a scheme of your own)", err)
		}
		return &cli.UsageError{Err: err}
	}
	if _, _, err := topology.ParseNodes(o.Nodes); err != nil {
		return &cli.UsageError{Err: err}
	}
	return validateWriteFormat(format, o.PrintFlags)
}

// Run labels one cluster, or lists every node's labels with --list.
func (o *LabelOptions) Run(ctx context.Context) error {
	var err error
	if o.fleet, err = fleetFor(o.fleet, o.root, o.cmd, o.FanOut); err != nil {
		return err
	}
	if o.List {
		return o.RunList(ctx)
	}
	m, err := o.fleet.Cluster(ctx, o.Clusters[0])
	if err != nil {
		return err
	}
	member, err := m.Kube()
	if err != nil {
		return err
	}
	host, err := hostClients(o.fleet)
	if err != nil {
		return err
	}
	opts := topology.Options{
		Region: o.Region, Zone: o.Zone, Nodes: o.Nodes,
		Overwrite: o.Overwrite, AllowAny: o.AllowAny,
		DryRun: o.DryRun, FieldManager: write.FieldManager,
	}
	hostDyn := host.Dynamic
	if m.Member == nil {
		hostDyn = nil
		cli.Warnf(o.ErrOut, "cluster %s is not joined to host %q: labelling its nodes only, no KubeFedCluster labels", m.Name, o.fleet.Host.Context)
	}
	res, err := topology.Apply(ctx, member, hostDyn, o.fleet.Namespace, m.Name, opts)
	if err != nil {
		var ce *topology.ConflictError
		if errors.As(err, &ce) {
			return fmt.Errorf("cluster %s: %w; nothing was changed", m.Name, err)
		}
		return fmt.Errorf("cluster %s: %w", m.Name, err)
	}
	// OpenMCP's own record of the member keeps the same region and zone; a
	// client dry run, as kubectl's, sends no write at all.
	if m.Member != nil && o.DryRun != write.DryRunClient {
		rec := openmcpapi.ClusterRecord{Region: o.Region, Zone: o.Zone}
		if _, err := openmcpapi.UpdateClusterRecord(ctx, hostDyn, m.Name, rec, o.DryRun == write.DryRunServer); err != nil {
			cli.Warnf(o.ErrOut, "cluster %s: nodes labelled, but %v", m.Name, err)
		}
	}
	return o.print(m.Name, res)
}

// listSelection is what --list reads: the clusters named (members or
// contexts), else the members the selector matches, else every member.
func (o *LabelOptions) listSelection() fleet.Selection {
	sel := o.Selection.Selection()
	sel.Names, sel.Contexts = o.Clusters, true
	sel.All = len(o.Clusters) == 0 && sel.Selector == nil
	return sel
}

func (o *LabelOptions) print(cluster string, res topology.Result) error {
	changes := res.Changes()
	format := outputFormat(o.PrintFlags)
	if format == "json" || format == "yaml" {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
		for _, c := range changes {
			u, err := asUnstructured(c.Object)
			if err != nil {
				return err
			}
			if c.Kind == "Node" {
				withClusterAnnotation(u, cluster)
			}
			list.Items = append(list.Items, *u)
		}
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		return p.PrintObj(list, o.Out)
	}
	for _, c := range changes {
		op := "labeled"
		if !c.Changed() {
			op = "not labeled"
		}
		p, err := printerFor(o.PrintFlags, op, o.DryRun)
		if err != nil {
			return err
		}
		if err := p.PrintObj(c.Object, o.Out); err != nil {
			return err
		}
	}
	return nil
}

// RunList prints the region and zone of every node of the chosen clusters.
func (o *LabelOptions) RunList(ctx context.Context) error {
	clusters, err := o.fleet.Select(ctx, o.listSelection())
	if err != nil {
		return err
	}
	type answer struct {
		topo  []topology.NodeTopology
		nodes []corev1.Node
	}
	results := fleet.Each(ctx, o.fleet, clusters, func(ctx context.Context, c *fleet.Cluster) (answer, error) {
		kube, err := c.Kube()
		if err != nil {
			return answer{}, err
		}
		list, err := kube.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return answer{}, fmt.Errorf("cannot list nodes: %w", err)
		}
		a := answer{nodes: list.Items}
		for _, n := range list.Items {
			a.topo = append(a.topo, topology.NodeTopologyOf(n))
		}
		return a, nil
	})
	failed := false
	out := listOutput(o.PrintFlags, o.NoHeaders)
	if out.Structured() {
		var parts []printing.ClusterObjects
		for _, r := range results {
			if r.Err != nil {
				failed = true
				continue
			}
			part := printing.ClusterObjects{Cluster: r.Cluster}
			for i := range r.Value.nodes {
				n := &r.Value.nodes[i]
				n.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
				u, err := asUnstructured(n)
				if err != nil {
					return err
				}
				part.Items = append(part.Items, u)
			}
			parts = append(parts, part)
		}
		if err := out.PrintList(o.Out, parts, failuresOf(o.fleet, results)); err != nil {
			return err
		}
	} else {
		table := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
			{Name: "Cluster", Type: "string"},
			{Name: "Node", Type: "string"},
			{Name: "Roles", Type: "string"},
			{Name: "Region", Type: "string"},
			{Name: "Zone", Type: "string"},
			{Name: "Labels", Type: "string", Description: "ok when the GA and beta labels agree"},
			{Name: "KubeFedCluster", Type: "string", Priority: 1, Description: "region/zone labels of the cluster's KubeFedCluster"},
		}}
		disagree := 0
		for i, r := range results {
			if r.Err != nil {
				failed = true
				continue
			}
			kfc := "<not joined>"
			if m := clusters[i].Member; m != nil {
				kfc = orNone(m.Cluster.Labels[topology.RegionLabel]) + "/" + orNone(m.Cluster.Labels[topology.ZoneLabel])
			}
			for _, t := range r.Value.topo {
				check := "ok"
				if mm := t.Mismatches(); len(mm) > 0 {
					check = strings.Join(mm, ", ")
					disagree++
				}
				roles := strings.Join(t.Roles, ",")
				table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{r.Cluster, t.Node, orNone(roles), orNone(t.Region), orNone(t.Zone), check, kfc}})
			}
		}
		if len(table.Rows) > 0 {
			if err := out.PrintTable(o.Out, table); err != nil {
				return err
			}
		}
		if disagree > 0 {
			cli.Warnf(o.ErrOut, "%d node(s) have GA and beta region/zone labels that disagree; `kubectl openmcp label CLUSTER --region R --zone Z --nodes all --overwrite` writes both", disagree)
		}
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}
