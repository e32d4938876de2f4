// Package openmcp is the command tree of `kubectl openmcp`: one file per subcommand.
package openmcp

import (
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
)

const long = `Run an OpenMCP / KubeFed federation of Kubernetes clusters from your own kubeconfig.

kubectl openmcp joins member clusters to a KubeFed host, labels their region and
zone, sets their MetalLB address pools, places OpenMCP resources and shows
federated status tables. It uses your kubeconfig contexts: the host is the
context named by --host-context (default "openmcp"), and each member is reached
through the context of the same name. No root, NFS share or proxy server needed.`

// NewCmdOpenMCP builds `kubectl openmcp`.
func NewCmdOpenMCP(streams genericiooptions.IOStreams) *cli.Root {
	root := cli.NewRoot("openmcp", "Run an OpenMCP/KubeFed federation of clusters", long, streams)
	root.Command.Example = `  # Join two clusters of your kubeconfig to the federation whose host is the "openmcp" context
  kubectl openmcp join cluster1 cluster2 --host-context openmcp

  # Show the HPAs of every member cluster in one table
  kubectl openmcp get hpa --all-clusters -A`
	addCommands(root)
	return root
}
