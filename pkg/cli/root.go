// Package cli is what both plugins share at the top: the root command with
// kubectl's global flags, --color and -v, the version and completion commands,
// and the translation of errors into one stderr line and an exit code.
package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"runtime/debug"
	"strconv"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	// Exec credential plugins are built into client-go; this adds the OIDC
	// auth provider so every context kubectl can use works here too.
	_ "k8s.io/client-go/plugin/pkg/client/auth"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/execcred"

	// Keeps kubectl's message catalog from being parsed at every start (35 ms).
	_ "github.com/openmcp-plugins/kubectl-openmcp/pkg/kubectltext"
)

// Command groups shown in --help, in the style of kubectl's own help.
const (
	GroupFederation = "federation"
	GroupResources  = "resources"
	GroupCluster    = "cluster"
	GroupAPI        = "api"
	GroupTrouble    = "troubleshooting"
	GroupOther      = "other"
)

// Root is a plugin's root command with the flags every subcommand shares.
type Root struct {
	Command     *cobra.Command
	ConfigFlags *genericclioptions.ConfigFlags
	Streams     genericiooptions.IOStreams
	Color       string
	verbosity   *flag.Flag
	profile     profiling
}

// NewRoot builds the root command of `kubectl <name>`.
func NewRoot(name, short, long string, streams genericiooptions.IOStreams) *Root {
	r := &Root{Streams: streams, ConfigFlags: genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50)}
	cmd := &cobra.Command{
		// The binary's own name, so shell completion scripts complete
		// "kubectl-openmcp"; help and errors use the display name below.
		Use:   "kubectl-" + name,
		Short: short,
		Long:  long,
		Annotations: map[string]string{
			// Usage lines then read "kubectl openmcp ...", as the user types them.
			cobra.CommandDisplayNameAnnotation: "kubectl " + name,
		},
		SilenceErrors: true,
		SilenceUsage:  true,
		CompletionOptions: cobra.CompletionOptions{
			HiddenDefaultCmd: false,
		},
		PersistentPreRunE: func(cmd *cobra.Command, args []string) error {
			return r.setUp()
		},
		Run: func(cmd *cobra.Command, args []string) { _ = cmd.Help() },
	}
	cmd.SetIn(streams.In)
	cmd.SetOut(streams.Out)
	cmd.SetErr(streams.ErrOut)
	cmd.SetFlagErrorFunc(func(c *cobra.Command, err error) error { return &UsageError{Err: err} })

	flags := cmd.PersistentFlags()
	r.ConfigFlags.AddFlags(flags)
	flags.StringVar(&r.Color, "color", string(ColorAuto), "Colorize output: auto (only on a terminal, never when NO_COLOR is set), always or never")
	_ = cmd.RegisterFlagCompletionFunc("color", cobra.FixedCompletions([]string{"auto", "always", "never"}, cobra.ShellCompDirectiveNoFileComp))
	execcred.AddFlags(flags, r.ConfigFlags.CacheDir)
	r.profile.addFlags(flags)

	// klog's -v, and nothing else of klog: its other flags are noise for a CLI.
	goFlags := flag.NewFlagSet("klog", flag.ContinueOnError)
	klog.InitFlags(goFlags)
	r.verbosity = goFlags.Lookup("v")
	flags.AddGoFlag(r.verbosity)
	flags.Lookup("v").Usage = "Log level for API requests and internals (e.g. 6 shows every request)"

	cmd.SetHelpCommandGroupID(GroupOther)
	cmd.SetCompletionCommandGroupID(GroupOther)
	cmd.AddCommand(NewCmdVersion(streams))

	r.Command = cmd
	return r
}

var groupTitles = []cobra.Group{
	{ID: GroupFederation, Title: "Federation Commands:"},
	{ID: GroupResources, Title: "Resource Commands:"},
	{ID: GroupCluster, Title: "Cluster Commands:"},
	{ID: GroupAPI, Title: "API Commands:"},
	{ID: GroupTrouble, Title: "Troubleshooting Commands:"},
	{ID: GroupOther, Title: "Other Commands:"},
}

// addGroups declares, in a fixed order, the help groups that hold commands:
// cobra would print an empty heading for a group with none.
func (r *Root) addGroups() {
	used := map[string]bool{GroupOther: true}
	for _, c := range r.Command.Commands() {
		used[c.GroupID] = true
	}
	for _, g := range groupTitles {
		if used[g.ID] && !r.Command.ContainsGroup(g.ID) {
			r.Command.AddGroup(&cobra.Group{ID: g.ID, Title: g.Title})
		}
	}
}

// setUp runs before every subcommand: colour, logging, server warnings.
func (r *Root) setUp() error {
	if err := ApplyColor(r.Color, r.Streams.Out); err != nil {
		return err
	}
	v, err := strconv.Atoi(r.verbosity.Value.String())
	if err != nil {
		return &UsageError{Err: fmt.Errorf("invalid -v %q: want a number", r.verbosity.Value.String())}
	}
	setUpLogging(r.Streams.ErrOut, v)
	if err := r.profile.start(); err != nil {
		return err
	}
	if err := execcred.CheckFlags(); err != nil {
		return &UsageError{Err: err}
	}
	if t := r.ConfigFlags.Timeout; t != nil && !validTimeout(*t) {
		// client-go would say "Invalid timeout value" without the value, and only at the first request.
		return Usagef("invalid --request-timeout %q: want a duration such as 30s or 1m, or 0 for none", *t)
	}
	// Server warnings (deprecated APIs, ...) go to stderr once each, as kubectl prints them.
	rest.SetDefaultWarningHandler(&serverWarnings{w: r.Streams.ErrOut, seen: map[string]bool{}})
	return nil
}

// AddCommands adds subcommands under a help group.
func (r *Root) AddCommands(group string, cmds ...*cobra.Command) {
	for _, c := range cmds {
		c.GroupID = group
		r.Command.AddCommand(c)
	}
}

// Execute runs the root command and turns the outcome into an exit code:
// errors are one "error: ..." line on stderr; usage errors add the --help hint
// and exit with ExitUsage. Ctrl-C cancels the command's context.
func (r *Root) Execute(args []string) int {
	// SIGHUP too: a closed terminal must not kill a write half-way (and
	// leave kubectl's kubeconfig lock behind).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer stop()
	r.addGroups()
	r.Command.SetArgs(args)
	err := r.Command.ExecuteContext(ctx)
	r.profile.stop(func(format string, args ...any) { Warnf(r.Streams.ErrOut, format, args...) })
	return r.report(err)
}

func (r *Root) report(err error) int {
	if err == nil {
		return ExitOK
	}
	var silent *SilentError
	if errors.As(err, &silent) {
		return silent.Code
	}
	var interrupted *InterruptedError
	if errors.As(err, &interrupted) {
		fmt.Fprintf(r.Streams.ErrOut, "%s %s\n", Warn("interrupted:"), oneLine(interrupted.Msg))
		return ExitInterrupted
	}
	fmt.Fprintf(r.Streams.ErrOut, "%s %s\n", Bad("error:"), oneLine(err.Error()))
	if IsUsage(err) || isCobraUsage(err) {
		fmt.Fprintf(r.Streams.ErrOut, "See '%s --help' for usage.\n", r.Command.Annotations[cobra.CommandDisplayNameAnnotation])
		return ExitUsage
	}
	if errors.Is(err, context.Canceled) {
		return ExitInterrupted
	}
	return ExitError
}

// Main is what cmd/kubectl-<name>/main.go calls.
func Main(newRoot func(genericiooptions.IOStreams) *Root) {
	tuneGC()
	streams := genericiooptions.IOStreams{In: os.Stdin, Out: os.Stdout, ErrOut: os.Stderr}
	code := newRoot(streams).Execute(os.Args[1:])
	// Exec credential plugins a fan-out stopped waiting for die with us.
	execcred.KillAll()
	os.Exit(code)
}

// ExactArgs, MinArgs and NoArgs are cobra's argument checks as usage errors.
func ExactArgs(n int) cobra.PositionalArgs { return usageArgs(cobra.ExactArgs(n)) }
func MinArgs(n int) cobra.PositionalArgs   { return usageArgs(cobra.MinimumNArgs(n)) }
func NoArgs() cobra.PositionalArgs         { return usageArgs(cobra.NoArgs) }
func RangeArgs(min, max int) cobra.PositionalArgs {
	return usageArgs(cobra.RangeArgs(min, max))
}

func usageArgs(check cobra.PositionalArgs) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if err := check(cmd, args); err != nil {
			return &UsageError{Err: err}
		}
		return nil
	}
}

// FlagSetHas reports whether a flag was given on the command line.
func FlagSetHas(fs *pflag.FlagSet, name string) bool {
	f := fs.Lookup(name)
	return f != nil && f.Changed
}

// validTimeout accepts what kubectl's --request-timeout does: 0, whole
// seconds, or a non-negative duration with a unit.
func validTimeout(s string) bool {
	if s == "" || s == "0" {
		return true
	}
	if n, err := strconv.Atoi(s); err == nil {
		return n >= 0
	}
	d, err := time.ParseDuration(s)
	return err == nil && d >= 0
}

// tuneGC sets how the collector paces a command. GOGC=400 once saved get
// --all-clusters a third of its CPU, when every cluster's answer was held
// decoded into maps; since get reads Tables into compact rows and prints
// each cluster as it comes (issue 21), what is live stays small, the
// collector's work with it, and Go's default (100) costs no measurable CPU
// at 64 clusters while keeping the heap to twice what is live rather than
// five times (75 against 89 MiB, docs/performance.md). The soft limit
// brings the pace up before 512 MiB whatever the command. GOGC and
// GOMEMLIMIT in the environment still win.
func tuneGC() {
	if os.Getenv("GOGC") == "" {
		debug.SetGCPercent(gcPercent)
	}
	if os.Getenv("GOMEMLIMIT") == "" {
		debug.SetMemoryLimit(gcSoftLimit)
	}
}

const (
	gcPercent   = 100
	gcSoftLimit = 512 << 20
)
