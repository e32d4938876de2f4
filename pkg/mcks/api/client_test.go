package api_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
)

func newClient(t *testing.T, srv *mckstest.Server) *mcks.Client {
	t.Helper()
	c, err := mcks.NewClient(srv.URL(), "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func threeCloudReq(name string) *mcks.ClusterReq {
	return &mcks.ClusterReq{
		Name:         name,
		ControlPlane: []mcks.NodeSetReq{{Connection: "config-aws-ap-northeast-2", Spec: "t3.medium", Count: 1}},
		Worker: []mcks.NodeSetReq{
			{Connection: "config-gcp-europe-west2", Spec: "n1-standard-2", Count: 1},
			{Connection: "config-azure-koreacentral", Spec: "Standard_B2s", Count: 2},
		},
	}
}

func TestCreateWaitsReportsProgressAndAlwaysSendsEtcd(t *testing.T) {
	srv := mckstest.New(t)
	c := newClient(t, srv)
	var mu sync.Mutex
	var phases []string
	var nodeCounts []int
	res, err := c.Create(context.Background(), threeCloudReq("c1"), mcks.CreateOptions{
		Wait: true, PollInterval: 2 * time.Millisecond,
		Progress: func(cl *mcks.Cluster) {
			mu.Lock()
			defer mu.Unlock()
			phases = append(phases, cl.Status.Phase)
			nodeCounts = append(nodeCounts, len(cl.Nodes))
		},
	})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if !res.Done || res.Cluster.Status.Phase != mcks.PhaseProvisioned {
		t.Fatalf("result done=%v phase %q, want done and Provisioned", res.Done, res.Cluster.Status.Phase)
	}
	if cp, w := res.Cluster.CountRoles(); cp != 1 || w != 3 {
		t.Errorf("nodes: %d control-plane, %d workers; want 1 and 3", cp, w)
	}
	mu.Lock()
	if len(phases) < 3 || phases[len(phases)-1] != mcks.PhaseProvisioned || !contains(phases, mcks.PhaseProvisioning) {
		t.Errorf("progress phases %v: want Provisioning states then Provisioned", phases)
	}
	if nodeCounts[0] >= nodeCounts[len(nodeCounts)-1] {
		t.Errorf("progress node counts %v do not grow", nodeCounts)
	}
	mu.Unlock()

	var post *mckstest.Request
	for _, r := range srv.Requests() {
		if r.Method == http.MethodPost {
			post = &r
		}
	}
	if post == nil {
		t.Fatal("no POST sent")
	}
	var body map[string]any
	if err := json.Unmarshal(post.Body, &body); err != nil {
		t.Fatal(err)
	}
	k8s := body["config"].(map[string]any)["kubernetes"].(map[string]any)
	if k8s["etcd"] != "local" || k8s["networkCni"] != "kilo" {
		t.Errorf("create body kubernetes config %v: want etcd local and networkCni kilo sent", k8s)
	}
}

func TestCreateWithoutWaitReturnsOnceAcceptedAndServerCarriesOn(t *testing.T) {
	srv := mckstest.New(t)
	srv.StepDelay = 50 * time.Millisecond
	c := newClient(t, srv)
	res, err := c.Create(context.Background(), threeCloudReq("c2"), mcks.CreateOptions{PollInterval: 5 * time.Millisecond})
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	if res.Done || res.Cluster == nil || res.Cluster.Name != "c2" {
		t.Fatalf("result %+v: want the accepted, unfinished cluster", res)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		cl := srv.Cluster("default", "c2")
		if cl != nil && cl.Status.Phase == mcks.PhaseProvisioned {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("server did not finish provisioning after the client left: %+v", cl)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func TestCreateTimeoutSaysStillProvisioning(t *testing.T) {
	srv := mckstest.New(t)
	srv.StepDelay = time.Second
	c := newClient(t, srv)
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := c.Create(ctx, threeCloudReq("slow"), mcks.CreateOptions{Wait: true, PollInterval: 10 * time.Millisecond})
	if !mcks.IsStillProvisioning(err) {
		t.Fatalf("err %v, want a still-provisioning error", err)
	}
	if !errors.Is(err, context.DeadlineExceeded) || !strings.Contains(err.Error(), `cluster "slow" is still being provisioned`) {
		t.Errorf("error %q", err)
	}
	if time.Since(start) > 3*time.Second {
		t.Errorf("timeout honoured only after %s", time.Since(start))
	}
}

func TestCreateFailureAndRefusals(t *testing.T) {
	srv := mckstest.New(t)
	srv.FailProvisioning["bad"] = true
	c := newClient(t, srv)
	_, err := c.Create(context.Background(), threeCloudReq("bad"), mcks.CreateOptions{Wait: true, PollInterval: 5 * time.Millisecond})
	if err == nil || !strings.Contains(err.Error(), "500 Internal Server Error: Bootstrap failed. (cause='ssh: handshake failed')") {
		t.Errorf("failed provisioning: err %v", err)
	}

	srv.AddCluster("default", *threeCloudReq("exists"))
	before := len(srv.Requests())
	_, err = c.Create(context.Background(), threeCloudReq("exists"), mcks.CreateOptions{})
	var exists *mcks.AlreadyExistsError
	if !errors.As(err, &exists) {
		t.Fatalf("create of an existing cluster: %v", err)
	}
	for _, r := range srv.Requests()[before:] {
		if r.Method == http.MethodPost {
			t.Errorf("POST sent for an existing cluster")
		}
	}

	noWorkers := threeCloudReq("x")
	noWorkers.Worker = nil
	before = len(srv.Requests())
	if _, err := c.Create(context.Background(), noWorkers, mcks.CreateOptions{}); err == nil || !strings.Contains(err.Error(), "at least one worker") {
		t.Errorf("no workers: %v", err)
	}
	if len(srv.Requests()) != before {
		t.Errorf("an invalid create reached the server")
	}
}

func TestDeleteOfMissingClusterIsNotFound(t *testing.T) {
	srv := mckstest.New(t)
	c := newClient(t, srv)
	srv.AddCluster("default", *threeCloudReq("c1"))

	_, err := c.DeleteCluster(context.Background(), "nope")
	if !mcks.IsNotFound(err) {
		t.Fatalf("delete of a missing cluster: %v, want not found (the server answers HTTP 200)", err)
	}
	if _, err := c.DeleteCluster(context.Background(), "c1"); err != nil {
		t.Fatalf("delete c1: %v", err)
	}
	if _, err := c.GetCluster(context.Background(), "c1"); !mcks.IsNotFound(err) {
		t.Errorf("get after delete: %v", err)
	}
}

func TestNodes(t *testing.T) {
	srv := mckstest.New(t)
	c := newClient(t, srv)
	srv.AddCluster("default", *threeCloudReq("c1"))
	ctx := context.Background()

	list, err := c.ListNodes(ctx, "c1")
	if err != nil || len(list.Items) != 4 {
		t.Fatalf("ListNodes: %v, %d items", err, len(list.Items))
	}
	n, err := c.GetNode(ctx, "c1", list.Items[1].Name)
	if err != nil || n.CSP != "gcp" || n.RegionLabel != "europe-west2" {
		t.Fatalf("GetNode: %v %+v", err, n)
	}
	var counts []int
	added, err := c.AddNodesWatching(ctx, "c1", &mcks.NodeReq{Worker: []mcks.NodeSetReq{{Connection: "config-alibaba-ap-northeast-1", Spec: "ecs.t5", Count: 2}}}, time.Millisecond, func(nodes int) { counts = append(counts, nodes) })
	if err != nil || len(added.Items) != 2 || added.Items[0].CSP != "alibaba" {
		t.Fatalf("AddNodes: %v %+v", err, added)
	}
	if len(counts) == 0 {
		t.Errorf("no progress reported while adding nodes")
	}
	if _, err := c.RemoveNode(ctx, "c1", added.Items[0].Name); err != nil {
		t.Fatalf("RemoveNode: %v", err)
	}
	if _, err := c.RemoveNode(ctx, "c1", added.Items[0].Name); !mcks.IsNotFound(err) {
		t.Errorf("second RemoveNode: %v, want not found", err)
	}
	// As the real server (v0.7.2) does: a missing cluster has no nodes.
	if list, err := c.ListNodes(ctx, "missing"); err != nil || len(list.Items) != 0 {
		t.Errorf("ListNodes of a missing cluster: %v %+v", err, list)
	}
}

func TestSpecsAndHealth(t *testing.T) {
	srv := mckstest.New(t)
	c := newClient(t, srv)
	if err := c.Healthy(context.Background()); err != nil {
		t.Fatalf("Healthy: %v", err)
	}
	srv.SetFault(http.MethodGet, "/healthy", mckstest.FaultHTMLOK)
	if err := c.Healthy(context.Background()); err == nil || !strings.Contains(err.Error(), "an HTML page instead of JSON") {
		t.Errorf("a web page answering /healthy: %v", err)
	}
	srv.SetFault(http.MethodGet, "/healthy", mckstest.FaultNone)
	specs, err := c.ListSpecs(context.Background(), "config-aws-ap-northeast-2", mcks.SpecQuery{ControlPlane: true})
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range specs.Items {
		if s.CPU.Count == "1" {
			t.Errorf("control-plane specs include a 1-CPU spec %q", s.Name)
		}
	}
	if len(specs.Items) != 2 || specs.ConnectionName != "config-aws-ap-northeast-2" {
		t.Errorf("specs %+v", specs)
	}
}

// Every bad answer a real deployment gives becomes one clear line.
func TestBadAnswersAreOneLineErrors(t *testing.T) {
	for _, tc := range []struct {
		fault mckstest.Fault
		want  string
	}{
		{mckstest.FaultHTMLGateway, `502 Bad Gateway: an HTML error page titled "502 Bad Gateway"`},
		{mckstest.FaultHTMLOK, "an HTML page instead of JSON"},
		{mckstest.Fault500Status, "500 Internal Server Error: dial tcp 127.0.0.1:1323: connect: connection refused"},
		{mckstest.Fault500Empty, "500 Internal Server Error"},
		{mckstest.FaultTruncated, "truncated JSON"},
		{mckstest.FaultMissingName, "has no name"},
		{mckstest.FaultGarbage, "malformed JSON"},
		{mckstest.FaultWrongType, "unexpected JSON: items is a JSON string, want a list"},
		{mckstest.FaultHang, "no answer to GET /ns/default/clusters within 200ms"},
		{mckstest.FaultCloseConn, "cannot list clusters: MCKS server"},
	} {
		srv := mckstest.New(t)
		srv.AddCluster("default", *threeCloudReq("c1"))
		srv.SetFault(http.MethodGet, "/ns/default/clusters", tc.fault)
		c := newClient(t, srv)
		c.RequestTimeout = 200 * time.Millisecond
		start := time.Now()
		_, err := c.ListClusters(context.Background())
		if err == nil {
			t.Errorf("fault %d: no error", tc.fault)
			continue
		}
		msg := err.Error()
		if !strings.Contains(msg, tc.want) || !strings.HasPrefix(msg, "cannot list clusters: MCKS server "+srv.URL()) {
			t.Errorf("fault %d: error %q, want it to name the call, the server and %q", tc.fault, msg, tc.want)
		}
		if strings.ContainsAny(msg, "\r\n") {
			t.Errorf("fault %d: error not one line: %q", tc.fault, msg)
		}
		if time.Since(start) > 3*time.Second {
			t.Errorf("fault %d: took %s", tc.fault, time.Since(start))
		}
	}
}

func TestUnreachableServerAndBadInput(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	c, err := mcks.NewClient("http://"+addr+"/mcks", "default", nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.ListClusters(context.Background())
	if err == nil || !strings.Contains(err.Error(), "connection refused (is the server running? set --mcks-server or $MCKS_SERVER)") {
		t.Errorf("refused: %v", err)
	}

	for _, server := range []string{"", "localhost:1470", "ftp://x/mcks", "http:///mcks", "http://x/mcks?a=b"} {
		if _, err := mcks.NewClient(server, "default", nil); err == nil || !strings.Contains(err.Error(), "invalid MCKS server") {
			t.Errorf("server %q: %v", server, err)
		}
	}
	if _, err := mcks.NewClient("http://x/mcks", "a/b", nil); err == nil {
		t.Errorf("namespace a/b accepted")
	}
	srv := mckstest.New(t)
	c = newClient(t, srv)
	for _, name := range []string{"../x", "a/b", "", "a b"} {
		if _, err := c.GetCluster(context.Background(), name); err == nil {
			t.Errorf("cluster name %q accepted", name)
		}
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("%d requests sent for bad names", n)
	}
}

func TestRedactHidesKeysInEveryObject(t *testing.T) {
	srv := mckstest.New(t)
	c := newClient(t, srv)
	srv.AddCluster("default", *threeCloudReq("c1"))
	ctx := context.Background()
	cl, _ := c.GetCluster(ctx, "c1")
	list, _ := c.ListClusters(ctx)
	nodes, _ := c.ListNodes(ctx, "c1")
	node, _ := c.GetNode(ctx, "c1", nodes.Items[0].Name)
	if !strings.Contains(cl.Nodes[0].Credential, mckstest.CredentialMarker) {
		t.Fatal("test server sent no credential")
	}
	for _, obj := range []any{mcks.Redact(cl), mcks.Redact(list), mcks.Redact(nodes), mcks.Redact(node)} {
		data, _ := json.Marshal(obj)
		s := string(data)
		if strings.Contains(s, mckstest.CredentialMarker) || strings.Contains(s, "PRIVATE KEY") {
			t.Errorf("%T still shows the SSH key", obj)
		}
		if strings.Contains(s, "client-key-data: ZmFrZS") || strings.Contains(s, "ZmFrZS1hZG1pbi1jbGllbnQta2V5") {
			t.Errorf("%T still shows the kubeconfig client key", obj)
		}
	}
	red := mcks.Redact(cl).(*mcks.Cluster)
	if !strings.Contains(red.ClusterConfig, "server: https://") || !strings.Contains(red.ClusterConfig, "client-key-data: DATA+OMITTED") {
		t.Errorf("redacted kubeconfig lost its server or shows no REDACTED:\n%s", red.ClusterConfig)
	}
	if !strings.Contains(cl.Nodes[0].Credential, mckstest.CredentialMarker) {
		t.Errorf("Redact changed the original")
	}
}

func TestParseNodeSet(t *testing.T) {
	got, err := mcks.ParseNodeSet("--worker", "config-gcp-europe-west2:n1-standard-2:3")
	if err != nil || got != (mcks.NodeSetReq{Connection: "config-gcp-europe-west2", Spec: "n1-standard-2", Count: 3}) {
		t.Errorf("got %+v, %v", got, err)
	}
	got, err = mcks.ParseNodeSet("--worker", "conn:spec")
	if err != nil || got.Count != 1 {
		t.Errorf("default count: %+v, %v", got, err)
	}
	for _, bad := range []string{"conn", "conn:", ":spec", "a:b:0", "a:b:x", "a:b:1:2", "a:b:-1"} {
		if _, err := mcks.ParseNodeSet("--worker", bad); err == nil || !strings.Contains(err.Error(), `invalid --worker "`+bad+`"`) {
			t.Errorf("%q: %v", bad, err)
		}
	}
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
