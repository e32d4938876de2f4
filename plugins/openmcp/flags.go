// Flags the commands share, and the checks of their values.
package openmcp

import (
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// validateListMode refuses, with --list, the flags that only a write takes
// and the formats a list does not print.
func validateListMode(cmd *cobra.Command, format string, writeFlags ...string) error {
	for _, f := range writeFlags {
		if cli.FlagSetHas(cmd.Flags(), f) {
			return cli.Usagef("--list only reads: it cannot be combined with --%s", f)
		}
	}
	if format != "" && format != "wide" && format != "json" && format != "yaml" {
		return cli.Usagef("invalid -o %q with --list: allowed values are wide, json, yaml", format)
	}
	return nil
}

// validateWriteFormat checks -o for a write, which prints the written objects.
func validateWriteFormat(format string, p *genericclioptions.PrintFlags) error {
	if format == "wide" {
		return cli.Usagef("-o wide is a --list format")
	}
	if format != "" {
		if _, err := p.ToPrinter(); err != nil {
			return &cli.UsageError{Err: err}
		}
	}
	return nil
}

// addManifestFlags adds -f and -R, which place and delete read alike, so
// that delete finds exactly the objects place wrote from the same files.
func addManifestFlags(cmd *cobra.Command, filenames *[]string, recursive *bool) {
	f := cmd.Flags()
	f.StringSliceVarP(filenames, "filename", "f", nil, "Manifest file, directory (its .yaml, .yml and .json files) or - for standard input; repeatable")
	f.BoolVarP(recursive, "recursive", "R", false, "Read the directories given with -f recursively")
	_ = cmd.MarkFlagFilename("filename", "yaml", "yml", "json")
}

// addFanOutFlags declares the flags that choose the clusters a command reads
// and bound the fan-out over them.
func addFanOutFlags(cmd *cobra.Command, sel *fleet.SelectionFlags, fan *fleet.FanOutFlags) {
	sel.AddFlags(cmd)
	fan.AddFlags(cmd.Flags())
}

// validateFanOut checks the flags that choose and bound the clusters of a
// command that reads nothing until told which clusters.
func validateFanOut(sel *fleet.SelectionFlags, fan *fleet.FanOutFlags) error {
	if err := sel.Require(); err != nil {
		return err
	}
	return fan.Validate()
}
