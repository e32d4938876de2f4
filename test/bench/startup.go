package main

import (
	"bufio"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"sort"
	"strings"
	"time"
)

type startupRow struct {
	Name  string
	Argv  []string
	walls []time.Duration
	Wall  time.Duration
	Min   time.Duration
	RSSKB int64
}

// measureStartup runs each command StartupRuns times, round-robin, so a busy
// moment on the shared machine hits all of them alike.
func measureStartup(ctx context.Context, cfg *config) []*startupRow {
	rows := []*startupRow{
		{Name: "kubectl-openmcp version", Argv: []string{cfg.Ours, "version"}},
		{Name: "kubectl-openmcp --help", Argv: []string{cfg.Ours, "--help"}},
		{Name: "kubectl-mcks version", Argv: []string{cfg.MCKS, "version"}},
		{Name: "kubectl-mcks --help", Argv: []string{cfg.MCKS, "--help"}},
		{Name: "kubectl version --client (" + kubectlVersion(cfg.Kubectl) + ", .cache/bin)", Argv: []string{cfg.Kubectl, "version", "--client"}},
	}
	if _, err := os.Stat(cfg.SystemKubectl); err == nil {
		rows = append(rows, &startupRow{Name: "kubectl version --client (" + kubectlVersion(cfg.SystemKubectl) + ", " + cfg.SystemKubectl + ")", Argv: []string{cfg.SystemKubectl, "version", "--client"}})
	}
	for _, r := range rows { // also warms the page cache
		s, err := execute(ctx, r.Argv, nil)
		if err != nil {
			logf("bench: start-up: %v", err)
		}
		r.RSSKB = s.RSSKB
	}
	for range cfg.StartupRuns {
		for _, r := range rows {
			d, err := timeDirect(ctx, r.Argv)
			if err != nil {
				logf("bench: start-up: %s: %v", strings.Join(r.Argv, " "), err)
				continue
			}
			r.walls = append(r.walls, d)
		}
	}
	for _, r := range rows {
		r.Wall = median(r.walls)
		if len(r.walls) > 0 {
			r.Min = r.walls[0]
			for _, w := range r.walls {
				r.Min = min(r.Min, w)
			}
		}
	}
	logf("bench: start-up measured (%d runs each)", cfg.StartupRuns)
	return rows
}

func kubectlVersion(bin string) string {
	out, err := exec.Command(bin, "version", "--client", "-o", "json").Output()
	if err != nil {
		return "kubectl"
	}
	var v struct {
		ClientVersion struct{ GitVersion string } `json:"clientVersion"`
	}
	if json.Unmarshal(out, &v) != nil || v.ClientVersion.GitVersion == "" {
		return "kubectl"
	}
	return v.ClientVersion.GitVersion
}

type sizeRow struct {
	Name     string
	Path     string
	Bytes    int64
	Stripped bool
}

func measureSizes(cfg *config) []sizeRow {
	var rows []sizeRow
	for _, b := range []struct{ name, path string }{
		{"kubectl-openmcp", cfg.Ours}, {"kubectl-mcks", cfg.MCKS},
		{"kubectl " + kubectlVersion(cfg.Kubectl), cfg.Kubectl},
		{"kubectl " + kubectlVersion(cfg.SystemKubectl), cfg.SystemKubectl},
		{"kubefedctl v0.10.0", cfg.Kubefedctl},
	} {
		path, err := filepath.EvalSymlinks(b.path)
		if err != nil {
			continue
		}
		st, err := os.Stat(path)
		if err != nil {
			continue
		}
		rows = append(rows, sizeRow{Name: b.name, Path: path, Bytes: st.Size(), Stripped: stripped(path)})
	}
	return rows
}

// stripped reports whether a binary has no symbol table and no DWARF.
func stripped(path string) bool {
	f, err := elf.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	return f.Section(".symtab") == nil && f.Section(".debug_info") == nil
}

// startupSyscalls lists the files `kubectl-openmcp version` opens and the
// sockets it connects, under strace: start-up should touch neither the
// network nor the disk beyond the binary itself.
func startupSyscalls(ctx context.Context, bin string) string {
	if _, err := exec.LookPath("strace"); err != nil || runtime.GOOS != "linux" {
		return "not checked (no strace)"
	}
	out, err := os.CreateTemp("", "bench-strace-")
	if err != nil {
		return "not checked: " + err.Error()
	}
	out.Close()
	defer os.Remove(out.Name())
	cmd := exec.CommandContext(ctx, "strace", "-f", "-qq", "-e", "trace=openat,open,connect", "-o", out.Name(), bin, "version")
	if err := cmd.Run(); err != nil {
		return "not checked: strace: " + err.Error()
	}
	f, err := os.Open(out.Name())
	if err != nil {
		return "not checked: " + err.Error()
	}
	defer f.Close()
	pathRe := regexp.MustCompile(`"([^"]*)"`)
	files := map[string]bool{}
	connects := 0
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.Contains(line, "connect("):
			connects++
		case strings.Contains(line, "open"):
			if m := pathRe.FindStringSubmatch(line); m != nil {
				files[m[1]] = true
			}
		}
	}
	var names []string
	for n := range files {
		names = append(names, n)
	}
	sort.Strings(names)
	if len(names) == 0 {
		names = []string{"none"}
	}
	return fmt.Sprintf("%d connect() calls; files opened: %s", connects, strings.Join(names, ", "))
}

// describeMachine names the machine, the OS and the tool versions.
func describeMachine(cfg *config) string {
	cpu := "unknown CPU"
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if strings.HasPrefix(l, "model name") {
				cpu = strings.TrimSpace(strings.SplitN(l, ":", 2)[1])
				break
			}
		}
	}
	mem := ""
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		var kb int64
		_, _ = fmt.Sscanf(strings.SplitN(string(b), "\n", 2)[0], "MemTotal: %d kB", &kb)
		mem = fmt.Sprintf(", %.0f GiB RAM", float64(kb)/(1<<20))
	}
	kernel, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	return fmt.Sprintf("%s, %d CPUs%s, Linux %s, %s, kubectl %s, date %s, load average at start %s",
		cpu, runtime.NumCPU(), mem, strings.TrimSpace(string(kernel)), runtime.Version(),
		kubectlVersion(cfg.Kubectl), time.Now().UTC().Format("2006-01-02 15:04 UTC"), loadAverage())
}

// loadAverage is the 1-minute load average: the machine is shared, and a busy
// moment shows in wall times (less in CPU times).
func loadAverage() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	return strings.Fields(string(b))[0]
}
