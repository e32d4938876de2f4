package openmcp

import "github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"

// addCommands lists the subcommands by help group; each lives in its own file.
func addCommands(root *cli.Root) {
	addHostFlags(root)
	root.AddCommands(cli.GroupFederation, NewCmdJoin(root), NewCmdUnjoin(root), NewCmdClusters(root))
	root.AddCommands(cli.GroupFederation, NewCmdLabel(root), NewCmdMetalLB(root))
	root.AddCommands(cli.GroupResources, NewCmdGet(root), NewCmdStatus(root), NewCmdTop(root))
	root.AddCommands(cli.GroupResources, NewCmdPlace(root), NewCmdDelete(root), NewCmdEnable(root), NewCmdDisable(root), NewCmdPolicy(root))
	root.AddCommands(cli.GroupTrouble, NewCmdCheck(root), NewCmdEvents(root), NewCmdLogs(root))
	for _, c := range root.Command.Commands() {
		completeSelectionFlags(root, c)
	}
}
