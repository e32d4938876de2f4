package e2e

import (
	"context"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

func demoNginx() string { return filepath.Join(sandbox.RepoRoot(), "test", "demo", "nginx.yaml") }

// deleteGone reports whether the host no longer has the object.
func deleteGone(t *testing.T, c *sandbox.Cluster, gvr schema.GroupVersionResource, ns, name string) bool {
	t.Helper()
	_, err := c.Dynamic.Resource(gvr).Namespace(ns).Get(context.Background(), name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatalf("get %s %s/%s: %v", gvr.Resource, ns, name, err)
	}
	return apierrors.IsNotFound(err)
}

// The demo's nginx placed as OpenMCP objects is deleted by the same file:
// a file naming an object the host lacks deletes nothing (exit 1), dry runs
// delete nothing, a directory and standard input work, and --ignore-not-found
// makes a second delete a no-op.
func TestDeleteOpenMCPPlaced(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	ctx := context.Background()
	if err := fed.Host.EnsureNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	odeploy, osvc := placeKind("OpenMCPDeployment").GVR(), placeKind("OpenMCPService").GVR()
	place := func() {
		t.Helper()
		if res := fed.OpenMCP(t, "place", "-n", "web", "-f", demoNginx()); res.Code != 0 {
			t.Fatalf("place: exit %d %s", res.Code, res.Stderr)
		}
	}
	place()
	rv := func() string {
		t.Helper()
		return placeGet(t, fed.Host, odeploy, "web", "nginx").GetResourceVersion() + "," + placeGet(t, fed.Host, osvc, "web", "nginx").GetResourceVersion()
	}
	before := rv()

	// One object of the file is not on the host: nothing is deleted.
	dir := t.TempDir()
	data, err := os.ReadFile(demoNginx())
	if err != nil {
		t.Fatal(err)
	}
	withGhost := placeWrite(t, dir, "ghost.yaml", string(data)+"---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: ghost}\ndata: {k: v}\n")
	res := fed.OpenMCP(t, "delete", "-n", "web", "-f", withGhost)
	if res.Code != 1 {
		t.Errorf("delete with a missing object: exit %d, want 1", res.Code)
	}
	if want := `Error from server (NotFound): openmcpconfigmaps.openmcp.k8s.io "ghost" not found`; lines(res.Stderr)[0] != want {
		t.Errorf("first stderr line %q, want %q", lines(res.Stderr)[0], want)
	}
	if !strings.Contains(res.Stderr, "nothing was deleted: 1 of 3 objects not found") || res.Stdout != "" {
		t.Errorf("stdout %q stderr %q", res.Stdout, res.Stderr)
	}
	if got := rv(); got != before {
		t.Errorf("objects changed by a refused delete: %s -> %s", before, got)
	}

	// Dry runs, client and server, delete nothing.
	for dry, suffix := range map[string]string{"--dry-run=client": " (dry run)", "--dry-run=server": " (server dry run)"} {
		res = fed.OpenMCP(t, "delete", "-n", "web", "-f", demoNginx(), dry)
		want := "openmcpdeployment.openmcp.k8s.io \"nginx\" deleted" + suffix + "\nopenmcpservice.openmcp.k8s.io \"nginx\" deleted" + suffix + "\n"
		if res.Code != 0 || res.Stdout != want {
			t.Errorf("%s: exit %d stdout %q, want %q; stderr %q", dry, res.Code, res.Stdout, want, res.Stderr)
		}
	}
	if got := rv(); got != before {
		t.Errorf("a dry run changed the objects: %s -> %s", before, got)
	}

	// A directory, with --wait: OpenMCP's controllers do not run here, so
	// the members never had the Deployment and only the host takes time.
	placeWrite(t, dir, "nginx.yaml", string(data))
	sub := filepath.Join(dir, "only")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	placeWrite(t, sub, "nginx.yaml", string(data))
	res = fed.OpenMCP(t, "delete", "-n", "web", "-f", sub, "--wait", "--timeout", "30s")
	if res.Code != 0 {
		t.Fatalf("delete -f DIR --wait: exit %d %s", res.Code, res.Stderr)
	}
	if want := "openmcpdeployment.openmcp.k8s.io \"nginx\" deleted\nopenmcpservice.openmcp.k8s.io \"nginx\" deleted\n"; res.Stdout != want {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	for _, want := range []string{"waiting up to 30s for the objects to be gone from host, cluster1, cluster2", "  host: none left", "  cluster1: none left", "gone from host, cluster1, cluster2"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr %q lacks %q", res.Stderr, want)
		}
	}
	if !deleteGone(t, fed.Host, odeploy, "web", "nginx") || !deleteGone(t, fed.Host, osvc, "web", "nginx") {
		t.Error("host objects still there after delete")
	}

	// Again: not found, unless --ignore-not-found.
	res = fed.OpenMCP(t, "delete", "-n", "web", "-f", demoNginx())
	if res.Code != 1 || len(lines(res.Stderr)) != 3 || !strings.Contains(res.Stderr, `Error from server (NotFound): openmcpservices.openmcp.k8s.io "nginx" not found`) {
		t.Errorf("second delete: exit %d stderr %q", res.Code, res.Stderr)
	}
	res = fed.OpenMCP(t, "delete", "-n", "web", "-f", demoNginx(), "--ignore-not-found")
	if res.Code != 0 || res.Stdout != "" || res.Stderr != "" {
		t.Errorf("--ignore-not-found: exit %d stdout %q stderr %q", res.Code, res.Stdout, res.Stderr)
	}

	// Standard input, with the built binary as a user pipes into it.
	place()
	cmd := exec.Command(pluginBinary(t, "kubectl-openmcp"), "delete", "-n", "web", "-f", "-", "-o", "name")
	cmd.Env = append(os.Environ(), "KUBECONFIG="+fed.Kubeconfig, "HOME="+t.TempDir(), "NO_COLOR=1")
	cmd.Stdin = strings.NewReader(string(data))
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("delete -f -: %v (%s)", err, out)
	}
	if want := "openmcpdeployment.openmcp.k8s.io/nginx\nopenmcpservice.openmcp.k8s.io/nginx\n"; string(out) != want {
		t.Errorf("delete -f - -o name: %q, want %q", out, want)
	}
	if !deleteGone(t, fed.Host, odeploy, "web", "nginx") || !deleteGone(t, fed.Host, osvc, "web", "nginx") {
		t.Error("host objects still there after delete -f -")
	}

	// Ctrl-C while the first DELETE is on its way: that one completes, the
	// second is never sent, and the last line says which is which.
	place()
	p := startFaultProxy(t, fed, fed.Host)
	routeContext(t, fed.Kubeconfig, sandbox.HostName, p.URL())
	held, release := make(chan struct{}), make(chan struct{})
	p.OnRequest(func(r *http.Request) {
		if r.Method == http.MethodDelete && strings.Contains(r.URL.Path, "/openmcpdeployments/") {
			close(held)
			<-release
		}
	})
	r := startBinary(t, fed, "kubectl-openmcp", "delete", "-n", "web", "-f", demoNginx())
	select {
	case <-held:
	case <-r.done:
		t.Fatalf("delete ended (exit %d) before its first DELETE: %q", r.code, r.Stderr())
	case <-time.After(60 * time.Second):
		t.Fatalf("no DELETE within 60s; stderr %q", r.Stderr())
	}
	time.AfterFunc(300*time.Millisecond, func() { close(release) })
	if code := r.interrupt(t, 30*time.Second); code != 130 {
		t.Errorf("exit %d after Ctrl-C, want 130", code)
	}
	if got := r.Stdout(); got != "openmcpdeployment.openmcp.k8s.io \"nginx\" deleted\n" {
		t.Errorf("stdout %q", got)
	}
	last := lines(r.Stderr())
	if want := "interrupted: delete stopped: deleted: openmcpdeployment.openmcp.k8s.io/nginx; not deleted: openmcpservice.openmcp.k8s.io/nginx"; len(last) == 0 || last[len(last)-1] != want {
		t.Errorf("stderr %q, want last line %q", r.Stderr(), want)
	}
	if n := p.Count(http.MethodDelete, "/openmcpservices/"); n != 0 {
		t.Errorf("%d DELETEs of the OpenMCPService sent after Ctrl-C", n)
	}
	if !deleteGone(t, fed.Host, odeploy, "web", "nginx") || deleteGone(t, fed.Host, osvc, "web", "nginx") {
		t.Error("want the OpenMCPDeployment deleted and the OpenMCPService untouched")
	}
}

// With KubeFed's real controller propagating a FederatedDeployment and
// FederatedService to both members, delete --wait returns once the members'
// Deployments and Services are gone; the FederatedNamespace place made for
// the namespace stays, as the file does not name the namespace.
func TestDeleteKubeFedWaitsForMembers(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, KubeFed: true})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	waitClusterReady(t, fed, "cluster1", "True", 90*time.Second)
	waitClusterReady(t, fed, "cluster2", "True", 90*time.Second)
	ctx := context.Background()
	if err := fed.Host.EnsureNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	if res := fed.OpenMCP(t, "enable", "deployments", "services", "namespaces"); res.Code != 0 {
		t.Fatalf("enable: exit %d %s", res.Code, res.Stderr)
	}
	nginx := placeWrite(t, t.TempDir(), "nginx.yaml", placeNginx)
	res := fed.OpenMCP(t, "place", "-f", nginx, "--federation", "kubefed")
	if res.Code != 0 || !strings.Contains(res.Stdout, "federatednamespace.types.kubefed.io/web created") {
		t.Fatalf("place: exit %d %q %s", res.Code, res.Stdout, res.Stderr)
	}
	for _, m := range fed.Members {
		err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 120*time.Second, true, func(ctx context.Context) (bool, error) {
			_, errD := m.Client.AppsV1().Deployments("web").Get(ctx, "nginx", metav1.GetOptions{})
			_, errS := m.Client.CoreV1().Services("web").Get(ctx, "nginx", metav1.GetOptions{})
			return errD == nil && errS == nil, nil
		})
		if err != nil {
			t.Fatalf("KubeFed never propagated web/nginx to %s", m.Name)
		}
	}

	start := time.Now()
	res = fed.OpenMCP(t, "delete", "-f", nginx, "--federation", "kubefed", "--wait", "--timeout", "2m")
	took := time.Since(start)
	if res.Code != 0 {
		t.Fatalf("delete --wait: exit %d\nstdout %s\nstderr %s", res.Code, res.Stdout, res.Stderr)
	}
	t.Logf("delete --wait took %s; stderr:\n%s", took.Round(time.Millisecond), res.Stderr)
	if want := "federateddeployment.types.kubefed.io \"nginx\" deleted\nfederatedservice.types.kubefed.io \"nginx\" deleted\n"; res.Stdout != want {
		t.Errorf("stdout %q, want %q", res.Stdout, want)
	}
	for _, want := range []string{"waiting up to 2m0s for the objects to be gone from host, cluster1, cluster2", "  cluster1: none left", "  cluster2: none left", "gone from host, cluster1, cluster2"} {
		if !strings.Contains(res.Stderr, want) {
			t.Errorf("stderr lacks %q", want)
		}
	}
	// When --wait returns, no member runs them, at once, without polling.
	for _, m := range fed.Members {
		if _, err := m.Client.AppsV1().Deployments("web").Get(ctx, "nginx", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s still has Deployment web/nginx: %v", m.Name, err)
		}
		if _, err := m.Client.CoreV1().Services("web").Get(ctx, "nginx", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			t.Errorf("%s still has Service web/nginx: %v", m.Name, err)
		}
		if _, err := m.Client.CoreV1().Namespaces().Get(ctx, "web", metav1.GetOptions{}); err != nil {
			t.Errorf("%s lost namespace web, which the file does not name: %v", m.Name, err)
		}
	}
	fedGVR := func(r string) schema.GroupVersionResource {
		return schema.GroupVersionResource{Group: "types.kubefed.io", Version: "v1beta1", Resource: r}
	}
	if !deleteGone(t, fed.Host, fedGVR("federateddeployments"), "web", "nginx") || !deleteGone(t, fed.Host, fedGVR("federatedservices"), "web", "nginx") {
		t.Error("Federated objects still on the host after --wait")
	}
	if deleteGone(t, fed.Host, fedGVR("federatednamespaces"), "web", "web") {
		t.Error("the FederatedNamespace place made was deleted, though the file does not name the namespace")
	}
}
