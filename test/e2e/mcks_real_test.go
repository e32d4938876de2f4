package e2e

import (
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/test/mcksserver"
	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// Secrets the seeded cluster's record holds; no output may show them.
const (
	realSSHKeyMarker    = "MIIEseededSSHkeyNeverPrint"
	realClientKeyMarker = "seeded-admin-client-key-never-print"
)

// seededCluster is a provisioned cluster as the v0.7.2 server stores it
// (model.Cluster): node names c-1-xxxxx-1 and w-1-xxxxx-1, the version with
// "-00", its admin kubeconfig with the names kubeadm gives every cluster. The
// nodes' address is this machine, where no SSH answers as a VM's would.
func seededCluster(t *testing.T, ns, name string) map[string]any {
	t.Helper()
	b := func(s string) []byte { return []byte(s) }
	kc := clientcmdapi.NewConfig()
	kc.Clusters["kubernetes"] = &clientcmdapi.Cluster{Server: "https://192.0.2.10:6443", CertificateAuthorityData: b("seeded-ca")}
	kc.AuthInfos["kubernetes-admin"] = &clientcmdapi.AuthInfo{ClientCertificateData: b("seeded-admin-cert"), ClientKeyData: b(realClientKeyMarker)}
	kc.Contexts["kubernetes-admin@kubernetes"] = &clientcmdapi.Context{Cluster: "kubernetes", AuthInfo: "kubernetes-admin"}
	kc.CurrentContext = "kubernetes-admin@kubernetes"
	data, err := clientcmd.Write(*kc)
	if err != nil {
		t.Fatal(err)
	}
	created := time.Now().Add(-3 * time.Hour).UTC().Format(time.RFC3339)
	key := "-----BEGIN RSA PRIVATE KEY-----\n" + realSSHKeyMarker + "\n-----END RSA PRIVATE KEY-----\n"
	node := func(name, role, spec, csp, region string) map[string]any {
		return map[string]any{
			"name": name, "kind": "Node", "credential": key, "publicIp": "127.0.0.1", "privateIp": "10.0.0.10",
			"role": role, "spec": spec, "csp": csp, "createdTime": created,
			"cspLabel": csp, "regionLabel": region, "zoneLabel": region + "a",
		}
	}
	return map[string]any{
		"name": name, "kind": "Cluster", "namespace": ns,
		"status": map[string]any{"phase": "Provisioned", "reason": "", "message": ""},
		"mcis":   name, "k8sVersion": "1.23.13-00", "clusterConfig": string(data),
		"cpLeader": "c-1-kq3zp-1", "cpGroup": "c-1-kq3zp", "networkCni": "kilo", "label": "",
		"installMonAgent": "no", "loadbalancer": "haproxy", "etcd": "local", "description": "seeded",
		"createdTime": created, "serviceType": "multi",
		"nodes": []any{
			node("c-1-kq3zp-1", "control-plane", "t3.medium", "aws", "ap-northeast-2"),
			node("w-1-m8d2x-1", "worker", "n1-standard-2", "gcp", "europe-west2"),
		},
	}
}

// Every kubectl mcks command that talks to the MCKS API, against the real
// MCKS server (v0.7.2) with a Tumblebug stand-in: what works without clouds
// works, and what needs them fails with the server's reason on one line.
func TestMCKSRealServer(t *testing.T) {
	// A record whose kubeconfig is not one, as a broken server could hold.
	broken := seededCluster(t, "broken", "bad1")
	broken["clusterConfig"] = "apiVersion: v1\nkind: Config\nclusters: {oops"
	srv := mcksserver.Start(t, mcksserver.Options{Clusters: []map[string]any{seededCluster(t, "lab", "lab1"), broken}})
	dir := t.TempDir()
	kcPath := filepath.Join(dir, "config")
	if err := os.WriteFile(kcPath, []byte("apiVersion: v1\nkind: Config\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h := &sandbox.Federation{Dir: dir, Kubeconfig: kcPath}
	var all strings.Builder
	run := func(t *testing.T, args ...string) sandbox.Result {
		t.Helper()
		res := h.MCKS(t, append(args, "--mcks-server", srv.URL)...)
		t.Logf("kubectl mcks %s: exit %d\n%s%s", strings.Join(args, " "), res.Code, res.Stdout, res.Stderr)
		all.WriteString(res.Stdout + res.Stderr)
		return res
	}
	expect := func(t *testing.T, res sandbox.Result, code int, stream, want string) {
		t.Helper()
		got := res.Stdout
		if stream == "stderr" {
			got = res.Stderr
		}
		if res.Code != code || !strings.Contains(got, want) {
			t.Errorf("exit %d, want %d with %s containing %q; stdout %q stderr %q", res.Code, code, stream, want, res.Stdout, res.Stderr)
		}
	}
	oneLine := func(t *testing.T, res sandbox.Result) {
		t.Helper()
		if n := len(lines(res.Stderr)); n != 1 {
			t.Errorf("stderr has %d lines, want one: %q", n, res.Stderr)
		}
	}
	getCluster := func(t *testing.T, ns, name string) *mcks.Cluster {
		t.Helper()
		res := run(t, "cluster", "get", name, "--mcks-namespace", ns, "-o", "json")
		c := &mcks.Cluster{}
		if res.Code != 0 || json.Unmarshal([]byte(res.Stdout), c) != nil {
			t.Fatalf("cluster get %s -o json: exit %d %q", name, res.Code, res.Stderr)
		}
		return c
	}

	t.Run("list empty", func(t *testing.T) {
		res := run(t, "cluster", "list")
		expect(t, res, 0, "stderr", "No clusters found in MCKS namespace default.")
		if res.Stdout != "" {
			t.Errorf("stdout %q", res.Stdout)
		}
		var list mcks.ClusterList
		if res := run(t, "cluster", "list", "-o", "json"); res.Code != 0 || json.Unmarshal([]byte(res.Stdout), &list) != nil || len(list.Items) != 0 || list.Kind != "ClusterList" {
			t.Errorf("-o json: exit %d %q", res.Code, res.Stdout)
		}
	})

	t.Run("get missing", func(t *testing.T) {
		res := run(t, "cluster", "get", "nope")
		expect(t, res, 1, "stderr", `cluster "nope" not found in MCKS namespace "default" at `+srv.URL)
		oneLine(t, res)
	})

	t.Run("wrong REST root", func(t *testing.T) {
		// The swagger's root (/mcks, up to v0.7.1.1) is not this server's.
		wrong := strings.TrimSuffix(srv.URL, mcksserver.BasePath) + "/mcks"
		for _, args := range [][]string{{"cluster", "list"}, {"cluster", "get", "c1"}} {
			res := h.MCKS(t, append(args, "--mcks-server", wrong)...)
			t.Logf("kubectl mcks %s --mcks-server %s: exit %d\n%s", strings.Join(args, " "), wrong, res.Code, res.Stderr)
			expect(t, res, 1, "stderr", "no such API path")
			expect(t, res, 1, "stderr", "/ladybug")
			if strings.Contains(res.Stderr, "not found in MCKS namespace") {
				t.Errorf("%v: a wrong root is reported as a missing cluster: %q", args, res.Stderr)
			}
			oneLine(t, res)
		}
	})

	t.Run("create with flags", func(t *testing.T) {
		res := run(t, "cluster", "create", "c1", "--control-plane", "config-aws-ap-northeast-2:t3.medium",
			"--worker", "config-gcp-europe-west2:n1-standard-2:2", "--label", "team-a", "--description", "first try")
		// The server accepted the request (validation passed, the cluster
		// was recorded) and failed it where it meets Tumblebug's MCIS.
		expect(t, res, 1, "stderr", `cannot create cluster "c1": MCKS server `+srv.URL+`: 500 Internal Server Error: MCIS already exists. (namespace=default, mcis=c1)`)
		oneLine(t, res)
		c := getCluster(t, "default", "c1")
		if c.Status.Phase != mcks.PhaseFailed || c.Status.Reason != "AlreadyExistMCISFailedReason" || c.CreatedTime != "" {
			t.Errorf("recorded cluster: status %+v, createdTime %q", c.Status, c.CreatedTime)
		}
		// What the server kept of the request: its own defaults filled in.
		if c.K8sVersion != "1.23.13-00" || c.NetworkCNI != "kilo" || c.Etcd != "local" || c.Loadbalancer != "haproxy" ||
			c.Label != "team-a" || c.Description != "first try" || c.InstallMonAgent != "no" || c.Namespace != "default" || c.ServiceType != "" {
			t.Errorf("recorded cluster: %+v", c)
		}
	})

	t.Run("create from file", func(t *testing.T) {
		file := filepath.Join(dir, "c2.yaml")
		req := `name: c2
label: from-file
description: made from a file
config:
  installMonAgent: "no"
  kubernetes:
    version: 1.23.13
    networkCni: canal
    podCidr: 10.244.0.0/16
    serviceCidr: 10.96.0.0/12
    loadbalancer: haproxy
controlPlane:
- {connection: config-aws-ap-northeast-2, spec: t3.medium, count: 1}
worker:
- {connection: config-gcp-europe-west2, spec: n1-standard-2, count: 1}
- {connection: config-azure-koreacentral, spec: Standard_B2s, count: 1, rootDisk: {type: default, size: "50"}}
`
		if err := os.WriteFile(file, []byte(req), 0o600); err != nil {
			t.Fatal(err)
		}
		res := run(t, "cluster", "create", "-f", file)
		expect(t, res, 1, "stderr", "500 Internal Server Error: MCIS already exists. (namespace=default, mcis=c2)")
		oneLine(t, res)
		c := getCluster(t, "default", "c2")
		if c.NetworkCNI != "canal" || c.Label != "from-file" || c.Description != "made from a file" || c.Etcd != "local" || c.Status.Phase != mcks.PhaseFailed {
			t.Errorf("recorded cluster: %+v", c)
		}
		// The server refuses what it does not support, with its reason.
		res = run(t, "cluster", "create", "c9", "--control-plane", "a:b", "--worker", "a:b", "--etcd", "external")
		expect(t, res, 1, "stderr", "External etcd must have 3,5,7 controlPlane count")
		oneLine(t, res)
		if res := run(t, "cluster", "get", "c9"); res.Code != 1 {
			t.Errorf("a refused create recorded cluster c9")
		}
	})

	t.Run("create --wait follows the phase until Failed", func(t *testing.T) {
		// The cluster stays in Provisioning while Tumblebug takes its time.
		srv.Tumblebug.SetMCISDelay(11 * time.Second)
		defer srv.Tumblebug.SetMCISDelay(0)
		start := time.Now()
		res := run(t, "cluster", "create", "c3", "--control-plane", "config-aws-ap-northeast-2:t3.medium",
			"--worker", "config-gcp-europe-west2:n1-standard-2", "--wait", "--timeout", "2m")
		took := time.Since(start)
		if res.Code != 1 || took < 10*time.Second {
			t.Errorf("exit %d after %s", res.Code, took)
		}
		progress := lines(res.Stderr)
		if len(progress) < 3 || !strings.HasPrefix(progress[0], "Creating cluster c3 with 2 nodes") {
			t.Fatalf("stderr %q", res.Stderr)
		}
		if !strings.HasPrefix(progress[1], "cluster/c3: Provisioning, 0/2 nodes") {
			t.Errorf("no Provisioning phase shown: %q", progress[1])
		}
		if !strings.Contains(res.Stderr, "cluster/c3: Failed (AlreadyExistMCISFailedReason), 0/2 nodes") {
			t.Errorf("the final phase Failed is not shown: %q", res.Stderr)
		}
		last := progress[len(progress)-1]
		if !strings.HasPrefix(last, "error: ") || !strings.Contains(last, "MCIS already exists. (namespace=default, mcis=c3)") {
			t.Errorf("last line %q", last)
		}
		t.Logf("create --wait ended after %s", took.Round(time.Second))
	})

	t.Run("create of a failed cluster's name", func(t *testing.T) {
		res := run(t, "cluster", "create", "c1", "--control-plane", "a:b", "--worker", "a:b")
		expect(t, res, 1, "stderr", `cluster "c1" already exists in MCKS namespace "default", phase Failed: delete it first (kubectl mcks cluster delete c1)`)
		oneLine(t, res)
	})

	t.Run("list", func(t *testing.T) {
		res := run(t, "cluster", "list", "-o", "wide")
		if res.Code != 0 {
			t.Fatalf("exit %d", res.Code)
		}
		table := parseTable(t, res.Stdout)
		if len(table) != 3 {
			t.Fatalf("%d rows, want c1 c2 c3: %q", len(table), res.Stdout)
		}
		for i, name := range []string{"c1", "c2", "c3"} {
			r := table[i]
			if r["NAME"] != name || r["STATUS"] != "Failed" || r["VERSION"] != "1.23.13-00" || r["CONTROL-PLANES"] != "0" ||
				r["WORKERS"] != "0" || r["AGE"] != "<unknown>" || r["REASON"] != "AlreadyExistMCISFailedReason" || r["MCIS"] != "<none>" {
				t.Errorf("row %d: %v", i, r)
			}
		}
		if res := run(t, "cluster", "list", "-o", "name"); res.Stdout != "cluster/c1\ncluster/c2\ncluster/c3\n" {
			t.Errorf("-o name %q", res.Stdout)
		}
		res = run(t, "cluster", "list", "--mcks-namespace", "lab")
		table = parseTable(t, res.Stdout)
		if len(table) != 1 || table[0]["NAME"] != "lab1" || table[0]["STATUS"] != "Provisioned" || table[0]["CONTROL-PLANES"] != "1" || table[0]["WORKERS"] != "1" || !strings.HasPrefix(table[0]["AGE"], "3h") {
			t.Errorf("lab: %v", table)
		}
	})

	t.Run("nodes of a failed cluster", func(t *testing.T) {
		expect(t, run(t, "machine", "list", "--cluster", "c1"), 0, "stderr", "No nodes found in cluster c1.")
		// The server lists a missing cluster's nodes as none.
		res := run(t, "machine", "list", "--cluster", "ghost")
		expect(t, res, 1, "stderr", `cluster "ghost" not found in MCKS namespace "default"`)
		oneLine(t, res)
		res = run(t, "machine", "get", "--cluster", "c1", "w-1-abcde-1")
		expect(t, res, 1, "stderr", `node "w-1-abcde-1" not found in MCKS namespace "default"`)
		oneLine(t, res)
		res = run(t, "machine", "add", "--cluster", "c1", "--worker", "config-gcp-europe-west2:n1-standard-2")
		expect(t, res, 1, "stderr", "500 Internal Server Error: Unable to add a node. status is 'Failed'.")
		res = run(t, "machine", "remove", "--cluster", "c1", "w-1-abcde-1")
		expect(t, res, 1, "stderr", "500 Internal Server Error: Unable to remove a node. status is 'Failed'.")
		oneLine(t, res)
	})

	t.Run("nodes of a provisioned cluster", func(t *testing.T) {
		node := func(args ...string) sandbox.Result {
			return run(t, append(append([]string{"machine"}, args...), "--cluster", "lab1", "--mcks-namespace", "lab")...)
		}
		listed := func() []map[string]string {
			res := node("list")
			if res.Code != 0 {
				t.Fatalf("node list: exit %d", res.Code)
			}
			return parseTable(t, res.Stdout)
		}
		before := listed()
		if len(before) != 2 || before[0]["NAME"] != "c-1-kq3zp-1" || before[0]["ROLE"] != "control-plane" || before[0]["CSP"] != "aws" ||
			before[1]["NAME"] != "w-1-m8d2x-1" || before[1]["REGION"] != "europe-west2" || before[1]["ZONE"] != "europe-west2a" || !strings.HasPrefix(before[1]["AGE"], "3h") {
			t.Errorf("node list: %v", before)
		}
		res := node("get", "w-1-m8d2x-1", "-o", "yaml")
		if res.Code != 0 || !strings.Contains(res.Stdout, "credential: REDACTED") || !strings.Contains(res.Stdout, "spec: n1-standard-2") || !strings.Contains(res.Stdout, "privateIp: 10.0.0.10") {
			t.Errorf("node get -o yaml: exit %d\n%s", res.Code, res.Stdout)
		}
		// Adding asks the control plane for a join command over SSH: no VM answers.
		res = node("add", "--worker", "config-gcp-europe-west2:n1-standard-2")
		expect(t, res, 1, "stderr", "500 Internal Server Error: Failed to get join-command")
		// MCKS v0.7.2 adds workers only.
		res = node("add", "--control-plane", "config-aws-ap-northeast-2:t3.medium")
		expect(t, res, 1, "stderr", "400 Bad Request: Control plane node is not supported")
		if l := lines(res.Stderr); len(l) != 2 || !strings.HasPrefix(l[1], "error: ") {
			t.Errorf("want the progress line and one error line: %q", res.Stderr)
		}
		res = node("remove", "c-1-kq3zp-1")
		expect(t, res, 1, "stderr", "Could not be delete a control-plane leader node.")
		res = node("remove", "w-1-m8d2x-1")
		expect(t, res, 1, "stderr", "500 Internal Server Error: Failed to drain a node (node=w-1-m8d2x-1")
		oneLine(t, res)
		res = node("remove", "w-9-zzzzz-1")
		expect(t, res, 1, "stderr", `node "w-9-zzzzz-1" not found in MCKS namespace "lab"`)
		expect(t, node("remove", "w-9-zzzzz-1", "--ignore-not-found"), 0, "stdout", "")
		if after := listed(); len(after) != len(before) {
			t.Errorf("refused node commands changed the nodes: %v", after)
		}
	})

	t.Run("kubeconfig", func(t *testing.T) {
		merged := filepath.Join(dir, "merged")
		res := run(t, "kubeconfig", "lab1", "--mcks-namespace", "lab", "--merge", "--kubeconfig", merged)
		expect(t, res, 0, "stdout", `context "lab1" added to `+merged)
		cfg, err := clientcmd.LoadFromFile(merged)
		if err != nil {
			t.Fatal(err)
		}
		ctx := cfg.Contexts["lab1"]
		if ctx == nil || ctx.Cluster != "lab1" || ctx.AuthInfo != "lab1-admin" || cfg.Clusters["lab1"].Server != "https://192.0.2.10:6443" ||
			string(cfg.AuthInfos["lab1-admin"].ClientKeyData) != realClientKeyMarker {
			t.Errorf("merged kubeconfig: contexts %v", cfg.Contexts)
		}
		if cfg.Contexts["kubernetes-admin@kubernetes"] != nil {
			t.Errorf("MCKS's own names were merged")
		}
		res = run(t, "kubeconfig", "lab1", "--mcks-namespace", "lab")
		if res.Code != 0 || !strings.Contains(res.Stdout, "client-key-data: DATA+OMITTED") || !strings.Contains(res.Stdout, "server: https://192.0.2.10:6443") {
			t.Errorf("printed kubeconfig: exit %d\n%s", res.Code, res.Stdout)
		}
		res = h.MCKS(t, "kubeconfig", "lab1", "--mcks-namespace", "lab", "--raw", "--mcks-server", srv.URL)
		if res.Code != 0 || !strings.Contains(res.Stdout, base64.StdEncoding.EncodeToString([]byte(realClientKeyMarker))) {
			t.Errorf("--raw: exit %d", res.Code)
		}
		before, err := os.ReadFile(merged)
		if err != nil {
			t.Fatal(err)
		}
		res = run(t, "kubeconfig", "bad1", "--mcks-namespace", "broken", "--merge", "--kubeconfig", merged)
		expect(t, res, 1, "stderr", `cluster "bad1": `)
		oneLine(t, res)
		if after, _ := os.ReadFile(merged); string(after) != string(before) {
			t.Errorf("a kubeconfig that does not parse changed the merged file")
		}
		res = run(t, "kubeconfig", "c1", "--merge", "--kubeconfig", merged)
		expect(t, res, 1, "stderr", `cluster "c1" has no kubeconfig`)
		expect(t, res, 1, "stderr", "AlreadyExistMCISFailedReason")
		oneLine(t, res)
	})

	t.Run("Tumblebug out of reach", func(t *testing.T) {
		srv.Tumblebug.SetDown(true)
		defer srv.Tumblebug.SetDown(false)
		// The server answers a failed read with 404 and the cause.
		res := run(t, "cluster", "get", "c1")
		expect(t, res, 1, "stderr", `cluster "c1" not found in MCKS namespace "default" at `+srv.URL+` (the server says: Get "`+srv.Tumblebug.URL()+`/ns/default": `)
		oneLine(t, res)
		res = run(t, "cluster", "list")
		expect(t, res, 1, "stderr", `400 Bad Request: Get "`+srv.Tumblebug.URL()+`/ns/default": `)
		oneLine(t, res)
	})

	t.Run("delete", func(t *testing.T) {
		res := run(t, "cluster", "delete", "c1", "c2", "c3")
		if res.Code != 0 || res.Stdout != "cluster/c1 deleted\ncluster/c2 deleted\ncluster/c3 deleted\n" {
			t.Errorf("delete: exit %d %q", res.Code, res.Stdout)
		}
		res = run(t, "cluster", "delete", "c1")
		expect(t, res, 1, "stderr", `cluster "c1" not found in MCKS namespace "default"`)
		expect(t, run(t, "cluster", "delete", "c1", "--ignore-not-found"), 0, "stdout", "")
		expect(t, run(t, "cluster", "list"), 0, "stderr", "No clusters found in MCKS namespace default.")
		// A provisioned cluster: the server terminates and deletes its MCIS first.
		res = run(t, "cluster", "delete", "lab1", "--mcks-namespace", "lab")
		expect(t, res, 0, "stdout", "cluster/lab1 deleted")
		var terminated, deleted bool
		for _, r := range srv.Tumblebug.Requests() {
			terminated = terminated || r == "GET /tumblebug/ns/lab/control/mcis/lab1?action=terminate"
			deleted = deleted || r == "DELETE /tumblebug/ns/lab/mcis/lab1"
		}
		if !terminated || !deleted {
			t.Errorf("the server did not clean up the MCIS: %v", srv.Tumblebug.Requests())
		}
		expect(t, run(t, "cluster", "get", "lab1", "--mcks-namespace", "lab"), 1, "stderr", "not found")
	})

	for _, secret := range []string{realSSHKeyMarker, realClientKeyMarker} {
		if strings.Contains(all.String(), secret) {
			t.Errorf("a secret of the seeded cluster was printed: %s", secret)
		}
	}
}
