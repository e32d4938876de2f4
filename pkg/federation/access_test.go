package federation

import (
	"context"
	"errors"
	"strings"
	"testing"

	authorizationv1 "k8s.io/api/authorization/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/kubernetes/fake"
	"k8s.io/client-go/rest"
	k8stesting "k8s.io/client-go/testing"
)

// fakeAuthz answers SelfSubjectAccessReviews, denying the listed "verb resource".
func fakeAuthz(deny ...string) *fake.Clientset {
	c := fake.NewClientset()
	c.PrependReactor("create", "selfsubjectaccessreviews", func(a k8stesting.Action) (bool, runtime.Object, error) {
		r := a.(k8stesting.CreateAction).GetObject().(*authorizationv1.SelfSubjectAccessReview)
		attr := r.Spec.ResourceAttributes
		r.Status.Allowed = true
		if attr.Verb == "*" && attr.Resource == "*" {
			// Everything is allowed only to someone denied nothing.
			r.Status.Allowed = len(deny) == 0
		}
		for _, d := range deny {
			if d == attr.Verb+" "+attr.Resource {
				r.Status.Allowed = false
			}
		}
		return true, r, nil
	})
	return c
}

func TestCheckPermissionsNamesWhatIsMissingOnEachSide(t *testing.T) {
	req := JoinRequest{
		Host:             &Cluster{Context: "openmcp", Config: &rest.Config{}, Client: fakeAuthz("patch secrets")},
		Member:           &Cluster{Context: "admin@c1", Config: &rest.Config{}, Client: fakeAuthz("escalate clusterroles", "bind clusterroles")},
		ClusterName:      "c1",
		KubeFedNamespace: "kube-federation-system",
	}
	err := checkPermissions(context.Background(), req, "Cluster", true)
	if err == nil {
		t.Fatal("no error")
	}
	for _, want := range []string{
		`on the host (context "openmcp") you may not patch secrets in kube-federation-system`,
		`on member c1 (context "admin@c1") you may not escalate clusterroles.rbac.authorization.k8s.io, bind clusterroles.rbac.authorization.k8s.io`,
		"docs/rbac.md",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%q lacks %q", err, want)
		}
	}
	req.Host.Client, req.Member.Client = fakeAuthz(), fakeAuthz()
	if err := checkPermissions(context.Background(), req, "Cluster", true); err != nil {
		t.Errorf("all allowed: %v", err)
	}
}

func TestJoinPermissionsFollowScopeAndNamespace(t *testing.T) {
	has := func(ps []permission, s string) bool {
		for _, p := range ps {
			if p.String() == s {
				return true
			}
		}
		return false
	}
	_, member := joinPermissions("kfs", "Cluster", false)
	if has(member, "create namespaces") || has(member, "create roles.rbac.authorization.k8s.io in kfs") || !has(member, "watch secrets in kfs") {
		t.Errorf("cluster scope, namespace present: %v", member)
	}
	_, member = joinPermissions("kfs", "Namespaced", true)
	if !has(member, "create namespaces") || !has(member, "delete namespaces") || !has(member, "escalate roles.rbac.authorization.k8s.io in kfs") {
		t.Errorf("namespaced scope, namespace missing: %v", member)
	}
}

func TestRollbackErrorNamesWhatWasLeft(t *testing.T) {
	err := &RollbackError{Err: &StepError{"host: KubeFedCluster x", context.DeadlineExceeded}, Left: []string{"host: Secret kfs/x-kubefed-token"}, Cause: context.Canceled}
	if msg := err.Error(); !strings.Contains(msg, "left behind host: Secret kfs/x-kubefed-token") || !strings.Contains(msg, "KubeFedCluster x") {
		t.Errorf("%q", msg)
	}
	var se *StepError
	if !errors.As(err, &se) {
		t.Error("RollbackError must unwrap to the step that failed")
	}
}
