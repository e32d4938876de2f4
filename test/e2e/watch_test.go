package e2e

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// pluginBinary is the kubectl-openmcp `make build` wrote.
func pluginBinary(t *testing.T, name string) string {
	t.Helper()
	bin := filepath.Join(sandbox.RepoRoot(), "bin", name)
	if _, err := os.Stat(bin); err != nil {
		t.Fatalf("%s not built: run `make build` (make e2e and make test do)", bin)
	}
	return bin
}

// get -w streams changes from every member, each line naming its cluster,
// and Ctrl-C ends it cleanly.
func TestGetWatchTagsEventsWithTheirCluster(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	webApp(t, fed.Member("cluster1"), "openmcp", 1, 3)
	if err := fed.Member("cluster2").EnsureNamespace(context.Background(), "openmcp"); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(pluginBinary(t, "kubectl-openmcp"), "get", "hpa", "-n", "openmcp", "--all-clusters", "-w")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+fed.Kubeconfig, "HOME="+t.TempDir())
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill() }()
	lines := make(chan string)
	go func() {
		s := bufio.NewScanner(out)
		for s.Scan() {
			lines <- s.Text()
		}
		close(lines)
	}()
	next := func(what string) string {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatalf("output ended while waiting for %s; stderr %q", what, stderr.String())
			}
			return l
		case <-time.After(20 * time.Second):
			t.Fatalf("no line for %s within 20s; stderr %q", what, stderr.String())
		}
		return ""
	}
	if h := next("the header"); !strings.Contains(h, "CLUSTER") {
		t.Fatalf("first line %q is not the table header", h)
	}
	if l := next("cluster1's HPA"); !strings.Contains(l, "cluster1") {
		t.Fatalf("line %q", l)
	}
	// A change in the other member shows up, tagged with it.
	webApp(t, fed.Member("cluster2"), "openmcp", 1, 4)
	for {
		l := next("cluster2's new HPA")
		if strings.Contains(l, "web") && strings.Contains(l, "cluster2") {
			break
		}
	}
	if err := cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case <-done:
		// As a shell reports a command Ctrl-C ended, and saying so.
		if code := cmd.ProcessState.ExitCode(); code != 130 || !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "nothing was changed") {
			t.Errorf("after Ctrl-C: exit %d, stderr %q; want 130 and a line saying the watch was interrupted", code, stderr.String())
		}
	case <-time.After(10 * time.Second):
		t.Fatalf("get -w did not stop within 10s of Ctrl-C")
	}
}
