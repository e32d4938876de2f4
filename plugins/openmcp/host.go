package openmcp

import (
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/execcred"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/federation"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// Flags every openmcp command shares: which context is the KubeFed host, and
// the namespace KubeFed runs in there.
const (
	flagHostContext      = "host-context"
	flagKubeFedNamespace = "kubefed-namespace"
	// defaultClusterTimeout bounds each request to a member when the user
	// gave no --request-timeout, so an unreachable cluster fails, not hangs.
	defaultClusterTimeout = 15 * time.Second
)

func addHostFlags(root *cli.Root) {
	f := root.Command.PersistentFlags()
	f.String(flagHostContext, "", `Kubeconfig context of the KubeFed host cluster (default: --context, else $`+fleet.HostContextEnv+`, else "`+fleet.DefaultHostContext+`" if your kubeconfig has it, else the current context)`)
	f.String(flagKubeFedNamespace, fleet.DefaultKubeFedNamespace, "Namespace of the KubeFed control plane on the host")
	_ = root.Command.RegisterFlagCompletionFunc(flagHostContext, completeContexts(root))
}

// hostTarget is the resolved host of a command.
type hostTarget struct {
	Context   string
	Namespace string
	Cluster   *federation.Cluster
}

// resolveHost finds the host context and connects to it (no request yet).
// A host context that skips TLS verification is reported on stderr: the
// federation's credentials travel to it.
func resolveHost(cmd *cobra.Command, kc *fleet.Kubeconfig) (*hostTarget, error) {
	h, err := lookupHost(cmd, kc)
	if err == nil && kc.InsecureContext(h.Context) {
		cli.Warnf(cmd.ErrOrStderr(), "host context %q skips TLS verification (insecure-skip-tls-verify): the host's identity is not checked", h.Context)
	}
	return h, err
}

// lookupHost is resolveHost without the warning, for shell completion.
func lookupHost(cmd *cobra.Command, kc *fleet.Kubeconfig) (*hostTarget, error) {
	flag, _ := cmd.Flags().GetString(flagHostContext)
	ns, _ := cmd.Flags().GetString(flagKubeFedNamespace)
	name, err := kc.HostContext(flag)
	if err != nil {
		return nil, err
	}
	c, err := connect(kc, name)
	if err != nil {
		return nil, err
	}
	return &hostTarget{Context: name, Namespace: ns, Cluster: c}, nil
}

// connect makes clients for a context, with a default request timeout.
func connect(kc *fleet.Kubeconfig, context string) (*federation.Cluster, error) {
	cfg, err := kc.For(context).ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", context, err)
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = defaultClusterTimeout
	}
	// client-go's default of 5 requests a second made a two-member join wait
	// on its own rate limiter for most of a second; kubectl allows more too.
	cfg.QPS, cfg.Burst = 50, 100
	// An exec credential plugin runs under each request's deadline, its
	// stderr kept out of ours (pkg/execcred); join reads the CA and server of
	// the context's own config, which the guarded one carries in its transport.
	guarded, err := execcred.Guard(cfg, context)
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", context, err)
	}
	c, err := federation.NewCluster(context, guarded)
	if err != nil {
		return nil, err
	}
	c.Config = cfg
	return c, nil
}

// completeContexts completes kubeconfig context names.
func completeContexts(root *cli.Root) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		names, err := fleet.NewKubeconfig(root.ConfigFlags).Contexts()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
}

// warnInsecureMembers reports, once each, the members' contexts that skip
// TLS verification: never turned off silently.
func warnInsecureMembers(w io.Writer, kc *fleet.Kubeconfig, members []fleet.Member) {
	for _, m := range members {
		if m.Context != "" && kc.InsecureContext(m.Context) {
			cli.Warnf(w, "context %q of cluster %s skips TLS verification (insecure-skip-tls-verify)", m.Context, m.Name)
		}
	}
}
