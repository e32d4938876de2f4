package sandbox

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// OpenMCPControllers are the four OpenMCP controllers the sandbox runs, as
// `make tools` names them (built from OpenMCP's upstream source).
var OpenMCPControllers = []string{"openmcp-scheduler", "openmcp-deployment-controller", "openmcp-sync-controller", "openmcp-service-controller"}

// OpenMCPSourceHint says how to provide OpenMCP's source where it is missing.
const OpenMCPSourceHint = "set OPENMCP_SRC to a clone of github.com/openmcp/Public_OpenMCP at commit 024320683a92 (with admiralty.io/multicluster-controller v0.6.0 replaced as ../shared/thirdparty/README.md says) and run `make tools`"

// OpenMCPSource is the folder `make tools` builds OpenMCP's controllers
// from: $OPENMCP_SRC, else ../shared/thirdparty/openmcp beside the repository;
// "" when neither exists.
func OpenMCPSource() string {
	if s := os.Getenv("OPENMCP_SRC"); s != "" {
		return s
	}
	s := filepath.Join(RepoRoot(), "..", "shared", "thirdparty", "openmcp")
	if _, err := os.Stat(s); err == nil {
		return s
	}
	return ""
}

// OpenMCPControllersBuilt reports whether every controller is in binDir.
func OpenMCPControllersBuilt(binDir string) error {
	for _, c := range OpenMCPControllers {
		if _, err := os.Stat(filepath.Join(binDir, c)); err != nil {
			return fmt.Errorf("%s not built in %s", c, binDir)
		}
	}
	return nil
}

// RequireOpenMCPControllers skips a test when OpenMCP's source is nowhere to
// be found, and fails it when the source is there but the controllers were
// not built: CI has the source, so there the tests run, never skip.
func RequireOpenMCPControllers(t TB) {
	t.Helper()
	err := OpenMCPControllersBuilt(DefaultBinDir())
	if err == nil {
		return
	}
	if OpenMCPSource() == "" {
		t.Skipf("OpenMCP's controllers are not available: %s", OpenMCPSourceHint)
	}
	t.Fatalf("%v: run `make tools` (the source is in %s)", err, OpenMCPSource())
}

var kubeFedClusterGVR = schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedclusters"}

// openmcpSupervisor runs OpenMCP's controllers against the host. They read
// the set of members once, at start (as upstream's do), so the supervisor
// restarts them whenever the host's KubeFedClusters change, as an operator
// would after a join; Generation counts the starts.
type openmcpSupervisor struct {
	f      *Federation
	runDir string
	env    []string

	mu         sync.Mutex
	procs      []*process
	members    []string
	generation int
	lastErr    error
}

// StartOpenMCPControllers prepares the controllers' service account on the
// host and supervises the controllers until Stop.
func (f *Federation) StartOpenMCPControllers(ctx context.Context) error {
	if err := OpenMCPControllersBuilt(f.opts.BinDir); err != nil {
		return err
	}
	s := &openmcpSupervisor{f: f, runDir: filepath.Join(f.Dir, "openmcp-controllers", "run")}
	if err := s.prepare(ctx); err != nil {
		return fmt.Errorf("OpenMCP controllers: %w", err)
	}
	f.mu.Lock()
	f.openmcp = s
	f.mu.Unlock()
	superviseCtx, cancel := context.WithCancel(context.Background())
	f.stopOpenMCP = cancel
	go s.supervise(superviseCtx)
	return nil
}

// prepare gives the controllers what in-cluster configuration needs: a
// service account of the host with cluster-admin (upstream deploys them so),
// its token, the host's CA and namespace in a folder that is bind-mounted
// over /run (so /var/run/secrets/kubernetes.io/serviceaccount resolves), and
// KUBERNETES_SERVICE_HOST/PORT naming the host's apiserver.
func (s *openmcpSupervisor) prepare(ctx context.Context) error {
	h := s.f.Host
	const sa = "openmcp-controllers"
	_, err := h.Client.CoreV1().ServiceAccounts("openmcp").Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = h.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: "openmcp"}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	week := int64(7 * 24 * 3600)
	tr, err := h.Client.CoreV1().ServiceAccounts("openmcp").CreateToken(ctx, sa, &authenticationv1.TokenRequest{
		Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &week},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("token for %s: %w", sa, err)
	}
	saDir := filepath.Join(s.runDir, "secrets", "kubernetes.io", "serviceaccount")
	if err := os.MkdirAll(saDir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"token": []byte(tr.Status.Token), "ca.crt": h.CACert, "namespace": []byte("openmcp")} {
		if err := os.WriteFile(filepath.Join(saDir, name), data, 0o600); err != nil {
			return err
		}
	}
	hostPort := strings.TrimPrefix(h.Server, "https://")
	host, port, _ := strings.Cut(hostPort, ":")
	s.env = append(os.Environ(),
		"KUBERNETES_SERVICE_HOST="+host, "KUBERNETES_SERVICE_PORT="+port,
		// The deployment and sync controllers add this image pull secret to
		// every Deployment they write; unset, they add one with no name.
		"dockerSecretName=openmcp-sandbox-pull",
		// The scheduler dials the analytic engine, which the default policies
		// never ask; nothing listens here.
		"GRPC_SERVER=127.0.0.1", "GRPC_PORT=1",
	)
	return nil
}

// supervise (re)starts the controllers whenever the set of members the host
// lists changes, and stops them when ctx ends.
func (s *openmcpSupervisor) supervise(ctx context.Context) {
	defer s.stopAll()
	for {
		members, err := s.listMembers(ctx)
		if err == nil && !slices.Equal(members, s.currentMembers()) {
			s.stopAll()
			err = s.startAll(members)
		}
		s.mu.Lock()
		s.lastErr = err
		s.mu.Unlock()
		select {
		case <-ctx.Done():
			return
		case <-time.After(time.Second):
		}
	}
}

func (s *openmcpSupervisor) currentMembers() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.procs == nil {
		return nil
	}
	return s.members
}

// listMembers lists the KubeFedClusters the controllers would use: upstream
// skips a cluster with an Offline condition.
func (s *openmcpSupervisor) listMembers(ctx context.Context) ([]string, error) {
	dyn, err := dynamic.NewForConfig(s.f.Host.Config)
	if err != nil {
		return nil, err
	}
	list, err := dyn.Resource(kubeFedClusterGVR).Namespace(KubeFedNamespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	names := []string{}
	for _, item := range list.Items {
		offline := false
		conds, _, _ := unstructured.NestedSlice(item.Object, "status", "conditions")
		for _, c := range conds {
			if m, _ := c.(map[string]any); m["type"] == "Offline" {
				offline = true
			}
		}
		if !offline {
			names = append(names, item.GetName())
		}
	}
	slices.Sort(names)
	return names, nil
}

func (s *openmcpSupervisor) startAll(members []string) error {
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		return fmt.Errorf("OpenMCP controllers need unshare (util-linux) for a private /run: %w", err)
	}
	// A private mount namespace, so the controllers see the prepared folder
	// as /run and the machine's /run stays untouched; without root, a user
	// namespace maps us to root inside it.
	args := []string{"--mount", "--propagation", "private"}
	if os.Geteuid() != 0 {
		args = append([]string{"--user", "--map-root-user"}, args...)
	}
	var procs []*process
	for _, name := range OpenMCPControllers {
		bin := filepath.Join(s.f.opts.BinDir, name)
		cmd := append(slices.Clone(args), "--", "/bin/sh", "-c", `mount --bind "$0" /run && exec "$1"`, s.runDir, bin)
		// Detached sandboxes (make sandbox) run the supervisor in its own
		// process; its controllers end with it.
		p, err := startCommand(s.f.Dir, name, unshare, cmd, s.env, false)
		if err != nil {
			for _, p := range procs {
				p.stop()
			}
			return err
		}
		procs = append(procs, p)
	}
	s.mu.Lock()
	s.procs, s.members = procs, members
	s.generation++
	s.mu.Unlock()
	s.f.opts.Logf("sandbox: OpenMCP controllers started for members %v", members)
	return nil
}

func (s *openmcpSupervisor) stopAll() {
	s.mu.Lock()
	procs := s.procs
	s.procs = nil
	s.mu.Unlock()
	var wg sync.WaitGroup
	for _, p := range procs {
		wg.Go(p.stop)
	}
	wg.Wait()
}

// WaitOpenMCPControllers waits until the controllers run for exactly these
// members (after a join or unjoin the supervisor restarts them) and have had
// a moment to fill their caches.
func (f *Federation) WaitOpenMCPControllers(ctx context.Context, members []string, timeout time.Duration) error {
	f.mu.Lock()
	s := f.openmcp
	f.mu.Unlock()
	if s == nil {
		return errors.New("the sandbox runs no OpenMCP controllers (Options.OpenMCPControllers)")
	}
	want := slices.Sorted(slices.Values(members))
	deadline := time.Now().Add(timeout)
	for {
		s.mu.Lock()
		running, procs, lastErr := s.members, s.procs, s.lastErr
		s.mu.Unlock()
		if procs != nil && slices.Equal(running, want) {
			for _, p := range procs {
				if p.exited() {
					return fmt.Errorf("%s exited (%v); log %s:\n%s", p.Name, p.err, p.LogPath, p.logTail(15))
				}
			}
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("OpenMCP controllers run for members %v, want %v after %s (last error: %v)", running, want, timeout, lastErr)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// openmcpProcesses lists the running controllers (for LogTails and Processes).
func (f *Federation) openmcpProcesses() []*process {
	f.mu.Lock()
	s := f.openmcp
	f.mu.Unlock()
	if s == nil {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.procs)
}

// SuperviseOpenMCPControllers runs OpenMCP's controllers against the host of
// a detached sandbox (make sandbox, make demo) until ctx ends: `sandbox up
// --openmcp-controllers` starts it in a process of its own, which `sandbox
// down` stops with the rest.
func SuperviseOpenMCPControllers(ctx context.Context, dir string, logf func(string, ...any)) error {
	kubeconfig := filepath.Join(dir, "kubeconfig")
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return err
	}
	raw, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		return err
	}
	hostCluster := raw.Clusters[raw.Contexts[HostName].Cluster]
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return err
	}
	f := &Federation{Dir: dir, Kubeconfig: kubeconfig, opts: Options{BinDir: DefaultBinDir(), Logf: logf}}
	f.Host = &Cluster{Name: HostName, Server: hostCluster.Server, Config: cfg, Client: client, CACert: hostCluster.CertificateAuthorityData}
	if err := f.StartOpenMCPControllers(ctx); err != nil {
		return err
	}
	<-ctx.Done()
	f.stopOpenMCP()
	f.openmcp.stopAll()
	return nil
}
