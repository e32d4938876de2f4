package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
)

// kubectl mcks kubeconfig --merge, run by the built binary many times at
// once and killed at random moments: the kubeconfig always parses, keeps
// the user's own entries, and ends with every merge that finished.
func TestKubeconfigMergeSurvivesConcurrencyAndKills(t *testing.T) {
	bin := pluginBinary(t, "kubectl-mcks")
	srv := mckstest.New(t)
	const clusters = 8
	for i := range clusters {
		srv.AddCluster("default", mckstest.TwoCloudReq(fmt.Sprintf("c%d", i)))
	}
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	mine := clientcmdapi.NewConfig()
	mine.Clusters["mine"] = &clientcmdapi.Cluster{Server: "https://mine.example:6443"}
	mine.AuthInfos["mine"] = &clientcmdapi.AuthInfo{Token: "my-own-token"}
	mine.Contexts["mine"] = &clientcmdapi.Context{Cluster: "mine", AuthInfo: "mine"}
	mine.CurrentContext = "mine"
	// A big kubeconfig (as a platform team's is) keeps each merge inside its
	// read-modify-write long enough for the kills below to land there.
	for i := range 3000 {
		n := fmt.Sprintf("team-%04d", i)
		mine.Clusters[n] = &clientcmdapi.Cluster{Server: "https://" + n + ".example:6443", CertificateAuthorityData: []byte(strings.Repeat("C", 600))}
		mine.AuthInfos[n] = &clientcmdapi.AuthInfo{Token: n + "-token"}
		mine.Contexts[n] = &clientcmdapi.Context{Cluster: n, AuthInfo: n}
	}
	if err := clientcmd.WriteToFile(*mine, kc); err != nil {
		t.Fatal(err)
	}
	merge := func(name string, extra ...string) *exec.Cmd {
		cmd := exec.Command(bin, append([]string{"kubeconfig", name, "--merge", "--kubeconfig", kc, "--mcks-server", srv.URL()}, extra...)...)
		cmd.Env = append(os.Environ(), "HOME="+dir)
		return cmd
	}

	// A reader checks the file all along, as kubectl in another terminal would.
	var reads, bad atomic.Int64
	var badWhy atomic.Value
	stop := make(chan struct{})
	var readers sync.WaitGroup
	readers.Go(func() {
		for {
			select {
			case <-stop:
				return
			default:
			}
			cfg, err := clientcmd.LoadFromFile(kc)
			reads.Add(1)
			switch {
			case err != nil:
				bad.Add(1)
				badWhy.Store(err.Error())
			case cfg.Contexts["mine"] == nil || cfg.CurrentContext != "mine" || cfg.AuthInfos["mine"].Token != "my-own-token":
				bad.Add(1)
				badWhy.Store("the user's own context is gone or changed")
			}
			time.Sleep(time.Millisecond)
		}
	})
	stopReading := sync.OnceFunc(func() { close(stop); readers.Wait() })
	defer stopReading()

	// All at once: kubectl's lock file serialises them; each waits its turn.
	var wg sync.WaitGroup
	outs := make([]string, clusters)
	codes := make([]int, clusters)
	for i := range clusters {
		wg.Go(func() {
			out, err := merge(fmt.Sprintf("c%d", i)).CombinedOutput()
			outs[i] = string(out)
			if ee, ok := err.(*exec.ExitError); ok {
				codes[i] = ee.ExitCode()
			}
		})
	}
	wg.Wait()
	for i := range clusters {
		if codes[i] != 0 {
			t.Errorf("concurrent merge of c%d: exit %d: %s", i, codes[i], outs[i])
		}
	}
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	for i := range clusters {
		if cfg.Contexts[fmt.Sprintf("c%d", i)] == nil {
			t.Errorf("context c%d lost by a concurrent writer", i)
		}
	}

	// Killed (SIGKILL) or interrupted (SIGINT) at moments spread over a
	// whole merge, from start-up to the rename.
	start := time.Now()
	if out, err := merge("c0", "--context-name", "timed").CombinedOutput(); err != nil {
		t.Fatalf("merge: %v: %s", err, out)
	}
	took := time.Since(start)
	staleLocks, interrupted := 0, 0
	const rounds = 15
	for round := range rounds {
		cmd := merge(fmt.Sprintf("c%d", round%clusters), "--context-name", fmt.Sprintf("k%d", round), "--overwrite")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(took * time.Duration(round/2) / (rounds / 2))
		sig := []syscall.Signal{syscall.SIGKILL, syscall.SIGINT, syscall.SIGHUP}[round%3]
		_ = cmd.Process.Signal(sig)
		_ = cmd.Wait()
		if _, err := os.Stat(kc + ".lock"); err == nil {
			if sig != syscall.SIGKILL {
				t.Errorf("round %d: %v left the lock file", round, sig)
			}
			// Only a SIGKILL in the write leaves kubectl's lock (as a killed
			// kubectl does): the next writer says at once that its holder is gone.
			staleLocks++
			res, _ := merge("c0", "--context-name", "after-kill").CombinedOutput()
			if !strings.Contains(string(res), "which no longer runs") || !strings.Contains(string(res), "the kubeconfig is intact") {
				t.Errorf("a stale lock is not explained: %s", res)
			}
			_ = os.Remove(kc + ".lock")
		}
		if sig != syscall.SIGKILL {
			interrupted++
		}
	}
	stopReading()
	if n := bad.Load(); n > 0 {
		t.Errorf("%d of %d reads found a broken kubeconfig: %v", n, reads.Load(), badWhy.Load())
	}
	if fi, err := os.Stat(kc); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("kubeconfig mode: %v %v", err, fi)
	}
	leftovers, _ := filepath.Glob(filepath.Join(dir, ".config.*.tmp"))
	t.Logf("a merge takes %s; %d reads, all whole; %d stale locks after SIGKILL, %d merges interrupted by SIGINT or SIGHUP, %d temporary files left by killed writers", took, reads.Load(), staleLocks, interrupted, len(leftovers))
	for _, l := range leftovers {
		if fi, err := os.Stat(l); err == nil && fi.Mode().Perm() != 0o600 {
			t.Errorf("a temporary file with keys is mode %v", fi.Mode().Perm())
		}
	}
	// A clean merge still works after all that.
	if out, err := merge("c1", "--context-name", "final").CombinedOutput(); err != nil {
		t.Fatalf("merge after the kills: %v: %s", err, out)
	}
	cfg, err = clientcmd.LoadFromFile(kc)
	if err != nil || cfg.Contexts["final"] == nil || cfg.Contexts["mine"] == nil {
		t.Errorf("final kubeconfig: %v", err)
	}
}
