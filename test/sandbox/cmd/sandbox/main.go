// Command sandbox starts and stops a local federation for people (make
// sandbox / make sandbox-down); tests use the sandbox package directly.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

const stateFile = "sandbox.json"

type state struct {
	Kubeconfig string         `json:"kubeconfig"`
	Processes  map[string]int `json:"processes"`
}

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: sandbox up|down [--dir DIR] [--members N] [--kubefed] [--metallb cluster1,...] [--metallb-controller cluster1=crd,cluster2=legacy] [--exec-contexts]")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("sandbox", flag.ExitOnError)
	dir := fs.String("dir", ".sandbox", "folder for the sandbox's certificates, data, logs and kubeconfig")
	members := fs.Int("members", 2, "number of member clusters")
	kubefed := fs.Bool("kubefed", true, "run the KubeFed controller manager on the host")
	metallb := fs.String("metallb", "cluster1", "members that get MetalLB's CRDs (comma-separated, empty for none)")
	metallbControllers := fs.String("metallb-controller", "", "members that get a running MetalLB controller, as MEMBER=legacy (v0.12.1, ConfigMap) or MEMBER=crd (v0.14.9, CRDs), comma-separated")
	execContexts := fs.Bool("exec-contexts", false, "add <member>-exec contexts that use an exec credential plugin")
	demoNodes := fs.Bool("demo-nodes", false, "create a control-plane and a worker node in each member (no kubelet runs: API objects only)")
	mcks := fs.String("mcks", "", "with --demo-nodes: the member that gets nodes from three clouds, as an MCKS cluster has")
	pods := fs.Bool("pods", false, "run kube-scheduler and kwok (the kubelet of every node) on each member, so pods run")
	observability := fs.Bool("observability", false, "with pods: kwok serves container logs and kubelet metrics, and metrics-server serves metrics.k8s.io on each member (kubectl logs, kubectl top)")
	openmcpControllers := fs.Bool("openmcp-controllers", false, "run OpenMCP's scheduler, deployment, sync and service controllers against the host, restarted when members join or unjoin")
	_ = fs.Parse(os.Args[2:])
	abs, err := filepath.Abs(*dir)
	if err != nil {
		fail(err)
	}
	switch os.Args[1] {
	case "up":
		err = up(abs, *members, *kubefed, *metallb, *metallbControllers, *execContexts, *demoNodes, *mcks, *pods, *observability, *openmcpControllers)
	case "supervise-openmcp":
		ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
		defer stop()
		err = sandbox.SuperviseOpenMCPControllers(ctx, abs, func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) })
	case "down":
		err = down(abs)
	default:
		err = fmt.Errorf("unknown verb %q: use up or down", os.Args[1])
	}
	if err != nil {
		fail(err)
	}
}

func fail(err error) {
	fmt.Fprintf(os.Stderr, "error: %v\n", err)
	os.Exit(1)
}

func up(dir string, members int, kubefed bool, metallb, metallbControllers string, execContexts, demoNodes bool, mcks string, pods, observability, openmcpControllers bool) error {
	if _, err := os.Stat(filepath.Join(dir, stateFile)); err == nil {
		return fmt.Errorf("a sandbox already runs in %s: stop it with `make sandbox-down`", dir)
	}
	var metallbMembers []string
	if metallb != "" {
		metallbMembers = strings.Split(metallb, ",")
	}
	controllers := map[string]string{}
	if metallbControllers != "" {
		for _, kv := range strings.Split(metallbControllers, ",") {
			member, mode, ok := strings.Cut(kv, "=")
			if !ok || member == "" {
				return fmt.Errorf("--metallb-controller %q: want MEMBER=legacy or MEMBER=crd", kv)
			}
			controllers[member] = mode
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	start := time.Now()
	f, err := sandbox.Launch(ctx, sandbox.Options{
		Members: members, KubeFed: kubefed, MetalLBCRDs: metallbMembers, MetalLB: controllers, ExecContexts: execContexts,
		Pods: pods, Observability: observability, Dir: dir, Detached: true,
		Logf: func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) },
	})
	if err != nil {
		return err
	}
	if demoNodes {
		if err := f.DemoNodes(ctx, mcks); err != nil {
			f.Stop()
			return err
		}
	}
	st := state{Kubeconfig: f.Kubeconfig, Processes: f.Processes()}
	if openmcpControllers {
		pid, err := startSupervisor(dir)
		if err != nil {
			f.Stop()
			return err
		}
		st.Processes["openmcp-controllers-supervisor"] = pid
	}
	b, _ := json.MarshalIndent(st, "", "  ")
	if err := os.WriteFile(filepath.Join(dir, stateFile), b, 0o600); err != nil {
		f.Stop()
		return err
	}
	fmt.Fprintf(os.Stderr, "sandbox: host %q and %d members running (%s); logs in %s\n", sandbox.HostName, members, time.Since(start).Round(time.Millisecond), dir)
	fmt.Printf("export KUBECONFIG=%s\n", f.Kubeconfig)
	return nil
}

// startSupervisor runs `sandbox supervise-openmcp` in a process of its own
// that outlives this one: OpenMCP's controllers read the members once at
// start, so something must restart them after each join.
func startSupervisor(dir string) (int, error) {
	if err := sandbox.OpenMCPControllersBuilt(sandbox.DefaultBinDir()); err != nil {
		if sandbox.OpenMCPSource() == "" {
			return 0, fmt.Errorf("--openmcp-controllers: %v: %s", err, sandbox.OpenMCPSourceHint)
		}
		return 0, fmt.Errorf("--openmcp-controllers: %v: run `make tools`", err)
	}
	self, err := os.Executable()
	if err != nil {
		return 0, err
	}
	logFile, err := os.OpenFile(filepath.Join(dir, "openmcp-controllers-supervisor.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(self, "supervise-openmcp", "--dir", dir)
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return 0, err
	}
	// Read before Release, which sets it to -1.
	pid := cmd.Process.Pid
	return pid, cmd.Process.Release()
}

func down(dir string) error {
	b, err := os.ReadFile(filepath.Join(dir, stateFile))
	if errors.Is(err, os.ErrNotExist) {
		fmt.Fprintf(os.Stderr, "sandbox: nothing runs in %s\n", dir)
		return nil
	}
	if err != nil {
		return err
	}
	var st state
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("%s: %w", stateFile, err)
	}
	for name, pid := range st.Processes {
		if pid <= 1 {
			// kill(-1) would signal every process we may signal.
			continue
		}
		// Each component leads its own process group.
		if err := syscall.Kill(-pid, syscall.SIGTERM); err == nil {
			fmt.Fprintf(os.Stderr, "sandbox: stopped %s (pid %d)\n", name, pid)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for _, pid := range st.Processes {
		if pid <= 1 {
			continue
		}
		for syscall.Kill(pid, 0) == nil && time.Now().Before(deadline) {
			time.Sleep(100 * time.Millisecond)
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
	}
	return os.RemoveAll(dir)
}
