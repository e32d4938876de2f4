package federation

import (
	"context"
	"fmt"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"
	authorizationv1 "k8s.io/api/authorization/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// permission is one thing join asks of the user's RBAC.
type permission struct {
	verb, group, resource, namespace string
}

func (p permission) String() string {
	r := p.resource
	if p.group != "" {
		r += "." + p.group
	}
	s := p.verb + " " + r
	if p.namespace != "" {
		s += " in " + p.namespace
	}
	return s
}

func perms(group, resource, ns string, verbs ...string) []permission {
	out := make([]permission, len(verbs))
	for i, v := range verbs {
		out[i] = permission{v, group, resource, ns}
	}
	return out
}

// joinPermissions is what join needs of the user on the host and on the
// member, including the deletes of a roll-back, as docs/rbac.md lists them.
// Granting KubeFed a ClusterRole the user may not hold needs escalate, and
// binding it needs bind.
func joinPermissions(ns, scope string, createNamespace bool) (host, member []permission) {
	const kubefed, rbac = "core.kubefed.io", "rbac.authorization.k8s.io"
	host = append(host, perms(kubefed, "kubefedclusters", ns, "get", "create", "patch", "delete")...)
	host = append(host, perms("", "secrets", ns, "get", "create", "patch", "delete")...)
	member = perms("", "namespaces", "", "get")
	if createNamespace {
		member = append(member, perms("", "namespaces", "", "create", "delete")...)
	}
	member = append(member, perms("", "serviceaccounts", ns, "get", "create", "patch", "delete")...)
	member = append(member, perms("", "secrets", ns, "get", "list", "watch", "create", "patch", "delete")...)
	member = append(member, perms(rbac, "clusterroles", "", "get", "create", "patch", "delete", "escalate", "bind")...)
	member = append(member, perms(rbac, "clusterrolebindings", "", "get", "create", "patch", "delete")...)
	if scope == "Namespaced" {
		member = append(member, perms(rbac, "roles", ns, "get", "create", "patch", "delete", "escalate", "bind")...)
		member = append(member, perms(rbac, "rolebindings", ns, "get", "create", "patch", "delete")...)
	}
	return host, member
}

// maxReviews bounds the access reviews in flight per cluster.
const maxReviews = 32

// reviews asks one cluster, as the user (impersonation included), about
// permissions, side by side, each once. start sends reviews without waiting,
// so the checks can ask before they know everything they will need.
type reviews struct {
	ctx context.Context
	c   kubernetes.Interface
	sem chan struct{}

	mu      sync.Mutex
	pending map[permission]*review
	// everything is the review of every verb on every resource everywhere
	// (cluster-admin and the like): allowed, it answers all the others.
	everything *review
}

type review struct {
	done    chan struct{}
	allowed bool
}

func newReviews(ctx context.Context, c kubernetes.Interface) *reviews {
	return &reviews{ctx: ctx, c: c, sem: make(chan struct{}, maxReviews), pending: map[permission]*review{}}
}

func (r *reviews) ask(p permission) (allowed bool, err error) {
	r.sem <- struct{}{}
	defer func() { <-r.sem }()
	res, err := r.c.AuthorizationV1().SelfSubjectAccessReviews().Create(r.ctx, &authorizationv1.SelfSubjectAccessReview{
		Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
			Namespace: p.namespace, Verb: p.verb, Group: p.group, Resource: p.resource,
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return false, err
	}
	return res.Status.Allowed, nil
}

// startEverything sends, once, the review of "*" on "*" cluster-wide.
// Called with r.mu held.
func (r *reviews) startEverything() {
	if r.everything != nil {
		return
	}
	rv := &review{done: make(chan struct{})}
	r.everything = rv
	go func() {
		defer close(rv.done)
		// Only a clear yes counts: anything else asks each permission.
		allowed, err := r.ask(permission{verb: "*", group: "*", resource: "*"})
		rv.allowed = err == nil && allowed
	}()
}

// start sends the reviews of want not yet sent.
func (r *reviews) start(want []permission) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.startEverything()
	everything := r.everything
	for _, p := range want {
		if r.pending[p] != nil {
			continue
		}
		rv := &review{done: make(chan struct{})}
		r.pending[p] = rv
		go func() {
			defer close(rv.done)
			// A user who may do everything (the usual admin context)
			// needs one review per cluster, not one per permission.
			if <-everything.done; everything.allowed {
				rv.allowed = true
				return
			}
			allowed, err := r.ask(p)
			rv.allowed = err != nil || allowed
		}()
	}
}

// denied returns, in order, the permissions of want the cluster refuses. A
// cluster that cannot answer a review is not judged here: the writes will
// say what it refuses.
func (r *reviews) denied(want []permission) []permission {
	r.start(want)
	var out []permission
	for _, p := range want {
		r.mu.Lock()
		rv := r.pending[p]
		r.mu.Unlock()
		<-rv.done
		if !rv.allowed {
			out = append(out, p)
		}
	}
	return out
}

// deniedPermissions asks the cluster, as the user (impersonation included),
// about each permission and returns the ones refused.
func deniedPermissions(ctx context.Context, c kubernetes.Interface, want []permission) []permission {
	return newReviews(ctx, c).denied(want)
}

// checkPermissions reports, in one error, every permission join lacks on
// either cluster, before anything is written. The two clusters are asked
// side by side.
func checkPermissions(ctx context.Context, req JoinRequest, scope string, createNamespace bool) error {
	hostWant, memberWant := joinPermissions(req.KubeFedNamespace, scope, createNamespace)
	var hostDenied, memberDenied []permission
	var g errgroup.Group
	g.Go(func() error { hostDenied = deniedPermissions(ctx, req.Host.Client, hostWant); return nil })
	g.Go(func() error { memberDenied = deniedPermissions(ctx, req.Member.Client, memberWant); return nil })
	_ = g.Wait()
	var missing []string
	list := func(ps []permission) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		return strings.Join(s, ", ")
	}
	if len(hostDenied) > 0 {
		missing = append(missing, fmt.Sprintf("on the host (context %q) you may not %s", req.Host.Context, list(hostDenied)))
	}
	if len(memberDenied) > 0 {
		missing = append(missing, fmt.Sprintf("on member %s (context %q) you may not %s", req.ClusterName, req.Member.Context, list(memberDenied)))
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s (docs/rbac.md lists what join needs)", strings.Join(missing, "; "))
}
