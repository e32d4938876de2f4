package mcks

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
)

// apiFlags are the flags of the commands that drive the MCKS REST API. They
// are not kubectl's: -n stays the Kubernetes namespace, the MCKS namespace
// is --mcks-namespace.
type apiFlags struct {
	root      *cli.Root
	server    string
	namespace string
}

func addAPIFlags(cmd *cobra.Command, root *cli.Root) *apiFlags {
	f := &apiFlags{root: root}
	flags := cmd.PersistentFlags()
	flags.StringVar(&f.server, "mcks-server", mcks.DefaultServer, "Root URL of the MCKS REST API: http://HOST:1470/mcks up to MCKS v0.7.1.1, http://HOST:1470/ladybug from v0.7.2 (default from $"+mcks.ServerEnv+" when set)")
	flags.StringVar(&f.namespace, "mcks-namespace", mcks.DefaultNamespace, "MCKS namespace that holds the clusters (not a Kubernetes namespace)")
	return f
}

// client builds the MCKS client: --mcks-server, else $MCKS_SERVER, else the
// default; kubectl's --request-timeout bounds the reads when given.
func (f *apiFlags) client(cmd *cobra.Command) (*mcks.Client, error) {
	server := f.server
	if !flagChanged(cmd, "mcks-server") {
		if env := os.Getenv(mcks.ServerEnv); env != "" {
			server = env
		}
	}
	c, err := mcks.NewClient(server, f.namespace, nil)
	if err != nil {
		return nil, cli.Usagef("%v", err)
	}
	if t, err := requestTimeout(f.root); err != nil {
		return nil, err
	} else if t > 0 {
		c.RequestTimeout = t
	}
	return c, nil
}

// requestTimeout reads kubectl's --request-timeout ("0" means the default).
func requestTimeout(root *cli.Root) (time.Duration, error) {
	if root.ConfigFlags.Timeout == nil {
		return 0, nil
	}
	v := strings.TrimSpace(*root.ConfigFlags.Timeout)
	if v == "" || v == "0" {
		return 0, nil
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		return 0, cli.Usagef("invalid --request-timeout %q: want a duration such as 30s or 1m", v)
	}
	return d, nil
}

func flagChanged(cmd *cobra.Command, name string) bool {
	f := cmd.Flags().Lookup(name)
	return f != nil && f.Changed
}

// addTimeoutFlag adds --timeout to a command that waits for the clouds.
func addTimeoutFlag(cmd *cobra.Command, p *time.Duration, def time.Duration, what string) {
	cmd.Flags().DurationVar(p, "timeout", def, "How long to wait for "+what+"; the MCKS server goes on after it (0 means no limit)")
}

// withTimeout bounds ctx by d unless d is 0.
func withTimeout(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc) {
	if d <= 0 {
		return context.WithCancel(ctx)
	}
	return context.WithTimeoutCause(ctx, d, fmt.Errorf("--timeout %s passed", d))
}

// notFoundError rewords a missing MCKS object in the namespace's terms.
func notFoundError(kind, name string, c *mcks.Client, err error) error {
	if !mcks.IsNotFound(err) {
		return err
	}
	msg := fmt.Sprintf("%s %q not found in MCKS namespace %q at %s", kind, name, c.Namespace(), c.Server())
	// The server answers every failed read of a cluster or node with 404,
	// Tumblebug out of reach included: keep a reason that is not "not found".
	var api *mcks.APIError
	if errors.As(err, &api) && api.Message != "" && !strings.Contains(strings.ToLower(api.Message), "found") {
		msg += " (the server says: " + api.Message + ")"
	}
	return errors.New(msg)
}

// stoppedEarly is a wait that ended before the MCKS server did: --timeout,
// or Ctrl-C, which exits 130 as a shell reports an interrupted command. The
// message (what the server goes on doing) is the same.
func stoppedEarly(ctx context.Context, err error) error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return cli.Interruptedf("%v", err)
	}
	return err
}
