package mcks

import "github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"

// addCommands lists the subcommands by help group; each lives in its own file.
func addCommands(root *cli.Root) {
	_ = root
}
