package openmcp

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/cli-runtime/pkg/printers"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/federation"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/topology"
)

// JoinOptions are the options of `kubectl openmcp join`.
type JoinOptions struct {
	root         *cli.Root
	Contexts     []string
	ClusterName  string
	APIEndpoint  string
	Overwrite    bool
	Wait         time.Duration
	TokenTimeout time.Duration
	Platform     string
	// The OpenMCP guide's steps 4 and 5, run by the same command.
	Region, Zone  string
	AllowAny      bool
	MetalLBRanges []string
	AllowOverlap  bool
	AllowStranded bool
	DryRun        cmdutil.DryRunStrategy
	PrintFlags    *genericclioptions.PrintFlags

	fleet   *fleet.Fleet
	hostc   *fleet.Clients
	host    *federation.Cluster            // the host as the join engine takes it
	members map[string]*federation.Cluster // by context
	clients map[string]*fleet.Clients      // by context
	ranges  []metallb.Range
	printer printers.ResourcePrinter
	genericiooptions.IOStreams
}

// NewCmdJoin is `kubectl openmcp join`.
func NewCmdJoin(root *cli.Root) *cobra.Command {
	o := &JoinOptions{root: root, IOStreams: root.Streams, PrintFlags: genericclioptions.NewPrintFlags("joined").WithTypeSetter(nil)}
	cmd := &cobra.Command{
		Use:   "join CONTEXT [CONTEXT...]",
		Short: "Join clusters of your kubeconfig to the federation",
		Long: `Join member clusters to the KubeFed host, from your own kubeconfig contexts.

For each member, your credentials create a service account with the access
KubeFed needs (namespace, ServiceAccount, token Secret, RBAC); only that
account's token is stored on the host, with a KubeFedCluster that points at the
member. Your own credentials (including exec plugins such as
gke-gcloud-auth-plugin or aws eks get-token) never leave your machine.

Every check runs before anything is written; if a step fails, what this run
created is removed again from both clusters. Joining a cluster again updates
what changed and reports "unchanged" otherwise.`,
		Example: `  # Join two clusters in one go
  kubectl openmcp join cluster1 cluster2

  # Join a context under another name, through a NATed API address, and wait until Ready
  kubectl openmcp join gke_proj_asia-northeast3_c1 --cluster-name seoul --api-endpoint https://203.0.113.10:6443 --wait

  # Steps 3 to 5 of the OpenMCP guide in one: join, label region and zone, set the MetalLB pool
  kubectl openmcp join cluster1 --region AS --zone KR --metallb-range 10.0.3.241-10.0.3.250

  # Show what would be created, token redacted
  kubectl openmcp join cluster1 --dry-run=client -o yaml`,
		Args:              cli.MinArgs(1),
		ValidArgsFunction: completeContexts(root),
		RunE:              cli.Run(o),
	}
	f := cmd.Flags()
	f.StringVar(&o.ClusterName, "cluster-name", "", "Name of the cluster in the federation (default: the context name); only with one context")
	f.StringVar(&o.APIEndpoint, "api-endpoint", "", "API server URL the host should use to reach the member (NAT, port-forward, public IP), instead of the context's server")
	f.BoolVar(&o.Overwrite, "overwrite", false, "Replace a joined cluster of the same name that has another endpoint")
	f.DurationVar(&o.Wait, "wait", 0, "Wait until KubeFed reports the cluster Ready (--wait alone waits 2m)")
	f.Lookup("wait").NoOptDefVal = "2m"
	f.DurationVar(&o.TokenTimeout, "token-timeout", 30*time.Second, "How long to wait for the member's token controller to issue the service-account token")
	f.StringVar(&o.Platform, "platform", "", "Platform label for the KubeFedCluster (gke, eks, aks, openstack, ...); detected from the server version when empty")
	f.StringVar(&o.Region, "region", "", "Label the member's nodes, its KubeFedCluster and its OpenMCPCluster with this region (continent code: AF, AN, AS, EU, NA, OC, SA)")
	f.StringVar(&o.Zone, "zone", "", "Label them with this zone (ISO 3166-1 alpha-2 country code, e.g. KR)")
	f.BoolVar(&o.AllowAny, "allow-any", false, "Accept any --region/--zone label value, not only continent and country codes")
	f.StringArrayVar(&o.MetalLBRanges, "metallb-range", nil, "Set the member's MetalLB pool \"default\" to this range (FROM-TO or CIDR; repeat for several)")
	f.BoolVar(&o.AllowOverlap, "allow-overlap", false, "Write --metallb-range even if it overlaps another cluster's pool")
	f.BoolVar(&o.AllowStranded, "allow-stranded", false, "Write --metallb-range even if it leaves out addresses the member's Services hold")
	cmdutil.AddDryRunFlag(cmd)
	o.PrintFlags.AddFlags(cmd)
	return cmd
}

// Complete resolves contexts and connects to the host and the members.
func (o *JoinOptions) Complete(cmd *cobra.Command, args []string) error {
	root := o.root
	o.Contexts = args
	var err error
	if o.DryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return &cli.UsageError{Err: err}
	}
	if o.ClusterName != "" && len(args) > 1 {
		return cli.Usagef("--cluster-name %q names one cluster, but %d contexts were given: join them one at a time", o.ClusterName, len(args))
	}
	if len(o.MetalLBRanges) > 0 && len(args) > 1 {
		return cli.Usagef("--metallb-range is the pool of one cluster (two clusters cannot share addresses), but %d contexts were given: join them one at a time", len(args))
	}
	if o.APIEndpoint != "" && len(args) > 1 {
		return cli.Usagef("--api-endpoint is the address of one cluster, but %d contexts were given: join them one at a time", len(args))
	}
	if o.PrintFlags.OutputFormat != nil && *o.PrintFlags.OutputFormat != "" {
		if o.DryRun == cmdutil.DryRunNone {
			return cli.Usagef("-o %s prints what --dry-run would create; add --dry-run=client or --dry-run=server", *o.PrintFlags.OutputFormat)
		}
		if o.printer, err = o.PrintFlags.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	kc := fleet.NewKubeconfig(root.ConfigFlags)
	seen := map[string]bool{}
	for _, c := range args {
		if err := kc.CheckContext(c); err != nil {
			return err
		}
		if seen[c] {
			return cli.Usagef("context %q given twice", c)
		}
		seen[c] = true
	}
	if o.fleet, o.hostc, err = openFleet(root, cmd, nil); err != nil {
		return err
	}
	if o.host, err = federationCluster(o.fleet.Host); err != nil {
		return err
	}
	o.members, o.clients = map[string]*federation.Cluster{}, map[string]*fleet.Clients{}
	for _, c := range args {
		member, err := o.fleet.Context(c)
		if err != nil {
			return err
		}
		if o.members[c], err = federationCluster(member); err != nil {
			return err
		}
		if o.clients[c], err = member.Clients(); err != nil {
			return err
		}
	}
	return nil
}

// Validate checks the names and flags before any request.
func (o *JoinOptions) Validate() error {
	for _, c := range o.Contexts {
		if err := federation.ValidateClusterName(o.clusterName(c)); err != nil {
			if o.ClusterName == "" {
				return cli.Usagef("%v; context names like that need --cluster-name", err)
			}
			return &cli.UsageError{Err: err}
		}
	}
	if o.APIEndpoint != "" {
		if err := federation.ValidateAPIEndpoint(o.APIEndpoint); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	if o.Region != "" || o.Zone != "" {
		if _, _, err := topology.ParseRegionZone(o.Region, o.Zone, o.AllowAny); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	if len(o.MetalLBRanges) > 0 {
		rs, err := metallb.ParseRanges(o.MetalLBRanges)
		if err != nil {
			return &cli.UsageError{Err: err}
		}
		o.ranges = rs
	}
	if o.Wait < 0 || o.TokenTimeout <= 0 {
		return cli.Usagef("--wait and --token-timeout must be positive durations")
	}
	return nil
}

func (o *JoinOptions) clusterNames() []string {
	out := make([]string, len(o.Contexts))
	for i, c := range o.Contexts {
		out[i] = o.clusterName(c)
	}
	return out
}

func (o *JoinOptions) clusterName(context string) string {
	if o.ClusterName != "" {
		return o.ClusterName
	}
	return context
}

func (o *JoinOptions) request(context string) federation.JoinRequest {
	dry := dryRunOf(o.DryRun, federation.DryRunNone, federation.DryRunClient, federation.DryRunServer)
	return federation.JoinRequest{
		Host:             o.host,
		HostName:         o.fleet.Host.Context,
		Member:           o.members[context],
		ClusterName:      o.clusterName(context),
		KubeFedNamespace: o.fleet.Namespace,
		APIEndpoint:      o.APIEndpoint,
		Overwrite:        o.Overwrite,
		DryRun:           dry,
		TokenTimeout:     o.TokenTimeout,
	}
}

// Run checks every member, then joins them in parallel.
func (o *JoinOptions) Run(ctx context.Context) error {
	// All checks first: one bad member means no member is touched.
	checks := fleet.FanOut(ctx, o.Contexts, 16, 0, func(ctx context.Context, c string) (*federation.Preflight, error) {
		return federation.Check(ctx, o.request(c))
	})
	failed := false
	for _, r := range checks {
		if r.Err != nil {
			cli.Errorf(o.ErrOut, "%s: %v", o.clusterName(r.Cluster), r.Err)
			failed = true
		}
		if r.Err == nil && r.Value.Endpoint.Insecure {
			cli.Warnf(o.ErrOut, "context %q skips TLS verification: the host will not verify %s either (disabledTLSValidations: [\"*\"])", r.Cluster, r.Value.Endpoint.APIEndpoint)
		}
		if r.Err == nil {
			warnLocalEndpoint(o.ErrOut, o.clusterName(r.Cluster), r.Value.Endpoint.APIEndpoint)
		}
	}
	if !failed {
		failed = !o.checkSteps(ctx)
	}
	if failed {
		fmt.Fprintln(o.ErrOut, "nothing was changed")
		if ctx.Err() != nil {
			return cli.Interruptedf("join stopped during its checks; nothing was changed")
		}
		return &cli.SilentError{Code: cli.ExitError}
	}
	checked := map[string]*federation.Preflight{}
	for _, r := range checks {
		checked[r.Cluster] = r.Value
	}
	// FanOut returns at Ctrl-C without waiting for its calls; a join must
	// not be abandoned half-way, so FanOut's context never ends and each
	// join sees Ctrl-C through ctx, stops, and rolls back before Run returns.
	results := fleet.FanOut(context.WithoutCancel(ctx), o.Contexts, 16, 0, func(_ context.Context, c string) (*federation.JoinResult, error) {
		req := o.request(c)
		req.Checked = checked[c]
		req.Labels = o.platformLabel(c, checked[c])
		res, err := federation.Join(ctx, req)
		if err != nil {
			return res, err
		}
		if err := o.afterJoin(ctx, c, res); err != nil {
			return res, err
		}
		return res, o.recordCluster(ctx, c, req.Labels[fleet.PlatformLabel], res)
	})
	if o.DryRun != cmdutil.DryRunNone {
		return o.printDryRun(results)
	}
	var joined, notJoined []string
	for _, r := range results {
		name := o.clusterName(r.Cluster)
		var stepErr *afterJoinError
		var rbErr *federation.RollbackError
		switch {
		case errors.As(r.Err, &stepErr):
			cli.Errorf(o.ErrOut, "cluster %s joined, but %v", name, stepErr)
			joined = append(joined, name)
			failed = true
			continue
		case errors.As(r.Err, &rbErr):
			// What could not be cleaned is named; joining again adopts it.
			cli.Errorf(o.ErrOut, "cluster %s not joined: %v; run the join again once the cluster answers", name, r.Err)
			notJoined = append(notJoined, name)
			failed = true
			continue
		case r.Err != nil:
			cli.Errorf(o.ErrOut, "cluster %s not joined: %v (nothing of this join was left behind)", name, r.Err)
			notJoined = append(notJoined, name)
			failed = true
			continue
		}
		joined = append(joined, name)
		verb := cli.Good("joined")
		if !r.Value.Changed() {
			verb = "unchanged"
		}
		fmt.Fprintf(o.Out, "cluster/%s %s (host %q, endpoint %s, %s)\n", termsafe.String(name), verb, o.fleet.Host.Context, termsafe.String(r.Value.Endpoint), summarize(r.Value.Steps, r.Value.Elapsed))
	}
	if ctx.Err() != nil {
		return cli.Interruptedf("%s", interruptedJoin(joined, notJoined))
	}
	if o.Wait > 0 && !failed {
		if err := o.waitReady(ctx); err != nil {
			return err
		}
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// interruptedJoin says what a join stopped by Ctrl-C did and did not do.
func interruptedJoin(joined, notJoined []string) string {
	var parts []string
	if len(joined) > 0 {
		parts = append(parts, "joined: "+strings.Join(joined, ", "))
	}
	if len(notJoined) > 0 {
		parts = append(parts, "not joined: "+strings.Join(notJoined, ", ")+" (see above for what, if anything, was left)")
	}
	return "join stopped; " + strings.Join(parts, "; ")
}

func summarize(steps []federation.Step, elapsed time.Duration) string {
	counts := map[federation.Outcome]int{}
	for _, s := range steps {
		counts[s.Outcome]++
	}
	var parts []string
	for _, k := range []federation.Outcome{federation.Created, federation.Configured, federation.Unchanged} {
		if counts[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", counts[k], k))
		}
	}
	return fmt.Sprintf("%s objects, %s", strings.Join(parts, ", "), elapsed.Round(time.Millisecond))
}

func (o *JoinOptions) printDryRun(results []fleet.Result[*federation.JoinResult]) error {
	list := &unstructured.UnstructuredList{Object: map[string]any{"apiVersion": "v1", "kind": "List"}}
	failed := false
	for _, r := range results {
		if r.Err != nil {
			cli.Errorf(o.ErrOut, "%s: %v", o.clusterName(r.Cluster), r.Err)
			failed = true
			continue
		}
		for _, obj := range r.Value.Objects {
			// Which cluster each object is for: a List cannot say otherwise.
			ann := obj.GetAnnotations()
			if ann == nil {
				ann = map[string]string{}
			}
			side := o.fleet.Host.Context
			if obj.GetKind() != "KubeFedCluster" && !(obj.GetKind() == "Secret" && obj.GetNamespace() == o.fleet.Namespace && strings.HasSuffix(obj.GetName(), "-kubefed-token")) {
				side = r.Cluster
			}
			ann[fleet.ClusterAnnotation] = side
			obj.SetAnnotations(ann)
			list.Items = append(list.Items, *obj)
		}
		if o.printer == nil {
			termsafe.Fprintf(o.Out, "cluster/%s joined (dry run: %d objects)\n", o.clusterName(r.Cluster), len(r.Value.Objects))
		}
	}
	if o.printer != nil {
		if err := o.printer.PrintObj(list, o.Out); err != nil {
			return err
		}
	}
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}

// platformLabel is the KubeFedCluster's platform label, as omcpctl set it.
func (o *JoinOptions) platformLabel(context string, checked *federation.Preflight) map[string]string {
	p := o.Platform
	if p == "" {
		// The checks read the member's version already.
		if checked != nil && checked.ServerVersion != "" {
			p = platformOf(checked.ServerVersion)
		} else if v, err := o.members[context].Client.Discovery().ServerVersion(); err == nil {
			p = platformOf(v.GitVersion)
		}
	}
	if p == "" {
		return nil
	}
	return map[string]string{fleet.PlatformLabel: p}
}

// platformOf recognises managed Kubernetes from its version string.
func platformOf(gitVersion string) string {
	switch {
	case strings.Contains(gitVersion, "-gke."):
		return "gke"
	case strings.Contains(gitVersion, "-eks-"):
		return "eks"
	case strings.Contains(gitVersion, "+k3s"):
		return "k3s"
	}
	return ""
}

// waitReady watches the KubeFedClusters until all report Ready=True.
func (o *JoinOptions) waitReady(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, o.Wait)
	defer cancel()
	pending := map[string]bool{}
	for _, c := range o.Contexts {
		pending[o.clusterName(c)] = true
	}
	termsafe.Fprintf(o.ErrOut, "waiting up to %s for KubeFed to report %d cluster(s) Ready...\n", o.Wait, len(pending))
	kfcs := o.hostc.Dynamic.Resource(fleet.KubeFedClusters).Namespace(o.fleet.Namespace)
	tick := time.NewTicker(500 * time.Millisecond)
	defer tick.Stop()
	last := map[string]string{}
	for {
		list, err := kfcs.List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, item := range list.Items {
				if !pending[item.GetName()] {
					continue
				}
				m := fleet.Member{Name: item.GetName()}
				st := readyOf(&item)
				if st != last[m.Name] {
					termsafe.Fprintf(o.ErrOut, "  cluster/%s Ready=%s\n", m.Name, st)
					last[m.Name] = st
				}
				if st == "True" {
					delete(pending, m.Name)
				}
			}
		}
		if len(pending) == 0 {
			return nil
		}
		select {
		case <-ctx.Done():
			names := make([]string, 0, len(pending))
			for n := range pending {
				names = append(names, n)
			}
			sort.Strings(names)
			if errors.Is(ctx.Err(), context.Canceled) {
				return cli.Interruptedf("stopped waiting: %s joined, but KubeFed has not reported %s Ready yet (see `kubectl openmcp clusters`)", strings.Join(o.clusterNames(), ", "), strings.Join(names, ", "))
			}
			return fmt.Errorf("joined, but KubeFed did not report %s Ready within %s (is the KubeFed controller running? see `kubectl openmcp clusters`)", strings.Join(names, ", "), o.Wait)
		case <-tick.C:
		}
	}
}

func readyOf(obj *unstructured.Unstructured) string {
	conds, _, _ := unstructured.NestedSlice(obj.Object, "status", "conditions")
	for _, c := range conds {
		if m, ok := c.(map[string]any); ok && m["type"] == "Ready" {
			if s, ok := m["status"].(string); ok {
				return s
			}
		}
	}
	return "Unknown"
}

// checkSteps runs the checks of the label and MetalLB steps before the join
// writes anything: labels that would need --overwrite, and a pool that
// overlaps another cluster's. It prints what fails and reports success.
func (o *JoinOptions) checkSteps(ctx context.Context) bool {
	ok := true
	if o.Region != "" || o.Zone != "" {
		for _, c := range o.Contexts {
			_, err := topology.Apply(ctx, o.members[c].Client, nil, o.fleet.Namespace, o.clusterName(c), o.topologyOptions(topology.DryRunClient))
			if err != nil {
				cli.Errorf(o.ErrOut, "%s: label step: %v", o.clusterName(c), err)
				ok = false
			}
		}
	}
	if len(o.ranges) > 0 {
		c := o.Contexts[0]
		members, err := o.fleet.MembersOrNone(ctx)
		if err == nil {
			target := fleet.NewClusterWithClients(o.clusterName(c), c, o.clients[c])
			err = checkPoolOverlaps(ctx, o.fleet, members, target, o.poolCheck())
		}
		if err != nil {
			cli.Errorf(o.ErrOut, "%s: MetalLB step: %v", o.clusterName(c), err)
			ok = false
		}
	}
	return ok
}

func (o *JoinOptions) topologyOptions(dry topology.DryRun) topology.Options {
	return topology.Options{Region: o.Region, Zone: o.Zone, Overwrite: o.Overwrite, AllowAny: o.AllowAny, DryRun: dry, FieldManager: federation.FieldManager}
}

func (o *JoinOptions) poolCheck() poolCheck {
	return poolCheck{Namespace: metallb.DefaultNamespace, Pool: "default", Ranges: o.ranges, AllowOverlap: o.AllowOverlap, AllowStranded: o.AllowStranded}
}

// recordCluster writes the member's OpenMCPCluster on a host that serves
// OpenMCP's CRDs: OpenMCP's scheduler (default policy algorithm=OpenMCP)
// schedules only onto members whose OpenMCPCluster says joinStatus JOIN.
func (o *JoinOptions) recordCluster(ctx context.Context, context, platform string, res *federation.JoinResult) error {
	name := o.clusterName(context)
	served, err := openmcpapi.HostServesClusters(o.hostc.Kube.Discovery())
	if err != nil || !served {
		return err
	}
	rec := openmcpapi.ClusterRecord{Platform: platform, Region: o.Region, Zone: o.Zone}
	if u, err := url.Parse(res.Endpoint); err == nil {
		rec.ServerIP = u.Hostname()
	}
	if len(o.ranges) > 0 {
		rec.MetalLBFrom, rec.MetalLBTo = o.ranges[0].From.String(), o.ranges[0].To.String()
	}
	obj, changed, err := openmcpapi.RecordCluster(ctx, o.hostc.Dynamic, name, rec, o.DryRun != cmdutil.DryRunNone)
	if err != nil {
		return &afterJoinError{"OpenMCPCluster", "kubectl openmcp join " + name, err}
	}
	outcome := federation.Unchanged
	if changed {
		outcome = federation.Configured
	}
	res.Steps = append(res.Steps, federation.Step{Cluster: "host", Object: openmcpapi.ClusterKind.Kind + " " + name, Outcome: outcome})
	if o.DryRun != cmdutil.DryRunNone {
		res.Objects = append(res.Objects, obj)
	}
	return nil
}

// afterJoinError is a label or MetalLB step that failed after the join itself
// succeeded: the cluster stays joined, and the step can be run again alone.
type afterJoinError struct {
	step, retry string
	err         error
}

func (e *afterJoinError) Error() string {
	return fmt.Sprintf("the %s step failed: %v (run `%s` to retry it)", e.step, e.err, e.retry)
}

// afterJoin runs the label and MetalLB steps of a join, and adds what they
// would write to a dry run's objects.
func (o *JoinOptions) afterJoin(ctx context.Context, context string, res *federation.JoinResult) error {
	name := o.clusterName(context)
	member := o.members[context]
	dry := o.DryRun != cmdutil.DryRunNone
	if o.Region != "" || o.Zone != "" {
		host := o.hostc.Dynamic
		if o.DryRun == cmdutil.DryRunClient {
			host = nil // the KubeFedCluster does not exist yet
		}
		tr, err := topology.Apply(ctx, member.Client, host, o.fleet.Namespace, name, o.topologyOptions(dryRunOf(o.DryRun, topology.DryRunNone, topology.DryRunClient, topology.DryRunServer)))
		if err != nil {
			return &afterJoinError{"label", fmt.Sprintf("kubectl openmcp label %s --region %s --zone %s", name, o.Region, o.Zone), err}
		}
		for _, ch := range tr.Changes() {
			res.Steps = append(res.Steps, federation.Step{Cluster: "member", Object: ch.Kind + " " + ch.Name, Outcome: federation.Configured})
			if dry {
				if u, err := asUnstructured(ch.Object); err == nil {
					res.Objects = append(res.Objects, u)
				}
			}
		}
	}
	if len(o.ranges) > 0 {
		mr, err := metallb.Apply(ctx, o.clients[context], metallb.Options{
			Pool: "default", Ranges: o.ranges, Mode: metallb.ModeAuto, Namespace: metallb.DefaultNamespace,
			DryRun: metallbDryRunOf(o.DryRun), FieldManager: federation.FieldManager,
		})
		if err != nil {
			return &afterJoinError{"MetalLB", fmt.Sprintf("kubectl openmcp metallb %s --range %s", name, strings.Join(o.MetalLBRanges, " --range ")), err}
		}
		for _, obj := range mr.Objects {
			u, err := asUnstructured(obj.Object)
			if err != nil {
				continue
			}
			res.Steps = append(res.Steps, federation.Step{Cluster: "member", Object: u.GetKind() + " " + u.GetName(), Outcome: federation.Outcome(obj.Action)})
			if dry {
				res.Objects = append(res.Objects, u)
			}
		}
	}
	return nil
}

// warnLocalEndpoint says, before join records it, that an endpoint is one
// only this machine reaches: kind clusters and port-forwards give contexts
// such servers, and KubeFed in a pod then reports the member NotReady
// without saying why.
func warnLocalEndpoint(w io.Writer, cluster, endpoint string) {
	if kind, local := fleet.LocalOnlyEndpoint(endpoint); local {
		cli.Warnf(w, "cluster %s: endpoint %s is a %s address: only a KubeFed controller on this machine reaches it (from a pod it is the pod itself); pass --api-endpoint with an address KubeFed reaches", cluster, endpoint, kind)
	}
}
