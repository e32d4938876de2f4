package main

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// The exec credential case (issue 21): the same get pods --all-clusters, with
// the members' contexts authenticating with a bearer token three ways:
//
//   - static: the token in the kubeconfig;
//   - shared plugin: every context runs test/bench/execplugin with the same
//     arguments (one configuration, one run per command);
//   - per-cluster plugin: each context passes --cluster-name clusterK, as EKS,
//     GKE and AKS contexts do (N configurations, N runs per command);
//
// the plugins with the credential cache off, cold (on, its folder emptied
// before each run) and warm (on, filled by an untimed run). The token is the
// host apiserver's static one, of group system:masters as the admin
// certificate of the main table is (both exempt from API priority and
// fairness, so they queue alike).

type execRow struct {
	N          int
	Creds      string // credStatic, credShared, credPerCluster
	Cache      string // "-", off, cold, warm
	Wall, CPU  time.Duration
	PluginCPU  time.Duration // median per get
	Spawns     float64       // median plugins spawned per get
	Runs       int
	RSSKB      int64
	RTT        time.Duration
	MaxParalel int
}

const (
	credStatic     = "static token"
	credShared     = "shared plugin config"
	credPerCluster = "per-cluster plugin"
)

// buildExecPlugin builds test/bench/execplugin into dir.
func buildExecPlugin(ctx context.Context, root, dir string) (string, error) {
	out := filepath.Join(dir, "execplugin")
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, "./test/bench/execplugin")
	cmd.Dir = root
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("build the exec plugin: %v: %s", err, b)
	}
	return out, nil
}

// writeExecKubeconfigs writes one kubeconfig per credential kind: the host
// context as in the main kubeconfig, the members authenticated by kind.
func (f *fixture) writeExecKubeconfigs(plugin, tokenFile, countFile string) (map[string]string, error) {
	token, err := os.ReadFile(tokenFile)
	if err != nil {
		return nil, err
	}
	base, err := clientcmd.LoadFromFile(f.kubeconfig)
	if err != nil {
		return nil, err
	}
	env := []clientcmdapi.ExecEnvVar{{Name: "BENCH_PLUGIN_TOKEN_FILE", Value: tokenFile}, {Name: "BENCH_PLUGIN_COUNT", Value: countFile}}
	if v := os.Getenv("BENCH_PLUGIN_CPU"); v != "" {
		env = append(env, clientcmdapi.ExecEnvVar{Name: "BENCH_PLUGIN_CPU", Value: v})
	}
	out := map[string]string{}
	for _, kind := range []string{credStatic, credShared, credPerCluster} {
		kc := base.DeepCopy()
		for k := range f.proxies {
			name := clusterName(k + 1)
			user := &clientcmdapi.AuthInfo{}
			switch kind {
			case credStatic:
				user.Token = strings.TrimSpace(string(token))
			case credShared, credPerCluster:
				user.Exec = &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: plugin, Env: env, InteractiveMode: clientcmdapi.NeverExecInteractiveMode}
				if kind == credPerCluster {
					user.Exec.Args = []string{"--cluster-name", name}
				}
			}
			kc.AuthInfos[name] = user
			kc.Contexts[name].AuthInfo = name
		}
		path := filepath.Join(f.dir, strings.ReplaceAll(kind, " ", "-")+".kubeconfig")
		if err := clientcmd.WriteToFile(*kc, path); err != nil {
			return nil, err
		}
		out[kind] = path
	}
	return out, nil
}

// hostToken is the host apiserver's static token (group system:masters).
func (f *fixture) hostToken() (string, error) {
	b, err := os.ReadFile(filepath.Join(f.fed.Dir, sandbox.HostName, "tokens.csv"))
	if err != nil {
		return "", err
	}
	tok, _, ok := strings.Cut(string(b), ",")
	if !ok {
		return "", fmt.Errorf("no token in the host's tokens.csv")
	}
	return tok, nil
}

// pluginRuns reads and empties the count file: plugins spawned, CPU spent.
func pluginRuns(path string) (int, time.Duration) {
	b, _ := os.ReadFile(path)
	_ = os.Remove(path)
	var n int
	var cpu time.Duration
	for _, l := range strings.Fields(string(b)) {
		ns, err := strconv.ParseInt(l, 10, 64)
		if err == nil {
			n++
			cpu += time.Duration(ns)
		}
	}
	return n, cpu
}

// measureExec runs the exec credential rows at every -exec-n, at the target
// RTT, each N with exactly N members joined.
func measureExec(ctx context.Context, cfg *config, f *fixture, rep *report) error {
	if len(cfg.ExecNs) == 0 {
		return nil
	}
	plugin, err := buildExecPlugin(ctx, cfg.Root, f.dir)
	if err != nil {
		return err
	}
	tok, err := f.hostToken()
	if err != nil {
		return err
	}
	tokenFile := filepath.Join(f.dir, "exec-token")
	countFile := filepath.Join(f.dir, "exec-plugin-runs")
	if err := os.WriteFile(tokenFile, []byte(tok), 0o600); err != nil {
		return err
	}
	kcs, err := f.writeExecKubeconfigs(plugin, tokenFile, countFile)
	if err != nil {
		return err
	}
	_, rtt, _ := rep.targetCell()
	f.setRTT(rtt, cfg.hostRTT(rtt))
	cacheDir := filepath.Join(f.dir, "cache", "exec-openmcp")
	credDir := filepath.Join(cacheDir, "openmcp-exec-credentials")
	for _, n := range cfg.ExecNs {
		if f.joined > n {
			if err := f.unjoinAll(ctx); err != nil {
				return err
			}
		}
		if err := f.joinMembers(ctx, n); err != nil {
			return err
		}
		cellStart := time.Now()
		argv := func(kind string, cache bool) []string {
			a := []string{cfg.Ours, "get", "pods", "--all-clusters", "-n", benchNamespace, "--max-parallel", strconv.Itoa(max(n, 16)),
				// Cache off, N plugins queue for the plugin slots.
				"--cluster-timeout", "5m", "--kubeconfig", kcs[kind], "--cache-dir", cacheDir}
			if cache {
				a = append(a, "--exec-credential-cache")
			}
			return a
		}
		type variant struct {
			kind, cache string
			walls, cpus []time.Duration
			pcpus       []time.Duration
			spawns      []time.Duration // as counts, for median
			rss         int64
		}
		vs := []*variant{{kind: credStatic, cache: "-"}}
		for _, kind := range []string{credShared, credPerCluster} {
			for _, c := range []string{"off", "cold", "warm"} {
				vs = append(vs, &variant{kind: kind, cache: c})
			}
		}
		// Warm-up: discovery and the member list, and the warm credentials.
		_ = os.RemoveAll(credDir)
		for _, v := range vs {
			if v.cache == "off" || v.cache == "cold" {
				continue
			}
			if _, err := execute(ctx, argv(v.kind, v.cache == "warm"), nil); err != nil {
				return fmt.Errorf("exec warm-up: %w", err)
			}
		}
		pluginRuns(countFile)
		for range cfg.Runs {
			for _, v := range vs {
				if v.cache == "cold" {
					// Only the credentials are cold; discovery stays warm.
					for _, p := range cachedCredentialFiles(credDir) {
						_ = os.Remove(p)
					}
				}
				s, err := execute(ctx, argv(v.kind, v.cache == "cold" || v.cache == "warm"), nil)
				spawned, pcpu := pluginRuns(countFile)
				if err != nil {
					return err
				}
				if want := n*cfg.Pods + 1; s.Lines != want {
					return fmt.Errorf("exec bench %s (cache %s) at N=%d printed %d lines, want %d: not every cluster answered", v.kind, v.cache, n, s.Lines, want)
				}
				v.walls, v.cpus, v.pcpus = append(v.walls, s.Wall), append(v.cpus, s.CPU), append(v.pcpus, pcpu)
				v.spawns = append(v.spawns, time.Duration(spawned))
				v.rss = max(v.rss, s.RSSKB)
			}
		}
		for _, v := range vs {
			rep.exec = append(rep.exec, execRow{N: n, Creds: v.kind, Cache: v.cache, Wall: median(v.walls), CPU: median(v.cpus),
				PluginCPU: median(v.pcpus), Spawns: float64(median(v.spawns)), Runs: len(v.walls), RSSKB: v.rss, RTT: rtt, MaxParalel: max(n, 16)})
		}
		logf("bench: exec credentials at N=%d measured in %s", n, time.Since(cellStart).Round(100*time.Millisecond))
	}
	return nil
}

func cachedCredentialFiles(dir string) []string {
	m, _ := filepath.Glob(filepath.Join(dir, "*.json"))
	return m
}

func (r *report) execTable() table {
	t := table{
		title:  "exec credential plugins (issue 21): get pods --all-clusters, members authenticated by a bearer token",
		header: []string{"RTT", "N", "CREDENTIALS", "CRED CACHE", "WALL", "CPU", "RUNS", "PLUGINS/GET", "PLUGIN CPU/GET", "/STATIC", "PEAK RSS"},
	}
	for _, row := range r.exec {
		static := ""
		for _, s := range r.exec {
			if s.N == row.N && s.Creds == credStatic {
				static = ratio(row.Wall, s.Wall)
			}
		}
		t.rows = append(t.rows, []string{fmtRTT(row.RTT), strconv.Itoa(row.N), row.Creds, row.Cache, secs(row.Wall), secs(row.CPU), strconv.Itoa(row.Runs),
			strconv.FormatFloat(row.Spawns, 'f', -1, 64), secs(row.PluginCPU), static, mib(row.RSSKB)})
	}
	burn := os.Getenv("BENCH_PLUGIN_CPU")
	if burn == "" {
		burn = "150ms"
	}
	t.notes = []string{
		fmt.Sprintf("Command: `kubectl openmcp get pods --all-clusters -n %s --max-parallel max(N,16) --cluster-timeout 5m [--exec-credential-cache]`, discovery cache warm. The plugin (test/bench/execplugin) spends %s of CPU, then prints an ExecCredential valid for an hour.", benchNamespace, burn),
		"static token: the token in the kubeconfig. shared plugin config: every context runs the plugin with the same arguments. per-cluster plugin: each context passes --cluster-name clusterK (as EKS, GKE and AKS contexts do).",
		"CRED CACHE: off = no --exec-credential-cache; cold = on, its folder emptied before each run; warm = on, filled by an untimed run. PLUGINS/GET and PLUGIN CPU/GET: medians, counted by the plugin itself. CPU includes the plugins'.",
		"Plugins run at most " + plugSlots() + " at once (the number of CPUs, at least 2; OPENMCP_EXEC_PLUGIN_PARALLEL overrides it).",
	}
	return t
}

func plugSlots() string {
	if v := os.Getenv("OPENMCP_EXEC_PLUGIN_PARALLEL"); v != "" {
		return v
	}
	return strconv.Itoa(max(2, runtime.NumCPU()))
}
