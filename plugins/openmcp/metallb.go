package openmcp

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/big"
	"strings"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/kubernetes/scheme"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// MetalLBOptions are the options of `kubectl openmcp metallb`.
type MetalLBOptions struct {
	Clusters      []string
	RangeValues   []string
	Pool          string
	Mode          string
	AutoAssign    bool
	AllowOverlap  bool
	AllowStranded bool
	List          bool
	NoHeaders     bool
	Selection     *fleet.SelectionFlags
	FanOut        *fleet.FanOutFlags
	DryRun        write.DryRun
	PrintFlags    *genericclioptions.PrintFlags

	namespace     string
	ranges        []metallb.Range
	mode          metallb.Mode
	setAutoAssign bool
	root          *cli.Root
	cmd           *cobra.Command
	fleet         *fleet.Fleet // made in Run, so a bad command line is reported before a missing host context
	genericiooptions.IOStreams
}

// NewCmdMetalLB is `kubectl openmcp metallb`.
func NewCmdMetalLB(root *cli.Root) *cobra.Command {
	o := &MetalLBOptions{
		IOStreams:  root.Streams,
		PrintFlags: genericclioptions.NewPrintFlags("configured").WithTypeSetter(scheme.Scheme),
		Pool:       metallb.DefaultPool,
		Mode:       string(metallb.ModeAuto),
		AutoAssign: true,
		Selection:  fleet.NewSelectionFlags(false, false),
		FanOut:     fleet.NewFanOutFlags(),
		root:       root,
	}
	cmd := &cobra.Command{
		Use:   "metallb CLUSTER --range FROM-TO|CIDR [--range ...] | metallb [CLUSTER...] --list",
		Short: "Set a member's MetalLB address pool, checked against the whole federation",
		Long: `Set the MetalLB address pool of a member cluster, in the form its MetalLB reads.

A cluster that serves the CRD ipaddresspools.metallb.io (MetalLB v0.13 and
later) gets an IPAddressPool and an L2Advertisement that announces it; any
other gets the legacy ConfigMap metallb-system/config (key config, a layer2
entry under address-pools), as the OpenMCP guide shows. --mode forces one.

--range takes FROM-TO or a CIDR, IPv4 or IPv6, and may be repeated. Malformed
ranges, FROM after TO, ranges mixing families, CIDRs with host bits set and
pools of only .0/.255 addresses are refused.

Before writing, the pools of every member of the federation are read, and a
range that overlaps another pool (of another cluster, or another pool of the
same cluster) is refused, naming that cluster and pool; --allow-overlap writes
it anyway. The same range again changes nothing; another range replaces that
pool's addresses and keeps every other pool and setting (and the ConfigMap's
other keys). The namespace (-n, default metallb-system) is created if missing.

The target cluster itself is checked too: a range of an address family its
Services do not have (an IPv6 range on a member whose service CIDRs are IPv4
only) is refused, and so is a new range that leaves out addresses its
LoadBalancer Services hold, naming them: MetalLB v0.13+ would take those
addresses back and give the Services others, MetalLB < v0.13 would reject
the whole new configuration. --allow-stranded writes it anyway. A member that
serves MetalLB CRDs of another version than metallb.io/v1beta1 is refused.

--list shows the pools of every member (or the clusters named), with the
addresses in use (USED, from the LoadBalancer Services' status) and FREE, so
a pool running out shows before a Service waits; -o wide adds which Service
holds which address, -o json|yaml carries size, used, free and inUse.`,
		Example: `  # The guide's pool on cluster1, in whichever form its MetalLB reads
  kubectl openmcp metallb cluster1 --range 10.0.3.241-10.0.3.250

  # A dual-stack pool named lab, not handed out unless a Service asks for it
  kubectl openmcp metallb cluster2 --pool lab --range 10.0.4.0/28 --range fd00:4::/120 --auto-assign=false

  # Show the objects that would be written
  kubectl openmcp metallb cluster1 --range 10.0.3.241-10.0.3.250 --dry-run=client -o yaml

  # Every member's pools and how many of their addresses are in use
  kubectl openmcp metallb --list

  # Move a pool even though Services hold addresses outside the new range
  kubectl openmcp metallb cluster1 --range 10.0.7.0/29 --allow-stranded`,
		ValidArgsFunction: completeContexts(root),
		RunE:              cli.Run(o),
	}
	f := cmd.Flags()
	f.StringArrayVar(&o.RangeValues, "range", nil, "Addresses of the pool: FROM-TO or a CIDR, IPv4 or IPv6; repeat for several")
	f.StringVar(&o.Pool, "pool", o.Pool, "Name of the pool")
	f.StringVar(&o.Mode, "mode", o.Mode, "Which MetalLB configuration to write: auto (CRDs if served, else the ConfigMap), configmap or crd")
	f.BoolVar(&o.AutoAssign, "auto-assign", o.AutoAssign, "Let MetalLB hand out the pool's addresses to any LoadBalancer Service (set only when given)")
	f.BoolVar(&o.AllowOverlap, "allow-overlap", false, "Write the range even if it overlaps another pool in the federation (or if a member cannot be read)")
	f.BoolVar(&o.AllowStranded, "allow-stranded", false, "Write the range even if it leaves out addresses Services hold (MetalLB then gives them other addresses)")
	f.BoolVar(&o.List, "list", false, "Show the pools of the members instead of setting one")
	f.BoolVar(&o.NoHeaders, "no-headers", false, "With --list: don't print headers")
	o.Selection.AddSelectorFlag(cmd, "With --list: ")
	o.FanOut.AddFlags(f)
	_ = cmd.RegisterFlagCompletionFunc("mode", cobra.FixedCompletions([]string{"auto", "configmap", "crd"}, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.PrintFlags.AddFlags(cmd)
	cmd.Flags().Lookup("output").Usage = "Output format. One of: (json, yaml, name, go-template, jsonpath, ...); with --list: wide, json, yaml"
	return cmd
}

// Complete reads the flags that need parsing.
func (o *MetalLBOptions) Complete(cmd *cobra.Command, args []string) error {
	o.Clusters, o.cmd = args, cmd
	root := o.root
	var err error
	if o.DryRun, err = cli.GetDryRun(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	// The global -n: MetalLB's namespace here, metallb-system unless given.
	o.namespace = metallb.DefaultNamespace
	if cli.FlagSetHas(cmd.Flags(), "namespace") && root.ConfigFlags.Namespace != nil && *root.ConfigFlags.Namespace != "" {
		o.namespace = *root.ConfigFlags.Namespace
	}
	o.setAutoAssign = cli.FlagSetHas(cmd.Flags(), "auto-assign")
	return nil
}

// Validate checks the command line before any cluster is asked.
func (o *MetalLBOptions) Validate() error {
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
		return validateListMode(o.cmd, format, "range", "pool", "mode", "auto-assign", "allow-overlap", "allow-stranded", "dry-run")
	}
	if o.Selection.Selector != "" {
		return cli.Usagef("--cluster-selector chooses the clusters of --list; metallb sets the pool of one CLUSTER")
	}
	if len(o.Clusters) != 1 {
		return cli.Usagef("give exactly one CLUSTER (got %d), or --list to show the pools", len(o.Clusters))
	}
	if len(o.RangeValues) == 0 {
		return cli.Usagef("no address range: give --range FROM-TO or --range CIDR (or --list to show the pools)")
	}
	var err error
	if o.ranges, err = metallb.ParseRanges(o.RangeValues); err != nil {
		return &cli.UsageError{Err: err}
	}
	if o.mode, err = metallb.ParseMode(o.Mode); err != nil {
		return &cli.UsageError{Err: err}
	}
	probe := metallb.Options{Pool: o.Pool, Namespace: o.namespace, Mode: o.mode, Ranges: o.ranges}
	if err := probe.Validate(); err != nil {
		return &cli.UsageError{Err: err}
	}
	return validateWriteFormat(format, o.PrintFlags)
}

// Run sets the pool on one cluster after the federation-wide overlap check.
func (o *MetalLBOptions) Run(ctx context.Context) error {
	var err error
	if o.fleet, err = fleetFor(o.fleet, o.root, o.cmd, o.FanOut); err != nil {
		return err
	}
	if o.List {
		return o.RunList(ctx)
	}
	target, err := o.fleet.Cluster(ctx, o.Clusters[0])
	if err != nil {
		return err
	}
	members, err := o.fleet.MembersOrNone(ctx)
	if err != nil {
		return err
	}
	clients, err := target.Clients()
	if err != nil {
		return fmt.Errorf("cluster %s: %w", target.Name, err)
	}
	if target.Member == nil {
		cli.Warnf(o.ErrOut, "cluster %s is not joined to host %q: its pool is checked against the members' pools all the same", target.Name, o.fleet.Host.Context)
	}
	if err := o.checkOverlaps(ctx, members, target); err != nil {
		return err
	}
	opts := metallb.Options{Pool: o.Pool, Ranges: o.ranges, Mode: o.mode, Namespace: o.namespace, DryRun: o.DryRun, FieldManager: write.FieldManager}
	if o.setAutoAssign {
		opts.AutoAssign = &o.AutoAssign
	}
	res, err := metallb.Apply(ctx, clients, opts)
	if err != nil {
		return fmt.Errorf("cluster %s: %w", target.Name, err)
	}
	if target.Member != nil && len(o.ranges) > 0 && o.Pool == "default" && o.DryRun != write.DryRunClient {
		// OpenMCP records one range per member: the default pool's (a
		// client dry run sends no write at all).
		rec := openmcpapi.ClusterRecord{MetalLBFrom: o.ranges[0].From.String(), MetalLBTo: o.ranges[0].To.String()}
		host, err := hostClients(o.fleet)
		if err != nil {
			return err
		}
		if _, err := openmcpapi.UpdateClusterRecord(ctx, host.Dynamic, target.Name, rec, o.DryRun == write.DryRunServer); err != nil {
			cli.Warnf(o.ErrOut, "cluster %s: pool written, but %v", target.Name, err)
		}
	}
	if res.Mode != res.Detected {
		cli.Warnf(o.ErrOut, "cluster %s serves the MetalLB CRDs: MetalLB v0.13+ ignores the ConfigMap written with --mode configmap", target.Name)
	}
	return o.print(target.Name, res)
}

// checkOverlaps reads every member's pools (and the target's, if it is not
// a member) and refuses a range that overlaps one of them.
func (o *MetalLBOptions) checkOverlaps(ctx context.Context, members []fleet.Member, target *fleet.Cluster) error {
	return checkPoolOverlaps(ctx, o.fleet, members, target, poolCheck{
		Namespace: o.namespace, Pool: o.Pool, Ranges: o.ranges,
		AllowOverlap: o.AllowOverlap, AllowStranded: o.AllowStranded,
	})
}

// poolCheck is what checkPoolOverlaps compares.
type poolCheck struct {
	Namespace, Pool string
	Ranges          []metallb.Range
	AllowOverlap    bool
	AllowStranded   bool
}

// checkPoolOverlaps is the federation-wide overlap check metallb and join share.
func checkPoolOverlaps(ctx context.Context, f *fleet.Fleet, members []fleet.Member, target *fleet.Cluster, pc poolCheck) error {
	errOut := f.ErrOut
	var clusters []*fleet.Cluster
	var unread []string
	seenTarget := false
	for _, m := range members {
		if m.Name == target.Name {
			clusters = append(clusters, target)
			seenTarget = true
			continue
		}
		if m.Context == "" {
			unread = append(unread, fmt.Sprintf("cluster %s: no kubeconfig context reaches it", m.Name))
			continue
		}
		c, err := f.Reach(ctx, m)
		if err != nil {
			unread = append(unread, fmt.Sprintf("cluster %s: %v", m.Name, err))
			continue
		}
		clusters = append(clusters, c)
	}
	if !seenTarget {
		clusters = append(clusters, target)
	}
	read := metallb.ReadAll(ctx, clusters, pc.Namespace, f.FanOut)
	for _, r := range read {
		if r.Err != nil {
			unread = append(unread, fmt.Sprintf("cluster %s: %v", r.Cluster, r.Err))
		}
		if r.Cluster == target.Name && r.Err != nil {
			// The target must be readable: its own pools decide "unchanged".
			return fmt.Errorf("cluster %s: cannot read its MetalLB pools: %w", target.Name, r.Err)
		}
	}
	if err := checkTargetPool(ctx, errOut, target, pc, read); err != nil {
		return err
	}
	overlaps := metallb.FindOverlaps(target.Name, pc.Pool, pc.Ranges, read)
	if pc.AllowOverlap {
		for _, u := range unread {
			cli.Warnf(errOut, "%s; its pools were not checked for overlaps", u)
		}
		for _, ov := range overlaps {
			cli.Warnf(errOut, "address range %s (written anyway: --allow-overlap)", ov)
		}
		return nil
	}
	if len(unread) > 0 {
		return fmt.Errorf("cannot check for overlapping pools: %s; nothing was changed (--allow-overlap skips the check)", strings.Join(unread, "; "))
	}
	if len(overlaps) > 0 {
		return fmt.Errorf("%w; nothing was changed (--allow-overlap writes it anyway)", &metallb.OverlapError{Overlaps: overlaps})
	}
	return nil
}

// checkTargetPool checks the ranges against the target cluster itself: they
// must be of a family its Services have, and must not leave out addresses
// its Services hold (unless --allow-stranded).
func checkTargetPool(ctx context.Context, errOut io.Writer, target *fleet.Cluster, pc poolCheck, read []metallb.ClusterPools) error {
	kube, err := target.Kube()
	if err != nil {
		return err
	}
	fams, known, err := metallb.ReadFamilies(ctx, kube)
	if err != nil {
		return fmt.Errorf("cluster %s: %w; nothing was changed", target.Name, err)
	}
	if known {
		if err := metallb.CheckFamilies(target.Name, pc.Ranges, fams); err != nil {
			return fmt.Errorf("%w; nothing was changed", err)
		}
	}
	var old []metallb.Range
	var mode metallb.Mode
	for _, r := range read {
		if r.Cluster != target.Name {
			continue
		}
		mode = r.Mode
		for _, p := range r.Pools {
			if p.Name == pc.Pool {
				old = p.Ranges
			}
		}
	}
	if len(old) == 0 {
		return nil // a new pool strands nothing
	}
	use, err := metallb.ReadServiceUse(ctx, kube)
	if err != nil {
		if pc.AllowStranded {
			cli.Warnf(errOut, "cluster %s: %v; Services holding addresses of pool %q were not checked", target.Name, err, pc.Pool)
			return nil
		}
		return fmt.Errorf("cluster %s: cannot check which Services hold addresses of pool %q: %w; nothing was changed (--allow-stranded skips the check)", target.Name, pc.Pool, err)
	}
	stranded := metallb.Stranded(old, pc.Ranges, use.Holders)
	if len(stranded) == 0 {
		return nil
	}
	serr := &metallb.StrandedError{Cluster: target.Name, Pool: pc.Pool, Mode: mode, Holders: stranded}
	if pc.AllowStranded {
		cli.Warnf(errOut, "%v (written anyway: --allow-stranded)", serr)
		return nil
	}
	return fmt.Errorf("%w; nothing was changed (--allow-stranded writes it anyway)", serr)
}

func (o *MetalLBOptions) print(cluster string, res metallb.Result) error {
	format := outputFormat(o.PrintFlags)
	if format == "json" || format == "yaml" {
		list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List", "metadata": map[string]any{"resourceVersion": ""}}}
		for _, obj := range res.Objects {
			u, err := asUnstructured(obj.Object)
			if err != nil {
				return err
			}
			withClusterAnnotation(u, cluster)
			list.Items = append(list.Items, *u)
		}
		p, err := o.PrintFlags.ToPrinter()
		if err != nil {
			return err
		}
		return p.PrintObj(list, o.Out)
	}
	if format == "" {
		how := "the legacy ConfigMap"
		if res.Mode == metallb.ModeCRD {
			how = "IPAddressPool and L2Advertisement (metallb.io/v1beta1)"
		}
		termsafe.Fprintf(o.ErrOut, "cluster %s: MetalLB pool %q in %s, as %s\n", cluster, res.Pool, res.Namespace, how)
	}
	for _, obj := range res.Objects {
		p, err := printerFor(o.PrintFlags, obj.Action.String(), o.DryRun)
		if err != nil {
			return err
		}
		if err := p.PrintObj(obj.Object, o.Out); err != nil {
			return err
		}
	}
	return nil
}

// poolRow is one pool in --list -o json|yaml.
type poolRow struct {
	Cluster       string   `json:"cluster"`
	Pool          string   `json:"pool"`
	Namespace     string   `json:"namespace"`
	Mode          string   `json:"mode"`
	Protocol      string   `json:"protocol,omitempty"`
	Addresses     []string `json:"addresses"`
	AutoAssign    bool     `json:"autoAssign"`
	AvoidBuggyIPs bool     `json:"avoidBuggyIPs,omitempty"`
	// Size, Used and Free count addresses; Size and Free stop at 2^63-1
	// (an IPv6 /64 pool), where MetalLB's own count stops. They are absent
	// when the member's Services could not be read.
	Size  *int64               `json:"size,omitempty"`
	Used  *int                 `json:"used,omitempty"`
	Free  *int64               `json:"free,omitempty"`
	InUse []metallb.AddressUse `json:"inUse,omitempty"`
}

func capInt64(b *big.Int) *int64 {
	v := int64(math.MaxInt64)
	if b.IsInt64() {
		v = b.Int64()
	}
	return &v
}

// RunList prints the pools of the chosen clusters, or of every member.
func (o *MetalLBOptions) RunList(ctx context.Context) error {
	sel := o.Selection.Selection()
	sel.Names, sel.Contexts = o.Clusters, true
	sel.All = len(o.Clusters) == 0 && sel.Selector == nil
	clusters, err := o.fleet.Select(ctx, sel)
	if err != nil {
		return err
	}
	failed := false
	read := metallb.ReadAllWithUse(ctx, clusters, o.namespace, o.fleet.FanOut)

	var rows []poolRow
	table := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Cluster", Type: "string"},
		{Name: "Pool", Type: "string"},
		{Name: "Addresses", Type: "string"},
		{Name: "Mode", Type: "string"},
		{Name: "Auto-Assign", Type: "string"},
		{Name: "Used", Type: "string"},
		{Name: "Free", Type: "string"},
		{Name: "Namespace", Type: "string", Priority: 1},
		{Name: "Protocol", Type: "string", Priority: 1},
		{Name: "Held-By", Type: "string", Priority: 1},
	}}
	for _, r := range read {
		if r.Err != nil {
			o.fleet.Warn(r.Cluster, r.Err)
			failed = true
			continue
		}
		if len(r.Pools) == 0 {
			table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{r.Cluster, "<none>", "<none>", string(r.Mode), "<none>", "<none>", "<none>", o.namespace, "<none>", "<none>"}})
			continue
		}
		if r.UseErr != nil {
			cli.Warnf(o.ErrOut, "cluster %s: %v; USED and FREE are unknown", r.Cluster, r.UseErr)
		} else {
			for _, bad := range r.Use.Unparsed {
				cli.Warnf(o.ErrOut, "cluster %s: %s, which is not an IP address", r.Cluster, bad)
			}
		}
		for _, p := range r.Pools {
			for _, bad := range p.Unparsed {
				cli.Warnf(o.ErrOut, "cluster %s: pool %s holds %q, which is not an address range", r.Cluster, p.Name, bad)
			}
			row := poolRow{Cluster: r.Cluster, Pool: p.Name, Namespace: p.Namespace, Mode: string(p.Mode), Protocol: p.Protocol, Addresses: p.Addresses, AutoAssign: p.AutoAssign, AvoidBuggyIPs: p.AvoidBuggyIPs}
			used, free, heldBy := "<unknown>", "<unknown>", "<unknown>"
			if r.Use != nil {
				u := p.Usage(r.Use.Holders)
				row.Size, row.Used, row.Free, row.InUse = capInt64(u.Size), &u.Used, capInt64(u.Free()), u.InUse
				used, free, heldBy = fmt.Sprint(u.Used), u.Free().String(), "<none>"
				var held []string
				for _, a := range u.InUse {
					for _, svc := range a.Services {
						held = append(held, svc+"="+a.Address)
					}
				}
				if len(held) > 0 {
					heldBy = strings.Join(held, ",")
				}
			}
			rows = append(rows, row)
			table.Rows = append(table.Rows, metav1.TableRow{Cells: []any{r.Cluster, p.Name, strings.Join(p.Addresses, ","), string(p.Mode), fmt.Sprint(p.AutoAssign), used, free, p.Namespace, orNone(p.Protocol), heldBy}})
		}
	}
	switch format := outputFormat(o.PrintFlags); format {
	case "json", "yaml":
		if rows == nil {
			rows = []poolRow{}
		}
		doc := map[string]any{"pools": rows}
		if failures := metallbFailures(o.fleet, read); len(failures) > 0 {
			doc["failedClusters"] = failures
		}
		out, err := json.MarshalIndent(doc, "", "    ")
		if err != nil {
			return err
		}
		if format == "yaml" {
			if out, err = yaml.JSONToYAML(out); err != nil {
				return err
			}
		} else {
			out = append(out, '\n')
		}
		if _, err := o.Out.Write(out); err != nil {
			return err
		}
	default:
		if len(table.Rows) > 0 {
			if err := listOutput(o.PrintFlags, o.NoHeaders).PrintTable(o.Out, table); err != nil {
				return err
			}
		}
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// metallbFailures are the clusters whose pools could not be read, as
// --list -o json|yaml carries them (failedClusters).
func metallbFailures(f *fleet.Fleet, read []metallb.ClusterPools) []printing.Failure {
	var out []printing.Failure
	for _, r := range read {
		if r.Err != nil {
			out = append(out, printing.Failure{Cluster: r.Cluster, Reason: f.Reason(r.Err)})
		}
	}
	return out
}
