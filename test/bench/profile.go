package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	openmcpplugin "github.com/openmcp-plugins/kubectl-openmcp/plugins/openmcp"
)

// profileGet runs `get pods --all-clusters` in this process at the largest N
// and RTT, warm, under the CPU profiler (and, if asked, the allocation
// profiler): the same code path as the binary, without the start-up.
func profileGet(ctx context.Context, cfg *config, f *fixture) error {
	n, rtt := cfg.maxN(), cfg.maxRTT()
	if err := f.joinMembers(ctx, n); err != nil {
		return err
	}
	f.setRTT(rtt, cfg.hostRTT(rtt))
	args := []string{"get", "pods", "--all-clusters", "-n", benchNamespace, "--max-parallel", strconv.Itoa(max(n, 16)),
		"--kubeconfig", f.kubeconfig, "--cache-dir", filepath.Join(f.dir, "cache", "warm-openmcp")}
	args = append(args, timeoutArgs(n)...)
	once := func() error {
		var errOut strings.Builder
		streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: io.Discard, ErrOut: &errOut}
		if code := openmcpplugin.NewCmdOpenMCP(streams).Execute(args); code != 0 {
			return fmt.Errorf("in-process get exited %d: %s", code, errOut.String())
		}
		return nil
	}
	if err := once(); err != nil { // warm-up
		return err
	}
	out, err := os.Create(cfg.CPUProfile)
	if err != nil {
		return err
	}
	defer out.Close()
	if cfg.MemProfile != "" {
		runtime.MemProfileRate = 64 << 10
	}
	const iterations = 5
	if err := pprof.StartCPUProfile(out); err != nil {
		return err
	}
	start := time.Now()
	for range iterations {
		if err := once(); err != nil {
			pprof.StopCPUProfile()
			return err
		}
	}
	pprof.StopCPUProfile()
	logf("bench: profiled %d in-process runs of get pods at N=%d, RTT %s: %s each; see `go tool pprof -top %s`",
		iterations, n, rtt, (time.Since(start) / iterations).Round(time.Millisecond), cfg.CPUProfile)
	if cfg.MemProfile != "" {
		m, err := os.Create(cfg.MemProfile)
		if err != nil {
			return err
		}
		defer m.Close()
		if err := pprof.Lookup("allocs").WriteTo(m, 0); err != nil {
			return err
		}
	}
	return nil
}
