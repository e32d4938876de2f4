package e2e

import (
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authorizationv1 "k8s.io/api/authorization/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// documentedRoles reads the Roles and ClusterRoles of docs/rbac.md, so what
// the test grants is what the document says, word for word.
func documentedRoles(t *testing.T) map[string]*rbacv1.ClusterRole {
	t.Helper()
	doc, err := os.ReadFile(filepath.Join(sandbox.RepoRoot(), "docs", "rbac.md"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*rbacv1.ClusterRole{}
	for _, block := range strings.Split(string(doc), "```yaml\n")[1:] {
		block, _, _ = strings.Cut(block, "```")
		dec := yamlutil.NewYAMLOrJSONDecoder(strings.NewReader(block), 4096)
		for {
			var obj map[string]any
			if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
				break
			} else if err != nil {
				t.Fatalf("docs/rbac.md: %v", err)
			}
			var role rbacv1.ClusterRole // a Role has the same fields
			if err := runtime.DefaultUnstructuredConverter.FromUnstructured(obj, &role); err != nil {
				t.Fatalf("docs/rbac.md: %v", err)
			}
			out[role.Name] = &role
		}
	}
	return out
}

// grant binds user to rules on c: as a Role in ns, or a ClusterRole when ns is "".
func grant(t *testing.T, c *sandbox.Cluster, user, ns string, rules []rbacv1.PolicyRule) {
	t.Helper()
	ctx := context.Background()
	name := "test-" + user
	subjects := []rbacv1.Subject{{Kind: rbacv1.UserKind, APIGroup: rbacv1.GroupName, Name: user}}
	var err error
	if ns == "" {
		if _, err = c.Client.RbacV1().ClusterRoles().Create(ctx, &rbacv1.ClusterRole{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err == nil {
			_, err = c.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: name}, Subjects: subjects}, metav1.CreateOptions{})
		}
	} else {
		if _, err = c.Client.RbacV1().Roles(ns).Create(ctx, &rbacv1.Role{ObjectMeta: metav1.ObjectMeta{Name: name}, Rules: rules}, metav1.CreateOptions{}); err == nil {
			_, err = c.Client.RbacV1().RoleBindings(ns).Create(ctx, &rbacv1.RoleBinding{ObjectMeta: metav1.ObjectMeta{Name: name},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name}, Subjects: subjects}, metav1.CreateOptions{})
		}
	}
	if err != nil {
		t.Fatalf("%s: grant %s: %v", c.Name, user, err)
	}
	// RBAC reaches the authorizer's cache within moments: wait for the first rule.
	r := rules[0]
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 10*time.Second, true, func(ctx context.Context) (bool, error) {
		sar, err := c.Client.AuthorizationV1().SubjectAccessReviews().Create(ctx, &authorizationv1.SubjectAccessReview{Spec: authorizationv1.SubjectAccessReviewSpec{
			User: user, Groups: []string{"system:authenticated"},
			ResourceAttributes: &authorizationv1.ResourceAttributes{Namespace: ns, Verb: r.Verbs[0], Group: r.APIGroups[0], Resource: r.Resources[0]},
		}}, metav1.CreateOptions{})
		return err == nil && sar.Status.Allowed, nil
	})
	if err != nil {
		t.Fatalf("%s: the grant to %s never took effect", c.Name, user)
	}
}

// without returns rules with one verb taken away from one resource.
func without(rules []rbacv1.PolicyRule, resource, verb string) []rbacv1.PolicyRule {
	var out []rbacv1.PolicyRule
	for _, r := range rules {
		r = *r.DeepCopy()
		if len(r.Resources) == 1 && r.Resources[0] == resource {
			var verbs []string
			for _, v := range r.Verbs {
				if v != verb {
					verbs = append(verbs, v)
				}
			}
			r.Verbs = verbs
		}
		out = append(out, r)
	}
	return out
}

// A user with exactly the RBAC docs/rbac.md gives for join and for get
// --all-clusters succeeds; one with a permission less is refused in one line
// naming it, and nothing changes.
func TestDocumentedRBACIsEnough(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	roles := documentedRoles(t)
	for _, name := range []string{"openmcp-join-host", "openmcp-join-host-openmcp", "openmcp-join-member", "openmcp-get-host", "openmcp-get-member"} {
		if roles[name] == nil {
			t.Fatalf("docs/rbac.md has no role %s", name)
		}
	}
	ns := sandbox.KubeFedNamespace

	t.Run("join", func(t *testing.T) {
		grant(t, fed.Host, "joiner", ns, roles["openmcp-join-host"].Rules)
		grant(t, fed.Host, "joiner", "openmcp", roles["openmcp-join-host-openmcp"].Rules)
		grant(t, fed.Member("cluster1"), "joiner", "", roles["openmcp-join-member"].Rules)
		res := fed.OpenMCP(t, "join", "cluster1", "--as", "joiner")
		if res.Code != 0 || !strings.Contains(res.Stdout, "cluster/cluster1 joined") {
			t.Fatalf("join with the documented RBAC: exit %d %q %q", res.Code, res.Stdout, res.Stderr)
		}
		if got := memberFootprint(t, fed.Member("cluster1")); len(got) != 5 {
			t.Errorf("member after join: %v", got)
		}

		// No escalate on the member: refused before any write, naming it.
		grant(t, fed.Host, "joiner2", ns, roles["openmcp-join-host"].Rules)
		grant(t, fed.Member("cluster2"), "joiner2", "", without(roles["openmcp-join-member"].Rules, "clusterroles", "escalate"))
		res = fed.OpenMCP(t, "join", "cluster2", "--as", "joiner2")
		t.Logf("join without escalate: exit %d\n%s", res.Code, res.Stderr)
		if res.Code != 1 || !strings.Contains(res.Stderr, "escalate clusterroles") || !strings.Contains(res.Stderr, "cluster2") || !strings.Contains(res.Stderr, "nothing was changed") {
			t.Errorf("join without escalate: exit %d %q", res.Code, res.Stderr)
		}
		// No patch of Secrets on the host: the same.
		grant(t, fed.Host, "joiner3", ns, without(roles["openmcp-join-host"].Rules, "secrets", "patch"))
		grant(t, fed.Member("cluster2"), "joiner3", "", roles["openmcp-join-member"].Rules)
		res = fed.OpenMCP(t, "join", "cluster2", "--as", "joiner3")
		t.Logf("join without patch secrets on the host: exit %d\n%s", res.Code, res.Stderr)
		if res.Code != 1 || !strings.Contains(res.Stderr, "patch secrets") || !strings.Contains(res.Stderr, "host") {
			t.Errorf("join without patch secrets on the host: exit %d %q", res.Code, res.Stderr)
		}
		for _, l := range lines(res.Stderr) {
			if len(l) > 400 {
				t.Errorf("an error line of %d characters: %q", len(l), l)
			}
		}
		if got := memberFootprint(t, fed.Member("cluster2")); len(got) != 0 {
			t.Errorf("refused joins left %v on cluster2", got)
		}
		if got := hostKubeFedClusters(t, fed); strings.Join(got, ",") != "cluster1" {
			t.Errorf("KubeFedClusters %v", got)
		}
	})

	t.Run("get --all-clusters", func(t *testing.T) {
		fed.JoinForTest(t, "cluster2")
		webApp(t, fed.Member("cluster1"), "web", 1, 3)
		webApp(t, fed.Member("cluster2"), "web", 1, 4)
		grant(t, fed.Host, "reader", ns, roles["openmcp-get-host"].Rules)
		for _, m := range fed.Members {
			grant(t, m, "reader", "", roles["openmcp-get-member"].Rules)
			grant(t, m, "reader2", "", roles["openmcp-get-member"].Rules)
		}
		res := fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A", "--as", "reader")
		if res.Code != 0 || !strings.Contains(res.Stdout, "cluster1") || !strings.Contains(res.Stdout, "cluster2") || res.Stderr != "" {
			t.Errorf("get with the documented RBAC: exit %d\n%s%s", res.Code, res.Stdout, res.Stderr)
		}
		// reader2 may read the members but not list the host's KubeFedClusters.
		res = fed.OpenMCP(t, "get", "hpa", "--all-clusters", "-A", "--as", "reader2")
		t.Logf("get without list kubefedclusters: exit %d\n%s", res.Code, res.Stderr)
		if res.Code != 1 || len(lines(res.Stderr)) != 1 || !strings.Contains(res.Stderr, `cannot list resource "kubefedclusters" in API group "core.kubefed.io"`) {
			t.Errorf("get without list kubefedclusters: exit %d %q", res.Code, res.Stderr)
		}
	})
}

// A context that skips TLS verification is reported on stderr by join, get,
// clusters and status; one that verifies is not.
func TestInsecureContextsAreReported(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	cfg, err := clientcmd.LoadFromFile(fed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{sandbox.HostName, "cluster1"} {
		cfg.Clusters[c+"-insecure"] = &clientcmdapi.Cluster{Server: cfg.Clusters[c].Server, InsecureSkipTLSVerify: true}
		cfg.Contexts[c+"-insecure"] = &clientcmdapi.Context{Cluster: c + "-insecure", AuthInfo: cfg.Contexts[c].AuthInfo}
	}
	if err := clientcmd.WriteToFile(*cfg, fed.Kubeconfig); err != nil {
		t.Fatal(err)
	}
	webApp(t, fed.Member("cluster1"), "web", 1, 3)

	// The secure way first: no warning.
	res := fed.OpenMCP(t, "join", "cluster2")
	if res.Code != 0 || strings.Contains(res.Stderr, "TLS") {
		t.Errorf("secure join: exit %d, stderr %q", res.Code, res.Stderr)
	}
	res = fed.OpenMCP(t, "join", "cluster1-insecure", "--cluster-name", "c1", "--host-context", "openmcp-insecure")
	if res.Code != 0 {
		t.Fatalf("join: exit %d %q", res.Code, res.Stderr)
	}
	for _, want := range []string{`host context "openmcp-insecure" skips TLS verification`, `context "cluster1-insecure" skips TLS verification`} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("join: stderr %q lacks %q", res.Stderr, want)
		}
	}
	kfc := kubeFedCluster(t, fed, "c1")
	if v, _, _ := unstructured.NestedStringSlice(kfc.Object, "spec", "disabledTLSValidations"); strings.Join(v, ",") != "*" {
		t.Errorf("KubeFedCluster c1 disabledTLSValidations %v", v)
	}
	if kfc.GetAnnotations()[fleet.ContextAnnotation] != "cluster1-insecure" {
		t.Fatalf("c1 records context %q", kfc.GetAnnotations()[fleet.ContextAnnotation])
	}
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"get", "hpa", "-A", "--all-clusters"}, `context "cluster1-insecure" skips TLS verification`},
		{[]string{"get", "hpa", "-A", "--include-host", "--host-context", "openmcp-insecure"}, `host context "openmcp-insecure" skips TLS verification`},
		{[]string{"get", "hpa", "-A", "--all-clusters", "--use-federation-credentials"}, "cluster c1: its KubeFedCluster disables TLS validation"},
		{[]string{"clusters"}, `context "cluster1-insecure" skips TLS verification (insecure-skip-tls-verify) for cluster c1`},
	} {
		res := fed.OpenMCP(t, tc.args...)
		tlsLines := 0
		for _, l := range lines(res.Stderr) {
			if strings.Contains(l, "TLS") {
				tlsLines++
			}
		}
		if !strings.Contains(res.Stderr, tc.want) || tlsLines != 1 {
			t.Errorf("%v: exit %d, stderr %q; want one warning %q", tc.args, res.Code, res.Stderr, tc.want)
		}
	}
}
