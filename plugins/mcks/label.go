package mcks

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/placement"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/topology"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

const labelExample = `  # Mark two nodes as AWS Seoul nodes
  kubectl mcks label node-1 node-2 --csp aws --region ap-northeast-2 --zone ap-northeast-2a

  # Fix a wrong region on every node of a node pool
  kubectl mcks label -l pool=gcp-london --region europe-west2 --overwrite

  # See what would change
  kubectl mcks label node-3 --csp gcp --region europe-west2 --dry-run=server -o yaml`

// LabelOptions are the options of `kubectl mcks label`.
type LabelOptions struct {
	root      *cli.Root
	streams   genericiooptions.IOStreams
	out       *output
	csp       string
	region    string
	zone      string
	selector  string
	overwrite bool
	allowAny  bool

	names  []string
	labels map[string]string
	dryRun cmdutil.DryRunStrategy
	client kubernetes.Interface
	cmd    *cobra.Command
}

// NewCmdLabel builds `kubectl mcks label`.
func NewCmdLabel(root *cli.Root) *cobra.Command {
	o := &LabelOptions{root: root, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "label (NODE... | -l SELECTOR) [--csp CSP] [--region REGION] [--zone ZONE] [--overwrite]",
		Short: "Set the cloud provider, region and zone labels of nodes",
		Long: `Set the labels MCKS gives its nodes, on nodes that lack them or carry wrong
ones: topology.cloud-barista.github.io/csp, topology.kubernetes.io/region and
topology.kubernetes.io/zone. Region and zone are also written under their
deprecated failure-domain.beta.kubernetes.io keys, which KubeFed still reads
when the cluster is joined to a federation.

A node that already has another value for a label is refused unless
--overwrite; every node is checked before the first one is changed.`,
		Example: labelExample,
		RunE:    cli.Run(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.csp, "csp", "", "Cloud provider: one of "+strings.Join(topology.KnownCSPs, ", "))
	f.StringVar(&o.region, "region", "", "Region, as the cloud names it (e.g. ap-northeast-2, europe-west2)")
	f.StringVar(&o.zone, "zone", "", "Zone, as the cloud names it (e.g. ap-northeast-2a)")
	f.StringVarP(&o.selector, "selector", "l", "", "Label the nodes matching this selector instead of naming them")
	f.BoolVar(&o.overwrite, "overwrite", false, "Replace labels that already have another value")
	f.BoolVar(&o.allowAny, "allow-any", false, "Accept a CSP name MCKS does not know")
	_ = cmd.RegisterFlagCompletionFunc("csp", cobra.FixedCompletions(topology.KnownCSPs, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.out = newOutput(cmd)
	return cmd
}

// Complete reads the arguments and builds the client.
func (o *LabelOptions) Complete(cmd *cobra.Command, args []string) error {
	o.cmd = cmd
	o.names = args
	var err error
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.Usagef("%v", err)
	}
	o.labels = map[string]string{}
	if cmd.Flags().Changed("csp") {
		o.labels[topology.CSPLabel] = o.csp
	}
	if cmd.Flags().Changed("region") {
		o.labels[topology.RegionLabel] = o.region
		o.labels[topology.BetaRegionLabel] = o.region
	}
	if cmd.Flags().Changed("zone") {
		o.labels[topology.ZoneLabel] = o.zone
		o.labels[topology.BetaZoneLabel] = o.zone
	}
	o.client, err = kubeClient(o.root)
	return err
}

// Validate checks every value before any node is read.
func (o *LabelOptions) Validate() error {
	if err := o.out.Validate(); err != nil {
		return err
	}
	if len(o.names) == 0 && o.selector == "" {
		return cli.Usagef("name the nodes to label, or select them with -l")
	}
	if len(o.names) > 0 && o.selector != "" {
		return cli.Usagef("give node names or -l, not both")
	}
	if err := checkSelector(o.selector); err != nil {
		return err
	}
	if len(o.labels) == 0 {
		return cli.Usagef("nothing to set: give --csp, --region or --zone")
	}
	if o.cmd.Flags().Changed("csp") && !o.allowAny && !topology.IsKnownCSP(o.csp) {
		return cli.Usagef("unknown CSP %q: MCKS knows %s (use --allow-any for another name)", o.csp, strings.Join(topology.KnownCSPs, ", "))
	}
	for flag, v := range map[string]string{"csp": o.csp, "region": o.region, "zone": o.zone} {
		if !o.cmd.Flags().Changed(flag) {
			continue
		}
		if v == "" {
			return cli.Usagef("empty --%s: to remove the label use kubectl label node NODE KEY-", flag)
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			return cli.Usagef("invalid --%s %q: %s", flag, v, strings.Join(errs, "; "))
		}
	}
	return nil
}

// Run checks every node, then labels them.
func (o *LabelOptions) Run(ctx context.Context) error {
	nodes, err := o.targets(ctx)
	if err != nil {
		return err
	}
	// Refuse before the first write if any node would lose a value.
	var conflicts []string
	for i := range nodes {
		conflicts = append(conflicts, o.conflicts(&nodes[i])...)
	}
	if len(conflicts) > 0 {
		return fmt.Errorf("%s; use --overwrite to replace them (no node was changed)", strings.Join(conflicts, "; "))
	}
	var printed []runtime.Object
	for i := range nodes {
		n, changed, err := o.label(ctx, nodes[i].Name)
		if err != nil {
			return err
		}
		if !o.out.Report() {
			n.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
			printed = append(printed, n)
			continue
		}
		verb := "labeled"
		if !changed {
			verb = "unchanged"
		}
		termsafe.Fprintf(o.streams.Out, "node/%s %s%s\n", n.Name, verb, dryRunSuffix(o.dryRun))
	}
	if len(printed) == 1 {
		return o.out.Print(o.streams.Out, printed[0], printed)
	}
	if len(printed) > 1 {
		list := &corev1.List{}
		list.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("List"))
		for _, p := range printed {
			list.Items = append(list.Items, runtime.RawExtension{Object: p})
		}
		return o.out.Print(o.streams.Out, list, printed)
	}
	return nil
}

// targets reads the named nodes (all must exist) or the selected ones.
func (o *LabelOptions) targets(ctx context.Context) ([]corev1.Node, error) {
	if o.selector != "" {
		list, err := o.client.CoreV1().Nodes().List(ctx, metav1.ListOptions{LabelSelector: o.selector})
		if err != nil {
			return nil, fmt.Errorf("cannot list nodes: %w", err)
		}
		if len(list.Items) == 0 {
			return nil, fmt.Errorf("no node matches %q", o.selector)
		}
		return list.Items, nil
	}
	var nodes []corev1.Node
	var missing []string
	for _, name := range o.names {
		n, err := o.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			missing = append(missing, name)
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("cannot read node %s: %w", name, err)
		}
		nodes = append(nodes, *n)
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("nodes not found: %s (no node was changed)", strings.Join(missing, ", "))
	}
	return nodes, nil
}

func (o *LabelOptions) conflicts(n *corev1.Node) []string {
	if o.overwrite {
		return nil
	}
	var out []string
	for _, k := range sortedKeys(o.labels) {
		if old, ok := n.Labels[k]; ok && old != o.labels[k] {
			out = append(out, fmt.Sprintf("node %s already has %s=%s", n.Name, k, old))
		}
	}
	return out
}

// label patches one node's labels, conditional on the version read, and
// re-checks on conflict: a concurrent writer's value is never overwritten
// unless --overwrite.
func (o *LabelOptions) label(ctx context.Context, name string) (*corev1.Node, bool, error) {
	var result *corev1.Node
	changed := false
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := o.client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return fmt.Errorf("cannot read node %s: %w", name, err)
		}
		if c := o.conflicts(n); len(c) > 0 {
			return fmt.Errorf("%s; use --overwrite to replace it", strings.Join(c, "; "))
		}
		add := map[string]string{}
		for k, v := range o.labels {
			if n.Labels[k] != v {
				add[k] = v
			}
		}
		if len(add) == 0 {
			result, changed = n, false
			return nil
		}
		changed = true
		if o.dryRun == cmdutil.DryRunClient {
			if n.Labels == nil {
				n.Labels = map[string]string{}
			}
			for k, v := range add {
				n.Labels[k] = v
			}
			result = n
			return nil
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"labels": add, "resourceVersion": n.ResourceVersion}})
		opts := metav1.PatchOptions{FieldManager: placement.FieldManager}
		if o.dryRun == cmdutil.DryRunServer {
			opts.DryRun = []string{metav1.DryRunAll}
		}
		result, err = o.client.CoreV1().Nodes().Patch(ctx, name, types.MergePatchType, patch, opts)
		return err
	})
	if err != nil {
		return nil, false, err
	}
	return result, changed, nil
}

func dryRunSuffix(s cmdutil.DryRunStrategy) string {
	switch s {
	case cmdutil.DryRunClient:
		return " (dry run)"
	case cmdutil.DryRunServer:
		return " (server dry run)"
	}
	return ""
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
