package kubeconfig

import (
	"strings"
	"testing"

	"k8s.io/apimachinery/pkg/runtime"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Each field a hostile MCKS server could add is refused by its kubeconfig
// name; the inline data MCKS really sends is accepted.
func TestUnsafeFieldsNamesEveryFieldBeyondInlineData(t *testing.T) {
	cfg, err := Rename(mcksKubeconfig("https://203.0.113.5:6443"), "c1")
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthInfos["c1-admin"].Token = "a-token"
	cfg.Contexts["c1"].Namespace = "dev"
	if got := UnsafeFields(cfg); len(got) != 0 {
		t.Fatalf("MCKS's own kubeconfig refused: %v", got)
	}
	for want, set := range map[string]func(c *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, x *clientcmdapi.Context){
		`user "c1-admin": exec`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.Exec = &clientcmdapi.ExecConfig{Command: "/bin/sh"}
		},
		`user "c1-admin": auth-provider`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.AuthProvider = &clientcmdapi.AuthProviderConfig{Name: "oidc"}
		},
		`user "c1-admin": tokenFile`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.TokenFile = "/etc/shadow"
		},
		`user "c1-admin": client-key`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.ClientKey = "/root/.ssh/id_rsa"
		},
		`user "c1-admin": client-certificate`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.ClientCertificate = "/x"
		},
		`user "c1-admin": as`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.Impersonate = "system:admin"
		},
		`user "c1-admin": as-groups`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			u.ImpersonateGroups = []string{"system:masters"}
		},
		`user "c1-admin": username`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) { u.Username = "admin" },
		`user "c1-admin": password`: func(_ *clientcmdapi.Cluster, u *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) { u.Password = "pw" },
		`cluster "c1": certificate-authority`: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			c.CertificateAuthority = "/x"
		},
		`cluster "c1": proxy-url`: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			c.ProxyURL = "http://evil:3128"
		},
		`cluster "c1": insecure-skip-tls-verify`: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			c.InsecureSkipTLSVerify = true
		},
		`cluster "c1": tls-server-name`: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			c.TLSServerName = "evil"
		},
		`cluster "c1": server "http://203.0.113.5"`: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			c.Server = "http://203.0.113.5"
		},
		`cluster "c1": server holds a user name`: func(c *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, _ *clientcmdapi.Context) {
			c.Server = "https://u:p@203.0.113.5"
		},
		`context "c1": extensions`: func(_ *clientcmdapi.Cluster, _ *clientcmdapi.AuthInfo, x *clientcmdapi.Context) {
			x.Extensions = map[string]runtime.Object{"x": &runtime.Unknown{Raw: []byte("{}")}}
		},
	} {
		c := cfg.DeepCopy()
		set(c.Clusters["c1"], c.AuthInfos["c1-admin"], c.Contexts["c1"])
		got := UnsafeFields(c)
		if len(got) != 1 || !strings.HasPrefix(got[0], want) {
			t.Errorf("want one field %q, got %q", want, got)
		}
		msg := (&UnsafeError{Cluster: "c1", Fields: got}).Error()
		if strings.Contains(msg, "\n") || !strings.Contains(msg, want) || !strings.Contains(msg, "--allow-unsafe-fields") || !strings.Contains(msg, "--dry-run -o yaml") {
			t.Errorf("error %q", msg)
		}
	}
}
