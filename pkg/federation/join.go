package federation

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"time"

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
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

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
}

// NewCluster makes the clients for a REST config.
func NewCluster(contextName string, cfg *rest.Config) (*Cluster, error) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Cluster{Context: contextName, Config: cfg, Client: client, Dynamic: dyn}, nil
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
}

// Check runs every check of a join without changing anything.
func Check(ctx context.Context, req JoinRequest) (*Preflight, error) {
	if err := ValidateClusterName(req.ClusterName); err != nil {
		return nil, &StepError{"check cluster name", err}
	}
	scope, err := KubeFedScope(ctx, req.Host, req.KubeFedNamespace)
	if err != nil {
		return nil, &StepError{"check host", err}
	}
	p := &Preflight{Scope: scope}
	if p.Endpoint, err = endpointOf(req.Member.Config, req.APIEndpoint); err != nil {
		return nil, &StepError{"check member", err}
	}
	if _, err := req.Member.Client.Discovery().ServerVersion(); err != nil {
		return nil, &StepError{"check member", fmt.Errorf("member context %q does not answer at %s: %w", req.Member.Context, req.Member.Config.Host, err)}
	}
	ns, err := req.Member.Client.CoreV1().Namespaces().Get(ctx, req.KubeFedNamespace, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, &StepError{"check member", fmt.Errorf("read namespace %s on member %q: %w", req.KubeFedNamespace, req.Member.Context, err)}
	case ns.DeletionTimestamp != nil:
		// omcpctl force-finalised such namespaces silently, losing whatever the
		// finalizers guarded; say what blocks it instead.
		return nil, &StepError{"check member", fmt.Errorf("namespace %s on member %q is Terminating (left by an earlier unjoin; finalizers %v): wait for it to go, or find what holds it with `kubectl get ns %s -o yaml --context %s`, then join again",
			req.KubeFedNamespace, req.Member.Context, ns.Spec.Finalizers, req.KubeFedNamespace, req.Member.Context)}
	default:
		p.NamespaceExists = true
	}
	existing, err := req.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(req.KubeFedNamespace).Get(ctx, req.ClusterName, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		return nil, &StepError{"check host", fmt.Errorf("read KubeFedCluster %s: %w", req.ClusterName, err)}
	default:
		ep, _, _ := unstructured.NestedString(existing.Object, "spec", "apiEndpoint")
		if ep != p.Endpoint.APIEndpoint && !req.Overwrite {
			return nil, &StepError{"check cluster name", fmt.Errorf("cluster name %q is taken by a cluster at %s (this context is at %s): pick another --cluster-name, or pass --overwrite to replace it", req.ClusterName, ep, p.Endpoint.APIEndpoint)}
		}
		p.Existing = existing
	}
	p.MemberIsHost = sameServer(req.Host.Config.Host, req.Member.Config.Host)
	// A client dry run writes nothing: it may show the objects to someone
	// who could not write them.
	if req.DryRun != DryRunClient {
		if err := checkPermissions(ctx, req, scope, !p.NamespaceExists); err != nil {
			return nil, &StepError{"check permissions", err}
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
	member := &writer{client: req.Member.Dynamic, dryRun: req.DryRun == DryRunServer}
	if nsObj != nil {
		member.absentNamespace = ns
	}
	host := &writer{client: req.Host.Dynamic, dryRun: req.DryRun == DryRunServer}
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
		u, _ := toUnstructured(obj)
		what := describe(u.GetKind(), u.GetNamespace(), u.GetName())
		out, err := write(ctx, obj)
		if err != nil {
			return &StepError{fmt.Sprintf("%s: %s", cluster, what), err}
		}
		res.Steps = append(res.Steps, Step{Cluster: cluster, Object: what, Outcome: out})
		return nil
	}
	if nsObj != nil {
		if err := step("member", nsObj, member.createIfMissing); err != nil {
			return res, err
		}
	}
	for _, obj := range []any{sa, tokenSecret} {
		if err := step("member", obj, member.apply); err != nil {
			return res, err
		}
	}
	for _, obj := range rbac {
		if err := step("member", obj, member.apply); err != nil {
			return res, err
		}
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
// A watch, not a poll: the token usually arrives within milliseconds.
func waitForToken(ctx context.Context, member *Cluster, ns, name string, timeout time.Duration) ([]byte, error) {
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	secrets := member.Client.CoreV1().Secrets(ns)
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			return secrets.List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", name).String()
			return secrets.Watch(ctx, o)
		},
	}
	var token []byte
	_, err := watchtools.UntilWithSync(ctx, lw, &corev1.Secret{}, nil, func(ev watch.Event) (bool, error) {
		if s, ok := ev.Object.(*corev1.Secret); ok && len(s.Data[corev1.ServiceAccountTokenKey]) > 0 {
			token = s.Data[corev1.ServiceAccountTokenKey]
			return true, nil
		}
		return false, nil
	})
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
