package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/fatih/color"
	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericiooptions"
)

func run(t *testing.T, args ...string) (code int, stdout, stderr string) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	root := NewRoot("demo", "a demo plugin", "A demo plugin.", streams)
	root.AddCommands(GroupFederation, &cobra.Command{
		Use:  "fail",
		Args: NoArgs(),
		RunE: func(*cobra.Command, []string) error { return errors.New("the cluster said no\nsecond line") },
	}, &cobra.Command{
		Use:  "interrupt",
		Args: NoArgs(),
		RunE: func(*cobra.Command, []string) error {
			return Interruptedf("cluster1 joined; stopped waiting for Ready")
		},
	}, &cobra.Command{
		Use:  "cancel",
		Args: NoArgs(),
		RunE: func(*cobra.Command, []string) error { return fmt.Errorf("list pods: %w", context.Canceled) },
	})
	code = root.Execute(args)
	return code, out.String(), errOut.String()
}

func TestHelpShowsKubectlPluginUsageAndGroups(t *testing.T) {
	code, out, _ := run(t, "--help")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	for _, want := range []string{"kubectl demo [command]", "Federation Commands:", "Other Commands:", "--kubeconfig", "--context", "--namespace", "--request-timeout", "--color"} {
		if !strings.Contains(out, want) {
			t.Errorf("help lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Resource Commands:") {
		t.Errorf("help shows an empty group:\n%s", out)
	}
}

func TestVersionJSON(t *testing.T) {
	code, out, _ := run(t, "version", "-o", "json")
	if code != ExitOK {
		t.Fatalf("exit %d", code)
	}
	var info map[string]string
	if err := json.Unmarshal([]byte(out), &info); err != nil {
		t.Fatalf("version -o json is not JSON: %v\n%s", err, out)
	}
	for _, k := range []string{"version", "gitCommit", "buildDate", "goVersion", "platform"} {
		if info[k] == "" {
			t.Errorf("version -o json lacks %q: %s", k, out)
		}
	}
}

func TestVersionBadOutputIsUsageError(t *testing.T) {
	code, _, errOut := run(t, "version", "-o", "toml")
	if code != ExitUsage || !strings.Contains(errOut, `invalid -o "toml"`) {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
}

func TestCompletionScripts(t *testing.T) {
	for shell, marker := range map[string]string{
		"bash":       "complete -o default -F __start_kubectl-demo kubectl-demo",
		"zsh":        "#compdef kubectl-demo",
		"fish":       "complete -c kubectl-demo",
		"powershell": "Register-ArgumentCompleter",
	} {
		code, out, _ := run(t, "completion", shell)
		if code != ExitOK || !strings.Contains(out, marker) {
			t.Errorf("completion %s: exit %d, output lacks %q", shell, code, marker)
		}
	}
}

func TestUnknownFlagAndCommandAreUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"--bogus"}, {"version", "--bogus"}, {"nosuchcommand"}, {"fail", "extra-arg"}} {
		code, out, errOut := run(t, args...)
		if code != ExitUsage {
			t.Errorf("%v: exit %d, want %d", args, code, ExitUsage)
		}
		if !strings.HasPrefix(errOut, "error: ") || !strings.Contains(errOut, "See 'kubectl demo --help' for usage.") {
			t.Errorf("%v: stderr %q", args, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout should be empty, got %q", args, out)
		}
	}
}

func TestRuntimeErrorIsOneLineExitOne(t *testing.T) {
	code, _, errOut := run(t, "fail")
	if code != ExitError {
		t.Fatalf("exit %d", code)
	}
	if errOut != "error: the cluster said no; second line\n" {
		t.Fatalf("stderr %q", errOut)
	}
}

func TestColorModes(t *testing.T) {
	defer func(old bool) { color.NoColor = old }(color.NoColor)
	var buf bytes.Buffer // not a terminal
	t.Setenv("NO_COLOR", "")
	if err := ApplyColor("auto", &buf); err != nil || !color.NoColor {
		t.Errorf("auto on a non-terminal must not colour (err %v)", err)
	}
	if err := ApplyColor("always", &buf); err != nil || color.NoColor {
		t.Errorf("always must colour (err %v)", err)
	}
	t.Setenv("NO_COLOR", "1")
	if err := ApplyColor("auto", &buf); err != nil || !color.NoColor {
		t.Errorf("NO_COLOR must switch colour off")
	}
	if err := ApplyColor("never", &buf); err != nil || !color.NoColor {
		t.Errorf("never must not colour")
	}
	if err := ApplyColor("sometimes", &buf); !IsUsage(err) || !strings.Contains(err.Error(), "auto, always, never") {
		t.Errorf("bad --color: %v", err)
	}
}

func TestNoColorEnvKeepsErrorsPlain(t *testing.T) {
	t.Setenv("NO_COLOR", "1")
	_, _, errOut := run(t, "--color", "auto", "fail")
	if strings.Contains(errOut, "\x1b[") {
		t.Fatalf("escape codes with NO_COLOR: %q", errOut)
	}
}

// Ctrl-C exits 130, as a shell reports a command SIGINT ended, with the
// command's own account of what was and was not done.
func TestInterruptedExits130SayingWhatWasDone(t *testing.T) {
	code, _, errOut := run(t, "interrupt")
	if code != ExitInterrupted || errOut != "interrupted: cluster1 joined; stopped waiting for Ready\n" {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	if !errors.Is(Interruptedf("x"), context.Canceled) {
		t.Error("an InterruptedError must match context.Canceled")
	}
	code, _, errOut = run(t, "cancel")
	if code != ExitInterrupted || errOut != "error: list pods: context canceled\n" {
		t.Errorf("a plain cancellation: exit %d, stderr %q", code, errOut)
	}
}

func TestBadRequestTimeoutIsAUsageErrorNamingIt(t *testing.T) {
	code, _, errOut := run(t, "fail", "--request-timeout", "soon")
	if code != ExitUsage || !strings.Contains(errOut, `invalid --request-timeout "soon"`) {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	for _, ok := range []string{"0", "30", "1m", "250ms"} {
		if !validTimeout(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{"-1", "-5s", "1x", "soon"} {
		if validTimeout(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}
