package e2e

import (
	"context"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// secretSet is every secret of a sandbox a command could leak, each in the
// forms it travels in: as is, base64 (Secret data, kubeconfig fields), and
// for PEM keys the first line of their body.
type secretSet map[string]string // form -> what it is

func (s secretSet) add(what, value string) {
	if len(value) < 8 {
		return
	}
	s[value] = what
	s[base64.StdEncoding.EncodeToString([]byte(value))] = what + " (base64)"
	if strings.HasPrefix(value, "-----BEGIN") {
		if body := strings.Split(value, "\n"); len(body) > 2 {
			s[body[1]] = what + " (PEM body)"
		}
	}
}

// leaks lists the secrets that appear in out.
func (s secretSet) leaks(out string) []string {
	var found []string
	for form, what := range s {
		if strings.Contains(out, form) {
			found = append(found, what)
		}
	}
	return found
}

func sandboxSecrets(t *testing.T, fed *sandbox.Federation, extra map[string]string) secretSet {
	t.Helper()
	ctx := context.Background()
	s := secretSet{}
	for _, c := range fed.Clusters() {
		list, err := c.Client.CoreV1().Secrets(sandbox.KubeFedNamespace).List(ctx, metav1.ListOptions{})
		if err != nil {
			continue // members not joined have no such namespace
		}
		for _, sec := range list.Items {
			if tok := sec.Data["token"]; len(tok) > 0 {
				s.add("token of "+c.Name+" Secret "+sec.Name, string(tok))
			}
		}
	}
	for _, m := range fed.Members {
		if tok, err := os.ReadFile(filepath.Join(fed.Dir, m.Name, "exec-token")); err == nil {
			s.add("exec-credential token of "+m.Name, string(tok))
		}
	}
	cfg, err := clientcmd.LoadFromFile(fed.Kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	for name, u := range cfg.AuthInfos {
		if len(u.ClientKeyData) > 0 {
			s.add("client key of "+name, string(u.ClientKeyData))
		}
	}
	for what, v := range extra {
		s.add(what, v)
	}
	return s
}

// The commands of the e2e suite at -v=0 and at -v=9 (request and response
// bodies): no token, key or password of the sandbox appears in any output.
func TestNoSecretInAnyOutput(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2, ExecContexts: true, MetalLBCRDs: []string{"cluster1"}})
	ctx := context.Background()
	for _, m := range fed.Members {
		m.CreateNodes(t, sandbox.Node{Name: m.Name + "-cp", Roles: []string{"control-plane"}, Ready: true})
		webApp(t, m, "web", 1, 3)
	}
	if err := fed.Host.EnsureNamespace(ctx, "web"); err != nil {
		t.Fatal(err)
	}
	srv := mckstest.New(t)
	srv.AddCluster("default", mckstest.TwoCloudReq("c1"))
	const password = "correct-horse-battery-staple"
	secretFile := placeWrite(t, t.TempDir(), "secret.yaml", "apiVersion: v1\nkind: Secret\nmetadata: {name: db, namespace: web}\nstringData: {password: "+password+"}\n")
	merged := filepath.Join(t.TempDir(), "config")

	type run struct {
		bin  string
		args []string
	}
	om := func(args ...string) run { return run{"kubectl-openmcp", args} }
	mk := func(args ...string) run { return run{"kubectl-mcks", append(args, "--mcks-server", srv.URL())} }
	both := func(r run) []run {
		return []run{{r.bin, append(append([]string(nil), r.args...), "-v=0")}, {r.bin, append(append([]string(nil), r.args...), "-v=9")}}
	}
	var runs []run
	runs = append(runs, both(om("join", "cluster1", "--dry-run=client", "-o", "yaml"))...)
	runs = append(runs, both(om("join", "cluster1", "--dry-run=server", "-o", "json"))...)
	runs = append(runs,
		// First joins: one at -v=9 (the token is read and written), one at -v=0.
		om("join", "cluster1", "--region", "AS", "--zone", "KR", "--metallb-range", "10.0.3.241-10.0.3.250", "-v=9"),
		om("join", "cluster2-exec", "--cluster-name", "cluster2", "-v=0"),
		// Joined again: the token is read from the member again.
		om("join", "cluster2-exec", "--cluster-name", "cluster2", "-v=9"),
	)
	for _, r := range []run{
		om("get", "secrets", "-n", sandbox.KubeFedNamespace, "--all-clusters", "--include-host", "-o", "yaml"),
		om("get", "secrets", "-A", "--all-clusters", "-o", "json", "--use-federation-credentials"),
		om("get", "secrets", "-A", "--all-clusters", "-o", "jsonpath={.items[*].data}"),
		om("get", "deploy,hpa", "-A", "--all-clusters", "-o", "yaml"),
		om("label", "cluster1", "--region", "AS", "--zone", "JP", "--overwrite", "--dry-run=server", "-o", "yaml"),
		om("metallb", "cluster1", "--range", "10.0.4.0/28", "--dry-run=server", "-o", "yaml"),
		om("place", "-f", secretFile, "--dry-run=server", "-o", "yaml"),
		om("clusters", "-o", "wide"),
		om("check"),
		om("unjoin", "cluster2", "--dry-run=server"),
		mk("kubeconfig", "c1"),
		mk("cluster", "get", "c1", "-o", "yaml"),
		mk("node", "list", "--cluster", "c1", "-o", "json"),
	} {
		runs = append(runs, both(r)...)
	}
	runs = append(runs,
		om("label", "cluster1", "--region", "EU", "--zone", "DE", "--overwrite", "-v=9"),
		om("metallb", "cluster1", "--range", "10.0.4.0/28", "-v=9"),
		om("place", "-f", secretFile, "-v=9"),
		mk("kubeconfig", "c1", "--merge", "--kubeconfig", merged, "-v=9"),
	)

	var outputs []string
	for _, r := range runs {
		res := fed.Exec(t, pluginBinary(t, r.bin), r.args...)
		if res.Code != 0 && !(r.args[0] == "check" || r.args[0] == "get" && strings.Contains(strings.Join(r.args, " "), "include-host")) {
			t.Errorf("%s %s: exit %d: %s", r.bin, strings.Join(r.args, " "), res.Code, lastLine(res.Stderr))
		}
		outputs = append(outputs, r.bin+" "+strings.Join(r.args, " ")+"\x00"+res.Stdout+"\x00"+res.Stderr)
	}
	secrets := sandboxSecrets(t, fed, map[string]string{
		"the placed Secret's password": password,
		"an MCKS node SSH key":         mckstest.CredentialMarker,
		"an MCKS client key":           mckstest.ClientKeyMarker,
	})
	if len(secrets) < 20 {
		t.Fatalf("only %d secret forms collected: the sandbox lacks tokens or keys", len(secrets))
	}
	bodies, redacted := 0, 0
	for _, o := range outputs {
		cmd, out, _ := strings.Cut(o, "\x00")
		if found := secrets.leaks(out); len(found) > 0 {
			t.Errorf("%s shows %v", cmd, found)
		}
		bodies += strings.Count(out, `"Response Body"`)
		if strings.Contains(cmd, "-v=9") && strings.Contains(out, `"Response Body"`) && (strings.Contains(out, "REDACTED") || strings.Contains(out, "left out")) {
			redacted++
		}
	}
	// The test means something only if -v=9 did log bodies, some of them secret.
	if bodies == 0 || redacted < 3 {
		t.Errorf("-v=9 logged %d response bodies, redacted in %d commands: the grep proves nothing", bodies, redacted)
	}
	t.Logf("%d outputs of %d commands searched for %d secret forms; %d response bodies logged at -v=9, secrets redacted in %d commands", len(outputs), len(runs), len(secrets), bodies, redacted)
	// The merged kubeconfig holds the key, as a kubeconfig must, readable by the user alone.
	if fi, err := os.Stat(merged); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("merged kubeconfig: %v %v", err, fi)
	}
}

func lastLine(s string) string {
	l := lines(s)
	if len(l) == 0 {
		return ""
	}
	return l[len(l)-1]
}
