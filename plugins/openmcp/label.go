package openmcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/kubernetes/scheme"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/federation"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// LabelOptions are the options of `kubectl openmcp label`.
type LabelOptions struct {
	Clusters       []string
	Region, Zone   string
	Nodes          string
	Overwrite      bool
	AllowAny       bool
	List           bool
	NoHeaders      bool
	MaxParallel    int
	ClusterTimeout time.Duration
	DryRun         write.DryRun
	PrintFlags     *genericclioptions.PrintFlags

	kc *fleet.Kubeconfig
	// findHost resolves the host late, so a bad command line is reported
	// before a missing host context.
	findHost func() (*hostTarget, error)
	host     *hostTarget
	genericiooptions.IOStreams
}

// NewCmdLabel is `kubectl openmcp label`.
func NewCmdLabel(root *cli.Root) *cobra.Command {
	o := &LabelOptions{
		IOStreams:      root.Streams,
		PrintFlags:     genericclioptions.NewPrintFlags("labeled").WithTypeSetter(scheme.Scheme),
		Nodes:          topology.NodesAll,
		MaxParallel:    16,
		ClusterTimeout: 10 * time.Second,
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
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := o.Complete(root, cmd, args); err != nil {
				return err
			}
			if err := o.Validate(cmd); err != nil {
				return err
			}
			if o.List {
				return o.RunList(cmd.Context())
			}
			return o.Run(cmd.Context())
		},
	}
	f := cmd.Flags()
	f.StringVar(&o.Region, "region", "", "Continent code: AF, AN, AS, EU, NA, OC or SA")
	f.StringVar(&o.Zone, "zone", "", "ISO 3166-1 alpha-2 country code, e.g. KR")
	f.StringVar(&o.Nodes, "nodes", o.Nodes, "Nodes to label: all (the default), control-plane (role control-plane or master), or a label selector")
	f.BoolVar(&o.Overwrite, "overwrite", false, "Change region and zone labels that already hold other values")
	f.BoolVar(&o.AllowAny, "allow-any", false, "Accept any label value, not only continent and country codes")
	f.BoolVar(&o.List, "list", false, "Show the region and zone of every node instead of setting them")
	f.BoolVar(&o.NoHeaders, "no-headers", false, "With --list: don't print headers")
	f.IntVar(&o.MaxParallel, "max-parallel", o.MaxParallel, "With --list: clusters read at the same time")
	f.DurationVar(&o.ClusterTimeout, "cluster-timeout", o.ClusterTimeout, "With --list: give up on a cluster that has not answered within this time")
	_ = cmd.RegisterFlagCompletionFunc("region", cobra.FixedCompletions(topology.Regions(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("zone", cobra.FixedCompletions(topology.Zones(), cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("nodes", cobra.FixedCompletions([]string{topology.NodesControlPlane, topology.NodesAll}, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (json, yaml, name, go-template, jsonpath, ...); with --list also wide"
	return cmd
}

// Complete reads flags that need parsing and finds the host.
func (o *LabelOptions) Complete(root *cli.Root, cmd *cobra.Command, args []string) error {
	o.Clusters = args
	var err error
	if o.DryRun, err = cli.GetDryRun(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	o.kc = fleet.NewKubeconfig(root.ConfigFlags)
	o.findHost = func() (*hostTarget, error) { return resolveHost(cmd, o.kc) }
	return nil
}

// Validate checks the command line before any cluster is asked.
func (o *LabelOptions) Validate(cmd *cobra.Command) error {
	if err := checkFanOut(o.MaxParallel, o.ClusterTimeout); err != nil {
		return err
	}
	format := labelOutputFormat(o.PrintFlags)
	if o.List {
		return validateListMode(cmd, format, "region", "zone", "nodes", "overwrite", "allow-any", "dry-run")
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

// validateListMode refuses, with --list, the flags that only a write takes
// and the formats a list does not print.
func validateListMode(cmd *cobra.Command, format string, writeFlags ...string) error {
	for _, f := range writeFlags {
		if cli.FlagSetHas(cmd.Flags(), f) {
			return cli.Usagef("--list only reads: it cannot be combined with --%s", f)
		}
	}
	if format != "" && format != "wide" && format != "json" && format != "yaml" {
		return cli.Usagef("invalid -o %q with --list: allowed values are wide, json, yaml", format)
	}
	return nil
}

// validateWriteFormat checks -o for a write, which prints the written objects.
func validateWriteFormat(format string, p *genericclioptions.PrintFlags) error {
	if format == "wide" {
		return cli.Usagef("-o wide is a --list format")
	}
	if format != "" {
		if _, err := p.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	return nil
}

func labelOutputFormat(p *genericclioptions.PrintFlags) string {
	if p.OutputFormat == nil {
		return ""
	}
	return *p.OutputFormat
}

// clusterArg is the cluster a command writes to.
type clusterArg struct {
	Name    string
	Cluster *federation.Cluster
	// Joined is false for a kubeconfig context the host does not know yet.
	Joined bool
}

// resolveClusterArg finds CLUSTER: a member joined to the host (reached through
// its context), else a kubeconfig context of that name that is not joined.
// members is what the host lists (nil when it has no KubeFed API).
func resolveClusterArg(kc *fleet.Kubeconfig, host *hostTarget, members []fleet.Member, name string, errOut io.Writer) (*clusterArg, error) {
	for _, m := range members {
		if m.Name != name {
			continue
		}
		if m.Context == "" {
			return nil, fmt.Errorf("cluster %q is joined to host %q, but no kubeconfig context reaches it: add a context named %q", name, host.Context, name)
		}
		if kc.InsecureContext(m.Context) {
			cli.Warnf(errOut, "context %q skips TLS verification", m.Context)
		}
		c, err := connect(kc, m.Context)
		if err != nil {
			return nil, err
		}
		return &clusterArg{Name: name, Cluster: c, Joined: true}, nil
	}
	if kc.HasContext(name) {
		if kc.InsecureContext(name) {
			cli.Warnf(errOut, "context %q skips TLS verification", name)
		}
		c, err := connect(kc, name)
		if err != nil {
			return nil, err
		}
		return &clusterArg{Name: name, Cluster: c}, nil
	}
	joined := make([]string, len(members))
	for i, m := range members {
		joined[i] = m.Name
	}
	if len(joined) == 0 {
		joined = []string{"none"}
	}
	return nil, fmt.Errorf("cluster %q is neither joined to host %q (joined: %s) nor a context in your kubeconfig", name, host.Context, strings.Join(joined, ", "))
}

// resolveOneCluster finds the host, its members, and the one CLUSTER a
// writing command (label, metallb) acts on.
func resolveOneCluster(ctx context.Context, kc *fleet.Kubeconfig, findHost func() (*hostTarget, error), name string, errOut io.Writer) (*hostTarget, []fleet.Member, *clusterArg, error) {
	host, err := findHost()
	if err != nil {
		return nil, nil, nil, err
	}
	members, err := membersOrNone(ctx, kc, host)
	if err != nil {
		return nil, nil, nil, err
	}
	target, err := resolveClusterArg(kc, host, members, name, errOut)
	if err != nil {
		return nil, nil, nil, err
	}
	return host, members, target, nil
}

// membersOrNone lists the host's members; a host without the KubeFed API
// has none (its contexts can still be used directly).
func membersOrNone(ctx context.Context, kc *fleet.Kubeconfig, host *hostTarget) ([]fleet.Member, error) {
	members, err := fleet.ListMembers(ctx, host.Cluster.Dynamic, host.Namespace, kc)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return members, err
}

// Run labels one cluster.
func (o *LabelOptions) Run(ctx context.Context) error {
	host, _, m, err := resolveOneCluster(ctx, o.kc, o.findHost, o.Clusters[0], o.ErrOut)
	if err != nil {
		return err
	}
	o.host = host
	opts := topology.Options{
		Region: o.Region, Zone: o.Zone, Nodes: o.Nodes,
		Overwrite: o.Overwrite, AllowAny: o.AllowAny,
		DryRun: o.DryRun, FieldManager: write.FieldManager,
	}
	hostDyn := o.host.Cluster.Dynamic
	if !m.Joined {
		hostDyn = nil
		cli.Warnf(o.ErrOut, "cluster %s is not joined to host %q: labelling its nodes only, no KubeFedCluster labels", m.Name, o.host.Context)
	}
	res, err := topology.Apply(ctx, m.Cluster.Client, hostDyn, o.host.Namespace, m.Name, opts)
	if err != nil {
		var ce *topology.ConflictError
		if errors.As(err, &ce) {
			return fmt.Errorf("cluster %s: %w; nothing was changed", m.Name, err)
		}
		return fmt.Errorf("cluster %s: %w", m.Name, err)
	}
	if m.Joined {
		// OpenMCP's own record of the member keeps the same region and zone.
		rec := openmcpapi.ClusterRecord{Region: o.Region, Zone: o.Zone}
		if _, err := openmcpapi.UpdateClusterRecord(ctx, hostDyn, m.Name, rec, o.DryRun != write.DryRunNone); err != nil {
			cli.Warnf(o.ErrOut, "cluster %s: nodes labelled, but %v", m.Name, err)
		}
	}
	return o.print(m.Name, res)
}

func (o *LabelOptions) print(cluster string, res topology.Result) error {
	changes := res.Changes()
	format := labelOutputFormat(o.PrintFlags)
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
		o.PrintFlags.NamePrintFlags.Operation = op
		cli.PrintFlagsWithDryRun(o.PrintFlags, o.DryRun)
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		if err := p.PrintObj(c.Object, o.Out); err != nil {
			return err
		}
	}
	return nil
}

func asUnstructured(obj runtime.Object) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u.DeepCopy(), nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	return &unstructured.Unstructured{Object: m}, nil
}

// withClusterAnnotation names, in printed output only, the cluster an object is on.
func withClusterAnnotation(u *unstructured.Unstructured, cluster string) {
	ann := u.GetAnnotations()
	if ann == nil {
		ann = map[string]string{}
	}
	ann[fleet.ClusterAnnotation] = cluster
	u.SetAnnotations(ann)
}

// clusterRef is one cluster --list reads.
type clusterRef struct {
	Name    string
	Context string
	Member  *fleet.Member
}

// clusterArgs are the clusters a --list reads: the ones named (members or
// contexts), else every member with a context.
func clusterArgs(o *fleet.Kubeconfig, host *hostTarget, members []fleet.Member, names []string, warn func(format string, args ...any)) ([]clusterRef, error) {
	var out []clusterRef
	if len(names) == 0 {
		for i, m := range members {
			if m.Context == "" {
				warn("cluster %s: no kubeconfig context reaches it (add a context named %q); skipped", m.Name, m.Name)
				continue
			}
			out = append(out, clusterRef{Name: m.Name, Context: m.Context, Member: &members[i]})
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no member clusters to read: host %q has no KubeFedClusters in %s that your kubeconfig reaches", host.Context, host.Namespace)
		}
		return out, nil
	}
	for _, n := range names {
		found := false
		for i, m := range members {
			if m.Name == n {
				if m.Context == "" {
					return nil, fmt.Errorf("cluster %q is joined to host %q, but no kubeconfig context reaches it: add a context named %q", n, host.Context, n)
				}
				out = append(out, clusterRef{Name: n, Context: m.Context, Member: &members[i]})
				found = true
			}
		}
		if found {
			continue
		}
		if !o.HasContext(n) {
			return nil, fmt.Errorf("cluster %q is neither joined to host %q nor a context in your kubeconfig", n, host.Context)
		}
		out = append(out, clusterRef{Name: n, Context: n})
	}
	return out, nil
}

// RunList prints the region and zone of every node of the chosen clusters.
func (o *LabelOptions) RunList(ctx context.Context) error {
	var err error
	if o.host, err = o.findHost(); err != nil {
		return err
	}
	members, err := membersOrNone(ctx, o.kc, o.host)
	if err != nil {
		return err
	}
	targets, err := clusterArgs(o.kc, o.host, members, o.Clusters, func(f string, a ...any) { cli.Warnf(o.ErrOut, f, a...) })
	if err != nil {
		return err
	}
	names := make([]string, len(targets))
	byName := map[string]clusterRef{}
	for i, t := range targets {
		names[i] = t.Name
		byName[t.Name] = t
	}
	type answer struct {
		topo  []topology.NodeTopology
		nodes []corev1.Node
	}
	results := fleet.FanOut(ctx, names, o.MaxParallel, o.ClusterTimeout, func(ctx context.Context, name string) (answer, error) {
		c, err := connect(o.kc, byName[name].Context)
		if err != nil {
			return answer{}, err
		}
		list, err := c.Client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
		if err != nil {
			return answer{}, fmt.Errorf("cannot list nodes: %w", err)
		}
		a := answer{nodes: list.Items}
		for _, n := range list.Items {
			a.topo = append(a.topo, topology.NodeTopologyOf(n))
		}
		return a, nil
	})

	format := labelOutputFormat(o.PrintFlags)
	failed := false
	if format == "json" || format == "yaml" {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
		for _, r := range results {
			if r.Err != nil {
				warnCluster(o.ErrOut, r.Cluster, r.Err, o.ClusterTimeout)
				failed = true
				continue
			}
			for i := range r.Value.nodes {
				n := &r.Value.nodes[i]
				n.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
				u, err := asUnstructured(n)
				if err != nil {
					return err
				}
				withClusterAnnotation(u, r.Cluster)
				list.Items = append(list.Items, *u)
			}
		}
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		if err := p.PrintObj(list, o.Out); err != nil {
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
		for _, r := range results {
			if r.Err != nil {
				warnCluster(o.ErrOut, r.Cluster, r.Err, o.ClusterTimeout)
				failed = true
				continue
			}
			kfc := "<not joined>"
			if m := byName[r.Cluster].Member; m != nil {
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
			termsafe.Table(table) // the members' node labels and pools
			p := printers.NewTablePrinter(printers.PrintOptions{Wide: format == "wide", NoHeaders: o.NoHeaders})
			if err := p.PrintObj(table, o.Out); err != nil {
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
