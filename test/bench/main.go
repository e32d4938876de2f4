// Command bench measures `kubectl openmcp get --all-clusters` against the
// physical limit and against its peers (a sequential kubectl loop, xargs -P),
// plus start-up, binary sizes and join, and prints one table with the targets
// of issue 10 marked PASS or MISS. `make bench` runs it; BENCH_QUICK=1 (or
// -quick) runs a short version.
//
// The N "clusters" are one real kube-apiserver from the sandbox behind N
// delaying TCP proxies (package delayproxy), each with a kubeconfig context
// and a KubeFedCluster of its own, so every cluster answers with real
// discovery and real server-side Tables at the chosen round-trip time.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

type config struct {
	Ns          []int
	ExecNs      []int
	RTTs        []time.Duration
	HostRTT     string
	Runs        int
	SeqRuns     int
	Pods, HPAs  int
	XargsP      int
	StartupRuns int
	JoinRuns    int
	FloorRuns   int
	Quick       bool
	NoPeers     bool
	NoCold      bool
	Markdown    string
	CPUProfile  string
	MemProfile  string
	Dir         string
	Serve       bool

	Root, Ours, MCKS, Kubectl, SystemKubectl, Kubefedctl string
}

func main() {
	cfg, err := parseFlags(os.Args[1:])
	if errors.Is(err, flag.ErrHelp) {
		return
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, cfg); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func parseFlags(args []string) (*config, error) {
	root := sandbox.RepoRoot()
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	ns := fs.String("n", "1,4,16,64", "numbers of clusters (add 256 to see the curve)")
	rtts := fs.String("rtt", "0,50ms", "round-trip times of the clusters")
	execNs := fs.String("exec-n", "16,64", `numbers of clusters for the exec credential plugin table (issue 21), at the target RTT; "" skips it (add 256 for the curve)`)
	c := &config{}
	fs.StringVar(&c.HostRTT, "host-rtt", "same", `round-trip time of the host ("same" as the members, or a duration)`)
	fs.IntVar(&c.Runs, "runs", 5, "runs per measurement (the median is reported)")
	fs.IntVar(&c.SeqRuns, "seq-runs", 3, "runs of the slow sequential kubectl loop (1 at N >= 256)")
	fs.IntVar(&c.Pods, "pods", 500, "pods in the benchmark namespace")
	fs.IntVar(&c.HPAs, "hpas", 20, "HPAs in the benchmark namespace")
	fs.IntVar(&c.XargsP, "xargs-p", 16, "parallelism of the xargs peer")
	fs.IntVar(&c.StartupRuns, "startup-runs", 20, "runs per start-up measurement")
	fs.IntVar(&c.JoinRuns, "join-runs", 5, "join/unjoin rounds per tool (0 skips join)")
	fs.IntVar(&c.FloorRuns, "floor-runs", 7, "runs of the minimal client that measures the floor")
	fs.BoolVar(&c.Quick, "quick", os.Getenv("BENCH_QUICK") != "" && os.Getenv("BENCH_QUICK") != "0", "short run (also BENCH_QUICK=1): N=1,4,16, 3 runs, 2 join rounds")
	fs.BoolVar(&c.NoPeers, "no-peers", false, "measure only kubectl-openmcp")
	fs.BoolVar(&c.NoCold, "no-cold", false, "skip the cold-cache measurements")
	fs.StringVar(&c.Markdown, "md", "", "also write the tables as Markdown to this file")
	fs.StringVar(&c.CPUProfile, "cpuprofile", "", "profile the get code path in-process (largest N and RTT, warm) into this CPU profile")
	fs.StringVar(&c.MemProfile, "memprofile", "", "with the in-process run: write an allocation profile here")
	fs.BoolVar(&c.Serve, "serve", false, "set up the largest N and RTT, print the kubeconfig, and wait for Ctrl-C (to try commands by hand)")
	fs.StringVar(&c.Dir, "dir", "", "folder for the sandbox, kubeconfigs and caches (a temp folder, removed at the end, if empty)")
	fs.StringVar(&c.Ours, "openmcp", filepath.Join(root, "bin", "kubectl-openmcp"), "kubectl-openmcp binary (make build)")
	fs.StringVar(&c.MCKS, "mcks", filepath.Join(root, "bin", "kubectl-mcks"), "kubectl-mcks binary (make build)")
	fs.StringVar(&c.Kubectl, "kubectl", filepath.Join(sandbox.DefaultBinDir(), "kubectl"), "kubectl the peers run")
	fs.StringVar(&c.SystemKubectl, "system-kubectl", "/usr/bin/kubectl", "a second kubectl for the start-up comparison (skipped if missing)")
	fs.StringVar(&c.Kubefedctl, "kubefedctl", filepath.Join(sandbox.DefaultBinDir(), "kubefedctl"), "kubefedctl v0.10.0 for the join comparison")
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	c.Root = root
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if c.Quick {
		// Under 3 minutes: the small fleets, fewer runs, and no cold sequential loop.
		if !set["n"] {
			*ns = "1,4,16"
		}
		if !set["runs"] {
			c.Runs = 3
		}
		if !set["seq-runs"] {
			c.SeqRuns = 1
		}
		if !set["startup-runs"] {
			c.StartupRuns = 10
		}
		if !set["join-runs"] {
			c.JoinRuns = 2
		}
		if !set["floor-runs"] {
			c.FloorRuns = 5
		}
		if !set["exec-n"] {
			*execNs = ""
		}
	}
	var err error
	if c.Ns, err = parseInts(*ns); err != nil {
		return nil, fmt.Errorf("invalid -n %q: %w", *ns, err)
	}
	if *execNs != "" {
		if c.ExecNs, err = parseInts(*execNs); err != nil {
			return nil, fmt.Errorf("invalid -exec-n %q: %w", *execNs, err)
		}
	}
	if c.RTTs, err = parseDurations(*rtts); err != nil {
		return nil, fmt.Errorf("invalid -rtt %q: %w", *rtts, err)
	}
	if c.HostRTT != "same" {
		if _, err := time.ParseDuration(c.HostRTT); err != nil {
			return nil, fmt.Errorf(`invalid -host-rtt %q: "same" or a duration such as 0s or 50ms`, c.HostRTT)
		}
	}
	if c.Runs < 1 || c.SeqRuns < 1 || c.FloorRuns < 1 || c.StartupRuns < 1 {
		return nil, fmt.Errorf("-runs, -seq-runs, -floor-runs and -startup-runs must be at least 1")
	}
	return c, nil
}

func parseInts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 {
			return nil, fmt.Errorf("%q is not a positive number", f)
		}
		out = append(out, n)
	}
	sort.Ints(out) // KubeFedClusters are only ever added
	return out, nil
}

func parseDurations(s string) ([]time.Duration, error) {
	var out []time.Duration
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "0" {
			f = "0s"
		}
		d, err := time.ParseDuration(f)
		if err != nil || d < 0 {
			return nil, fmt.Errorf("%q is not a duration", f)
		}
		out = append(out, d)
	}
	return out, nil
}

// hostRTT is the host's round-trip time when the members are rtt away.
func (c *config) hostRTT(rtt time.Duration) time.Duration {
	if c.HostRTT == "same" {
		return rtt
	}
	d, _ := time.ParseDuration(c.HostRTT)
	return d
}

func (c *config) maxN() int { return c.Ns[len(c.Ns)-1] }

// proxiesN is the number of member proxies: for the main table and the exec one.
func (c *config) proxiesN() int {
	n := c.maxN()
	if len(c.ExecNs) > 0 {
		n = max(n, c.ExecNs[len(c.ExecNs)-1])
	}
	return n
}

func (c *config) maxRTT() time.Duration {
	m := c.RTTs[0]
	for _, r := range c.RTTs {
		m = max(m, r)
	}
	return m
}

func run(ctx context.Context, cfg *config) error {
	start := time.Now()
	for _, bin := range []string{cfg.Ours, cfg.MCKS, cfg.Kubectl} {
		if _, err := os.Stat(bin); err != nil {
			return fmt.Errorf("%s missing: run `make build` (plugins) and `make tools` (kubectl)", bin)
		}
	}
	if err := checkFileLimit(cfg.proxiesN()); err != nil {
		return err
	}
	dir := cfg.Dir
	if dir == "" {
		var err error
		if dir, err = os.MkdirTemp("", "openmcp-bench-"); err != nil {
			return err
		}
		defer os.RemoveAll(dir)
	} else if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	if err := buildLauncher(ctx, cfg.Root, dir); err != nil {
		return err
	}
	rep := &report{cfg: cfg, machine: describeMachine(cfg)}
	logf("bench: %s", rep.machine)

	if cfg.Serve {
		return serve(ctx, cfg, dir)
	}
	// Start-up first, while the machine is quiet.
	rep.startup = measureStartup(ctx, cfg)
	rep.sizes = measureSizes(cfg)
	rep.startupIO = startupSyscalls(ctx, cfg.Ours)

	f, err := newFixture(ctx, cfg, dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := measureGet(ctx, cfg, f, rep); err != nil {
		return err
	}
	if cfg.CPUProfile != "" {
		if err := profileGet(ctx, cfg, f); err != nil {
			return err
		}
	}
	if err := measureExec(ctx, cfg, f, rep); err != nil {
		return err
	}
	if cfg.JoinRuns > 0 {
		if rep.join, err = measureJoin(ctx, cfg, f); err != nil {
			return err
		}
	}
	rep.elapsed = time.Since(start)
	rep.loadEnd = loadAverage()
	rep.print(os.Stdout)
	if cfg.Markdown != "" {
		if err := rep.writeMarkdown(cfg.Markdown); err != nil {
			return err
		}
		logf("bench: Markdown tables in %s", cfg.Markdown)
	}
	return nil
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}

// serve keeps a fixture up for trying commands by hand.
func serve(ctx context.Context, cfg *config, dir string) error {
	cfg.JoinRuns = 0
	f, err := newFixture(ctx, cfg, dir)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.joinMembers(ctx, cfg.maxN()); err != nil {
		return err
	}
	f.setRTT(cfg.maxRTT(), cfg.hostRTT(cfg.maxRTT()))
	fmt.Printf("export KUBECONFIG=%s  # openmcp and cluster1..cluster%d at %s; namespace %s; Ctrl-C ends\n",
		f.kubeconfig, cfg.maxN(), fmtRTT(cfg.maxRTT()), benchNamespace)
	<-ctx.Done()
	return nil
}

// checkFileLimit: this process holds a listener and, during a run, two
// connections per member proxy (Go has already raised its soft limit on open
// files to the hard one; the plugins, Go too, raise theirs).
func checkFileLimit(n int) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return nil
	}
	if need := uint64(3*n + 512); lim.Cur < need {
		return fmt.Errorf("%d member proxies need about %d open files, and the limit is %d: raise it (ulimit -n %d) or lower -n", n, need, lim.Cur, need)
	}
	return nil
}
