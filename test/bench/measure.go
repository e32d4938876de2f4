package main

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// sample is one run of a command: its wall time (fork to exit), the CPU time
// of its whole process tree, and the peak resident set of the largest process
// in the tree (Linux reports, for a waited-for child, the maximum over it and
// its own waited-for children).
type sample struct {
	Wall  time.Duration
	CPU   time.Duration
	RSSKB int64
	Lines int // newlines it printed on stdout
}

// launcher is the built test/bench/launch, through which every command runs
// so that its peak RSS is its own (see launch/main.go).
var launcher string

// buildLauncher builds test/bench/launch into dir.
func buildLauncher(ctx context.Context, root, dir string) error {
	out := filepath.Join(dir, "launch")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./test/bench/launch")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("build the launcher: %v: %s", err, b)
	}
	launcher = out
	return nil
}

// execute runs argv and fails unless it exits 0.
func execute(ctx context.Context, argv []string, env []string) (sample, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Minute)
	defer cancel()
	rssFile, err := os.CreateTemp("", "bench-rss-")
	if err != nil {
		return sample{}, err
	}
	rssFile.Close()
	defer os.Remove(rssFile.Name())
	cmd := exec.CommandContext(ctx, launcher, append([]string{rssFile.Name()}, argv...)...)
	cmd.Env = append(os.Environ(), append([]string{"NO_COLOR=1"}, env...)...)
	var out lineCounter
	var errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	start := time.Now()
	err = cmd.Run()
	s := sample{Wall: time.Since(start), Lines: out.lines}
	if cmd.ProcessState != nil {
		s.CPU = cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()
	}
	if b, rerr := os.ReadFile(rssFile.Name()); rerr == nil {
		s.RSSKB, _ = strconv.ParseInt(strings.TrimSpace(string(b)), 10, 64)
	}
	if err != nil {
		msg := strings.TrimSpace(errOut.String())
		if len(msg) > 600 {
			msg = "..." + msg[len(msg)-600:]
		}
		return s, fmt.Errorf("%s: %v: %s", strings.Join(argv, " "), err, msg)
	}
	return s, nil
}

// timeDirect runs argv without the launcher, for start-up times, where the
// launcher's own millisecond would show.
func timeDirect(ctx context.Context, argv []string) (time.Duration, error) {
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), "NO_COLOR=1")
	var out lineCounter
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Run()
	return time.Since(start), err
}

// lineCounter counts the lines a command prints, to check every run listed
// every object, without keeping the output.
type lineCounter struct{ lines int }

func (c *lineCounter) Write(p []byte) (int, error) {
	c.lines += bytes.Count(p, []byte{'\n'})
	return len(p), nil
}

func median(ds []time.Duration) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// variant is one command measured in a cell of the get benchmark.
type variant struct {
	Tool     string // toolOurs, toolLoop or toolXargs
	Resource string
	Note     string // an extra row of ours (default --max-parallel)
	Cold     bool
	Runs     int
	Lines    int // newlines a correct run prints
	argv     func(cacheDir string) []string
	env      []string

	walls  []time.Duration
	cpus   []time.Duration
	rss    int64
	failed bool
}

// leaveOut marks a variant failed and says why in the report.
func (r *report) leaveOut(v *variant, n int, err error) {
	v.failed = true
	msg := err.Error()
	if len(msg) > 400 {
		msg = msg[:200] + " ... " + msg[len(msg)-200:]
	}
	logf("bench: %s %s (%s) at N=%d failed, left out: %s", v.Tool, v.Resource, v.Note, n, msg)
	r.failed = append(r.failed, fmt.Sprintf("%s %s %s at N=%d: %s", v.Tool, v.Resource, v.Note, n, msg))
}

const noteDefaultParallel = "default --max-parallel"

// Notes of the streamed formats' rows.
const (
	noteNoHeaders = "--no-headers, streamed"
	noteName      = "-o name, streamed"
	noteJSON      = "-o json, streamed"
)

// timeoutArgs: above 64 clusters one apiserver on this machine serves all
// of them, and the first (untimed) run, which also fills N discovery
// caches, takes longer than the default 10 s per cluster; the measured runs
// must finish to be measured, not time out.
func timeoutArgs(n int) []string {
	if n <= 64 {
		return nil
	}
	return []string{"--cluster-timeout", "5m"}
}

const (
	toolOurs  = "kubectl openmcp get"
	toolLoop  = "for ctx; kubectl get"
	toolXargs = "xargs -P %d kubectl get"
)

func cacheName(cold bool) string {
	if cold {
		return "cold"
	}
	return "warm"
}

// measureGet runs every variant for every N and RTT.
func measureGet(ctx context.Context, cfg *config, f *fixture, rep *report) error {
	rep.floors = map[floorKey]time.Duration{}
	rep.nFloors = map[floorKey]time.Duration{}
	xargsTool := fmt.Sprintf(toolXargs, cfg.XargsP)
	items := map[string]int{"pods": cfg.Pods, "hpa": cfg.HPAs}
	coldRuns := 0
	for _, n := range cfg.Ns {
		if err := f.joinMembers(ctx, n); err != nil {
			return err
		}
		contexts := strings.Join(f.clusters(n), " ")
		for _, rtt := range cfg.RTTs {
			f.setRTT(rtt, cfg.hostRTT(rtt))
			cellStart := time.Now()
			if err := measureFloors(ctx, cfg, f, rep, n, rtt); err != nil {
				return err
			}
			warmOurs := filepath.Join(f.dir, "cache", "warm-openmcp")
			warmKubectl := filepath.Join(f.dir, "cache", "warm-kubectl")
			var vs []*variant
			for _, cold := range []bool{false, true} {
				if cold && cfg.NoCold {
					continue
				}
				for _, res := range []string{"pods", "hpa"} {
					vs = append(vs, &variant{
						Tool: toolOurs, Resource: res, Cold: cold, Runs: cfg.Runs, Lines: n*items[res] + 1,
						argv: func(dir string) []string {
							return append([]string{cfg.Ours, "get", res, "--all-clusters", "-n", benchNamespace,
								"--max-parallel", strconv.Itoa(max(n, 16)), "--kubeconfig", f.kubeconfig, "--cache-dir", dir}, timeoutArgs(n)...)
						},
					})
				}
				if !cold && n > 16 {
					// What a user gets without the flag.
					vs = append(vs, &variant{
						Tool: toolOurs, Resource: "pods", Note: noteDefaultParallel, Runs: cfg.Runs, Lines: n*cfg.Pods + 1,
						argv: func(dir string) []string {
							return append([]string{cfg.Ours, "get", "pods", "--all-clusters", "-n", benchNamespace, "--kubeconfig", f.kubeconfig, "--cache-dir", dir}, timeoutArgs(n)...)
						},
					})
				}
				if cfg.NoPeers {
					continue
				}
				env := []string{"BENCH_CONTEXTS=" + contexts, "KUBECTL=" + cfg.Kubectl, "KC=" + f.kubeconfig}
				// At 64 clusters and more one run of the loop is itself that
				// many kubectl runs in a row, and takes tens of seconds.
				seqRuns := cfg.SeqRuns
				if n >= 64 {
					seqRuns = 1
				}
				vs = append(vs, &variant{
					Tool: toolLoop, Resource: "pods", Cold: cold, Runs: min(seqRuns, cfg.Runs), Lines: n * (cfg.Pods + 1), env: env,
					argv: func(dir string) []string {
						return []string{"bash", "-c", `set -e; for ctx in $BENCH_CONTEXTS; do "$KUBECTL" get pods -n ` + benchNamespace +
							` --context "$ctx" --kubeconfig "$KC" --cache-dir "` + dir + `"; done`}
					},
				}, &variant{
					Tool: xargsTool, Resource: "pods", Cold: cold, Runs: cfg.Runs, Lines: n * (cfg.Pods + 1), env: env,
					argv: func(dir string) []string {
						return []string{"bash", "-c", `set -o pipefail; printf '%s\n' $BENCH_CONTEXTS | xargs -P ` + strconv.Itoa(cfg.XargsP) +
							` -n 1 "$KUBECTL" get pods -n ` + benchNamespace + ` --kubeconfig "$KC" --cache-dir "` + dir + `" --context`}
					},
				})
			}
			// Warm caches are filled by one untimed run; kubectl's by the
			// fast xargs variant (the loop shares it).
			for _, v := range vs {
				if v.Cold || v.Tool == toolLoop {
					continue
				}
				dir := warmOurs
				if v.Tool != toolOurs {
					dir = warmKubectl
				}
				if _, err := execute(ctx, v.argv(dir), v.env); err != nil {
					if n <= 64 || ctx.Err() != nil {
						return fmt.Errorf("warm-up: %w", err)
					}
					rep.leaveOut(v, n, fmt.Errorf("warm-up: %w", err))
				}
			}
			for r := range cfg.Runs {
				for _, v := range vs {
					if r >= v.Runs || v.failed {
						continue
					}
					dir := warmOurs
					if v.Tool != toolOurs {
						dir = warmKubectl
					}
					if v.Cold {
						coldRuns++
						dir = filepath.Join(f.dir, "cache", "cold-"+strconv.Itoa(coldRuns))
					}
					s, err := execute(ctx, v.argv(dir), v.env)
					if v.Cold {
						_ = os.RemoveAll(dir)
					}
					if err == nil && s.Lines != v.Lines {
						err = fmt.Errorf("%s %s at N=%d printed %d lines, want %d: not every cluster answered", v.Tool, v.Resource, n, s.Lines, v.Lines)
					}
					if err != nil {
						// Above 64 members one overloaded apiserver may fail a
						// run: the row is left out with its reason, the rest kept.
						if n <= 64 || ctx.Err() != nil {
							return err
						}
						rep.leaveOut(v, n, err)
						continue
					}
					v.walls = append(v.walls, s.Wall)
					v.cpus = append(v.cpus, s.CPU)
					v.rss = max(v.rss, s.RSSKB)
				}
			}
			for _, v := range vs {
				if len(v.walls) == 0 {
					continue
				}
				rep.rows = append(rep.rows, getRow{
					RTT: rtt, HostRTT: cfg.hostRTT(rtt), N: n, Cold: v.Cold, Resource: v.Resource, Tool: v.Tool, Note: v.Note,
					Wall: median(v.walls), CPU: median(v.cpus), Runs: len(v.walls), RSSKB: v.rss,
				})
			}
			logf("bench: N=%d RTT=%s measured in %s", n, rtt, time.Since(cellStart).Round(100*time.Millisecond))
		}
	}
	return measureExtras(ctx, cfg, f, rep)
}

// measureExtras repeats our target cell, warm, two other ways: with the host
// at 0 RTT (what is left above the floor is then the fan-out itself, not the
// host's list of members), and with -A, which makes every row carry its
// metadata (the NAMESPACE column needs it): the memory of a larger answer.
func measureExtras(ctx context.Context, cfg *config, f *fixture, rep *report) error {
	n, rtt, _ := rep.targetCell()
	if f.joined > n {
		if err := f.unjoinAll(ctx); err != nil {
			return err
		}
	}
	if err := f.joinMembers(ctx, n); err != nil {
		return err
	}
	defer f.setRTT(rtt, cfg.hostRTT(rtt))
	dir := filepath.Join(f.dir, "cache", "warm-openmcp")
	type extra struct {
		note, res string
		hostRTT   time.Duration
		args      []string
		verb      string // "" is get
	}
	var extras []extra
	if rtt != 0 && cfg.hostRTT(rtt) != 0 {
		extras = append(extras, extra{"host at 0ms", "pods", 0, nil, ""}, extra{"host at 0ms", "hpa", 0, nil, ""})
	}
	extras = append(extras, extra{"-A: rows with metadata", "pods", cfg.hostRTT(rtt), []string{"-A"}, ""})
	// The formats get streams (issue 21): what each holds per printed row.
	extras = append(extras, extra{noteNoHeaders, "pods", cfg.hostRTT(rtt), []string{"--no-headers"}, ""},
		extra{noteName, "pods", cfg.hostRTT(rtt), []string{"-o", "name"}, ""})
	if n <= 64 { // whole pods: at 256 members one apiserver serves 128 000 of them
		extras = append(extras, extra{noteJSON, "pods", cfg.hostRTT(rtt), []string{"-o", "json"}, ""})
	}
	// events (issue 18) within get's budget: a timeline of every member's events.
	extras = append(extras, extra{"every member's events, one timeline", "events", cfg.hostRTT(rtt), nil, "events"})
	for _, e := range extras {
		f.setRTT(rtt, e.hostRTT)
		cmd := []string{cfg.Ours, "get", e.res}
		if e.verb != "" {
			cmd = []string{cfg.Ours, e.verb}
		}
		argv := append(append(cmd, "--all-clusters", "-n", benchNamespace, "--max-parallel", strconv.Itoa(max(n, 16)),
			"--kubeconfig", f.kubeconfig, "--cache-dir", dir), append(e.args, timeoutArgs(n)...)...)
		var walls, cpus []time.Duration
		var rss int64
		want := n*cfg.Pods + 1
		switch e.note {
		case noteNoHeaders, noteName:
			want = n * cfg.Pods
		case noteJSON:
			want = -1 // a List: exit 0 says every cluster answered
		}
		switch e.res {
		case "hpa":
			want = n*cfg.HPAs + 1
		case "events":
			want = n*benchEvents + 1
		}
		failed := false
		for range cfg.Runs {
			s, err := execute(ctx, argv, nil)
			// Events: the apiserver adds its own (the HPAs' warnings) to
			// the bench's, the same in every cluster, since every cluster is
			// that one apiserver.
			if e.res == "events" && err == nil && s.Lines >= want && (s.Lines-1)%n == 0 {
				want = s.Lines
			}
			if err == nil && want >= 0 && s.Lines != want {
				err = fmt.Errorf("%s %s (%s) at N=%d printed %d lines, want %d: not every cluster answered", toolOurs, e.res, e.note, n, s.Lines, want)
			}
			if err != nil {
				// An extra row is not worth the rest of the report (at
				// 1024 members one apiserver may not finish 1024 TLS
				// handshakes within client-go's 10 s).
				if ctx.Err() != nil {
					return err
				}
				msg := err.Error()
				if len(msg) > 300 {
					msg = msg[:300] + "..."
				}
				logf("bench: extra row %q at N=%d failed, left out: %s", e.note, n, msg)
				rep.failed = append(rep.failed, fmt.Sprintf("get %s (%s) at N=%d: %s", e.res, e.note, n, msg))
				failed = true
				break
			}
			walls, cpus = append(walls, s.Wall), append(cpus, s.CPU)
			rss = max(rss, s.RSSKB)
		}
		if failed {
			continue
		}
		rep.rows = append(rep.rows, getRow{RTT: rtt, HostRTT: e.hostRTT, N: n, Resource: e.res, Tool: toolOurs, Note: e.note,
			Wall: median(walls), CPU: median(cpus), Runs: len(walls), RSSKB: rss})
	}
	return nil
}
