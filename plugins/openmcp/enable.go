package openmcp

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/discovery"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/kubefedtypes"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// EnableOptions are the options of `kubectl openmcp enable`.
type EnableOptions struct {
	root       *cli.Root
	Types      []string
	DryRun     cmdutil.DryRunStrategy
	PrintFlags *genericclioptions.PrintFlags

	fleet   *fleet.Fleet
	hostc   *fleet.Clients
	printer printers.ResourcePrinter
	targets []kubefedtypes.Target
	genericiooptions.IOStreams
}

// NewCmdEnable is `kubectl openmcp enable`.
func NewCmdEnable(root *cli.Root) *cobra.Command {
	o := &EnableOptions{root: root, IOStreams: root.Streams, PrintFlags: genericclioptions.NewPrintFlags("enabled").WithTypeSetter(nil)}
	cmd := &cobra.Command{
		Use:   "enable TYPE [TYPE...]",
		Short: "Let KubeFed propagate an API type (as kubefedctl enable does)",
		Long: `Let KubeFed propagate an API type to the member clusters, as kubefedctl enable does.

For each TYPE (a resource name as kubectl knows it: deployments, deploy,
deployments.apps, configmaps, ...) this writes on the host:

  - the CRD of Federated<Kind> in group types.kubefed.io (spec.template,
    spec.placement, spec.overrides; a status subresource), and
  - the FederatedTypeConfig <plural>.<group> in the KubeFed namespace, which
    starts KubeFed's sync controller for the type.

'kubectl openmcp place --federation kubefed' needs the placed kinds enabled, and
namespaces too when KubeFed runs cluster-wide (it propagates namespaced objects
only into namespaces it federates). Running enable again changes nothing and
says "unchanged".`,
		Example: `  # Federate Deployments, Services and namespaces
  kubectl openmcp enable deployments services namespaces

  # Show the CRD and FederatedTypeConfig without writing them
  kubectl openmcp enable deployments.apps --dry-run=client -o yaml`,
		Args: cli.MinArgs(1),
		RunE: cli.Run(o),
	}
	cmdutil.AddDryRunFlag(cmd)
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete connects to the host and resolves the types through discovery.
func (o *EnableOptions) Complete(cmd *cobra.Command, args []string) error {
	root := o.root
	o.Types = args
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	if format := outputFormat(o.PrintFlags); format != "" {
		if o.DryRun == cmdutil.DryRunNone {
			return cli.Usagef("-o %s prints what --dry-run would write; add --dry-run=client or --dry-run=server", format)
		}
		if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	if o.fleet, o.hostc, err = openFleet(root, cmd, nil); err != nil {
		return err
	}
	lists, err := preferredResources(o.hostc.Kube.Discovery())
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, name := range args {
		t, err := kubefedtypes.Resolve(lists, name)
		if err != nil {
			return &cli.UsageError{Err: err}
		}
		if t.Group == kubefedtypes.FederatedGroup || t.Group == kubefedtypes.FederatedTypeConfigs.Group {
			return cli.Usagef("%s is KubeFed's own type (%s), not one to federate", name, t.Name())
		}
		if seen[t.Name()] {
			continue
		}
		seen[t.Name()] = true
		o.targets = append(o.targets, t)
	}
	return nil
}

// preferredResources is discovery's preferred version of every resource;
// a group that fails discovery (a broken aggregated API) costs only itself.
func preferredResources(d discovery.DiscoveryInterface) ([]*metav1.APIResourceList, error) {
	lists, err := d.ServerPreferredResources()
	if err != nil && len(lists) == 0 {
		return nil, fmt.Errorf("cannot discover the host's API types: %w", err)
	}
	return lists, nil
}

// Validate has nothing left to check: Complete resolved every type.
func (o *EnableOptions) Validate() error { return nil }

// Run writes the CRD and the FederatedTypeConfig of each type.
func (o *EnableOptions) Run(ctx context.Context) error {
	if o.DryRun == cmdutil.DryRunClient {
		return o.printClientDryRun(ctx)
	}
	applier := &openmcpapi.Applier{Dynamic: o.hostc.Dynamic, FieldManager: openmcpapi.FieldManager, DryRun: o.DryRun == cmdutil.DryRunServer, Force: true}
	h := kubefedtypes.Host{Dynamic: o.hostc.Dynamic, Namespace: o.fleet.Namespace, Apply: applier, DryRun: applier.DryRun}
	suffix := ""
	if applier.DryRun {
		suffix = " (server dry run)"
	}
	for _, t := range o.targets {
		steps, err := kubefedtypes.Enable(ctx, h, t)
		if o.printer == nil {
			for _, s := range steps {
				termsafe.Fprintf(o.Out, "%s%s\n", s, suffix)
			}
		}
		if err != nil {
			return err
		}
	}
	if o.printer != nil {
		return printObjects(o.printer, outputFormat(o.PrintFlags), o.Out, o.objects())
	}
	return nil
}

// objects are what enable writes, in order.
func (o *EnableOptions) objects() []*unstructured.Unstructured {
	var out []*unstructured.Unstructured
	for _, t := range o.targets {
		for _, obj := range []any{t.CRD(), t.TypeConfig(o.fleet.Namespace)} {
			m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
			if err != nil {
				continue
			}
			u := &unstructured.Unstructured{Object: m}
			unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
			delete(u.Object, "status")
			out = append(out, u)
		}
	}
	return out
}

func (o *EnableOptions) printClientDryRun(ctx context.Context) error {
	if o.printer != nil {
		return printObjects(o.printer, outputFormat(o.PrintFlags), o.Out, o.objects())
	}
	for _, t := range o.targets {
		checks := []struct {
			ref string
			get func() error
		}{
			{"customresourcedefinition.apiextensions.k8s.io/" + t.FederatedCRDName(), func() error {
				_, err := o.hostc.Dynamic.Resource(kubefedtypes.CRDs).Get(ctx, t.FederatedCRDName(), metav1.GetOptions{})
				return err
			}},
			{"federatedtypeconfig.core.kubefed.io/" + t.Name(), func() error {
				_, err := o.hostc.Dynamic.Resource(kubefedtypes.FederatedTypeConfigs).Namespace(o.fleet.Namespace).Get(ctx, t.Name(), metav1.GetOptions{})
				return err
			}},
		}
		for _, c := range checks {
			action := openmcpapi.Configured
			if err := c.get(); apierrors.IsNotFound(err) {
				action = openmcpapi.Created
			} else if err != nil {
				return err
			}
			termsafe.Fprintf(o.Out, "%s %s (dry run)\n", c.ref, action)
		}
	}
	return nil
}
