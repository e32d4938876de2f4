package federation

import (
	"context"
	"fmt"
	"strings"
	"sync"

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

// deniedPermissions asks the cluster, as the user (impersonation included),
// about each permission and returns the ones refused. A cluster that cannot
// answer a review is not judged here: the writes will say what it refuses.
func deniedPermissions(ctx context.Context, c kubernetes.Interface, want []permission) []permission {
	allowed := make([]bool, len(want))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 8)
	for i, p := range want {
		wg.Go(func() {
			sem <- struct{}{}
			defer func() { <-sem }()
			r, err := c.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{
				Spec: authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: &authorizationv1.ResourceAttributes{
					Namespace: p.namespace, Verb: p.verb, Group: p.group, Resource: p.resource,
				}},
			}, metav1.CreateOptions{})
			allowed[i] = err != nil || r.Status.Allowed
		})
	}
	wg.Wait()
	var denied []permission
	for i, ok := range allowed {
		if !ok {
			denied = append(denied, want[i])
		}
	}
	return denied
}

// checkPermissions reports, in one error, every permission join lacks on
// either cluster, before anything is written.
func checkPermissions(ctx context.Context, req JoinRequest, scope string, createNamespace bool) error {
	hostWant, memberWant := joinPermissions(req.KubeFedNamespace, scope, createNamespace)
	var missing []string
	list := func(ps []permission) string {
		s := make([]string, len(ps))
		for i, p := range ps {
			s[i] = p.String()
		}
		return strings.Join(s, ", ")
	}
	if denied := deniedPermissions(ctx, req.Host.Client, hostWant); len(denied) > 0 {
		missing = append(missing, fmt.Sprintf("on the host (context %q) you may not %s", req.Host.Context, list(denied)))
	}
	if denied := deniedPermissions(ctx, req.Member.Client, memberWant); len(denied) > 0 {
		missing = append(missing, fmt.Sprintf("on member %s (context %q) you may not %s", req.ClusterName, req.Member.Context, list(denied)))
	}
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%s (docs/rbac.md lists what join needs)", strings.Join(missing, "; "))
}
