package openmcp

import (
	"context"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/kubefedtypes"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// DisableOptions are the options of `kubectl openmcp disable`.
type DisableOptions struct {
	root   *cli.Root
	Types  []string
	DryRun cmdutil.DryRunStrategy

	fleet *fleet.Fleet
	hostc *fleet.Clients
	ftcs  []*fedv1b1.FederatedTypeConfig
	genericiooptions.IOStreams
}

// NewCmdDisable is `kubectl openmcp disable`.
func NewCmdDisable(root *cli.Root) *cobra.Command {
	o := &DisableOptions{root: root, IOStreams: root.Streams}
	cmd := &cobra.Command{
		Use:   "disable TYPE [TYPE...]",
		Short: "Stop KubeFed propagating an API type and remove its federated CRD",
		Long: `Undo 'kubectl openmcp enable TYPE': stop propagation in the type's
FederatedTypeConfig, wait for KubeFed's controller to let go of it, and delete
the FederatedTypeConfig and the Federated<Kind> CRD.

TYPE is the FederatedTypeConfig's name (deployments.apps) or its target's plural,
kind or short name. Disabling is refused while Federated<Kind> objects exist:
deleting the CRD would remove them without KubeFed cleaning up what they
propagated to the members. Delete them first.`,
		Example: `  # Stop federating Deployments
  kubectl openmcp disable deployments

  # See what would be deleted
  kubectl openmcp disable deployments.apps --dry-run=server`,
		Args: cli.MinArgs(1),
		RunE: cli.Run(o),
	}
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete finds each type's FederatedTypeConfig on the host.
func (o *DisableOptions) Complete(cmd *cobra.Command, args []string) error {
	root := o.root
	o.Types = args
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	if o.fleet, o.hostc, err = openFleet(root, cmd, nil); err != nil {
		return err
	}
	ftcs, err := kubefedtypes.ListTypeConfigs(cmd.Context(), o.hostc.Dynamic, o.fleet.Namespace)
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range args {
		ftc, ok := kubefedtypes.FindByName(ftcs, name)
		if !ok {
			// A short name such as "deploy" is known only to discovery.
			if lists, err := preferredResources(o.hostc.Kube.Discovery()); err == nil {
				if t, err := kubefedtypes.Resolve(lists, name); err == nil {
					ftc, ok = kubefedtypes.FindByName(ftcs, t.Name())
				}
			}
		}
		if !ok {
			names := make([]string, 0, len(ftcs))
			for _, f := range ftcs {
				names = append(names, f.Name)
			}
			sort.Strings(names)
			enabled := strings.Join(names, ", ")
			if enabled == "" {
				enabled = "none"
			}
			return cli.Usagef("%s is not enabled: no FederatedTypeConfig for it in %s (enabled: %s)", name, o.fleet.Namespace, enabled)
		}
		if !seen[ftc.Name] {
			seen[ftc.Name] = true
			o.ftcs = append(o.ftcs, ftc)
		}
	}
	return nil
}

// Validate has nothing left to check: Complete found every type.
func (o *DisableOptions) Validate() error { return nil }

// Run disables each type in turn.
func (o *DisableOptions) Run(ctx context.Context) error {
	if o.DryRun == cmdutil.DryRunClient {
		for _, ftc := range o.ftcs {
			ft := ftc.Spec.FederatedType
			termsafe.Fprintf(o.Out, "federatedtypeconfig.core.kubefed.io/%s deleted (dry run)\n", ftc.Name)
			termsafe.Fprintf(o.Out, "customresourcedefinition.apiextensions.k8s.io/%s.%s deleted (dry run)\n", ft.PluralName, ft.Group)
		}
		return nil
	}
	h := kubefedtypes.Host{Dynamic: o.hostc.Dynamic, Namespace: o.fleet.Namespace, DryRun: o.DryRun == cmdutil.DryRunServer}
	suffix := ""
	if h.DryRun {
		suffix = " (server dry run)"
	}
	for _, ftc := range o.ftcs {
		steps, warnings, err := kubefedtypes.Disable(ctx, h, ftc)
		for _, w := range warnings {
			cli.Warnf(o.ErrOut, "%s", w)
		}
		for _, s := range steps {
			termsafe.Fprintf(o.Out, "%s%s\n", s, suffix)
		}
		if err != nil {
			return err
		}
	}
	return nil
}
