package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/rest"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// rollbackTimeout bounds the clean-up after a failed join.
const rollbackTimeout = 30 * time.Second

// Cluster is one side of a join: its REST config and clients.
type Cluster struct {
	Context string
	Config  *rest.Config
	Client  kubernetes.Interface
	Dynamic dynamic.Interface
	// raw is the REST client behind Dynamic; join writes through it (nil for
	// clients made by hand, which can check but not write).
	raw rest.Interface
}

// NewCluster makes the clients for a REST config.
func NewCluster(contextName string, cfg *rest.Config) (*Cluster, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	// The dynamic client, built as dynamic.NewForConfig builds it, on a REST
	// client join also uses directly to see an apply's status code.
	dcfg := dynamic.ConfigFor(cfg)
	dcfg.GroupVersion = nil
	dcfg.APIPath = "/if-you-see-this-search-for-the-break"
	hc, err := rest.HTTPClientFor(dcfg)
	if err != nil {
		return nil, err
	}
	raw, err := rest.UnversionedRESTClientForConfigAndClient(dcfg, hc)
	if err != nil {
		return nil, err
	}
	return &Cluster{Context: contextName, Config: cfg, Client: client, Dynamic: dynamic.New(raw), raw: raw}, nil
}

// JoinRequest is one member to join.
type JoinRequest struct {
	Host             *Cluster
	HostName         string // the host's name in object names (its context, sanitised)
	Member           *Cluster
	ClusterName      string
	KubeFedNamespace string
	APIEndpoint      string // overrides the context's server (NAT, port-forward)
	Overwrite        bool   // replace a cluster of that name with another endpoint
	DryRun           DryRun
	TokenTimeout     time.Duration
	// Checked is the result of Check when the caller already ran it.
	Checked *Preflight
	// Labels go on the KubeFedCluster (platform, ...); region and zone are
	// the topology step's, so a re-join without them keeps them.
	Labels map[string]string
}

// DryRun is none, client or server, as kubectl's --dry-run.
type DryRun int

const (
	DryRunNone DryRun = iota
	DryRunClient
	DryRunServer
)

// Step is one object join wrote (or would write).
type Step struct {
	Cluster string // "host" or "member"
	Object  string
	Outcome Outcome
}

// JoinResult is what a join did.
type JoinResult struct {
	ClusterName string
	Endpoint    string
	Insecure    bool
	Steps       []Step
	Objects     []*unstructured.Unstructured // with --dry-run: everything it would write, token redacted
	Elapsed     time.Duration
}

// Changed reports whether the join wrote anything.
func (r *JoinResult) Changed() bool {
	for _, s := range r.Steps {
		if s.Outcome != Unchanged {
			return true
		}
	}
	return false
}

// StepError says which step of a join failed.
type StepError struct {
	Step string
	Err  error
}

func (e *StepError) Error() string { return fmt.Sprintf("%s: %v", e.Step, e.Err) }
func (e *StepError) Unwrap() error { return e.Err }

// RollbackError is a failed join whose clean-up failed too (the cluster went
// away, say): Left names, by cluster, what this run created and could not
// delete. Joining again once the cluster is back adopts it.
type RollbackError struct {
	Err   error    // why the join failed
	Left  []string // e.g. "host: Secret kube-federation-system/c1-kubefed-token"
	Cause error    // why the first of them could not be deleted
}

func (e *RollbackError) Error() string {
	return fmt.Sprintf("%v; rolling back failed too (%v), so this run left behind %s", e.Err, e.Cause, strings.Join(e.Left, ", "))
}
func (e *RollbackError) Unwrap() error { return e.Err }

// ValidateClusterName checks a cluster name: it names objects on both clusters.
func ValidateClusterName(name string) error {
	if errs := validation.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("invalid cluster name %q: must be a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters)", name)
	}
	return nil
}

// ValidateAPIEndpoint checks an --api-endpoint value.
func ValidateAPIEndpoint(s string) error {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "https" && u.Scheme != "http") || u.Path != "" && u.Path != "/" {
		return fmt.Errorf("invalid --api-endpoint %q: want an https://HOST[:PORT] URL", s)
	}
	return nil
}

// Preflight is what the checks learnt before any write.
type Preflight struct {
	Scope    string // Cluster or Namespaced
	Endpoint Endpoint
	Existing *unstructured.Unstructured // the KubeFedCluster of that name, if any
	// NamespaceExists says the member already has the KubeFed namespace.
	NamespaceExists bool
	// MemberIsHost says the member is the host itself.
	MemberIsHost bool
	// ServerVersion is the member's Kubernetes version (its GitVersion).
	ServerVersion string

	// What the checks read of the objects join writes, by cluster: the
	// writes then need no read of their own.
	memberBefore, hostBefore map[ref]observed
}

// befores is what the checks read of the objects join writes: the writes
// then need no read of their own.
type befores struct {
	mu sync.Mutex
	m  map[ref]observed
}

// readBefore reads objs side by side in g. An object that cannot be read is
// left out: its write reads it again. With noNamespace (the KubeFed
// namespace is not there) neither is anything in it, and those objects
// need no read.
func readBefore(ctx context.Context, g *errgroup.Group, c dynamic.Interface, noNamespace bool, objs ...any) *befores {
	b := &befores{m: map[ref]observed{}}
	for _, obj := range objs {
		u, err := toUnstructured(obj)
		if err != nil {
			continue
		}
		r := ref{u.GetKind(), u.GetNamespace(), u.GetName()}
		gvr, ok := resources[r.kind]
		if !ok {
			continue
		}
		if r.namespace != "" && noNamespace {
			b.m[r] = observed{}
			continue
		}
		g.Go(func() error {
			var ri dynamic.ResourceInterface = c.Resource(gvr)
			if r.namespace != "" {
				ri = c.Resource(gvr).Namespace(r.namespace)
			}
			got, err := ri.Get(ctx, r.name, metav1.GetOptions{})
			var o observed
			switch {
			case err == nil:
				o = observed{exists: true, resourceVersion: got.GetResourceVersion()}
			case !apierrors.IsNotFound(err):
				return nil
			}
			b.mu.Lock()
			b.m[r] = o
			b.mu.Unlock()
			return nil
		})
	}
	return b
}

// Check runs every check of a join without changing anything, in two
// phases. First each cluster's first requests, alone on its connection (sent
// all at once to a cluster not yet connected to, each request would dial its
// own): the host's KubeFedConfig and scope, the member's version and the
// KubeFed namespace. Then, side by side on those connections, everything
// that depends on them: the KubeFedCluster of that name, the access reviews
// and the reads of the objects join writes. Answers are judged in a fixed
// order, so the error is the same whichever answers first.
func Check(ctx context.Context, req JoinRequest) (*Preflight, error) {
	if err := ValidateClusterName(req.ClusterName); err != nil {
		return nil, &StepError{"check cluster name", err}
	}
	ns := req.KubeFedNamespace

	// Phase 1: the host's scope and the member's namespace.
	var scope string
	var scopeErr, versionErr, nsErr error
	var gitVersion string
	var nsObj *corev1.Namespace
	var first errgroup.Group
	first.Go(func() error {
		scope, scopeErr = KubeFedScope(ctx, req.Host, ns)
		return nil
	})
	first.Go(func() error {
		v, err := req.Member.Client.Discovery().ServerVersion()
		if versionErr = err; err != nil {
			return nil
		}
		gitVersion = v.GitVersion
		nsObj, nsErr = req.Member.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
		return nil
	})
	endpoint, endpointErr := endpointOf(req.Member.Config, req.APIEndpoint)
	_ = first.Wait()

	if scopeErr != nil {
		return nil, &StepError{"check host", scopeErr}
	}
	p := &Preflight{Scope: scope, Endpoint: endpoint, ServerVersion: gitVersion}
	if endpointErr != nil {
		return nil, &StepError{"check member", endpointErr}
	}
	if versionErr != nil {
		return nil, &StepError{"check member", fmt.Errorf("member context %q does not answer at %s: %w", req.Member.Context, req.Member.Config.Host, versionErr)}
	}
	switch {
	case apierrors.IsNotFound(nsErr):
	case nsErr != nil:
		return nil, &StepError{"check member", fmt.Errorf("read namespace %s on member %q: %w", ns, req.Member.Context, nsErr)}
	case nsObj.DeletionTimestamp != nil:
		// omcpctl force-finalised such namespaces silently, losing whatever the
		// finalizers guarded; say what blocks it instead.
		return nil, &StepError{"check member", fmt.Errorf("namespace %s on member %q is Terminating (left by an earlier unjoin; finalizers %v): wait for it to go, or find what holds it with `kubectl get ns %s -o yaml --context %s`, then join again",
			ns, req.Member.Context, nsObj.Spec.Finalizers, ns, req.Member.Context)}
	default:
		p.NamespaceExists = true
	}
	p.MemberIsHost = sameServer(req.Host.Config.Host, req.Member.Config.Host)

	// Phase 2: everything else, side by side.
	var existing *unstructured.Unstructured
	var kfcErr, permErr error
	var second errgroup.Group
	second.Go(func() error {
		existing, kfcErr = req.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(ns).Get(ctx, req.ClusterName, metav1.GetOptions{})
		return nil
	})
	// A client dry run writes nothing: it may show the objects to someone
	// who could not write them, and it needs no reads of them.
	writes := req.DryRun != DryRunClient
	var memberBefore, hostBefore *befores
	if writes {
		second.Go(func() error {
			permErr = checkPermissions(ctx, req, scope, !p.NamespaceExists)
			return nil
		})
		names := NamesFor(req.ClusterName, req.HostName)
		_, sa, tokenSecret, rbac := memberObjects(names, ns, scope, false)
		memberBefore = readBefore(ctx, &second, req.Member.Dynamic, !p.NamespaceExists, append([]any{sa, tokenSecret}, rbac...)...)
		hostSecret, _ := hostObjects(names, ns, req.Member.Context, Endpoint{}, nil, nil)
		hostBefore = readBefore(ctx, &second, req.Host.Dynamic, false, hostSecret)
	}
	_ = second.Wait()

	switch {
	case apierrors.IsNotFound(kfcErr):
		if writes {
			p.hostBefore = map[ref]observed{{"KubeFedCluster", ns, req.ClusterName}: {}}
		}
	case kfcErr != nil:
		return nil, &StepError{"check host", fmt.Errorf("read KubeFedCluster %s: %w", req.ClusterName, kfcErr)}
	default:
		ep, _, _ := unstructured.NestedString(existing.Object, "spec", "apiEndpoint")
		if ep != p.Endpoint.APIEndpoint && !req.Overwrite {
			return nil, &StepError{"check cluster name", fmt.Errorf("cluster name %q is taken by a cluster at %s (this context is at %s): pick another --cluster-name, or pass --overwrite to replace it", req.ClusterName, ep, p.Endpoint.APIEndpoint)}
		}
		p.Existing = existing
		if writes {
			p.hostBefore = map[ref]observed{{"KubeFedCluster", ns, req.ClusterName}: {exists: true, resourceVersion: existing.GetResourceVersion()}}
		}
	}
	if writes {
		if permErr != nil {
			return nil, &StepError{"check permissions", permErr}
		}
		p.memberBefore = memberBefore.m
		if p.hostBefore == nil {
			p.hostBefore = map[ref]observed{}
		}
		for r, o := range hostBefore.m {
			p.hostBefore[r] = o
		}
	}
	return p, nil
}

// KubeFedScope reads the host's KubeFedConfig: proof the context is a KubeFed
// host, and the scope that decides the member RBAC.
func KubeFedScope(ctx context.Context, host *Cluster, ns string) (string, error) {
	gvr := fleet.KubeFedClusters.GroupVersion().WithResource("kubefedconfigs")
	cfg, err := host.Dynamic.Resource(gvr).Namespace(ns).Get(ctx, "kubefed", metav1.GetOptions{})
	if err != nil {
		if meta.IsNoMatchError(err) || apierrors.IsNotFound(err) {
			return "", fmt.Errorf("context %q is not a KubeFed host: no KubeFedConfig %s/kubefed (install KubeFed there, or pass the right --host-context / --kubefed-namespace)", host.Context, ns)
		}
		return "", fmt.Errorf("host context %q: read KubeFedConfig %s/kubefed: %w", host.Context, ns, err)
	}
	if _, err := host.Client.Discovery().ServerResourcesForGroupVersion(fleet.KubeFedClusters.GroupVersion().String()); err != nil {
		return "", fmt.Errorf("context %q is not a KubeFed host: %s is not served: %w", host.Context, fleet.KubeFedClusters.GroupVersion(), err)
	}
	scope, _, _ := unstructured.NestedString(cfg.Object, "spec", "scope")
	switch scope {
	case "", "Cluster":
		return "Cluster", nil
	case "Namespaced":
		return "Namespaced", nil
	}
	return "", fmt.Errorf("KubeFedConfig %s/kubefed has scope %q; want Cluster or Namespaced", ns, scope)
}

// endpointOf is how the host will reach the member: the context's server (or
// --api-endpoint), its CA and proxy.
func endpointOf(cfg *rest.Config, override string) (Endpoint, error) {
	ep := Endpoint{APIEndpoint: strings.TrimRight(cfg.Host, "/"), Insecure: cfg.Insecure}
	if override != "" {
		if err := ValidateAPIEndpoint(override); err != nil {
			return ep, err
		}
		ep.APIEndpoint = strings.TrimRight(override, "/")
	}
	ep.CABundle = cfg.CAData
	if len(ep.CABundle) == 0 && cfg.CAFile != "" {
		b, err := os.ReadFile(cfg.CAFile)
		if err != nil {
			return ep, fmt.Errorf("read the CA file the kubeconfig names: %w", err)
		}
		ep.CABundle = b
	}
	if cfg.Proxy != nil {
		// A proxy from the kubeconfig's proxy-url: ask it for the endpoint's URL.
		u, _ := url.Parse(ep.APIEndpoint)
		if p, err := cfg.Proxy(&http.Request{URL: u}); err == nil && p != nil {
			ep.ProxyURL = p.String()
		}
	}
	return ep, nil
}

func sameServer(a, b string) bool {
	return strings.TrimRight(a, "/") == strings.TrimRight(b, "/")
}

// Join joins one member. Nothing is written until every check passed; if a
// write fails, what this run created is deleted again on both clusters.
func Join(ctx context.Context, req JoinRequest) (res *JoinResult, err error) {
	start := time.Now()
	res = &JoinResult{ClusterName: req.ClusterName}
	defer func() { res.Elapsed = time.Since(start) }()
	pre := req.Checked
	if pre == nil {
		if pre, err = Check(ctx, req); err != nil {
			return res, err
		}
	}
	res.Endpoint, res.Insecure = pre.Endpoint.APIEndpoint, pre.Endpoint.Insecure
	names := NamesFor(req.ClusterName, req.HostName)
	ns := req.KubeFedNamespace
	nsObj, sa, tokenSecret, rbac := memberObjects(names, ns, pre.Scope, !pre.NamespaceExists)

	if req.DryRun == DryRunClient {
		return res, res.collect(names, ns, req, pre, nsObj, sa, tokenSecret, rbac, []byte(RedactedToken))
	}
	member := &writer{client: req.Member.Dynamic, raw: req.Member.raw, dryRun: req.DryRun == DryRunServer, before: pre.memberBefore}
	if nsObj != nil {
		member.absentNamespace = ns
	}
	host := &writer{client: req.Host.Dynamic, raw: req.Host.raw, dryRun: req.DryRun == DryRunServer, before: pre.hostBefore}
	defer func() {
		if err != nil {
			// Host first: a KubeFedCluster must never point at a half-removed member.
			hostLeft, hostErrs := host.rollback()
			memberLeft, memberErrs := member.rollback()
			if errs := append(hostErrs, memberErrs...); len(errs) > 0 {
				rb := &RollbackError{Err: err, Cause: errs[0]}
				for _, r := range hostLeft {
					rb.Left = append(rb.Left, "host: "+r.String())
				}
				for _, r := range memberLeft {
					rb.Left = append(rb.Left, "member: "+r.String())
				}
				err = rb
			}
		}
	}()
	step := func(cluster string, obj any, write func(context.Context, any) (Outcome, error)) error {
		s, err := writeStep(ctx, cluster, obj, write)
		if err != nil {
			return err
		}
		res.Steps = append(res.Steps, s)
		return nil
	}
	if nsObj != nil {
		if err := step("member", nsObj, member.createIfMissing); err != nil {
			return res, err
		}
	}
	// The token Secret needs its ServiceAccount (the token controller
	// deletes a token whose account it does not know), a binding its role;
	// the two chains need nothing of each other.
	chains := [][]any{{sa, tokenSecret}}
	for i := 0; i < len(rbac); i += 2 {
		chains = append(chains, rbac[i:min(i+2, len(rbac))])
	}
	steps, err := writeChains(ctx, "member", member.apply, chains)
	res.Steps = append(res.Steps, steps...)
	if err != nil {
		return res, err
	}
	token := []byte(RedactedToken)
	if req.DryRun == DryRunNone {
		if token, err = waitForToken(ctx, req.Member, ns, names.TokenSecret, req.TokenTimeout); err != nil {
			return res, &StepError{"member: wait for service-account token", err}
		}
	}
	hostSecret, kfc := hostObjects(names, ns, req.Member.Context, pre.Endpoint, token, req.Labels)
	if err := step("host", hostSecret, host.apply); err != nil {
		return res, err
	}
	if err := step("host", kfc, host.apply); err != nil {
		return res, err
	}
	if req.DryRun == DryRunServer {
		return res, res.collect(names, ns, req, pre, nsObj, sa, tokenSecret, rbac, []byte(RedactedToken))
	}
	return res, nil
}

// writeStep writes one object and names it in its Step or error.
func writeStep(ctx context.Context, cluster string, obj any, write func(context.Context, any) (Outcome, error)) (Step, error) {
	u, _ := toUnstructured(obj)
	what := describe(u.GetKind(), u.GetNamespace(), u.GetName())
	out, err := write(ctx, obj)
	if err != nil {
		return Step{}, &StepError{fmt.Sprintf("%s: %s", cluster, what), err}
	}
	return Step{Cluster: cluster, Object: what, Outcome: out}, nil
}

// StepErrors are steps written side by side that failed, in step order.
type StepErrors []*StepError

func (e StepErrors) Error() string {
	s := make([]string, len(e))
	for i, err := range e {
		s[i] = err.Error()
	}
	return strings.Join(s, "; ")
}

func (e StepErrors) Unwrap() []error {
	out := make([]error, len(e))
	for i, err := range e {
		out[i] = err
	}
	return out
}

// writeChains writes the chains side by side, each chain's objects in
// order. Once a step fails no chain starts another step, but the writes in
// flight are let finish, so that what they create is known and rolled back.
// The steps come back in chain order, as if written one after the other.
func writeChains(ctx context.Context, cluster string, write func(context.Context, any) (Outcome, error), chains [][]any) ([]Step, error) {
	type slot struct {
		step Step
		err  error
		done bool
	}
	slots := make([][]slot, len(chains))
	var failed atomic.Bool
	var g errgroup.Group
	for i, chain := range chains {
		slots[i] = make([]slot, len(chain))
		g.Go(func() error {
			for j, obj := range chain {
				if failed.Load() {
					return nil
				}
				s, err := writeStep(ctx, cluster, obj, write)
				slots[i][j] = slot{step: s, err: err, done: true}
				if err != nil {
					failed.Store(true)
					return nil
				}
			}
			return nil
		})
	}
	_ = g.Wait()
	var steps []Step
	var errs StepErrors
	for _, chain := range slots {
		for _, s := range chain {
			switch {
			case s.err != nil:
				errs = append(errs, s.err.(*StepError))
			case s.done:
				steps = append(steps, s.step)
			}
		}
	}
	switch len(errs) {
	case 0:
		return steps, nil
	case 1:
		return steps, errs[0]
	}
	return steps, errs
}

// collect fills Objects for --dry-run output, with the token redacted.
func (r *JoinResult) collect(names Names, ns string, req JoinRequest, pre *Preflight, objs ...any) error {
	token := objs[len(objs)-1].([]byte)
	var flat []any
	for _, o := range objs[:len(objs)-1] {
		switch v := o.(type) {
		case []any:
			flat = append(flat, v...)
		case *corev1.Namespace:
			if v != nil {
				flat = append(flat, v)
			}
		default:
			flat = append(flat, v)
		}
	}
	hostSecret, kfc := hostObjects(names, ns, req.Member.Context, pre.Endpoint, token, req.Labels)
	hostSecret.Data = nil
	hostSecret.StringData = map[string]string{"token": RedactedToken}
	flat = append(flat, hostSecret, kfc)
	for _, o := range flat {
		u, err := toUnstructured(o)
		if err != nil {
			return err
		}
		r.Objects = append(r.Objects, u)
	}
	return nil
}

// waitForToken watches the token Secret until the token controller fills it.
// A watch, not a poll: the token usually arrives within milliseconds, and is
// often there at the first read already.
func waitForToken(ctx context.Context, member *Cluster, ns, name string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	token, err := watchToken(ctx, member.Client.CoreV1().Secrets(ns), name)
	switch {
	case err == nil:
		return token, nil
	case errors.Is(ctx.Err(), context.Canceled):
		// Ctrl-C, not a missing token controller.
		return nil, fmt.Errorf("interrupted while waiting for the token in secret %s/%s: %w", ns, name, context.Canceled)
	case ctx.Err() != nil:
		// The watch retries quietly: ask the member whether it still answers.
		vctx, vcancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer vcancel()
		if _, verr := member.Client.Discovery().RESTClient().Get().AbsPath("/version").Do(vctx).Raw(); verr != nil {
			return nil, fmt.Errorf("no token in secret %s/%s after %s: the member stopped answering (%v)", ns, name, timeout, verr)
		}
		return nil, fmt.Errorf("no token in secret %s/%s after %s: the member's token controller (kube-controller-manager with --service-account-private-key-file) is not running", ns, name, timeout)
	}
	return nil, err
}

// watchToken lists the Secret by name and, while it has no token, watches
// it from there; a failed read or a watch that ends is retried (as a
// reflector would) until ctx ends. It is a list and a watch of its own rather
// than an informer's, whose start and stop cost more than the wait.
func watchToken(ctx context.Context, secrets typedcorev1.SecretInterface, name string) ([]byte, error) {
	selector := fields.OneTermEqualSelector("metadata.name", name).String()
	tokenOf := func(obj runtime.Object) []byte {
		if s, ok := obj.(*corev1.Secret); ok {
			return s.Data[corev1.ServiceAccountTokenKey]
		}
		return nil
	}
	for {
		list, err := secrets.List(ctx, metav1.ListOptions{FieldSelector: selector})
		if err == nil {
			for i := range list.Items {
				if t := tokenOf(&list.Items[i]); len(t) > 0 {
					return t, nil
				}
			}
			w, err := secrets.Watch(ctx, metav1.ListOptions{FieldSelector: selector, ResourceVersion: list.ResourceVersion, AllowWatchBookmarks: true})
			if err == nil {
				t := func() []byte {
					defer w.Stop()
					for {
						select {
						case <-ctx.Done():
							return nil
						case ev, ok := <-w.ResultChan():
							if !ok || ev.Type == watch.Error {
								return nil
							}
							if t := tokenOf(ev.Object); len(t) > 0 {
								return t
							}
						}
					}
				}()
				if len(t) > 0 {
					return t, nil
				}
			}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}
