package mcks

import "github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"

// addCommands lists the subcommands by help group; each lives in its own file.
func addCommands(root *cli.Root) {
	root.AddCommands(cli.GroupCluster, NewCmdNodes(root), NewCmdPods(root), NewCmdSummary(root), NewCmdLabel(root), NewCmdPlace(root))
	root.AddCommands(cli.GroupAPI, NewCmdCluster(root), NewCmdMachine(root), NewCmdKubeconfig(root), NewCmdNodeDeprecated(root))
}
