package mcks

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
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

// NewCmdCluster builds `kubectl mcks cluster`.
func NewCmdCluster(root *cli.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "cluster",
		Short: "Create, list, get and delete MCKS clusters through the MCKS API",
		Long: `Drive the clusters of an MCKS server (the CB-Ladybug MCKS REST API) from
kubectl: list, get, create and delete. Node SSH keys are never shown, and a
cluster's admin kubeconfig is shown redacted; use kubectl mcks kubeconfig to
get it.`,
		Example: `  kubectl mcks cluster list
  kubectl mcks cluster create c1 --control-plane config-aws-ap-northeast-2:t3.medium \
      --worker config-gcp-europe-west2:n1-standard-2:2 --wait
  kubectl mcks cluster delete c1`,
	}
	api := addAPIFlags(cmd, root)
	cmd.AddCommand(newCmdClusterList(root, api), newCmdClusterGet(root, api), NewCmdClusterCreate(root, api), newCmdClusterDelete(root, api))
	return cmd
}

// ClusterGetOptions serve both list and get.
type ClusterGetOptions struct {
	api     *apiFlags
	streams genericiooptions.IOStreams
	out     *listOutput
	names   []string

	client *mcks.Client
}

func newCmdClusterList(root *cli.Root, api *apiFlags) *cobra.Command {
	o := &ClusterGetOptions{api: api, streams: root.Streams}
	cmd := &cobra.Command{
		Use:     "list [-o wide|json|yaml|name] [--no-headers] [--sort-by JSONPATH]",
		Aliases: []string{"ls"},
		Short:   "List the clusters of the MCKS namespace",
		Example: `  kubectl mcks cluster list
  kubectl mcks cluster list --mcks-namespace team-a -o wide

  # Oldest first, names only
  kubectl mcks cluster list --sort-by .createdTime -o name`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	o.out = newListOutput(cmd, false)
	return cmd
}

func newCmdClusterGet(root *cli.Root, api *apiFlags) *cobra.Command {
	o := &ClusterGetOptions{api: api, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "get NAME... [-o wide|json|yaml|name]",
		Short: "Show MCKS clusters",
		Example: `  kubectl mcks cluster get c1
  kubectl mcks cluster get c1 -o yaml`,
		Args: cli.MinArgs(1),
		RunE: cli.Run(o),
	}
	o.out = newListOutput(cmd, false)
	return cmd
}

// Complete builds the MCKS client.
func (o *ClusterGetOptions) Complete(cmd *cobra.Command, args []string) error {
	o.names = args
	var err error
	o.client, err = o.api.client(cmd)
	return err
}

// Validate checks -o and --sort-by.
func (o *ClusterGetOptions) Validate() error { return o.out.Validate() }

// Run reads and prints the clusters; with names, every one found is printed
// and the missing ones are reported after.
func (o *ClusterGetOptions) Run(ctx context.Context) error {
	var clusters []mcks.Cluster
	var errs []error
	if len(o.names) == 0 {
		list, err := o.client.ListClusters(ctx)
		if err != nil {
			return err
		}
		clusters = list.Items
	}
	for _, name := range o.names {
		c, err := o.client.GetCluster(ctx, name)
		if err != nil {
			errs = append(errs, notFoundError("cluster", name, o.client, err))
			continue
		}
		clusters = append(clusters, *c)
	}
	if len(clusters) > 0 || len(o.names) == 0 {
		if err := o.print(clusters); err != nil {
			return err
		}
	}
	return errors.Join(errs...)
}

func (o *ClusterGetOptions) print(clusters []mcks.Cluster) error {
	list, items := clusterObjects(clusters)
	if !o.out.Table() {
		if err := o.out.Sort(items); err != nil {
			return err
		}
		return o.out.PrintObjects(o.streams.Out, clusterListOf(items), items, len(o.names) == 1)
	}
	if len(list.Items) == 0 {
		termsafe.Fprintf(o.streams.ErrOut, "No clusters found in MCKS namespace %s.\n", o.client.Namespace())
		return nil
	}
	return o.out.PrintTable(o.streams.Out, clusterTable(items))
}

// clusterObjects are the clusters redacted, as a list and its items.
func clusterObjects(clusters []mcks.Cluster) (*mcks.ClusterList, []runtime.Object) {
	list := &mcks.ClusterList{Items: clusters}
	list.Kind = mcks.KindClusterList
	list = mcks.Redact(list).(*mcks.ClusterList)
	items := make([]runtime.Object, len(list.Items))
	for i := range list.Items {
		list.Items[i].Kind = mcks.KindCluster
		items[i] = &list.Items[i]
	}
	return list, items
}

// clusterListOf is a ClusterList of items in their order.
func clusterListOf(items []runtime.Object) *mcks.ClusterList {
	list := &mcks.ClusterList{Items: make([]mcks.Cluster, len(items))}
	list.Kind = mcks.KindClusterList
	for i, it := range items {
		list.Items[i] = *it.(*mcks.Cluster)
	}
	return list
}

// clusterTable is the table of clusters; -o wide adds the columns of priority 1.
func clusterTable(items []runtime.Object) *metav1.Table {
	t := tableOf(col("Name"), col("Status"), col("Version"), col("CNI"), col("Control-Planes"), col("Workers"), col("Age"),
		wideCol("Etcd"), wideCol("Loadbalancer"), wideCol("MCIS"), wideCol("Reason"))
	for _, it := range items {
		c := it.(*mcks.Cluster)
		cp, w := c.CountRoles()
		addRow(t, c, c.Name, c.Status.Phase, c.K8sVersion, c.NetworkCNI, strconv.Itoa(cp), strconv.Itoa(w), ageOf(c.CreatedTime),
			c.Etcd, c.Loadbalancer, c.MCIS, c.Status.Reason)
	}
	return t
}

// ClusterDeleteOptions are the options of `kubectl mcks cluster delete`.
type ClusterDeleteOptions struct {
	api            *apiFlags
	streams        genericiooptions.IOStreams
	names          []string
	ignoreNotFound bool
	timeout        time.Duration

	dryRun cmdutil.DryRunStrategy
	client *mcks.Client
}

func newCmdClusterDelete(root *cli.Root, api *apiFlags) *cobra.Command {
	o := &ClusterDeleteOptions{api: api, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "delete NAME...",
		Short: "Delete MCKS clusters and their VMs",
		Long: `Delete MCKS clusters. The MCKS server deletes the cluster's VMs in every cloud
before it answers, which takes minutes; --timeout bounds the wait.`,
		Example: `  kubectl mcks cluster delete c1
  kubectl mcks cluster delete c1 c2 --ignore-not-found`,
		Args: cli.MinArgs(1),
		RunE: cli.Run(o),
	}
	cmd.Flags().BoolVar(&o.ignoreNotFound, "ignore-not-found", false, "Treat a cluster that does not exist as deleted")
	addTimeoutFlag(cmd, &o.timeout, 15*time.Minute, "each delete")
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete builds the client and checks the dry-run mode.
func (o *ClusterDeleteOptions) Complete(cmd *cobra.Command, args []string) error {
	o.names = args
	var err error
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.Usagef("%v", err)
	}
	if o.dryRun == cmdutil.DryRunServer {
		return cli.Usagef("the MCKS API has no server-side dry run: use --dry-run=client")
	}
	o.client, err = o.api.client(cmd)
	return err
}

// Validate has nothing left to check: Complete refused a bad --dry-run.
func (o *ClusterDeleteOptions) Validate() error { return nil }

// Run deletes each cluster in turn and reports each.
func (o *ClusterDeleteOptions) Run(ctx context.Context) error {
	var errs []error
	for _, name := range o.names {
		if err := o.deleteOne(ctx, name); err != nil {
			errs = append(errs, err)
			if ctx.Err() != nil {
				break
			}
		}
	}
	return errors.Join(errs...)
}

func (o *ClusterDeleteOptions) deleteOne(ctx context.Context, name string) error {
	if o.dryRun == cmdutil.DryRunClient {
		if _, err := o.client.GetCluster(ctx, name); err != nil {
			if mcks.IsNotFound(err) && o.ignoreNotFound {
				return nil
			}
			return notFoundError("cluster", name, o.client, err)
		}
		termsafe.Fprintf(o.streams.Out, "cluster/%s deleted (dry run)\n", name)
		return nil
	}
	termsafe.Fprintf(o.streams.ErrOut, "Deleting cluster %s and its VMs...\n", name)
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	_, err := o.client.DeleteCluster(ctx, name)
	switch {
	case mcks.IsNotFound(err) && o.ignoreNotFound:
		return nil
	case err != nil && ctx.Err() != nil && context.Cause(ctx) != context.Canceled:
		return stoppedEarly(ctx, fmt.Errorf("cluster %q: %v; the MCKS server goes on deleting it: check with kubectl mcks cluster get %s", name, context.Cause(ctx), name))
	case err != nil:
		return notFoundError("cluster", name, o.client, err)
	}
	termsafe.Fprintf(o.streams.Out, "cluster/%s deleted\n", name)
	return nil
}

// describeProgress is one progress line for a cluster being provisioned.
func describeProgress(w io.Writer, c *mcks.Cluster, want int, start time.Time) {
	cp, wk := c.CountRoles()
	state := orNone(c.Status.Phase)
	if c.Status.Reason != "" {
		state += " (" + c.Status.Reason + ")"
	}
	nodes := fmt.Sprintf("%d nodes", cp+wk)
	if want > 0 {
		nodes = fmt.Sprintf("%d/%d nodes", cp+wk, want)
	}
	termsafe.Fprintf(w, "cluster/%s: %s, %s, %s elapsed\n", c.Name, state, nodes, time.Since(start).Round(time.Second))
}
