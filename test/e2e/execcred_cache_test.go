package e2e

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	authenticationv1 "k8s.io/api/authentication/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// The credential cache across invocations, with the built binary: a member
// context authenticates through an exec plugin (test/bench/execplugin, built
// here) that returns a ServiceAccount token with an expiry and counts its
// runs. With --exec-credential-cache a second command spawns no plugin;
// without it, it spawns one again; once the token is revoked, the cached one
// draws a 401, its file is dropped and the plugin runs again, in the same
// command, which then succeeds.
func TestExecCredentialCacheAcrossInvocations(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 1})
	fed.JoinForTest(t, "cluster1")
	bin := pluginBinary(t, "kubectl-openmcp")
	dir := t.TempDir()
	plugin := filepath.Join(dir, "execplugin")
	build := exec.Command("go", "build", "-o", plugin, "./test/bench/execplugin")
	build.Dir = sandbox.RepoRoot()
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build the exec plugin: %v: %s", err, out)
	}
	ctx := context.Background()
	member := fed.Member("cluster1")

	// A ServiceAccount with cluster-admin, whose tokens die with it.
	newToken := func() string {
		t.Helper()
		sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "exec-cache", Namespace: "default"}}
		if _, err := member.Client.CoreV1().ServiceAccounts("default").Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Fatal(err)
		}
		hour := int64(3600)
		tr, err := member.Client.CoreV1().ServiceAccounts("default").CreateToken(ctx, "exec-cache",
			&authenticationv1.TokenRequest{Spec: authenticationv1.TokenRequestSpec{ExpirationSeconds: &hour}}, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		return tr.Status.Token
	}
	crb := &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "exec-cache"},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: "exec-cache", Namespace: "default"}},
	}
	if _, err := member.Client.RbacV1().ClusterRoleBindings().Create(ctx, crb, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	tokenFile, countFile := filepath.Join(dir, "token"), filepath.Join(dir, "runs")
	first := newToken()
	if err := os.WriteFile(tokenFile, []byte(first), 0o600); err != nil {
		t.Fatal(err)
	}

	cfg, err := clientcmd.LoadFromFile(fed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	cfg.AuthInfos["cluster1-plugin"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: plugin, Args: []string{"--cluster-name", "cluster1"},
		Env: []clientcmdapi.ExecEnvVar{
			{Name: "BENCH_PLUGIN_TOKEN_FILE", Value: tokenFile}, {Name: "BENCH_PLUGIN_COUNT", Value: countFile}, {Name: "BENCH_PLUGIN_CPU", Value: "1ms"},
		},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	cfg.Contexts["cluster1"].AuthInfo = "cluster1-plugin"
	if err := clientcmd.WriteToFile(*cfg, fed.Kubeconfig); err != nil {
		t.Fatal(err)
	}

	kubeCache := filepath.Join(dir, "kube-cache")
	credDir := filepath.Join(kubeCache, "openmcp-exec-credentials")
	runs := func() int {
		b, _ := os.ReadFile(countFile)
		_ = os.Remove(countFile)
		return len(strings.Fields(string(b)))
	}
	get := func(env []string, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, append([]string{"get", "namespaces", "--all-clusters", "--cache-dir", kubeCache}, args...)...)
		cmd.Env = append(os.Environ(), append([]string{"KUBECONFIG=" + fed.Kubeconfig, "NO_COLOR=1", "OPENMCP_EXEC_CREDENTIAL_CACHE="}, env...)...)
		var out, errOut bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &errOut
		if err := cmd.Run(); err != nil {
			t.Fatalf("get %v: %v\n%s", args, err, errOut.String())
		}
		if !strings.Contains(out.String(), "cluster1") {
			t.Fatalf("get %v: no row of cluster1:\n%s\n%s", args, out.String(), errOut.String())
		}
		return out.String(), errOut.String()
	}

	// Cache on, cold: the plugin runs, its credential is kept, privately.
	_, logs := get(nil, "--exec-credential-cache", "-v=4")
	if n := runs(); n != 1 {
		t.Fatalf("first run with the cache on: %d plugin runs, want 1", n)
	}
	if !strings.Contains(logs, "exec credential plugin of context") || !strings.Contains(logs, "cluster1") || !strings.Contains(logs, " ran for ") || strings.Contains(logs, first) {
		t.Errorf("-v=4: want the plugin's time, never its token:\n%s", logs)
	}
	files, _ := filepath.Glob(filepath.Join(credDir, "*.json"))
	if len(files) != 1 {
		t.Fatalf("cache files %v, want 1", files)
	}
	fi, _ := os.Stat(files[0])
	di, _ := os.Stat(credDir)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("cache file mode %v, folder mode %v: want 0600 in 0700", fi.Mode(), di.Mode())
	}

	// Warm: no plugin, by the flag and by the environment variable.
	get(nil, "--exec-credential-cache")
	if n := runs(); n != 0 {
		t.Errorf("second run with the cache warm: %d plugin runs, want 0", n)
	}
	get([]string{"OPENMCP_EXEC_CREDENTIAL_CACHE=1"})
	if n := runs(); n != 0 {
		t.Errorf("OPENMCP_EXEC_CREDENTIAL_CACHE=1, warm: %d plugin runs, want 0", n)
	}
	// Off (the default, or the flag set false over the variable): it runs again.
	get(nil)
	if n := runs(); n != 1 {
		t.Errorf("cache off: %d plugin runs, want 1", n)
	}
	get([]string{"OPENMCP_EXEC_CREDENTIAL_CACHE=1"}, "--exec-credential-cache=false")
	if n := runs(); n != 1 {
		t.Errorf("--exec-credential-cache=false over the variable: %d plugin runs, want 1", n)
	}

	// Revoked: the ServiceAccount is deleted and made again; the plugin now
	// hands out a token of the new one.
	if err := member.Client.CoreV1().ServiceAccounts("default").Delete(ctx, "exec-cache", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	revoked := rest.CopyConfig(member.Config)
	revoked.TLSClientConfig = rest.TLSClientConfig{CAData: member.CACert}
	revoked.BearerToken = first
	rc, err := kubernetes.NewForConfig(revoked)
	if err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		_, err := rc.CoreV1().Namespaces().List(ctx, metav1.ListOptions{Limit: 1})
		if apierrors.IsUnauthorized(err) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the deleted ServiceAccount's token still works: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
	second := newToken()
	if err := os.WriteFile(tokenFile, []byte(second), 0o600); err != nil {
		t.Fatal(err)
	}
	get(nil, "--exec-credential-cache")
	if n := runs(); n != 1 {
		t.Errorf("revoked cached token: %d plugin runs, want 1 (401, file dropped, plugin run again)", n)
	}
	data, _ := os.ReadFile(files[0])
	if strings.Contains(string(data), first) || !strings.Contains(string(data), second) {
		t.Errorf("after the 401 the cache still holds the revoked token, or not the new one")
	}
	get(nil, "--exec-credential-cache")
	if n := runs(); n != 0 {
		t.Errorf("after the refresh: %d plugin runs, want 0", n)
	}
}
