package federation

import (
	"strings"
	"testing"

	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/client-go/rest"
)

func TestNamesForSanitisesContextNames(t *testing.T) {
	n := NamesFor("cluster1", "kubernetes-admin@Kubernetes")
	if n.ServiceAccount != "cluster1-kubernetes-admin-kubernetes" {
		t.Errorf("service account %q", n.ServiceAccount)
	}
	long := NamesFor("c", strings.Repeat("x", 100))
	if len(long.ServiceAccount) > 63 || len(long.TokenSecret) > 63 {
		t.Errorf("names longer than a DNS label: %q %q", long.ServiceAccount, long.TokenSecret)
	}
}

func TestValidation(t *testing.T) {
	for _, ok := range []string{"cluster1", "seoul-1", "a"} {
		if err := ValidateClusterName(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"", "Cluster1", "a_b", "-a", strings.Repeat("a", 64), "a.b"} {
		if err := ValidateClusterName(bad); err == nil || !strings.Contains(err.Error(), "DNS-1123") {
			t.Errorf("%q accepted (err %v)", bad, err)
		}
	}
	for _, ok := range []string{"https://1.2.3.4:6443", "https://api.example.com", "http://127.0.0.1:8001/"} {
		if err := ValidateAPIEndpoint(ok); err != nil {
			t.Errorf("%q refused: %v", ok, err)
		}
	}
	for _, bad := range []string{"1.2.3.4:6443", "ftp://x", "https://", "https://x/api/v1"} {
		if err := ValidateAPIEndpoint(bad); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestMemberRBACFollowsScope(t *testing.T) {
	n := NamesFor("c1", "host")
	_, _, _, cluster := memberObjects(n, "kube-federation-system", "Cluster", true)
	if len(cluster) != 2 {
		t.Fatalf("Cluster scope: %d RBAC objects, want ClusterRole + binding", len(cluster))
	}
	_, _, _, namespaced := memberObjects(n, "kube-federation-system", "Namespaced", true)
	if len(namespaced) != 4 {
		t.Fatalf("Namespaced scope: %d RBAC objects, want Role, RoleBinding, health ClusterRole, binding", len(namespaced))
	}
	health := namespaced[2].(*rbacv1.ClusterRole)
	if len(health.Rules) != 1 || health.Rules[0].NonResourceURLs[0] != "/healthz" || len(health.Rules[0].Resources) != 0 {
		t.Errorf("the cluster-wide role of a Namespaced join grants more than /healthz: %+v", health.Rules)
	}
}

func TestEndpointOfCarriesCAAndInsecure(t *testing.T) {
	ep, err := endpointOf(&rest.Config{Host: "https://1.2.3.4:6443/", TLSClientConfig: rest.TLSClientConfig{CAData: []byte("ca"), Insecure: true}}, "")
	if err != nil || ep.APIEndpoint != "https://1.2.3.4:6443" || string(ep.CABundle) != "ca" || !ep.Insecure {
		t.Fatalf("%+v %v", ep, err)
	}
	ep, err = endpointOf(&rest.Config{Host: "https://10.0.0.1:6443"}, "https://203.0.113.10:6443")
	if err != nil || ep.APIEndpoint != "https://203.0.113.10:6443" {
		t.Fatalf("override: %+v %v", ep, err)
	}
}
