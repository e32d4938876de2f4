package cli

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	cmdutil "k8s.io/kubectl/pkg/cmd/util"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// GetDryRun reads the --dry-run flag cmdutil.AddDryRunFlag registers: none,
// client or server. kubectl's deprecated forms (a bare --dry-run, true,
// false) and its error for anything else are kubectl's own.
func GetDryRun(cmd *cobra.Command) (write.DryRun, error) {
	if d, err := write.ParseDryRun(cmd.Flag("dry-run").Value.String()); err == nil {
		return d, nil
	}
	s, err := cmdutil.GetDryRunStrategy(cmd)
	switch {
	case err != nil:
		return write.DryRunNone, err
	case s == cmdutil.DryRunClient:
		return write.DryRunClient, nil
	case s == cmdutil.DryRunServer:
		return write.DryRunServer, nil
	}
	return write.DryRunNone, nil
}

// PrintFlagsWithDryRun is kubectl's PrintFlagsWithDryRunStrategy: "-o name"
// and the default printer say "(dry run)" or "(server dry run)".
func PrintFlagsWithDryRun(f *genericclioptions.PrintFlags, d write.DryRun) *genericclioptions.PrintFlags {
	if s := d.Suffix(); s != "" {
		f.Complete("%s" + s)
	}
	return f
}
