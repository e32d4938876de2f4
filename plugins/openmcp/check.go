package openmcp

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/doctor"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

// CheckOptions are the options of `kubectl openmcp check`.
type CheckOptions struct {
	FanOut *fleet.FanOutFlags

	root  *cli.Root
	fleet *fleet.Fleet
	hostc *fleet.Clients
	genericiooptions.IOStreams
}

// NewCmdCheck is `kubectl openmcp check`.
func NewCmdCheck(root *cli.Root) *cobra.Command {
	o := &CheckOptions{IOStreams: root.Streams, FanOut: fleet.NewFanOutFlags(), root: root}
	cmd := &cobra.Command{
		Use:   "check",
		Short: "Check the federation's control plane, item by item",
		Long: `Check that the federation's control plane is complete and healthy.

One line per item, OK, WARN or FAIL:

  host                 the host context answers
  KubeFed CRDs         the CRDs of KubeFed v0.10.0 (names the missing ones)
  KubeFedConfig        kube-federation-system/kubefed
  KubeFed controller   the kubefed-controller-manager Deployment is ready
  OpenMCP CRDs         every OpenMCP kind's CRD (names the missing ones)
  OpenMCP namespace    namespace openmcp
  OpenMCP controllers  sync, deployment, service, ingress, has, scheduler,
                       policy-engine, dns, loadbalancing, analytic-engine and
                       metric-collector Deployments are ready
  OpenMCP policies     the default OpenMCPPolicies
  cluster NAME         each KubeFedCluster is Ready
  labels NAME          each KubeFedCluster has region and zone labels
  metallb NAME         each member has a MetalLB address pool (IPAddressPools,
                       or the ConfigMap metallb-system/config of MetalLB < 0.13),
                       read through the member's own kubeconfig context
  metallb use NAME     WARN when a pool is above 90% used; FAIL when a
                       LoadBalancer Service has waited over a minute for an
                       address (from its Services' status.loadBalancer.ingress)

Then what KubeFed itself holds for each member (the KubeFedCluster's
apiEndpoint, caBundle and proxyURL, and the token of its secretRef Secret),
used as KubeFed uses it, never with your own credentials. It goes bad
silently after a join (a ServiceAccount, token Secret or binding deleted on
the member, a CA rotated), and KubeFed then only says NotReady:

  endpoint NAME        not a loopback or link-local address, which only the
                       machine that ran join reaches (WARN: join again with
                       --api-endpoint), not plain HTTP
  CA NAME              the caBundle verifies the endpoint's serving
                       certificate (FAIL: join again)
  token NAME           the token still authenticates there, as a
                       SelfSubjectReview shows (FAIL: join again); WARN when
                       you may not read the Secret on the host
  RBAC NAME            the token still has what join grants KubeFed (* on *,
                       get /healthz), by SelfSubjectAccessReviews made with it
                       (FAIL: join again)

The exit code is 1 when any item FAILs, 0 otherwise (WARN included).`,
		Example: `  # Check the federation whose host is the "openmcp" context
  kubectl openmcp check

  # Another host
  kubectl openmcp check --host-context kubefed-host`,
		Args: cli.NoArgs(),
		RunE: cli.Run(o),
	}
	o.FanOut.AddFlags(cmd.Flags())
	// The name of this flag before every command shared --cluster-timeout.
	cmd.Flags().DurationVar(&o.FanOut.Timeout, "member-timeout", o.FanOut.Timeout, "Time limit of each member's checks")
	_ = cmd.Flags().MarkDeprecated("member-timeout", "use --cluster-timeout")
	return cmd
}

// Complete connects to the host.
func (o *CheckOptions) Complete(cmd *cobra.Command, _ []string) error {
	var err error
	o.fleet, o.hostc, err = openFleet(o.root, cmd, o.FanOut)
	return err
}

// Validate checks the flags.
func (o *CheckOptions) Validate() error { return o.FanOut.Validate() }

// Run prints one line per item and fails silently (the lines said why)
// when any item failed.
func (o *CheckOptions) Run(ctx context.Context) error {
	d := &doctor.Doctor{
		HostContext:      o.fleet.Host.Context,
		Discovery:        o.hostc.Kube.Discovery(),
		Kube:             o.hostc.Kube,
		Dynamic:          o.hostc.Dynamic,
		KubeFedNamespace: o.fleet.Namespace,
		Kubeconfig:       o.fleet.Kubeconfig,
		Timeout:          o.FanOut.Timeout,
		Member: func(context string) (*fleet.Clients, error) {
			c, err := o.fleet.Context(context)
			if err != nil {
				return nil, err
			}
			return c.Clients()
		},
	}
	failed := false
	d.Run(ctx, func(f doctor.Finding) {
		status := string(f.Status)
		switch f.Status {
		case doctor.CheckOK:
			status = cli.Good(fmt.Sprintf("%-4s", status))
		case doctor.CheckWarn:
			status = cli.Warn(fmt.Sprintf("%-4s", status))
		case doctor.CheckFail:
			status = cli.Bad(fmt.Sprintf("%-4s", status))
			failed = true
		}
		// Details quote members' errors and objects: made safe, one line.
		fmt.Fprintf(o.Out, "%s  %-20s %s\n", status, termsafe.Line(f.Item), termsafe.Line(f.Detail))
	})
	if failed {
		return &cli.SilentError{Code: cli.ExitError}
	}
	return nil
}
