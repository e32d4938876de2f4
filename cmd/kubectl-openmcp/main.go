// kubectl-openmcp is the kubectl plugin `kubectl openmcp`.
package main

import (
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/plugins/openmcp"
)

func main() { cli.Main(openmcp.NewCmdOpenMCP) }
