package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// checkLineUntil runs check until item's line starts with status and holds
// want (the apiserver caches a token's success for up to 10 s), and returns
// the last output.
func checkLineUntil(t *testing.T, fed *sandbox.Federation, item, status, want string, args ...string) sandbox.Result {
	t.Helper()
	re := regexp.MustCompile(`^(OK|WARN|FAIL)\s+` + regexp.QuoteMeta(item) + `\s`)
	deadline := time.Now().Add(40 * time.Second)
	for {
		res := fed.OpenMCP(t, append([]string{"check", "--color", "never"}, args...)...)
		line := ""
		for _, l := range lines(res.Stdout) {
			if re.MatchString(l) {
				line = l
			}
		}
		if strings.HasPrefix(line, status) && strings.Contains(line, want) {
			t.Logf("%s", line)
			return res
		}
		if time.Now().After(deadline) {
			t.Fatalf("no %s %q line holding %q; last:\n%s%s", status, item, want, res.Stdout, res.Stderr)
		}
		time.Sleep(time.Second)
	}
}

// check verifies, for every member, the credentials KubeFed holds for it:
// OK after a join; FAIL naming the member and saying to join again once its
// token is revoked (token Secret or ServiceAccount deleted), its
// ClusterRoleBinding removed, or its caBundle wrong; WARN for a user who may
// not read the host's Secrets; and the sandbox's 127.0.0.1 endpoints are a
// WARN, not a FAIL. join warns about them before it writes.
func TestCheckVerifiesKubeFedCredentials(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	ctx := context.Background()
	ns := sandbox.KubeFedNamespace
	res := fed.OpenMCP(t, "join", "cluster1", "cluster2")
	if res.Code != 0 {
		t.Fatalf("join: exit %d %q", res.Code, res.Stderr)
	}
	for _, c := range []string{"cluster1", "cluster2"} {
		if !strings.Contains(res.Stderr, "Warning: cluster "+c+": endpoint https://127.0.0.1:") || !strings.Contains(res.Stderr, "loopback") || !strings.Contains(res.Stderr, "--api-endpoint") {
			t.Errorf("join did not warn about %s's loopback endpoint: %q", c, res.Stderr)
		}
	}

	res = fed.OpenMCP(t, "check", "--color", "never")
	t.Logf("check after join: exit %d\n%s", res.Code, res.Stdout)
	for _, c := range []string{"cluster1", "cluster2"} {
		if l := placeCheckLine(t, res.Stdout, "endpoint "+c); !strings.HasPrefix(l, "WARN") || !strings.Contains(l, "loopback") || !strings.Contains(l, "--api-endpoint") {
			t.Errorf("endpoint line %q", l)
		}
		if l := placeCheckLine(t, res.Stdout, "CA "+c); !strings.HasPrefix(l, "OK") || !strings.Contains(l, "caBundle verifies") {
			t.Errorf("CA line %q", l)
		}
		if l := placeCheckLine(t, res.Stdout, "token "+c); !strings.HasPrefix(l, "OK") || !strings.Contains(l, "system:serviceaccount:"+ns+":"+c+"-openmcp") {
			t.Errorf("token line %q", l)
		}
		if l := placeCheckLine(t, res.Stdout, "RBAC "+c); !strings.HasPrefix(l, "OK") {
			t.Errorf("RBAC line %q", l)
		}
	}
	// No credential line fails after a clean join (the sandbox has no
	// OpenMCP controllers, policies or MetalLB, and KubeFed is not running:
	// those lines fail, and the exit code is 1, as before).
	for _, l := range lines(res.Stdout) {
		if f := strings.Fields(l); len(f) > 1 && f[0] == "FAIL" && (f[1] == "endpoint" || f[1] == "CA" || f[1] == "token" || f[1] == "RBAC") {
			t.Errorf("a credential line fails after a clean join: %q", l)
		}
	}
	if res.Code != 1 {
		t.Errorf("check: exit %d, want 1 (OpenMCP controllers)", res.Code)
	}

	t.Run("token Secret deleted on the member", func(t *testing.T) {
		m := fed.Member("cluster1")
		if err := m.Client.CoreV1().Secrets(ns).Delete(ctx, "cluster1-openmcp-token", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		res := checkLineUntil(t, fed, "token cluster1", "FAIL", "join cluster1 again")
		t.Logf("the revoked token was refused %s after the delete", time.Since(start).Round(time.Second))
		if l := placeCheckLine(t, res.Stdout, "token cluster1"); !strings.Contains(l, "no longer authenticates") {
			t.Errorf("token line %q", l)
		}
		if l := placeCheckLine(t, res.Stdout, "token cluster2"); !strings.HasPrefix(l, "OK") {
			t.Errorf("the other member: %q", l)
		}
		if res := fed.OpenMCP(t, "join", "cluster1"); res.Code != 0 {
			t.Fatalf("join again: %d %q", res.Code, res.Stderr)
		}
		checkLineUntil(t, fed, "token cluster1", "OK", "authenticates")
	})

	t.Run("ClusterRoleBinding removed on the member", func(t *testing.T) {
		m := fed.Member("cluster1")
		if err := m.Client.RbacV1().ClusterRoleBindings().Delete(ctx, "kubefed-controller-manager:cluster1-openmcp", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		res := checkLineUntil(t, fed, "RBAC cluster1", "FAIL", "join cluster1 again")
		if l := placeCheckLine(t, res.Stdout, "RBAC cluster1"); !strings.Contains(l, "* on * cluster-wide") || !strings.Contains(l, "kubefed-controller-manager:cluster1-openmcp") {
			t.Errorf("RBAC line %q", l)
		}
		if l := placeCheckLine(t, res.Stdout, "token cluster1"); !strings.HasPrefix(l, "OK") {
			t.Errorf("the token itself is still good: %q", l)
		}
	})

	t.Run("ServiceAccount deleted on the member", func(t *testing.T) {
		m := fed.Member("cluster2")
		if err := m.Client.CoreV1().ServiceAccounts(ns).Delete(ctx, "cluster2-openmcp", metav1.DeleteOptions{}); err != nil {
			t.Fatal(err)
		}
		checkLineUntil(t, fed, "token cluster2", "FAIL", "join cluster2 again")
	})

	t.Run("wrong caBundle", func(t *testing.T) {
		// cluster1's CA, which did not sign cluster2's serving certificate.
		patch := `{"spec":{"caBundle":"` + base64.StdEncoding.EncodeToString(fed.Member("cluster1").CACert) + `"}}`
		if _, err := fed.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(ns).Patch(ctx, "cluster2", types.MergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
		res := checkLineUntil(t, fed, "CA cluster2", "FAIL", "join cluster2 again")
		if l := placeCheckLine(t, res.Stdout, "CA cluster2"); !strings.Contains(l, "does not verify") {
			t.Errorf("CA line %q", l)
		}
		// The token is never sent to a server that did not prove itself.
		if l := placeCheckLine(t, res.Stdout, "token cluster2"); !strings.HasPrefix(l, "WARN") || !strings.Contains(l, "not sent to an unverified server") {
			t.Errorf("token line %q", l)
		}
	})

	t.Run("a user who may not read Secrets on the host", func(t *testing.T) {
		grant(t, fed.Host, "viewer", "", []rbacv1.PolicyRule{{
			APIGroups: []string{"*"},
			Resources: []string{"customresourcedefinitions", "kubefedconfigs", "kubefedclusters", "deployments", "namespaces", "openmcppolicys"},
			Verbs:     []string{"get", "list"},
		}})
		res := fed.OpenMCP(t, "check", "--color", "never", "--as", "viewer")
		t.Logf("check as viewer: exit %d\n%s", res.Code, res.Stdout)
		if l := placeCheckLine(t, res.Stdout, "token cluster1"); !strings.HasPrefix(l, "WARN") || !strings.Contains(l, "may not read Secret "+ns+"/cluster1-kubefed-token") {
			t.Errorf("token line for a user without get secrets: %q", l)
		}
		if l := placeCheckLine(t, res.Stdout, "CA cluster1"); !strings.HasPrefix(l, "OK") {
			t.Errorf("the CA needs no Secret: %q", l)
		}
	})
}

// Member contexts whose exec credential plugin hangs, prompts or fails,
// reached by the built binary in a fan-out: the command ends within the
// per-cluster timeout, the other member's rows are printed, one warning
// names the context, nothing the plugin wrote to stderr (a password, escape
// codes) reaches ours raw, and no plugin process outlives the command.
func TestMisbehavingExecPluginsInAFanOut(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	bin := pluginBinary(t, "kubectl-openmcp")
	dir := t.TempDir()
	const secret = "hunter2-correct-horse-battery-staple"
	pids := filepath.Join(dir, "pids")
	plugins := map[string]string{
		// Prints a secret and escape codes, then never answers (and neither
		// does the child it started).
		"hang": "echo $$ >> " + pids + "\nprintf 'token: " + secret + " \\033]0;owned\\007\\033[2J\\n' >&2\nsleep 600 &\necho $! >> " + pids + "\nwait\n",
		// Asks for a password on the terminal.
		"prompt": "printf '\\033[1mPassword for admin:\\033[0m ' >&2\nread pw || { echo 'no password given' >&2; exit 1; }\necho \"$pw\" >/dev/null\n",
		// Fails, saying something useful among secrets and escape codes.
		"fail": "printf '\\033[31mpassword=" + secret + "\\033[0m\\nlogin expired: run the login command again\\n' >&2\nexit 3\n",
	}
	cfg, err := clientcmd.LoadFromFile(fed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for name, body := range plugins {
		script := filepath.Join(dir, name+".sh")
		if err := os.WriteFile(script, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
			t.Fatal(err)
		}
		cfg.AuthInfos[name] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
			APIVersion: "client.authentication.k8s.io/v1", Command: script, InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode,
		}}
	}
	const timeout = 3 * time.Second
	for _, name := range []string{"hang", "prompt", "fail"} {
		t.Run(name, func(t *testing.T) {
			cfg.Contexts["cluster2"].AuthInfo = name
			if err := clientcmd.WriteToFile(*cfg, fed.Kubeconfig); err != nil {
				t.Fatal(err)
			}
			start := time.Now()
			res := fed.Exec(t, bin, "get", "namespaces", "--all-clusters", "--cluster-timeout", timeout.String())
			took := time.Since(start)
			t.Logf("%s plugin: exit %d after %s\n%s", name, res.Code, took.Round(time.Millisecond), res.Stderr)
			if res.Code != 1 || !strings.Contains(res.Stdout, "cluster1") || strings.Contains(res.Stdout, "cluster2") {
				t.Errorf("exit %d, stdout:\n%s", res.Code, res.Stdout)
			}
			// The timeout, plus start-up and the other member on a busy machine.
			if took > timeout+5*time.Second {
				t.Errorf("took %s with a per-cluster timeout of %s", took, timeout)
			}
			if strings.Contains(res.Stderr+res.Stdout, secret) || strings.ContainsAny(res.Stderr+res.Stdout, "\x1b\x07") || strings.Contains(res.Stderr, "Password for admin") && name != "prompt" {
				t.Errorf("the plugin's stderr reached ours raw: %q", res.Stderr)
			}
			// client-go's discovery cache also logs each failed discovery
			// through klog (E... memcache.go lines, as kubectl does): they
			// carry the same cleaned message, and are not counted here.
			var warnings []string
			for _, l := range lines(res.Stderr) {
				if strings.HasPrefix(l, "Warning: ") {
					warnings = append(warnings, l)
				}
			}
			if len(warnings) != 1 || !strings.Contains(warnings[0], "cluster2") {
				t.Errorf("want one warning naming cluster2: %q", res.Stderr)
			}
			switch name {
			case "hang":
				if !strings.Contains(res.Stderr, "no answer within --cluster-timeout") && !strings.Contains(res.Stderr, `context "cluster2"`) {
					t.Errorf("hang: %q", res.Stderr)
				}
			case "prompt":
				if !strings.Contains(res.Stderr, `context "cluster2"`) || !strings.Contains(res.Stderr, "no password given") {
					t.Errorf("prompt: %q", res.Stderr)
				}
			case "fail":
				if !strings.Contains(res.Stderr, `context "cluster2"`) || !strings.Contains(res.Stderr, "login expired: run the login command again") {
					t.Errorf("fail: %q", res.Stderr)
				}
			}
		})
	}
	// The hanging plugin and its child are gone with the command.
	time.Sleep(300 * time.Millisecond)
	data, _ := os.ReadFile(pids)
	if len(strings.Fields(string(data))) != 2 {
		t.Fatalf("the hanging plugin did not run as expected: pids %q", data)
	}
	for _, f := range strings.Fields(string(data)) {
		pid, _ := strconv.Atoi(f)
		if pid > 0 && processAlive(pid) {
			t.Errorf("process %d of the hanging plugin outlived the command", pid)
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
}

// processAlive: it exists and is not a zombie an init that never reaps keeps.
func processAlive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}
