package cli

import (
	"context"

	"github.com/spf13/cobra"
)

// Options is the shape of every command, as kubectl's own commands have it:
// Complete fills in what the flags and arguments imply, Validate refuses bad
// input before any request, Run does the work.
type Options interface {
	Complete(cmd *cobra.Command, args []string) error
	Validate() error
	Run(ctx context.Context) error
}

// Run is the RunE of every command: Complete, Validate, then Run, stopping
// at the first error (which the root turns into one line and an exit code).
func Run(o Options) func(cmd *cobra.Command, args []string) error {
	return func(cmd *cobra.Command, args []string) error {
		if err := o.Complete(cmd, args); err != nil {
			return err
		}
		if err := o.Validate(); err != nil {
			return err
		}
		return o.Run(cmd.Context())
	}
}
