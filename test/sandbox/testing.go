package sandbox

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcksplugin "github.com/openmcp-plugins/kubectl-openmcp/plugins/mcks"
	openmcpplugin "github.com/openmcp-plugins/kubectl-openmcp/plugins/openmcp"
)

// TB is the part of testing.TB the harness uses.
type TB interface {
	Helper()
	Logf(format string, args ...any)
	Fatalf(format string, args ...any)
	Skipf(format string, args ...any)
	Failed() bool
	Cleanup(func())
}

// Start launches a federation for a test and stops it when the test ends.
// A failed test keeps the sandbox folder and prints the end of every
// component's log; a passed one leaves nothing behind.
func Start(t TB, opts Options) *Federation {
	t.Helper()
	if opts.Logf == nil {
		opts.Logf = t.Logf
	}
	f, err := Launch(context.Background(), opts)
	if err != nil {
		if f == nil && opts.Dir == "" {
			t.Fatalf("sandbox: %v", err)
		}
		t.Fatalf("sandbox: %v", err)
	}
	t.Cleanup(func() {
		f.Stop()
		if t.Failed() {
			t.Logf("sandbox kept in %s; component logs:\n%s", f.Dir, f.LogTails(10))
			return
		}
		if opts.Dir == "" {
			_ = os.RemoveAll(f.Dir)
		}
	})
	return f
}

// Result is what a command printed and how it exited.
type Result struct {
	Stdout, Stderr string
	Code           int
}

// OpenMCP runs `kubectl openmcp ARGS` in-process against the sandbox's kubeconfig.
func (f *Federation) OpenMCP(t TB, args ...string) Result {
	t.Helper()
	return f.runInProcess(openmcpplugin.NewCmdOpenMCP, args)
}

// MCKS runs `kubectl mcks ARGS` in-process against the sandbox's kubeconfig.
func (f *Federation) MCKS(t TB, args ...string) Result {
	t.Helper()
	return f.runInProcess(mcksplugin.NewCmdMCKS, args)
}

func (f *Federation) runInProcess(newRoot func(genericiooptions.IOStreams) *cli.Root, args []string) Result {
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := newRoot(streams).Execute(append([]string{"--kubeconfig", f.Kubeconfig, "--cache-dir", filepath.Join(f.Dir, "kube-cache")}, args...))
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}

// Exec runs a built binary (bin/kubectl-openmcp, .cache/bin/kubectl, ...)
// with KUBECONFIG pointing at the sandbox.
func (f *Federation) Exec(t TB, bin string, args ...string) Result {
	t.Helper()
	cmd := exec.Command(bin, args...)
	cmd.Env = append(os.Environ(), "KUBECONFIG="+f.Kubeconfig, "NO_COLOR=1")
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("run %s: %v", bin, err)
	}
	return Result{Stdout: out.String(), Stderr: errOut.String(), Code: code}
}
