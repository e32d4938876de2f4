package e2e

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/metallb"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// fingerprint names every object a command of this project could write, on
// every cluster, with its resourceVersion: equal fingerprints mean nothing
// was written.
func fingerprint(t *testing.T, fed *sandbox.Federation) string {
	t.Helper()
	ctx := context.Background()
	gvrs := []schema.GroupVersionResource{
		{Version: "v1", Resource: "namespaces"}, {Version: "v1", Resource: "nodes"},
		{Version: "v1", Resource: "secrets"}, {Version: "v1", Resource: "serviceaccounts"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
		{Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
		{Group: "apps", Version: "v1", Resource: "deployments"},
		fleet.KubeFedClusters, metallb.IPAddressPools,
	}
	for _, k := range openmcpapi.Kinds {
		gvrs = append(gvrs, k.GVR())
	}
	var out []string
	for _, c := range fed.Clusters() {
		for _, gvr := range gvrs {
			list, err := c.Dynamic.Resource(gvr).List(ctx, metav1.ListOptions{})
			if err != nil {
				continue // not served there
			}
			for _, i := range list.Items {
				out = append(out, fmt.Sprintf("%s/%s/%s/%s=%s", c.Name, gvr.Resource, i.GetNamespace(), i.GetName(), i.GetResourceVersion()))
			}
		}
		cms, err := c.Client.CoreV1().ConfigMaps(metallb.DefaultNamespace).List(ctx, metav1.ListOptions{})
		if err == nil {
			for _, i := range cms.Items {
				out = append(out, c.Name+"/configmap/"+i.Name+"="+i.ResourceVersion)
			}
		}
	}
	sort.Strings(out)
	return strings.Join(out, "\n")
}

// Bad input of every kind, command by command: exit code, one error line
// that quotes the bad value, and no object written on any cluster. (Join's
// own table is TestJoinRefusesBadInput; ranges, codes, manifests and MCKS
// answers have unit tables too: see docs/reliability.md.)
func TestCommandsRefuseBadInput(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, MetalLBCRDs: []string{"cluster1"}})
	fed.JoinForTest(t, "cluster1")
	fed.Member("cluster1").CreateNodes(t, sandbox.Node{Name: "c1-cp", Roles: []string{"control-plane"}, Ready: true})
	fed.Member("cluster2").CreateNodes(t, sandbox.Node{Name: "c2-cp", Roles: []string{"control-plane"}, Ready: true})
	webApp(t, fed.Member("cluster1"), "web", 1, 3)
	ctx := context.Background()
	if err := fed.Host.EnsureNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if res := fed.OpenMCP(t, "metallb", "cluster1", "--range", "10.0.3.241-10.0.3.250"); res.Code != 0 {
		t.Fatalf("metallb: %s", res.Stderr)
	}
	dir := t.TempDir()
	file := func(name, content string) string { return placeWrite(t, dir, name, content) }
	badKubeconfig := file("bad-kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{name: x, cluster: {server: [}}\n")
	notKubeconfig := file("not-kubeconfig", "\x00\x01\x02 binary")
	nginx := file("nginx.yaml", placeNginx)

	before := fingerprint(t, fed)
	cases := []struct {
		name string
		args []string
		code int
		want string
	}{
		// Contexts.
		{"unknown host context", []string{"get", "hpa", "--all-clusters", "--host-context", "nosuch"}, 1, `host context "nosuch" not found in kubeconfig`},
		{"blank host context", []string{"clusters", "--host-context", " "}, 1, "empty context name"},
		{"unknown member", []string{"get", "hpa", "--clusters", "nosuch"}, 1, `cluster "nosuch" is not joined`},
		{"label an unknown cluster", []string{"label", "nosuch", "--region", "AS", "--zone", "KR"}, 1, `"nosuch"`},
		{"metallb on an unknown cluster", []string{"metallb", "nosuch", "--range", "10.0.9.0/28"}, 1, `"nosuch"`},
		{"unjoin an empty name", []string{"unjoin", ""}, 2, `invalid cluster name ""`},
		// Kubeconfig files.
		{"malformed kubeconfig", []string{"clusters", "--kubeconfig", badKubeconfig}, 1, badKubeconfig},
		{"binary kubeconfig", []string{"join", "cluster1", "--kubeconfig", notKubeconfig}, 1, notKubeconfig},
		{"missing kubeconfig", []string{"get", "hpa", "--all-clusters", "--kubeconfig", filepath.Join(dir, "nope")}, 1, filepath.Join(dir, "nope")},
		// Names.
		{"cluster name with a dot", []string{"join", "cluster2", "--cluster-name", "c2.eu"}, 2, `invalid cluster name "c2.eu"`},
		{"cluster name of 64 characters", []string{"join", "cluster2", "--cluster-name", strings.Repeat("a", 64)}, 2, `invalid cluster name "` + strings.Repeat("a", 64) + `"`},
		{"unjoin a name that is no DNS label", []string{"unjoin", "Cluster_1"}, 2, `invalid cluster name "Cluster_1"`},
		// Region and zone codes.
		{"zone with a digit", []string{"label", "cluster1", "--region", "AS", "--zone", "K1"}, 2, `invalid zone "K1"`},
		{"region of three letters", []string{"label", "cluster2", "--region", "ASI", "--zone", "KR"}, 2, `invalid region "ASI"`},
		{"place with a bad region", []string{"place", "-f", nginx, "--region", "XX"}, 2, `invalid region "XX"`},
		{"join with a bad zone", []string{"join", "cluster2", "--region", "EU", "--zone", "UK"}, 2, `invalid zone "UK"`},
		// IP ranges.
		{"garbage range", []string{"metallb", "cluster2", "--range", "lots-of-ips"}, 2, `"lots-of-ips"`},
		{"half a range", []string{"metallb", "cluster2", "--range", "10.0.9.1-"}, 2, `"10.0.9.1-"`},
		{"prefix too long", []string{"metallb", "cluster2", "--range", "10.0.9.0/33"}, 2, `"10.0.9.0/33"`},
		{"reversed IPv6", []string{"metallb", "cluster2", "--range", "fd00::9-fd00::1"}, 2, `"fd00::9-fd00::1"`},
		{"two ranges that overlap", []string{"metallb", "cluster2", "--range", "10.0.8.0/28", "--range", "10.0.8.8-10.0.8.20"}, 2, "10.0.8.8-10.0.8.20"},
		{"range overlapping another member", []string{"metallb", "cluster2", "--range", "10.0.3.250-10.0.4.5"}, 1, "10.0.3.241-10.0.3.250"},
		{"join with a mixed-family range", []string{"join", "cluster2", "--metallb-range", "10.0.9.1-fd00::1"}, 2, `"10.0.9.1-fd00::1"`},
		// Manifests.
		{"not YAML", []string{"place", "-f", file("notyaml.yaml", "kind: Deployment\nmetadata: {name: x\nspec: [\n")}, 1, "notyaml.yaml"},
		{"not JSON", []string{"place", "-f", file("bad.json", `{"kind": "Deployment", "apiVersion": "apps/v1", "metadata": {"name": `)}, 1, "bad.json"},
		{"second document not YAML", []string{"place", "-f", file("two.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: fine, namespace: web}\n---\nkind: [unclosed\n")}, 1, "two.yaml, document 2"},
		{"unknown kind of a CRD", []string{"place", "-f", file("crd-kind.yaml", "apiVersion: example.com/v1\nkind: Frobnicator\nmetadata: {name: x, namespace: web}\n")}, 1, "Frobnicator"},
		{"document without a kind", []string{"place", "-f", file("nokind.yaml", "apiVersion: v1\nmetadata: {name: x, namespace: web}\n")}, 1, "nokind.yaml"},
		{"OpenMCP replicas of the wrong type", []string{"place", "-f", file("odeploy.yaml", "apiVersion: openmcp.k8s.io/v1alpha1\nkind: OpenMCPDeployment\nmetadata: {name: w, namespace: web}\nspec:\n  replicas: \"3\"\n")}, 1, "spec.replicas"},
		{"OpenMCP clusters not a list", []string{"place", "-f", file("odeploy2.yaml", "apiVersion: openmcp.k8s.io/v1alpha1\nkind: OpenMCPDeployment\nmetadata: {name: w, namespace: web}\nspec:\n  clusters: cluster1\n")}, 1, "spec.clusters"},
		{"OpenMCPPolicy with a map for a list", []string{"place", "-f", file("opol.yaml", "apiVersion: openmcp.k8s.io/v1alpha1\nkind: OpenMCPPolicy\nmetadata: {name: p, namespace: openmcp}\nspec:\n  template:\n    spec:\n      policies: {type: x}\n")}, 1, "policies"},
		{"missing file", []string{"place", "-f", filepath.Join(dir, "nope.yaml")}, 1, "nope.yaml"},
		// Flags.
		{"negative cluster timeout", []string{"get", "hpa", "--all-clusters", "--cluster-timeout", "-1s"}, 2, "-1s"},
		{"garbage request timeout", []string{"get", "hpa", "--all-clusters", "--request-timeout", "soon"}, 2, `invalid --request-timeout "soon"`},
		{"zero max-parallel", []string{"clusters", "--max-parallel", "0"}, 2, "invalid --max-parallel 0"},
		{"zero cluster timeout for status", []string{"status", "odeploy/web", "--cluster-timeout", "0s"}, 2, "invalid --cluster-timeout 0s"},
		{"bad output format", []string{"clusters", "-o", "xml"}, 2, `"xml"`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			start := time.Now()
			res := fed.OpenMCP(t, tc.args...)
			checkRefusal(t, res, tc.code, tc.want)
			if time.Since(start) > 20*time.Second {
				t.Errorf("took %s: bad input must fail fast", time.Since(start))
			}
		})
	}
	if after := fingerprint(t, fed); after != before {
		t.Errorf("bad input changed the clusters:\n%s", diffLines(before, after))
	}

	// kubectl mcks: a bad kubeconfig, and MCKS answers that are HTML, truncated
	// JSON, a 500 or nothing at all, for the command that writes a kubeconfig.
	srv := mckstest.New(t)
	srv.AddCluster("default", mckstest.TwoCloudReq("c1"))
	kc := filepath.Join(dir, "user-kubeconfig")
	original, _ := os.ReadFile(fed.Kubeconfig)
	if err := os.WriteFile(kc, original, 0o600); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name  string
		fault mckstest.Fault
		want  string
	}{
		{"HTML page", mckstest.FaultHTMLGateway, `an HTML error page titled "502 Bad Gateway"`},
		{"HTML with 200", mckstest.FaultHTMLOK, "an HTML page instead of JSON"},
		{"truncated JSON", mckstest.FaultTruncated, "truncated JSON"},
		{"500", mckstest.Fault500Empty, "500 Internal Server Error"},
		{"no answer", mckstest.FaultHang, "no answer to GET /ns/default/clusters/c1 within 1s"},
	} {
		t.Run("mcks kubeconfig --merge, "+tc.name, func(t *testing.T) {
			srv.SetFault(http.MethodGet, "/ns/default/clusters/c1", tc.fault)
			res := fed.MCKS(t, "kubeconfig", "c1", "--merge", "--kubeconfig", kc, "--mcks-server", srv.URL(), "--request-timeout", "1s")
			checkRefusal(t, res, 1, tc.want)
			if got, _ := os.ReadFile(kc); string(got) != string(original) {
				t.Errorf("the kubeconfig changed")
			}
		})
	}
	for _, tc := range []struct {
		name, kubeconfig, want string
	}{
		{"malformed kubeconfig", badKubeconfig, badKubeconfig},
		{"unknown context", fed.Kubeconfig, `context "nosuch"`},
	} {
		t.Run("mcks nodes, "+tc.name, func(t *testing.T) {
			args := []string{"nodes", "--kubeconfig", tc.kubeconfig}
			if tc.kubeconfig == fed.Kubeconfig {
				args = append(args, "--context", "nosuch")
			}
			checkRefusal(t, fed.MCKS(t, args...), 1, tc.want)
		})
	}
}

// checkRefusal: the exit code, and one error line naming the bad value (a
// usage error adds kubectl's "See ... --help" hint; join adds "nothing was
// changed"; warnings may come before).
func checkRefusal(t *testing.T, res sandbox.Result, code int, want string) {
	t.Helper()
	if res.Code != code {
		t.Errorf("exit %d, want %d; stderr %q", res.Code, code, res.Stderr)
	}
	errLines := 0
	for _, l := range lines(res.Stderr) {
		if strings.HasPrefix(l, "error: ") {
			errLines++
		} else if !strings.HasPrefix(l, "See 'kubectl ") && !strings.HasPrefix(l, "Warning: ") && l != "nothing was changed" {
			t.Errorf("stray stderr line %q", l)
		}
	}
	if errLines != 1 {
		t.Errorf("%d error lines, want 1: %q", errLines, res.Stderr)
	}
	if !strings.Contains(res.Stderr, want) {
		t.Errorf("stderr %q lacks %q", res.Stderr, want)
	}
}

func diffLines(a, b string) string {
	in := map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		in[l] = true
	}
	var out []string
	for _, l := range strings.Split(b, "\n") {
		if !in[l] {
			out = append(out, "+ "+l)
		}
		delete(in, l)
	}
	for l := range in {
		out = append(out, "- "+l)
	}
	return strings.Join(out, "\n")
}
