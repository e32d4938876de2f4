// Package sandbox starts a federation of real Kubernetes components on
// loopback: one etcd, a kube-apiserver and kube-controller-manager per
// cluster (a host and N members), the KubeFed controller manager on the host,
// KubeFed's and OpenMCP's CRDs, and a kubeconfig with a context per cluster
// ("openmcp", "cluster1", "cluster2", ...), as a user of the OpenMCP guide has.
// The binaries come from `make tools` (test/tools/build.sh).
package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// HostName is the host cluster's name and context, as in the OpenMCP guide.
const HostName = "openmcp"

// Options say what to start.
type Options struct {
	// Members is the number of member clusters, named cluster1..clusterN.
	Members int
	// KubeFed starts the KubeFed controller manager on the host.
	KubeFed bool
	// MetalLBCRDs names the members that get MetalLB's v0.13+ CRDs.
	MetalLBCRDs []string
	// Pods runs kube-scheduler and kwok (as every node's kubelet) on each
	// member, so pods are bound, Running and Ready.
	Pods bool
	// Observability (implies Pods) makes `kubectl logs`, `kubectl top` and
	// events work on each member: kwok serves container logs and kubelet
	// resource metrics, and metrics-server v0.8.0 serves metrics.k8s.io
	// through the aggregation layer. See observability.go.
	Observability bool
	// OpenMCPControllers runs OpenMCP's scheduler, deployment, sync and
	// service controllers against the host (restarted whenever the joined
	// members change); needs `make tools` to have built them.
	OpenMCPControllers bool
	// MetalLB runs a real MetalLB controller against members, by name:
	// MetalLBLegacy (v0.12.1, the ConfigMap) or MetalLBCRD (v0.14.9,
	// IPAddressPools; the member gets the CRDs too). See metallb.go.
	MetalLB map[string]string
	// ExecContexts adds, for every member, a context "<member>-exec" whose
	// user authenticates through an exec credential plugin (a static token).
	ExecContexts bool
	// Dir holds certificates, data, logs and the kubeconfig; a temp dir if empty.
	Dir string
	// BinDir holds the built components; $OPENMCP_TOOLS_BIN or .cache/bin if empty.
	BinDir string
	// Detached leaves the processes running when this process exits (make sandbox).
	Detached bool
	// Logf reports progress; silent if nil.
	Logf func(format string, args ...any)
}

// Federation is a running sandbox.
type Federation struct {
	Dir        string
	Kubeconfig string
	Host       *Cluster
	Members    []*Cluster

	opts    Options
	etcd    *process
	etcdURL string
	kubefed *process
	mu      sync.Mutex
	stopped bool

	openmcp     *openmcpSupervisor
	stopOpenMCP context.CancelFunc
}

// Cluster is one kube-apiserver (with its controller manager).
type Cluster struct {
	Name    string // also its kubeconfig context
	Server  string
	Config  *rest.Config // admin (system:masters) identity
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	CACert  []byte

	dir               string
	pki               *pki
	execToken         string
	apiserver         *process
	controllerManager *process
	metallb           *process
	metallbMode       string
	scheduler         *process
	kwok              *process
	// KwokAddress is kwok's kubelet server (logs, exec) with Options.Pods.
	KwokAddress   string
	metricsServer *process
	// MetricsServerAddress is metrics-server's, with Options.Observability.
	MetricsServerAddress string
	// LogFile is what every container of the member logs, with
	// Options.Observability (see SetPodLogs and AppendLog).
	LogFile string
}

// Member returns the member of that name, or nil.
func (f *Federation) Member(name string) *Cluster {
	for _, m := range f.Members {
		if m.Name == name {
			return m
		}
	}
	return nil
}

// Clusters is the host followed by the members.
func (f *Federation) Clusters() []*Cluster { return append([]*Cluster{f.Host}, f.Members...) }

// RepoRoot is the repository's top folder, found from this file's location.
func RepoRoot() string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Clean(filepath.Join(filepath.Dir(file), "..", ".."))
}

// DefaultBinDir is where `make tools` puts the components.
func DefaultBinDir() string {
	if d := os.Getenv("OPENMCP_TOOLS_BIN"); d != "" {
		return d
	}
	return filepath.Join(RepoRoot(), ".cache", "bin")
}

func dataDir() string { return filepath.Join(RepoRoot(), ".cache", "data") }

// Launch starts a federation. The caller must call Stop.
func Launch(ctx context.Context, opts Options) (_ *Federation, err error) {
	if opts.Members < 0 {
		return nil, fmt.Errorf("members must be >= 0, got %d", opts.Members)
	}
	if opts.BinDir == "" {
		opts.BinDir = DefaultBinDir()
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	if opts.Observability {
		opts.Pods = true
	}
	opts.MetalLBCRDs = slices.Clone(opts.MetalLBCRDs)
	if err := opts.validateMetalLB(); err != nil {
		return nil, err
	}
	if opts.Dir == "" {
		if opts.Dir, err = os.MkdirTemp("", "openmcp-sandbox-"); err != nil {
			return nil, err
		}
	} else if err = os.MkdirAll(opts.Dir, 0o700); err != nil {
		return nil, err
	}
	f := &Federation{Dir: opts.Dir, opts: opts, Kubeconfig: filepath.Join(opts.Dir, "kubeconfig")}
	defer func() {
		if err != nil {
			f.stopProcesses()
		}
	}()
	start := time.Now()
	if err = f.startEtcd(ctx); err != nil {
		return nil, err
	}
	names := []string{HostName}
	for i := 1; i <= opts.Members; i++ {
		names = append(names, "cluster"+strconv.Itoa(i))
	}
	clusters := make([]*Cluster, len(names))
	errs := make([]error, len(names))
	var wg sync.WaitGroup
	for i, n := range names {
		wg.Go(func() { clusters[i], errs[i] = f.startCluster(ctx, n) })
	}
	wg.Wait()
	f.Host, f.Members = clusters[0], clusters[1:]
	if err = errors.Join(errs...); err != nil {
		return nil, err
	}
	opts.Logf("sandbox: %d apiservers ready in %s", len(names), time.Since(start).Round(time.Millisecond))
	if err = f.writeKubeconfig(); err != nil {
		return nil, err
	}
	if err = f.setUpHost(ctx); err != nil {
		return nil, err
	}
	for _, name := range opts.MetalLBCRDs {
		m := f.Member(name)
		if m == nil {
			return nil, fmt.Errorf("MetalLBCRDs names %q, which is not a member", name)
		}
		if err = m.applyFile(ctx, filepath.Join(dataDir(), "metallb-crds.yaml")); err != nil {
			return nil, fmt.Errorf("%s: MetalLB CRDs: %w", name, err)
		}
	}
	if len(opts.MetalLBCRDs) > 0 {
		for _, name := range opts.MetalLBCRDs {
			if err = f.Member(name).WaitCRDsEstablished(ctx); err != nil {
				return nil, fmt.Errorf("%s: MetalLB CRDs: %w", name, err)
			}
		}
	}
	if err = f.startMetalLB(ctx); err != nil {
		return nil, err
	}
	if opts.KubeFed {
		if err = f.startKubeFed(ctx); err != nil {
			return nil, err
		}
	}
	if opts.Pods {
		for _, m := range f.Members {
			if err = f.startPodRuntime(ctx, m); err != nil {
				return nil, fmt.Errorf("%s: %w", m.Name, err)
			}
		}
	}
	if opts.Observability {
		for _, m := range f.Members {
			if err = f.startMetricsServer(ctx, m); err != nil {
				return nil, fmt.Errorf("%s: metrics-server: %w", m.Name, err)
			}
		}
	}
	if opts.OpenMCPControllers {
		if err = f.StartOpenMCPControllers(ctx); err != nil {
			return nil, err
		}
	}
	opts.Logf("sandbox: federation of %d members up in %s (kubeconfig %s)", opts.Members, time.Since(start).Round(time.Millisecond), f.Kubeconfig)
	return f, nil
}

// Stop ends every process. It keeps Dir (logs, kubeconfig); RemoveAll removes it.
func (f *Federation) Stop() {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.stopped {
		return
	}
	f.stopped = true
	f.stopProcesses()
}

func (f *Federation) stopProcesses() {
	if f.stopOpenMCP != nil {
		f.stopOpenMCP()
	}
	if f.openmcp != nil {
		f.openmcp.stopAll()
	}
	f.kubefed.stop()
	var wg sync.WaitGroup
	for _, c := range append([]*Cluster{f.Host}, f.Members...) {
		if c == nil {
			continue
		}
		wg.Go(func() {
			c.metricsServer.stop()
			c.metallb.stop()
			c.kwok.stop()
			c.scheduler.stop()
			c.controllerManager.stop()
			c.apiserver.stop()
		})
	}
	wg.Wait()
	f.etcd.stop()
}

// Processes lists every running component, for `sandbox down` and fault tests.
func (f *Federation) Processes() map[string]int {
	out := map[string]int{}
	add := func(p *process) {
		if p != nil && !p.exited() {
			out[p.Name] = p.Cmd.Process.Pid
		}
	}
	add(f.etcd)
	add(f.kubefed)
	for _, c := range f.Clusters() {
		add(c.apiserver)
		add(c.controllerManager)
		add(c.scheduler)
		add(c.kwok)
		add(c.metricsServer)
		add(c.metallb)
	}
	for _, p := range f.openmcpProcesses() {
		add(p)
	}
	return out
}

// StopCluster stops a member's apiserver and controller manager, to test a
// cluster that went away.
func (c *Cluster) StopCluster() {
	c.metricsServer.stop()
	c.metallb.stop()
	c.kwok.stop()
	c.scheduler.stop()
	c.controllerManager.stop()
	c.apiserver.stop()
}

// APIServerPID is the apiserver's process id (for SIGSTOP in fault tests).
func (c *Cluster) APIServerPID() int { return c.apiserver.Cmd.Process.Pid }
