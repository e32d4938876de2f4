package openmcp

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/federation"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// Flags every openmcp command shares: which context is the KubeFed host, and
// the namespace KubeFed runs in there.
const (
	flagHostContext      = "host-context"
	flagKubeFedNamespace = "kubefed-namespace"
)

// kubectl's flags that pick one cluster or credentials: here they apply to
// the host, since each member is reached through its own context.
var hostOnlyFlags = []string{"server", "token", "user", "cluster", "insecure-skip-tls-verify", "certificate-authority", "client-certificate", "client-key", "tls-server-name", "username", "password"}

func addHostFlags(root *cli.Root) {
	f := root.Command.PersistentFlags()
	f.String(flagHostContext, "", `Kubeconfig context of the KubeFed host cluster (default: --context, else $`+fleet.HostContextEnv+`, else "`+fleet.DefaultHostContext+`" if your kubeconfig has it, else the current context)`)
	f.String(flagKubeFedNamespace, fleet.DefaultKubeFedNamespace, "Namespace of the KubeFed control plane on the host")
	_ = root.Command.RegisterFlagCompletionFunc(flagHostContext, completeContexts(root))
	for _, name := range hostOnlyFlags {
		if fl := f.Lookup(name); fl != nil {
			fl.Usage += " (the host only: members are reached through their own contexts)"
		}
	}
}

// fleetConfig is what the command's flags say of the federation.
func fleetConfig(root *cli.Root, cmd *cobra.Command, fan *fleet.FanOutFlags) fleet.Config {
	host, _ := cmd.Flags().GetString(flagHostContext)
	ns, _ := cmd.Flags().GetString(flagKubeFedNamespace)
	return fleet.Config{ConfigFlags: root.ConfigFlags, HostContext: host, Namespace: ns, FanOut: fan, ErrOut: cmd.ErrOrStderr()}
}

// newFleet is the command's Fleet (no request yet); fan may be nil for a
// command that does not fan out.
func newFleet(root *cli.Root, cmd *cobra.Command, fan *fleet.FanOutFlags) (*fleet.Fleet, error) {
	return fleet.New(fleetConfig(root, cmd, fan))
}

// openFleet is newFleet and the host's clients, for commands that write to
// or read from the host.
func openFleet(root *cli.Root, cmd *cobra.Command, fan *fleet.FanOutFlags) (*fleet.Fleet, *fleet.Clients, error) {
	f, err := newFleet(root, cmd, fan)
	if err != nil {
		return nil, nil, err
	}
	host, err := hostClients(f)
	return f, host, err
}

// hostClients are the host's clients; an error names the host context.
func hostClients(f *fleet.Fleet) (*fleet.Clients, error) {
	c, err := f.Host.Clients()
	if err != nil {
		return nil, fmt.Errorf("host context %q: %w", f.Host.Context, err)
	}
	return c, nil
}

// federationCluster is a fleet cluster as the join engine takes it.
func federationCluster(c *fleet.Cluster) (*federation.Cluster, error) {
	cl, err := c.Clients()
	if err != nil {
		return nil, fmt.Errorf("context %q: %w", c.Context, err)
	}
	fc, err := federation.NewCluster(c.Context, cl.Requests)
	if err != nil {
		return nil, err
	}
	fc.Config = cl.Config
	return fc, nil
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

// fleetFor is the command's Fleet: the one handed in (command tests run on
// fake clusters), else one made from the flags.
func fleetFor(given *fleet.Fleet, root *cli.Root, cmd *cobra.Command, fan *fleet.FanOutFlags) (*fleet.Fleet, error) {
	if given != nil {
		return given, nil
	}
	return newFleet(root, cmd, fan)
}

// openForReading is Complete for a command that reads the members: the
// flags are checked first (a bad value is reported without a host), then
// the Fleet is made and -n read.
func openForReading(root *cli.Root, cmd *cobra.Command, fan *fleet.FanOutFlags, validate func() error) (*fleet.Fleet, string, error) {
	if err := validate(); err != nil {
		return nil, "", err
	}
	f, err := newFleet(root, cmd, fan)
	if err != nil {
		return nil, "", err
	}
	return f, namespaceOf(root, f), nil
}
