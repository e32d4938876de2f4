package e2e

import (
	"bufio"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// running is a built plugin binary run in the background, as a user runs it
// in a terminal: Ctrl-C is a SIGINT to it.
type running struct {
	cmd    *exec.Cmd
	mu     sync.Mutex
	stdout strings.Builder
	stderr strings.Builder
	lines  chan string // stderr, line by line
	done   chan struct{}
	code   int
}

func startBinary(t *testing.T, fed *sandbox.Federation, bin string, args ...string) *running {
	t.Helper()
	r := &running{cmd: exec.Command(pluginBinary(t, bin), args...), lines: make(chan string, 100), done: make(chan struct{})}
	r.cmd.Env = append(os.Environ(), "KUBECONFIG="+fed.Kubeconfig, "HOME="+t.TempDir(), "NO_COLOR=1")
	stderr, err := r.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	r.cmd.Stdout = &lockedWriter{mu: &r.mu, b: &r.stdout}
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = r.cmd.Process.Kill() })
	go func() {
		s := bufio.NewScanner(stderr)
		for s.Scan() {
			r.mu.Lock()
			r.stderr.WriteString(s.Text() + "\n")
			r.mu.Unlock()
			select {
			case r.lines <- s.Text():
			default:
			}
		}
		_ = r.cmd.Wait()
		r.code = r.cmd.ProcessState.ExitCode()
		close(r.done)
	}()
	return r
}

type lockedWriter struct {
	mu *sync.Mutex
	b  *strings.Builder
}

func (w *lockedWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.b.Write(p)
}

// waitStderr waits for a stderr line containing want.
func (r *running) waitStderr(t *testing.T, want string, within time.Duration) {
	t.Helper()
	deadline := time.After(within)
	for {
		select {
		case l := <-r.lines:
			if strings.Contains(l, want) {
				return
			}
		case <-r.done:
			t.Fatalf("exited %d before printing %q; stderr %q", r.code, want, r.Stderr())
		case <-deadline:
			t.Fatalf("no %q on stderr within %s; stderr %q", want, within, r.Stderr())
		}
	}
}

// interrupt sends Ctrl-C and waits for the exit code.
func (r *running) interrupt(t *testing.T, within time.Duration) int {
	t.Helper()
	if err := r.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	select {
	case <-r.done:
		t.Logf("exit %d after Ctrl-C; stderr:\n%s", r.code, r.Stderr())
		return r.code
	case <-time.After(within):
		t.Fatalf("still running %s after Ctrl-C; stderr %q", within, r.Stderr())
	}
	return 0
}

func (r *running) Stdout() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stdout.String()
}

func (r *running) Stderr() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.stderr.String()
}

// Ctrl-C during a long join stops it at once, exits 130 and says what was
// and was not done; what it interrupted half-way is rolled back.
func TestCtrlCDuringJoin(t *testing.T) {
	// No KubeFed controller runs: no cluster ever turns Ready.
	fed := sandbox.Start(t, sandbox.Options{Members: 2})

	t.Run("join --wait", func(t *testing.T) {
		r := startBinary(t, fed, "kubectl-openmcp", "join", "cluster1", "--wait=2m")
		r.waitStderr(t, "waiting up to 2m0s", 60*time.Second)
		code := r.interrupt(t, 5*time.Second)
		if code != 130 {
			t.Errorf("exit %d after Ctrl-C, want 130", code)
		}
		if !strings.Contains(r.Stdout(), "cluster/cluster1 joined") {
			t.Errorf("stdout %q lacks the join", r.Stdout())
		}
		last := lines(r.Stderr())
		msg := last[len(last)-1]
		for _, want := range []string{"interrupted", "cluster1", "joined", "Ready"} {
			if !strings.Contains(msg, want) {
				t.Errorf("last stderr line %q lacks %q", msg, want)
			}
		}
		if got := hostKubeFedClusters(t, fed); strings.Join(got, ",") != "cluster1" {
			t.Errorf("the join itself must stay: KubeFedClusters %v", got)
		}
	})

	t.Run("join waiting for the token", func(t *testing.T) {
		p := startFaultProxy(t, fed, fed.Member("cluster2"))
		routeContext(t, fed.Kubeconfig, "cluster2", p.URL())
		held := make(chan struct{}, 1)
		// The member never answers the read of the token: join waits.
		p.OnRequest(func(r *http.Request) {
			if r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/secrets") && strings.Contains(r.URL.RawQuery, "cluster2-openmcp-token") {
				select {
				case held <- struct{}{}:
				default:
				}
				<-r.Context().Done()
			}
		})
		r := startBinary(t, fed, "kubectl-openmcp", "join", "cluster2")
		select {
		case <-held:
		case <-r.done:
			t.Fatalf("join ended (exit %d) before it read the token: %q", r.code, r.Stderr())
		case <-time.After(60 * time.Second):
			t.Fatalf("join never read the token; stderr %q", r.Stderr())
		}
		code := r.interrupt(t, 40*time.Second)
		p.OnRequest(nil)
		if code != 130 {
			t.Errorf("exit %d after Ctrl-C, want 130", code)
		}
		stderr := r.Stderr()
		for _, want := range []string{"interrupted", "cluster cluster2 not joined", "nothing of this join was left behind"} {
			if !strings.Contains(stderr, want) {
				t.Errorf("stderr %q lacks %q", stderr, want)
			}
		}
		if strings.Contains(stderr, "token controller") {
			t.Errorf("Ctrl-C reported as a missing token controller: %q", stderr)
		}
		if got := memberFootprint(t, fed.Member("cluster2")); len(got) != 0 {
			t.Errorf("the interrupted join left %v on the member", got)
		}
		if got := hostKubeFedClusters(t, fed); strings.Contains(strings.Join(got, ","), "cluster2") {
			t.Errorf("the interrupted join left a KubeFedCluster: %v", got)
		}
	})
}
