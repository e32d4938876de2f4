// Package mcks is the command tree of `kubectl mcks`: one file per subcommand.
package mcks

import (
	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
)

const long = `See and steer a multi-cloud CB-Ladybug MCKS cluster, and drive the MCKS API.

MCKS builds one Kubernetes cluster out of nodes from several clouds and labels
each node with its cloud provider (topology.cloud-barista.github.io/csp), region
and zone. kubectl mcks shows nodes and pods by cloud, region and zone, places
workloads on them, and creates, lists and deletes MCKS clusters and nodes
through the MCKS REST API.`

// NewCmdMCKS builds `kubectl mcks`.
func NewCmdMCKS(streams genericiooptions.IOStreams) *cli.Root {
	root := cli.NewRoot("mcks", "See and steer a multi-cloud MCKS cluster", long, streams)
	root.Command.Example = `  # Nodes with their cloud provider, region and zone
  kubectl mcks nodes

  # List the clusters the MCKS server manages
  kubectl mcks cluster list --mcks-server http://localhost:1470/mcks`
	addCommands(root)
	return root
}
