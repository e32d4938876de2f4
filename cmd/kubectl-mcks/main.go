// kubectl-mcks is the kubectl plugin `kubectl mcks`.
package main

import (
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/plugins/mcks"
)

func main() { cli.Main(mcks.NewCmdMCKS) }
