package e2e

import (
	"strings"
	"testing"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// The stack itself: every cluster answers through the generated kubeconfig,
// and the real KubeFed controller turns a hand-made KubeFedCluster Ready.
func TestSandboxFederationWorks(t *testing.T) {
	start := time.Now()
	fed := sandbox.Start(t, sandbox.Options{Members: 2, KubeFed: true})
	t.Logf("federation of a host and 2 members up in %s", time.Since(start).Round(time.Millisecond))

	for _, ctx := range []string{"openmcp", "cluster1", "cluster2"} {
		res := fed.Exec(t, kubectl(), "get", "namespaces", "--context", ctx, "-o", "name")
		if res.Code != 0 {
			t.Fatalf("kubectl get ns --context %s: exit %d: %s", ctx, res.Code, res.Stderr)
		}
		if !strings.Contains(res.Stdout, "namespace/kube-system") {
			t.Errorf("context %s: namespaces %q lack kube-system", ctx, res.Stdout)
		}
	}
	// The host has KubeFed's and OpenMCP's namespaces; members do not.
	host := fed.Exec(t, kubectl(), "get", "namespaces", "--context", "openmcp", "-o", "name").Stdout
	for _, ns := range []string{"namespace/kube-federation-system", "namespace/openmcp"} {
		if !strings.Contains(host, ns) {
			t.Errorf("host lacks %s: %q", ns, host)
		}
	}
	crds := fed.Exec(t, kubectl(), "get", "crd", "--context", "openmcp", "-o", "name").Stdout
	for _, crd := range []string{"kubefedclusters.core.kubefed.io", "openmcpdeployments.openmcp.k8s.io", "openmcppolicys.openmcp.k8s.io"} {
		if !strings.Contains(crds, crd) {
			t.Errorf("host lacks CRD %s", crd)
		}
	}

	fed.JoinForTest(t, "cluster1")
	joined := time.Now()
	obj := waitClusterReady(t, fed, "cluster1", "True", 60*time.Second)
	t.Logf("KubeFedCluster cluster1 Ready=True %s after it was created", time.Since(joined).Round(time.Millisecond))
	if v, _, _ := unstructuredString(obj, "status", "kubernetesVersion"); !strings.HasPrefix(v, "v1.37") {
		t.Errorf("KubeFed reports kubernetesVersion %q, want v1.37.x", v)
	}
}
