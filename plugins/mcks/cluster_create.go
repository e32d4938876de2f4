package mcks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"
	"sigs.k8s.io/yaml"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// pollInterval is how often a waiting create reads the cluster; tests shorten it.
var pollInterval = mcks.DefaultPollInterval

const clusterCreateExample = `  # One AWS control plane, workers in GCP and Azure; wait and show progress
  kubectl mcks cluster create c1 \
      --control-plane config-aws-ap-northeast-2:t3.medium \
      --worker config-gcp-europe-west2:n1-standard-2:2 \
      --worker config-azure-koreacentral:Standard_B2s \
      --wait --timeout 40m

  # From a request file (the MCKS API's ClusterReq, YAML or JSON), flags override it
  kubectl mcks cluster create -f c2.yaml --k8s-version 1.23.13

  # The request body that would be sent
  kubectl mcks cluster create c3 --control-plane conn:spec --worker conn:spec --dry-run=client -o yaml`

// ClusterCreateOptions are the options of `kubectl mcks cluster create`.
type ClusterCreateOptions struct {
	api     *apiFlags
	streams genericiooptions.IOStreams
	out     *output

	file            string
	controlPlanes   []string
	workers         []string
	k8sVersion      string
	cni             string
	etcd            string
	loadbalancer    string
	podCIDR         string
	serviceCIDR     string
	description     string
	label           string
	installMonAgent string
	wait            bool
	timeout         time.Duration

	req    mcks.ClusterReq
	dryRun cmdutil.DryRunStrategy
	client *mcks.Client
}

// NewCmdClusterCreate builds `kubectl mcks cluster create`.
func NewCmdClusterCreate(root *cli.Root, api *apiFlags) *cobra.Command {
	o := &ClusterCreateOptions{api: api, streams: root.Streams}
	cmd := &cobra.Command{
		Use:   "create NAME --control-plane CONN:SPEC[:COUNT] --worker CONN:SPEC[:COUNT]... [--wait]",
		Short: "Create an MCKS cluster from VMs in one or more clouds",
		Long: `Create an MCKS cluster: one control-plane node set and one or more worker node
sets, each COUNT VMs of SPEC through the cloud connection CONN (as registered in
CB-Spider, e.g. config-aws-ap-northeast-2).

The MCKS server answers a create only when provisioning has ended, minutes
later. Without --wait the command returns as soon as the server shows the new
cluster; with --wait it follows the provisioning on stderr until it ends or
--timeout passes. Either way the server carries on by itself: follow it with
kubectl mcks cluster get NAME.

The request always carries etcd (default local) and the network CNI (default
kilo): some MCKS versions reject a request without them.`,
		Example: clusterCreateExample,
		Args:    cli.RangeArgs(0, 1),
		RunE:    cli.Run(o),
	}
	f := cmd.Flags()
	f.StringVarP(&o.file, "filename", "f", "", "A ClusterReq of the MCKS API, YAML or JSON ('-' for stdin)")
	f.StringArrayVar(&o.controlPlanes, "control-plane", nil, "Control-plane node set CONN:SPEC[:COUNT] (MCKS takes one set; COUNT 1 or 3)")
	f.StringArrayVar(&o.workers, "worker", nil, "Worker node set CONN:SPEC[:COUNT]; repeat for several clouds")
	f.StringVar(&o.k8sVersion, "k8s-version", "", "Kubernetes version (MCKS's default when empty, e.g. 1.23.13)")
	f.StringVar(&o.cni, "cni", "", "Network CNI: kilo or canal (default kilo)")
	f.StringVar(&o.etcd, "etcd", "", "etcd placement: local or external (default local)")
	f.StringVar(&o.loadbalancer, "loadbalancer", "", "API server load balancer: haproxy or nlb (MCKS's default haproxy)")
	f.StringVar(&o.podCIDR, "pod-cidr", "", "Pod CIDR (MCKS's default 10.244.0.0/16)")
	f.StringVar(&o.serviceCIDR, "service-cidr", "", "Service CIDR (MCKS's default 10.96.0.0/12)")
	f.StringVar(&o.description, "description", "", "Description of the cluster")
	f.StringVar(&o.label, "label", "", "Label of the cluster (MCKS's free-text label)")
	f.StringVar(&o.installMonAgent, "install-mon-agent", "", "Install the CB-Dragonfly monitoring agent: yes or no")
	f.BoolVar(&o.wait, "wait", false, "Wait until provisioning ends, showing progress on stderr")
	addTimeoutFlag(cmd, &o.timeout, 40*time.Minute, "the server to show the cluster, or with --wait to finish it")
	_ = cmd.RegisterFlagCompletionFunc("cni", cobra.FixedCompletions(mcks.CNIValues, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("etcd", cobra.FixedCompletions(mcks.EtcdValues, cobra.ShellCompDirectiveNoFileComp))
	_ = cmd.RegisterFlagCompletionFunc("loadbalancer", cobra.FixedCompletions(mcks.LBValues, cobra.ShellCompDirectiveNoFileComp))
	cmdutil.AddDryRunFlag(cmd)
	o.out = newOutput(cmd)
	return cmd
}

// Complete builds the request: the file first, then the name and flags over it.
func (o *ClusterCreateOptions) Complete(cmd *cobra.Command, args []string) error {
	var err error
	if o.dryRun, err = cmdutil.GetDryRunStrategy(cmd); err != nil {
		return cli.Usagef("%v", err)
	}
	if o.file != "" {
		if err := o.readFile(); err != nil {
			return err
		}
	}
	if len(args) == 1 {
		if o.req.Name != "" && o.req.Name != args[0] {
			return cli.Usagef("the name %q in %s differs from the argument %q", o.req.Name, o.file, args[0])
		}
		o.req.Name = args[0]
	}
	if len(o.controlPlanes) > 0 {
		if o.req.ControlPlane, err = parseSets("--control-plane", o.controlPlanes); err != nil {
			return err
		}
	}
	if len(o.workers) > 0 {
		if o.req.Worker, err = parseSets("--worker", o.workers); err != nil {
			return err
		}
	}
	k := &o.req.Config.Kubernetes
	for flag, dst := range map[string]*string{
		"k8s-version": &k.Version, "cni": &k.NetworkCNI, "etcd": &k.Etcd, "loadbalancer": &k.Loadbalancer,
		"pod-cidr": &k.PodCIDR, "service-cidr": &k.ServiceCIDR, "description": &o.req.Description,
		"label": &o.req.Label, "install-mon-agent": &o.req.Config.InstallMonAgent,
	} {
		if f := cmd.Flags().Lookup(flag); f.Changed {
			*dst = f.Value.String()
		}
	}
	o.req = o.req.Defaulted()
	if o.dryRun == cmdutil.DryRunClient {
		return nil
	}
	o.client, err = o.api.client(cmd)
	return err
}

func (o *ClusterCreateOptions) readFile() error {
	var data []byte
	var err error
	if o.file == "-" {
		data, err = io.ReadAll(o.streams.In)
	} else {
		data, err = os.ReadFile(o.file)
	}
	if err != nil {
		return cli.Usagef("cannot read -f %s: %v", o.file, err)
	}
	if err := yaml.UnmarshalStrict(data, &o.req); err != nil {
		return cli.Usagef("invalid cluster request in %s: %v", o.file, err)
	}
	return nil
}

func parseSets(flag string, values []string) ([]mcks.NodeSetReq, error) {
	var sets []mcks.NodeSetReq
	for _, v := range values {
		s, err := mcks.ParseNodeSet(flag, v)
		if err != nil {
			return nil, cli.Usagef("%v", err)
		}
		sets = append(sets, s)
	}
	return sets, nil
}

// Validate checks the whole request before anything is sent.
func (o *ClusterCreateOptions) Validate() error {
	if err := o.out.Validate(); err != nil {
		return err
	}
	if o.dryRun == cmdutil.DryRunServer {
		return cli.Usagef("the MCKS API has no server-side dry run: use --dry-run=client")
	}
	if o.req.Name == "" {
		return cli.Usagef("give the cluster's NAME (or a name in -f)")
	}
	if len(o.req.ControlPlane) == 0 {
		return cli.Usagef("give the control plane: --control-plane CONN:SPEC[:COUNT]")
	}
	if len(o.req.Worker) == 0 {
		return cli.Usagef("give at least one --worker CONN:SPEC[:COUNT]")
	}
	if err := o.req.Validate(); err != nil {
		return cli.Usagef("%v", err)
	}
	if o.wait && o.dryRun != cmdutil.DryRunNone {
		return cli.Usagef("--wait and --dry-run exclude each other")
	}
	return nil
}

// Run sends the create and follows it.
func (o *ClusterCreateOptions) Run(ctx context.Context) error {
	if o.dryRun == cmdutil.DryRunClient {
		return o.printRequest()
	}
	want := 0
	for _, s := range append(append([]mcks.NodeSetReq{}, o.req.ControlPlane...), o.req.Worker...) {
		want += s.Count
	}
	start := time.Now()
	ctx, cancel := withTimeout(ctx, o.timeout)
	defer cancel()
	opts := mcks.CreateOptions{Wait: o.wait, PollInterval: pollInterval}
	if o.wait {
		termsafe.Fprintf(o.streams.ErrOut, "Creating cluster %s with %d nodes; MCKS provisions the VMs and Kubernetes, which takes minutes...\n", o.req.Name, want)
		opts.Progress = func(c *mcks.Cluster) { describeProgress(o.streams.ErrOut, c, want, start) }
	}
	res, err := o.client.Create(ctx, &o.req, opts)
	if mcks.IsStillProvisioning(err) {
		return stoppedEarly(ctx, fmt.Errorf("%v; the MCKS server carries on: follow it with kubectl mcks cluster get %s", err, o.req.Name))
	}
	var exists *mcks.AlreadyExistsError
	if errors.As(err, &exists) && exists.Phase == mcks.PhaseFailed {
		// The server would replace a failed cluster; a poll could not tell
		// the old record from the new one, so the user deletes it first.
		return fmt.Errorf("%v: delete it first (kubectl mcks cluster delete %s), then create it again", err, exists.Name)
	}
	if err != nil {
		return err
	}
	if !o.out.Report() {
		_, items := clusterObjects([]mcks.Cluster{*res.Cluster})
		return o.out.Print(o.streams.Out, items[0], items)
	}
	if res.Done {
		cp, w := res.Cluster.CountRoles()
		termsafe.Fprintf(o.streams.Out, "cluster/%s created (%s, %d control-plane and %d worker nodes, %s)\n", res.Cluster.Name, orNone(res.Cluster.Status.Phase), cp, w, time.Since(start).Round(time.Second))
		termsafe.Fprintf(o.streams.ErrOut, "Get its kubeconfig with: kubectl mcks kubeconfig %s --merge\n", res.Cluster.Name)
		return nil
	}
	termsafe.Fprintf(o.streams.Out, "cluster/%s created (%s)\n", res.Cluster.Name, strings.ToLower(orNone(res.Cluster.Status.Phase)))
	termsafe.Fprintf(o.streams.ErrOut, "MCKS is provisioning it; follow with: kubectl mcks cluster get %s\n", res.Cluster.Name)
	return nil
}

// printRequest prints the body a create would send.
func (o *ClusterCreateOptions) printRequest() error {
	switch f := o.out.format(); f {
	case "", "name":
		termsafe.Fprintf(o.streams.Out, "cluster/%s created (dry run)\n", o.req.Name)
		return nil
	case "json":
		data, err := json.MarshalIndent(o.req, "", "    ")
		if err != nil {
			return err
		}
		_, err = fmt.Fprintln(o.streams.Out, string(data))
		return err
	case "yaml":
		data, err := yaml.Marshal(o.req)
		if err != nil {
			return err
		}
		_, err = o.streams.Out.Write(data)
		return err
	default:
		return cli.Usagef("with --dry-run=client, -o takes json, yaml or name (the request body), not %q", f)
	}
}
