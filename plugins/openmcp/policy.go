package openmcp

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// NewCmdPolicy is `kubectl openmcp policy`, the parent of get and set.
func NewCmdPolicy(root *cli.Root) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "policy",
		Short: "Show and change OpenMCPPolicies (omcpctl's set opol)",
		Long: `Show and change the OpenMCPPolicies that tune OpenMCP's controllers
(scheduling algorithm, load-balancing weights, HPA distribution, periods...).
They live in namespace openmcp unless -n says otherwise.`,
		Args: cli.NoArgs(),
		RunE: func(cmd *cobra.Command, args []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCmdPolicyGet(root), newCmdPolicySet(root))
	return cmd
}

// policyNamespace is -n, else OpenMCP's own namespace.
func policyNamespace(root *cli.Root) string {
	if ns := root.ConfigFlags.Namespace; ns != nil && *ns != "" {
		return *ns
	}
	return openmcpapi.Namespace
}

func policyClient(root *cli.Root, cmd *cobra.Command) (dynamic.ResourceInterface, *fleet.Fleet, string, error) {
	f, host, err := openFleet(root, cmd, nil)
	if err != nil {
		return nil, nil, "", err
	}
	ns := policyNamespace(root)
	return host.Dynamic.Resource(openmcpapi.PolicyKind().GVR()).Namespace(ns), f, ns, nil
}

// PolicyGetOptions are the options of `kubectl openmcp policy get`.
type PolicyGetOptions struct {
	root       *cli.Root
	Name       string
	PrintFlags *genericclioptions.PrintFlags

	client    dynamic.ResourceInterface
	fleet     *fleet.Fleet
	namespace string
	printer   printers.ResourcePrinter
	genericiooptions.IOStreams
}

func newCmdPolicyGet(root *cli.Root) *cobra.Command {
	o := &PolicyGetOptions{root: root, IOStreams: root.Streams, PrintFlags: genericclioptions.NewPrintFlags("").WithTypeSetter(nil)}
	cmd := &cobra.Command{
		Use:   "get [NAME]",
		Short: "List OpenMCPPolicies as a table: NAME, STATUS, TARGET, POLICIES",
		Long: `List OpenMCPPolicies, one row each: NAME, STATUS (spec.policyStatus),
TARGET (the controller the policy tunes) and POLICIES as type=value[,value]
entries separated by ";". -o wide adds RANGE (spec.rangeOfApplication).`,
		Example: `  # Every policy in namespace openmcp
  kubectl openmcp policy get

  # One policy as YAML
  kubectl openmcp policy get lb-scoring-weight -o yaml`,
		Args: cli.RangeArgs(0, 1),
		RunE: cli.Run(o),
	}
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format: json, yaml, name, wide, or a template format (default: a table)"
	return cmd
}

// Complete connects to the host.
func (o *PolicyGetOptions) Complete(cmd *cobra.Command, args []string) error {
	root := o.root
	if len(args) == 1 {
		o.Name = args[0]
	}
	var err error
	if f := outputFormat(o.PrintFlags); f != "" && f != "wide" {
		if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	o.client, o.fleet, o.namespace, err = policyClient(root, cmd)
	return err
}

// Validate has nothing to check beyond Complete.
func (o *PolicyGetOptions) Validate() error { return nil }

// Run reads the policies and prints them.
func (o *PolicyGetOptions) Run(ctx context.Context) error {
	var items []unstructured.Unstructured
	if o.Name != "" {
		u, err := o.client.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return policyNotFound(ctx, o.client, o.Name, o.namespace, err)
		}
		items = []unstructured.Unstructured{*u}
	} else {
		list, err := o.client.List(ctx, metav1.ListOptions{})
		if err != nil {
			return listError(err, o.namespace)
		}
		items = list.Items
		sort.Slice(items, func(i, j int) bool { return items[i].GetName() < items[j].GetName() })
	}
	if o.printer != nil {
		objs := make([]*unstructured.Unstructured, len(items))
		for i := range items {
			objs[i] = &items[i]
		}
		if o.Name == "" && (outputFormat(o.PrintFlags) == "json" || outputFormat(o.PrintFlags) == "yaml") {
			// A list prints as a List even with one or no items, as kubectl get does.
			list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{}}, Items: items}
			return o.printer.PrintObj(list, o.Out)
		}
		return printObjects(o.printer, outputFormat(o.PrintFlags), o.Out, objs)
	}
	if len(items) == 0 {
		termsafe.Fprintf(o.ErrOut, "No OpenMCPPolicies found in namespace %s.\n", o.namespace)
		return nil
	}
	wide := outputFormat(o.PrintFlags) == "wide"
	w := printers.GetNewTabWriter(o.Out)
	header := "NAME\tSTATUS\tTARGET\tPOLICIES"
	if wide {
		header += "\tRANGE"
	}
	fmt.Fprintln(w, header)
	for i := range items {
		p, err := openmcpapi.PolicyFrom(&items[i])
		if err != nil {
			cli.Warnf(o.ErrOut, "%v", err)
		}
		c := termsafe.Cell // a tab or an escape in a policy's field must not reach the terminal
		row := fmt.Sprintf("%s\t%s\t%s\t%s", c(p.Name), c(dash(p.Status)), c(dash(p.Target)), c(dash(p.PoliciesString())))
		if wide {
			row += "\t" + c(dash(p.Range))
		}
		fmt.Fprintln(w, row)
	}
	return w.Flush()
}

func dash(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func listError(err error, ns string) error {
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("the host serves no OpenMCPPolicy (%s): the OpenMCP CRDs are not installed", openmcpapi.PolicyKind().CRDName())
	}
	return fmt.Errorf("cannot list OpenMCPPolicies in %s: %w", ns, err)
}

// policyNotFound turns a 404 into the names that do exist.
func policyNotFound(ctx context.Context, c dynamic.ResourceInterface, name, ns string, err error) error {
	if !apierrors.IsNotFound(err) {
		return err
	}
	list, lerr := c.List(ctx, metav1.ListOptions{})
	if lerr != nil {
		return listError(lerr, ns)
	}
	names := make([]string, 0, len(list.Items))
	for _, it := range list.Items {
		names = append(names, it.GetName())
	}
	sort.Strings(names)
	have := strings.Join(names, ", ")
	if have == "" {
		have = "none"
	}
	return fmt.Errorf("openmcppolicy %q not found in namespace %s (policies: %s)", name, ns, have)
}

// PolicySetOptions are the options of `kubectl openmcp policy set`.
type PolicySetOptions struct {
	root   *cli.Root
	Name   string
	Values []openmcpapi.PolicyValue
	DryRun cmdutil.DryRunStrategy

	client    dynamic.ResourceInterface
	namespace string
	genericiooptions.IOStreams
}

func newCmdPolicySet(root *cli.Root) *cobra.Command {
	o := &PolicySetOptions{root: root, IOStreams: root.Streams}
	cmd := &cobra.Command{
		Use:   "set NAME TYPE=VALUE[,VALUE] [TYPE=VALUE...]",
		Short: "Change values of an OpenMCPPolicy (omcpctl set opol)",
		Long: `Change the values of policy types an OpenMCPPolicy already has, as
omcpctl's "set opol" did. A TYPE the policy does not have is an error that lists
the types it has (a new type would be silently ignored by OpenMCP). Several
values are separated by commas. Other types and fields are left as they are;
the update is retried if the policy changes meanwhile.`,
		Example: `  # Use round robin scheduling
  kubectl openmcp policy set scheduling-policy algorithm=RR

  # Change two load-balancing weights at once
  kubectl openmcp policy set lb-scoring-weight GeoRate=0.3 Period=10.0`,
		Args: cli.MinArgs(2),
		RunE: cli.Run(o),
	}
	cmdutil.AddDryRunFlag(cmd)
	return cmd
}

// Complete parses the arguments and connects to the host.
func (o *PolicySetOptions) Complete(cmd *cobra.Command, args []string) error {
	root := o.root
	o.Name = args[0]
	var err error
	if o.Values, err = openmcpapi.ParsePolicyArgs(args[1:]); err != nil {
		return &cli.UsageError{Err: err}
	}
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	o.client, _, o.namespace, err = policyClient(root, cmd)
	return err
}

// Validate has nothing to check beyond Complete; the types are checked
// against the policy itself in Run.
func (o *PolicySetOptions) Validate() error { return nil }

// badTypeError marks a TYPE the policy lacks: the command line is wrong.
type badTypeError struct{ error }

// Run reads the policy, changes the values and updates it, retrying on
// conflict so a concurrent change is never overwritten.
func (o *PolicySetOptions) Run(ctx context.Context) error {
	action := openmcpapi.Unchanged
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := o.client.Get(ctx, o.Name, metav1.GetOptions{})
		if err != nil {
			return policyNotFound(ctx, o.client, o.Name, o.namespace, err)
		}
		changed, err := openmcpapi.SetPolicyValues(u, o.Values)
		if err != nil {
			return badTypeError{err}
		}
		if !changed {
			action = openmcpapi.Unchanged
			return nil
		}
		opts := metav1.UpdateOptions{FieldManager: openmcpapi.FieldManager}
		switch o.DryRun {
		case cmdutil.DryRunClient:
			action = openmcpapi.Configured
			return nil
		case cmdutil.DryRunServer:
			opts.DryRun = []string{metav1.DryRunAll}
		}
		if _, err := o.client.Update(ctx, u, opts); err != nil {
			return err
		}
		action = openmcpapi.Configured
		return nil
	})
	var bad badTypeError
	if errors.As(err, &bad) {
		return &cli.UsageError{Err: bad.error}
	}
	if err != nil {
		return err
	}
	suffix := ""
	switch o.DryRun {
	case cmdutil.DryRunClient:
		suffix = " (dry run)"
	case cmdutil.DryRunServer:
		suffix = " (server dry run)"
	}
	termsafe.Fprintf(o.Out, "openmcppolicy.%s/%s %s%s\n", openmcpapi.Group, o.Name, action, suffix)
	return nil
}
