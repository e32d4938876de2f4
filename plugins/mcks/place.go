package mcks

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/placement"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const placeExample = `  # Run busybox only on GCP nodes in London (the MCKS conference example)
  kubectl mcks place deployment/busybox --csp gcp --region europe-west2

  # Prefer AWS or Azure, and spread the replicas evenly over the clouds
  kubectl mcks place deploy/web --csp aws,azure --preferred --spread csp

  # Show the object that would be written, change nothing
  kubectl mcks place sts/db --csp aws --region ap-northeast-2 --dry-run -o yaml

  # Remove what place wrote, keep the rest of the affinity
  kubectl mcks place deploy/web --clear`

// PlaceOptions are the options of `kubectl mcks place`.
type PlaceOptions struct {
	root      *cli.Root
	streams   genericiooptions.IOStreams
	out       *output
	placement placement.Placement
	when      string
	clear     bool
	allowAny  bool

	target    placement.Target
	namespace string
	dryRun    cmdutil.DryRunStrategy
	client    kubernetes.Interface
	cmd       *cobra.Command
}

// NewCmdPlace builds `kubectl mcks place`.
func NewCmdPlace(root *cli.Root) *cobra.Command {
	o := &PlaceOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "place TYPE/NAME [--csp CSP,...] [--region REGION,...] [--zone ZONE,...] [--preferred] [--spread csp|region|zone] | --clear",
		Short: "Pin or spread a workload's pods over clouds, regions and zones",
		Long: `Edit the pod template of a Deployment, StatefulSet, DaemonSet, Job or CronJob so
its pods run on the clouds, regions and zones asked for.

place owns the MCKS topology keys (topology.cloud-barista.github.io/csp,
topology.kubernetes.io/region and zone) in the template: it adds or replaces
node affinity on them, required by default or preferred with --preferred, and
with --spread a topologySpreadConstraint on one of them. Each run replaces what
the previous one wrote. Affinity on other keys, pod (anti-)affinity and other
spread constraints are kept as the user wrote them; required expressions are
added to every existing required term, since terms are alternatives.
--clear removes only what place owns.

Region names repeat across clouds: give the CSP with the region. A CSP name MCKS
does not know is refused unless --allow-any. A warning tells when no Ready node
matches.`,
		Example: placeExample,
		Args:    cli.RangeArgs(1, 2),
		RunE:    cli.Run(o),
	}
	f := cmd.Flags()
	f.StringSliceVar(&o.placement.CSPs, "csp", nil, "Cloud providers the pods may run on (comma-separated): "+strings.Join(topology.KnownCSPs, ", "))
	f.StringSliceVar(&o.placement.Regions, "region", nil, "Regions the pods may run in (comma-separated)")
	f.StringSliceVar(&o.placement.Zones, "zone", nil, "Zones the pods may run in (comma-separated)")
	f.BoolVar(&o.placement.Preferred, "preferred", false, "Prefer the nodes instead of requiring them")
	f.Int32Var(&o.placement.Weight, "weight", placement.DefaultWeight, "Weight of the preferred term, 1 to 100 (with --preferred)")
	f.StringVar(&o.placement.Spread, "spread", "", "Spread the pods evenly over csp, region or zone")
	f.Int32Var(&o.placement.MaxSkew, "max-skew", 1, "Largest allowed difference in pod count between two domains (with --spread)")
	f.StringVar(&o.when, "when-unsatisfiable", "", "DoNotSchedule or ScheduleAnyway (with --spread; default DoNotSchedule, ScheduleAnyway with --preferred)")
	f.BoolVar(&o.clear, "clear", false, "Remove the placement place wrote, and nothing else")
	f.BoolVar(&o.allowAny, "allow-any", false, "Accept a CSP name MCKS does not know")
	_ = cmd.RegisterFlagCompletionFunc("csp", cobra.FixedCompletions(topology.KnownCSPs, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("spread", cobra.FixedCompletions([]string{"csp", "region", "zone"}, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.out = newOutput(cmd)
	return cmd
}

// Complete reads the target, namespace and dry-run mode.
func (o *PlaceOptions) Complete(cmd *cobra.Command, args []string) error {
	o.cmd = cmd
	var err error
	if o.target, err = placement.ParseTarget(args); err != nil {
		return cli.Usagef("%v", err)
	}
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.Usagef("%v", err)
	}
	o.placement.WhenUnsatisfiable = corev1.UnsatisfiableConstraintAction(o.when)
	if o.namespace, err = namespace(o.root); err != nil {
		return err
	}
	o.client, err = kubeClient(o.root)
	return err
}

// Validate checks the placement before the workload is read.
func (o *PlaceOptions) Validate() error {
	if err := o.out.Validate(); err != nil {
		return err
	}
	if o.clear {
		for _, f := range []string{"csp", "region", "zone", "preferred", "weight", "spread", "max-skew", "when-unsatisfiable", "allow-any"} {
			if o.cmd.Flags().Changed(f) {
				return cli.Usagef("--clear takes no --%s: it removes the whole placement", f)
			}
		}
		return nil
	}
	if o.cmd.Flags().Changed("weight") && !o.placement.Preferred {
		return cli.Usagef("--weight needs --preferred")
	}
	if (o.cmd.Flags().Changed("max-skew") || o.when != "") && o.placement.Spread == "" {
		return cli.Usagef("--max-skew and --when-unsatisfiable need --spread")
	}
	if err := o.placement.Validate(o.allowAny); err != nil {
		return cli.Usagef("%v", err)
	}
	if err := o.placement.CheckKind(o.target.Kind); err != nil {
		return cli.Usagef("%v", err)
	}
	return nil
}

// Run edits the workload and reports.
func (o *PlaceOptions) Run(ctx context.Context) error {
	dry := map[cmdutil.DryRunStrategy]placement.DryRun{cmdutil.DryRunNone: placement.DryRunNone, cmdutil.DryRunClient: placement.DryRunClient, cmdutil.DryRunServer: placement.DryRunServer}[o.dryRun]
	res, err := placement.Edit(ctx, o.client, o.namespace, o.target, dry, func(spec *corev1.PodSpec, spread placement.Spread) error {
		if o.clear {
			placement.Clear(spec)
			return nil
		}
		if o.placement.Spread != "" && spread.Selector == nil {
			return fmt.Errorf("%s has no pod selector to spread by", o.target)
		}
		placement.Apply(spec, o.placement, spread)
		return nil
	})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%s not found in namespace %q", o.target, o.namespace)
	}
	if err != nil {
		return fmt.Errorf("cannot place %s: %w", o.target, err)
	}
	if !o.clear {
		for _, c := range placement.Conflicts(res.Before, o.placement) {
			cli.Warnf(o.streams.ErrOut, "%s: %s", o.target, c)
		}
		o.warnUnmatched(ctx)
	}
	if !o.out.Report() {
		return o.out.Print(o.streams.Out, res.Object, nil)
	}
	switch {
	case o.clear && res.Changed:
		termsafe.Fprintf(o.streams.Out, "%s placement cleared%s\n", o.target, dryRunSuffix(o.dryRun))
	case o.clear:
		termsafe.Fprintf(o.streams.Out, "%s unchanged (no placement to clear)\n", o.target)
	case res.Changed:
		termsafe.Fprintf(o.streams.Out, "%s placed: %s%s\n", o.target, o.placement.Describe(), dryRunSuffix(o.dryRun))
	default:
		termsafe.Fprintf(o.streams.Out, "%s unchanged: already %s\n", o.target, o.placement.Describe())
	}
	return nil
}

// warnUnmatched warns when no Ready node satisfies the placement: required,
// the pods stay Pending; preferred, the preference does nothing.
func (o *PlaceOptions) warnUnmatched(ctx context.Context) {
	if len(o.placement.Requirements()) == 0 {
		return
	}
	nodes, err := o.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		cli.Warnf(o.streams.ErrOut, "cannot list nodes to check the placement: %v", err)
		return
	}
	seen := map[string]int{}
	for i := range nodes.Items {
		n := &nodes.Items[i]
		if !topology.IsReady(n) {
			continue
		}
		if placement.Matches(n, o.placement) {
			return
		}
		t := topology.NodeTopology(n)
		seen[orNone(t.CSP)+"/"+orNone(t.Region)]++
	}
	var have []string
	for k, v := range seen {
		have = append(have, fmt.Sprintf("%s (%d)", k, v))
	}
	sort.Strings(have)
	if len(have) == 0 {
		have = []string{"none"}
	}
	effect := "its pods will stay Pending until one does"
	if o.placement.Preferred {
		effect = "the preference has no effect"
	}
	cli.Warnf(o.streams.ErrOut, "no Ready node has %s: %s. Ready nodes by CSP/region: %s", o.placement.DescribeNodes(), effect, strings.Join(have, ", "))
}
