package mcks

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// nodeFlags are shared by the machine subcommands.
type nodeFlags struct {
	api     *apiFlags
	cluster string
}

// NewCmdMachine builds `kubectl mcks machine`: the nodes of an MCKS cluster
// as the MCKS API keeps them, VMs in the clouds. It is not called node, as
// the MCKS API calls them: kubectl mcks nodes lists the Kubernetes nodes, as
// kubectl get nodes does, and a machine is what backs a node, as in Cluster API.
func NewCmdMachine(root *cli.Root) *cobra.Command {
	cmd := newCmdMachine(root, "machine")
	cmd.Aliases = []string{"machines"}
	return cmd
}

// NewCmdNodeDeprecated builds the hidden `kubectl mcks node`, the name
// `kubectl mcks machine` had until v0.x: the same commands, with a warning on
// stderr (never stdout, which scripts parse) naming the new spelling.
func NewCmdNodeDeprecated(root *cli.Root) *cobra.Command {
	cmd := newCmdMachine(root, "node")
	cmd.Hidden = true
	cmd.Short = "Deprecated: use kubectl mcks machine"
	for _, sub := range cmd.Commands() {
		name := sub.Name()
		sub.PreRunE = func(*cobra.Command, []string) error {
			cli.Warnf(root.Streams.ErrOut, "kubectl mcks node %s is deprecated and will be removed: use kubectl mcks machine %s (kubectl mcks nodes lists the Kubernetes nodes)", name, name)
			return nil
		}
	}
	return cmd
}

func newCmdMachine(root *cli.Root, use string) *cobra.Command {
	cmd := &cobra.Command{
		Use:   use,
		Short: "List, add and remove the machines (VMs) of an MCKS cluster through the MCKS API",
		Long: `Manage the machines of an MCKS cluster, the VMs in each cloud that the MCKS
API calls nodes, through the MCKS API. To see the Kubernetes nodes, with their
cloud, region and zone, use kubectl mcks nodes. Machine SSH keys are never
shown, in any output format.

kubectl mcks node ... was this command's name before; it still works, with a
warning.`,
		Example: `  kubectl mcks machine list --cluster c1
  kubectl mcks machine add --cluster c1 --worker config-alibaba-ap-northeast-1:ecs.t5-lc1m2.large:2
  kubectl mcks machine remove --cluster c1 c1-w-3-abcde`,
	}
	nf := &nodeFlags{api: addAPIFlags(cmd, root)}
	cmd.PersistentFlags().StringVar(&nf.cluster, "cluster", "", "Name of the MCKS cluster (required)")
	cmd.AddCommand(newCmdNodeList(root, nf), newCmdNodeGet(root, nf), newCmdNodeAdd(root, nf), newCmdNodeRemove(root, nf))
	return cmd
}

func (nf *nodeFlags) client(cmd *cobra.Command) (*mcks.Client, error) {
	if nf.cluster == "" {
		return nil, cli.Usagef("--cluster is required: name the MCKS cluster")
	}
	return nf.api.client(cmd)
}

// NodeGetOptions serve machine list and machine get.
type NodeGetOptions struct {
	flags   *nodeFlags
	streams genericiooptions.IOStreams
	out     *listOutput
	names   []string

	client *mcks.Client
}

func newCmdNodeList(root *cli.Root, nf *nodeFlags) *cobra.Command {
	o := &NodeGetOptions{flags: nf, streams: root.Streams}
	cmd := &cobra.Command{
		Use:     "list --cluster NAME [-o wide|json|yaml|name] [--no-headers] [--sort-by JSONPATH]",
		Aliases: []string{"ls"},
		Short:   "List the machines of an MCKS cluster",
		Example: `  kubectl mcks machine list --cluster c1 -o wide

  # By cloud, without the header
  kubectl mcks machine list --cluster c1 --sort-by .csp --no-headers`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	o.out = newListOutput(cmd, false)
	return cmd
}

func newCmdNodeGet(root *cli.Root, nf *nodeFlags) *cobra.Command {
	o := &NodeGetOptions{flags: nf, streams: root.Streams}
	cmd := &cobra.Command{
		Use:     "get --cluster NAME MACHINE... [-o wide|json|yaml|name]",
		Short:   "Show machines of an MCKS cluster",
		Example: `  kubectl mcks machine get --cluster c1 c1-w-1-abcde -o yaml`,
		Args:    cli.MinArgs(1),
		RunE:    cli.Run(o),
	}
	o.out = newListOutput(cmd, false)
	return cmd
}

// Complete builds the client (--cluster is required).
func (o *NodeGetOptions) Complete(cmd *cobra.Command, args []string) error {
	o.names = args
	var err error
	o.client, err = o.flags.client(cmd)
	return err
}

// Validate checks -o and --sort-by.
func (o *NodeGetOptions) Validate() error { return o.out.Validate() }

// Run reads and prints the machines.
func (o *NodeGetOptions) Run(ctx context.Context) error {
	var nodes []mcks.Node
	var errs []error
	if len(o.names) == 0 {
		list, err := o.client.ListNodes(ctx, o.flags.cluster)
		if err != nil {
			return err
		}
		// The server lists a missing cluster's nodes as none (HTTP 200).
		if len(list.Items) == 0 {
			if _, err := o.client.GetCluster(ctx, o.flags.cluster); err != nil {
				return notFoundError("cluster", o.flags.cluster, o.client, err)
			}
		}
		nodes = list.Items
	}
	for _, name := range o.names {
		n, err := o.client.GetNode(ctx, o.flags.cluster, name)
		if err != nil {
			errs = append(errs, notFoundError("node", name, o.client, err))
			continue
		}
		nodes = append(nodes, *n)
	}
	if len(nodes) > 0 || len(o.names) == 0 {
		if err := o.print(nodes); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func (o *NodeGetOptions) print(nodes []mcks.Node) error {
	_, items := nodeObjects(nodes)
	if !o.out.Table() {
		if err := o.out.Sort(items); err != nil {
			return err
		}
		return o.out.PrintObjects(o.streams.Out, nodeListOf(items), items, len(o.names) == 1)
	}
	if len(items) == 0 {
		termsafe.Fprintf(o.streams.ErrOut, "No nodes found in cluster %s.\n", o.flags.cluster)
		return nil
	}
	return o.out.PrintTable(o.streams.Out, nodeTable(items))
}

// nodeObjects are MCKS nodes with their SSH keys redacted, as a list and its items.
func nodeObjects(nodes []mcks.Node) (*mcks.NodeList, []runtime.Object) {
	list := &mcks.NodeList{Items: nodes}
	list.Kind = mcks.KindNodeList
	list = mcks.Redact(list).(*mcks.NodeList)
	items := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		list.Items[i].Kind = mcks.KindNode
		items[i] = &list.Items[i]
	}
	return list, items
}

// nodeListOf is a NodeList of items in their order.
func nodeListOf(items []runtime.Object) *mcks.NodeList {
	list := &mcks.NodeList{Items: make([]mcks.Node, len(items))}
	list.Kind = mcks.KindNodeList
	for i, it := range items {
		list.Items[i] = *it.(*mcks.Node)
	}
	return list
}

// nodeTable is the table of MCKS nodes; -o wide adds CSP-LABEL.
func nodeTable(items []runtime.Object) *metav1.Table {
	t := tableOf(col("Name"), col("Role"), col("CSP"), col("Region"), col("Zone"), col("Spec"), col("Public-IP"), col("Age"), wideCol("CSP-Label"))
	for _, it := range items {
		n := it.(*mcks.Node)
		addRow(t, n, n.Name, n.Role, n.CSP, n.RegionLabel, n.ZoneLabel, n.Spec, n.PublicIP, ageOf(n.CreatedTime), n.CSPLabel)
	}
	return t
}

// NodeAddOptions are the options of `kubectl mcks machine add`.
type NodeAddOptions struct {
	flags         *nodeFlags
	streams       genericiooptions.IOStreams
	out           *output
	workers       []string
	controlPlanes []string
	timeout       time.Duration

	req    mcks.NodeReq
	dryRun cmdutil.DryRunStrategy
	client *mcks.Client
}

func newCmdNodeAdd(root *cli.Root, nf *nodeFlags) *cobra.Command {
	o := &NodeAddOptions{flags: nf, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "add --cluster NAME --worker CONN:SPEC[:COUNT]...",
		Short: "Add machines (worker nodes) to an MCKS cluster",
		Long: `Add VMs to an MCKS cluster as worker nodes. The MCKS server answers when the
nodes have joined, which takes minutes: the node count is shown on stderr as it
grows, and --timeout bounds the wait.`,
		Example: `  kubectl mcks machine add --cluster c1 --worker config-gcp-europe-west2:n1-standard-2:2`,
		Args:    cli.NoArgs(),
		RunE:    cli.Run(o),
	}
	cmd.Flags().StringArrayVar(&o.workers, "worker", nil, "Worker node set CONN:SPEC[:COUNT]; repeat for several clouds")
	cmd.Flags().StringArrayVar(&o.controlPlanes, "control-plane", nil, "Control-plane node set CONN:SPEC[:COUNT], where the MCKS version supports it")
	addTimeoutFlag(cmd, &o.timeout, 40*time.Minute, "the nodes to join")
	cmdutil.AddDryRunFlag(cmd)
	o.out = newOutput(cmd)
	return cmd
}

// Complete parses and checks the node sets before anything is sent.
func (o *NodeAddOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	if err := o.out.Validate(); err != nil {
		return err
	}
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.Usagef("%v", err)
	}
	if o.dryRun == cmdutil.DryRunServer {
		return cli.Usagef("the MCKS API has no server-side dry run: use --dry-run=client")
	}
	if o.req.Worker, err = parseSets("--worker", o.workers); err != nil {
		return err
	}
	if o.req.ControlPlane, err = parseSets("--control-plane", o.controlPlanes); err != nil {
		return err
	}
	if err := o.req.Validate(); err != nil {
		return cli.Usagef("%v", err)
	}
	o.client, err = o.flags.client(cmd)
	return err
}

// Validate has nothing left to check: Complete refused bad node sets.
func (o *NodeAddOptions) Validate() error { return nil }

// Run adds the nodes and prints them.
func (o *NodeAddOptions) Run(ctx context.Context) error {
	want := 0
	for _, s := range append(append([]mcks.NodeSetReq{}, o.req.ControlPlane...), o.req.Worker...) {
		want += s.Count
	}
	if o.dryRun == cmdutil.DryRunClient {
		if _, err := o.client.GetCluster(ctx, o.flags.cluster); err != nil {
			return notFoundError("cluster", o.flags.cluster, o.client, err)
		}
		termsafe.Fprintf(o.streams.Out, "%d nodes added to cluster/%s (dry run)\n", want, o.flags.cluster)
		return nil
	}
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	start := time.Now()
	termsafe.Fprintf(o.streams.ErrOut, "Adding %d nodes to cluster %s; this takes minutes...\n", want, o.flags.cluster)
	before := -1
	added, err := o.client.AddNodesWatching(ctx, o.flags.cluster, &o.req, pollInterval, func(n int) {
		if before < 0 {
			before = n
		}
		termsafe.Fprintf(o.streams.ErrOut, "cluster/%s: %d/%d new nodes, %s elapsed\n", o.flags.cluster, n-before, want, time.Since(start).Round(time.Second))
	})
	if err != nil {
		if ctx.Err() != nil && context.Cause(ctx) != context.Canceled {
			return stoppedEarly(ctx, fmt.Errorf("%v; the MCKS server carries on: check with kubectl mcks machine list --cluster %s", err, o.flags.cluster))
		}
		return err
	}
	if !o.out.Report() {
		list, items := nodeObjects(added.Items)
		return o.out.Print(o.streams.Out, list, items)
	}
	for _, n := range added.Items {
		termsafe.Fprintf(o.streams.Out, "node/%s added (%s, %s %s)\n", n.Name, orNone(n.Role), orNone(n.CSP), orNone(n.RegionLabel))
	}
	return nil
}

// NodeRemoveOptions are the options of `kubectl mcks machine remove`.
type NodeRemoveOptions struct {
	flags          *nodeFlags
	streams        genericiooptions.IOStreams
	names          []string
	ignoreNotFound bool
	timeout        time.Duration

	dryRun cmdutil.DryRunStrategy
	client *mcks.Client
}

func newCmdNodeRemove(root *cli.Root, nf *nodeFlags) *cobra.Command {
	o := &NodeRemoveOptions{flags: nf, streams: root.Streams}
	cmd := &cobra.Command{
		Use:     "remove --cluster NAME NODE...",
		Aliases: []string{"rm", "delete"},
		Short:   "Drain and remove machines from an MCKS cluster, deleting their VMs",
		Example: `  kubectl mcks machine remove --cluster c1 c1-w-3-abcde`,
		Args:    cli.MinArgs(1),
		RunE:    cli.Run(o),
	}
	cmd.Flags().BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat a node that does not exist as removed")
	addTimeoutFlag(cmd, &o.timeout, 15*time.Minute, "each removal")
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete reads the names and the dry-run mode, and builds the client.
func (o *NodeRemoveOptions) Complete(cmd *cobra.Command, args []string) error {
	o.names = args
	var err error
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.Usagef("%v", err)
	}
	if o.dryRun == cmdutil.DryRunServer {
		return cli.Usagef("the MCKS API has no server-side dry run: use --dry-run=client")
	}
	o.client, err = o.flags.client(cmd)
	return err
}

// Validate has nothing left to check.
func (o *NodeRemoveOptions) Validate() error { return nil }

// Run removes each node in turn.
func (o *NodeRemoveOptions) Run(ctx context.Context) error {
	var errs []error
	for _, name := range o.names {
		if err := o.removeOne(ctx, name); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (o *NodeRemoveOptions) removeOne(ctx context.Context, name string) error {
	if o.dryRun == cmdutil.DryRunClient {
		if _, err := o.client.GetNode(ctx, o.flags.cluster, name); err != nil {
			if mcks.IsNotFound(err) && o.ignoreNotFound {
				return nil
			}
			return notFoundError("node", name, o.client, err)
		}
		termsafe.Fprintf(o.streams.Out, "node/%s removed (dry run)\n", name)
		return nil
	}
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	_, err := o.client.RemoveNode(ctx, o.flags.cluster, name)
	switch {
	case mcks.IsNotFound(err) && o.ignoreNotFound:
		return nil
	case err != nil && ctx.Err() != nil && context.Cause(ctx) != context.Canceled:
		return stoppedEarly(ctx, fmt.Errorf("node %q: %v; the MCKS server goes on removing it", name, context.Cause(ctx)))
	case err != nil:
		return notFoundError("node", name, o.client, err)
	}
	termsafe.Fprintf(o.streams.Out, "node/%s removed\n", name)
	return nil
}
