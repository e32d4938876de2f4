package openmcp

import (
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// completeResourceTypes completes TYPE for get from the host's discovery,
// which kubectl caches on disk: the names, short names and CRDs a user types.
func completeResourceTypes(root *cli.Root) cobra.CompletionFunc {
	return func(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		kc := fleet.NewKubeconfig(root.ConfigFlags)
		flag, _ := cmd.Flags().GetString(flagHostContext)
		host, err := kc.HostContext(flag)
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		dc, err := kc.For(host).ToDiscoveryClient()
		if err != nil {
			return nil, cobra.ShellCompDirectiveError
		}
		lists, _ := dc.ServerPreferredResources()
		seen := map[string]bool{}
		var out []string
		for _, l := range lists {
			for _, r := range l.APIResources {
				if strings.Contains(r.Name, "/") || !hasVerb(r.Verbs, "list") {
					continue
				}
				for _, n := range append([]string{r.Name}, r.ShortNames...) {
					if !seen[n] && strings.HasPrefix(n, toComplete) {
						seen[n] = true
						out = append(out, n)
					}
				}
			}
		}
		return out, cobra.ShellCompDirectiveNoFileComp
	}
}

func hasVerb(verbs []string, v string) bool {
	for _, x := range verbs {
		if x == v {
			return true
		}
	}
	return false
}

// completeOpenMCPKinds completes the OPENMCPKIND/ part of status's argument.
func completeOpenMCPKinds(cmd *cobra.Command, args []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
	if len(args) > 0 {
		return nil, cobra.ShellCompDirectiveNoFileComp
	}
	var out []string
	for _, k := range openmcpapi.Kinds {
		for _, n := range append([]string{strings.ToLower(k.Kind)}, k.ShortNames...) {
			if strings.HasPrefix(n+"/", toComplete) {
				out = append(out, n+"/")
			}
		}
	}
	return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
}

// completeSelectionFlags completes --clusters with the host's members (the
// part after the last comma) and --cluster-selector with the label pairs
// their KubeFedClusters carry (region=AS, zone=KR, platform=eks, ...).
func completeSelectionFlags(root *cli.Root, cmd *cobra.Command) {
	if cmd.Flags().Lookup("clusters") != nil {
		_ = cmd.RegisterFlagCompletionFunc("clusters", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			members, err := completionMembers(root, cmd)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			done, prefix := "", toComplete
			if i := strings.LastIndex(toComplete, ","); i >= 0 {
				done, prefix = toComplete[:i+1], toComplete[i+1:]
			}
			var out []cobra.Completion
			for _, m := range members {
				if strings.HasPrefix(m.Name, prefix) && !strings.Contains(","+done, ","+m.Name+",") {
					out = append(out, done+m.Name)
				}
			}
			return out, cobra.ShellCompDirectiveNoFileComp | cobra.ShellCompDirectiveNoSpace
		})
	}
	if cmd.Flags().Lookup("cluster-selector") != nil {
		_ = cmd.RegisterFlagCompletionFunc("cluster-selector", func(cmd *cobra.Command, _ []string, toComplete string) ([]cobra.Completion, cobra.ShellCompDirective) {
			members, err := completionMembers(root, cmd)
			if err != nil {
				return nil, cobra.ShellCompDirectiveError
			}
			seen := map[string]bool{}
			var out []cobra.Completion
			for _, m := range members {
				for k, v := range m.Cluster.Labels {
					pair := k + "=" + v
					if !seen[pair] && strings.HasPrefix(pair, toComplete) {
						seen[pair] = true
						out = append(out, pair)
					}
				}
			}
			sort.Strings(out)
			return out, cobra.ShellCompDirectiveNoFileComp
		})
	}
}
