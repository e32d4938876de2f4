package openmcp

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/federation"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// UnjoinOptions are the options of `kubectl openmcp unjoin`.
type UnjoinOptions struct {
	root     *cli.Root
	cmd      *cobra.Command
	Clusters []string
	Force    bool
	Wait     time.Duration
	DryRun   cmdutil.DryRunStrategy

	host  *federation.Cluster // the host as the unjoin engine takes it
	fleet *fleet.Fleet
	hostc *fleet.Clients
	genericiooptions.IOStreams
}

// NewCmdUnjoin is `kubectl openmcp unjoin`.
func NewCmdUnjoin(root *cli.Root) *cobra.Command {
	o := &UnjoinOptions{root: root, IOStreams: root.Streams}
	cmd := &cobra.Command{
		Use:   "unjoin CLUSTER [CLUSTER...]",
		Short: "Remove clusters from the federation",
		Long: `Remove member clusters from the federation: exactly what join created.

On the host: the KubeFedCluster and its token Secret. On the member: the RBAC,
ServiceAccount and token Secret join made, and the KubeFed namespace if join
created it and nothing else lives in it (never when the member is the host).
The member is reached through the context of the same name, or the one it was
joined from. --force removes the host side when the member is gone for good.`,
		Example: `  # Remove cluster2 from the federation
  kubectl openmcp unjoin cluster2

  # The member was deleted: clean up the host only
  kubectl openmcp unjoin cluster2 --force`,
		Args:              cli.MinArgs(1),
		ValidArgsFunction: completeJoinedClusters(root),
		RunE:              cli.Run(o),
	}
	cmd.Flags().BoolVar(&o.Force, "force", false, "Remove the host side even if the member cannot be reached")
	cmd.Flags().DurationVar(&o.Wait, "wait", 0, "Wait until the objects are gone (--wait alone waits 2m)")
	cmd.Flags().Lookup("wait").NoOptDefVal = "2m"
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

func (o *UnjoinOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Clusters = args
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	o.cmd = cmd
	return nil
}

// Validate checks the cluster names before any request.
func (o *UnjoinOptions) Validate() error {
	for _, c := range o.Clusters {
		if err := federation.ValidateClusterName(c); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	return nil
}

func (o *UnjoinOptions) Run(ctx context.Context) error {
	var err error
	if o.fleet, o.hostc, err = openFleet(o.root, o.cmd, nil); err != nil {
		return err
	}
	if o.host, err = federationCluster(o.fleet.Host); err != nil {
		return err
	}
	members, err := o.fleet.Members(ctx)
	if err != nil {
		return err
	}
	byName := map[string]fleet.Member{}
	for _, m := range members {
		byName[m.Name] = m
	}
	// Deletes are not abandoned at Ctrl-C (FanOut would return at once):
	// each unjoin sees it through ctx and stops between deletes.
	results := fleet.FanOut(context.WithoutCancel(ctx), o.Clusters, 16, 0, func(_ context.Context, name string) (*federation.UnjoinResult, error) {
		req := federation.UnjoinRequest{
			Host: o.host, ClusterName: name, KubeFedNamespace: o.fleet.Namespace,
			Force: o.Force, Wait: o.Wait, DryRun: o.DryRun != cmdutil.DryRunNone,
		}
		if m, ok := byName[name]; ok && m.Context != "" {
			member, err := o.fleet.Reach(ctx, m)
			if err != nil {
				return nil, err
			}
			if req.Member, err = federationCluster(member); err != nil {
				return nil, err
			}
		}
		res, err := federation.Unjoin(ctx, req)
		if err != nil {
			return res, err
		}
		// OpenMCP's scheduler must stop considering the member.
		deleted, err := openmcpapi.ForgetCluster(ctx, o.hostc.Dynamic, name, req.DryRun)
		if err != nil {
			return res, fmt.Errorf("unjoined, but its OpenMCPCluster %s/%s remains: %w", openmcpapi.Namespace, name, err)
		}
		if deleted {
			res.Steps = append(res.Steps, federation.Step{Cluster: "host", Object: openmcpapi.ClusterKind.Kind + " " + name})
		}
		return res, nil
	})
	failed := false
	suffix := ""
	if o.DryRun != cmdutil.DryRunNone {
		suffix = " (dry run)"
	}
	for _, r := range results {
		if r.Value != nil {
			for _, w := range r.Value.Warnings {
				cli.Warnf(o.ErrOut, "%s: %s", r.Cluster, w)
			}
		}
		if r.Err != nil {
			cli.Errorf(o.ErrOut, "cluster %s: %v", r.Cluster, r.Err)
			failed = true
			continue
		}
		termsafe.Fprintf(o.Out, "cluster/%s unjoined (%d objects deleted)%s\n", r.Cluster, len(r.Value.Steps), suffix)
	}
	if ctx.Err() != nil {
		return cli.Interruptedf("unjoin stopped; see above for each cluster")
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// completeJoinedClusters completes the names of the host's KubeFedClusters.
func completeJoinedClusters(root *cli.Root) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		members, err := completionMembers(root, cmd)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		var names []string
		for _, m := range members {
			names = append(names, m.Name)
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// completionMembers lists the host's members for shell completion, within
// a few seconds and without warnings.
func completionMembers(root *cli.Root, cmd *cobra.Command) ([]fleet.Member, error) {
	f, err := fleet.Lookup(fleetConfig(root, cmd, nil))
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	return f.Members(ctx)
}
