// Package mckstest is an in-memory MCKS REST server for tests: the swagger
// contract (v0.7.1.1) as the real server v0.7.2 answers it (checked by
// test/e2e/mcks_real_test.go against that server: its REST root, messages,
// records of failed clusters), and the bad answers a real deployment gives
// (HTML error pages, 500s, truncated JSON, missing fields, silence),
// switchable per request.
package mckstest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	mcks "github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api"
)

// Fault is a bad answer the server gives instead of the real one.
type Fault int

const (
	FaultNone        Fault = iota
	FaultHTMLGateway       // 502 with a proxy's HTML error page
	FaultHTMLOK            // 200 with an HTML page (wrong URL root, captive portal)
	Fault500Status         // 500 with an app.Status body
	Fault500Empty          // 500 with no body
	FaultTruncated         // 200 with the right JSON cut in the middle
	FaultMissingName       // 200 with the object's name (and items' names) left out
	FaultGarbage           // 200 with plain text
	FaultWrongType         // 200 with valid JSON of the wrong shape
	FaultHang              // never answers; the request ends when the client gives up
	FaultCloseConn         // closes the connection without an answer
)

// BasePath is the REST root of the real server v0.7.2 (the swagger of
// v0.7.1.1 says /mcks).
const BasePath = "/ladybug"

// Request is one call the server received.
type Request struct {
	Method, Path string
	Body         []byte
}

// Server is a running fake MCKS server.
type Server struct {
	*httptest.Server

	// StepDelay is the time each provisioning step takes (one per node, one
	// for the control plane set-up); a create answers after all steps.
	StepDelay time.Duration
	// FailProvisioning makes creates of these cluster names end in phase Failed.
	FailProvisioning map[string]bool
	// KubeconfigServer, if set, gives the API server URL written in a
	// cluster's kubeconfig; by default https://<control plane IP>:6443.
	KubeconfigServer func(cluster string) string

	mu       sync.Mutex
	clusters map[string]map[string]*mcks.Cluster // namespace -> name -> cluster
	faults   map[string]Fault                    // "METHOD /path" -> fault
	requests []Request
	nextIP   int
	stop     chan struct{}
}

// Credential is the fake SSH private key the server gives every node; tests
// check it never shows in any output.
func Credential(node string) string {
	return "-----BEGIN RSA PRIVATE KEY-----\nMIIEfakeSSHkeyFor" + node + "DoNotPrint\n-----END RSA PRIVATE KEY-----\n"
}

// CredentialMarker is a substring of every Credential.
const CredentialMarker = "MIIEfakeSSHkeyFor"

// ClientKeyMarker is a substring of every kubeconfig's client key (decoded).
const ClientKeyMarker = "fake-admin-client-key"

// New starts a server; it stops when the test ends.
func New(t testing.TB) *Server {
	s := &Server{
		StepDelay:        10 * time.Millisecond,
		FailProvisioning: map[string]bool{},
		clusters:         map[string]map[string]*mcks.Cluster{},
		faults:           map[string]Fault{},
		stop:             make(chan struct{}),
		nextIP:           10,
	}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(func() {
		close(s.stop)
		s.Server.CloseClientConnections()
		s.Server.Close()
	})
	return s
}

// URL is the REST root to give the client (…/ladybug).
func (s *Server) URL() string { return s.Server.URL + BasePath }

// SetFault makes requests METHOD PATH (PATH without the root, e.g.
// "/ns/default/clusters") answer with f; FaultNone restores the real answer.
func (s *Server) SetFault(method, path string, f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults[method+" "+path] = f
}

// Requests lists the calls received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Cluster returns a copy of a stored cluster, or nil.
func (s *Server) Cluster(ns, name string) *mcks.Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[ns][name]
	if c == nil {
		return nil
	}
	return c.DeepCopyObject().(*mcks.Cluster)
}

// SetKubeconfig replaces the kubeconfig a stored cluster answers with, as
// a spoofed or compromised MCKS server would.
func (s *Server) SetKubeconfig(ns, name, kubeconfig string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[ns][name]; c != nil {
		c.ClusterConfig = kubeconfig
	}
}

// AddCluster stores a provisioned cluster built from req at once.
func (s *Server) AddCluster(ns string, req mcks.ClusterReq) *mcks.Cluster {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.newCluster(ns, req)
	for _, set := range req.ControlPlane {
		for i := 0; i < set.Count; i++ {
			c.Nodes = append(c.Nodes, s.newNode(c.Name, mcks.RoleControlPlane, set))
		}
	}
	for _, set := range req.Worker {
		for i := 0; i < set.Count; i++ {
			c.Nodes = append(c.Nodes, s.newNode(c.Name, mcks.RoleWorker, set))
		}
	}
	c.Status = mcks.ClusterStatus{Phase: mcks.PhaseProvisioned}
	c.MCIS = c.Name
	c.CreatedTime = time.Now().UTC().Format(time.RFC3339)
	c.ClusterConfig = s.kubeconfig(c)
	return c.DeepCopyObject().(*mcks.Cluster)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	path, ok := strings.CutPrefix(r.URL.Path, BasePath)
	if !ok {
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, Request{Method: r.Method, Path: path, Body: body})
	fault := s.faults[r.Method+" "+path]
	s.mu.Unlock()

	if fault != FaultNone {
		s.fault(w, r, path, fault)
		return
	}
	s.route(w, r, path, body)
}

func (s *Server) route(w http.ResponseWriter, r *http.Request, path string, body []byte) {
	parts := strings.Split(strings.Trim(path, "/"), "/")
	switch {
	case path == "/healthy" && r.Method == http.MethodGet:
		// Plain text, as echo's c.String sends it.
		w.Header().Set("Content-Type", "text/plain; charset=UTF-8")
		fmt.Fprint(w, "cb-barista cb-ladybug")
	case len(parts) == 4 && parts[0] == "mcir" && parts[1] == "connections" && parts[3] == "specs" && r.Method == http.MethodGet:
		s.listSpecs(w, r, parts[2])
	case len(parts) == 3 && parts[0] == "ns" && parts[2] == "clusters":
		switch r.Method {
		case http.MethodGet:
			s.listClusters(w, parts[1])
		case http.MethodPost:
			s.createCluster(w, r, parts[1], body)
		default:
			methodNotAllowed(w)
		}
	case len(parts) == 4 && parts[0] == "ns" && parts[2] == "clusters":
		switch r.Method {
		case http.MethodGet:
			s.getCluster(w, parts[1], parts[3])
		case http.MethodDelete:
			s.deleteCluster(w, parts[1], parts[3])
		default:
			methodNotAllowed(w)
		}
	case len(parts) == 5 && parts[0] == "ns" && parts[2] == "clusters" && parts[4] == "nodes":
		switch r.Method {
		case http.MethodGet:
			s.listNodes(w, parts[1], parts[3])
		case http.MethodPost:
			s.addNodes(w, r, parts[1], parts[3], body)
		default:
			methodNotAllowed(w)
		}
	case len(parts) == 6 && parts[0] == "ns" && parts[2] == "clusters" && parts[4] == "nodes":
		switch r.Method {
		case http.MethodGet:
			s.getNode(w, parts[1], parts[3], parts[5])
		case http.MethodDelete:
			s.removeNode(w, parts[1], parts[3], parts[5])
		default:
			methodNotAllowed(w)
		}
	default:
		// echo's own answer to an unknown route.
		writeJSON(w, http.StatusNotFound, map[string]string{"message": "Not Found"})
	}
}

func methodNotAllowed(w http.ResponseWriter) {
	writeJSON(w, http.StatusMethodNotAllowed, map[string]string{"message": "Method Not Allowed"})
}

func (s *Server) listClusters(w http.ResponseWriter, ns string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	list := mcks.ClusterList{Items: []mcks.Cluster{}}
	list.Kind = mcks.KindClusterList
	for _, name := range sortedKeys(s.clusters[ns]) {
		list.Items = append(list.Items, *s.clusters[ns][name].DeepCopyObject().(*mcks.Cluster))
	}
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getCluster(w http.ResponseWriter, ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[ns][name]
	if c == nil {
		status(w, http.StatusNotFound, http.StatusNotFound, fmt.Sprintf("Could not be found a cluster '%s' (namespace=%s)", name, ns))
		return
	}
	writeJSON(w, http.StatusOK, c)
}

// deleteCluster has the server's quirk: a missing cluster is HTTP 200 with
// code 404 in the Status body.
func (s *Server) deleteCluster(w http.ResponseWriter, ns, name string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clusters[ns][name] == nil {
		status(w, http.StatusOK, http.StatusNotFound, fmt.Sprintf("Could not be found cluster '%s'. (namespace=%s)", name, ns))
		return
	}
	delete(s.clusters[ns], name)
	status(w, http.StatusOK, http.StatusOK, fmt.Sprintf("Cluster '%s' has been deleted", name))
}

func (s *Server) createCluster(w http.ResponseWriter, r *http.Request, ns string, body []byte) {
	var req mcks.ClusterReq
	if err := json.Unmarshal(body, &req); err != nil {
		status(w, http.StatusBadRequest, http.StatusBadRequest, "code=400, message=Syntax error: "+err.Error())
		return
	}
	// The real server's checks, in its order and words. Its defaulting
	// of etcd is broken (it tests the load balancer), so etcd must be sent.
	k := req.Config.Kubernetes
	switch {
	case len(req.ControlPlane) == 0:
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Control plane node must be at least one")
		return
	case len(req.ControlPlane) > 1:
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Only one control plane node is supported")
		return
	case len(req.Worker) == 0:
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Worker node must be at least one")
		return
	case k.NetworkCNI != "" && k.NetworkCNI != mcks.CNIKilo && k.NetworkCNI != mcks.CNICanal:
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Network-cni allows only canal or kilo in Multi-Cloud type")
		return
	case k.Etcd != mcks.EtcdLocal && k.Etcd != mcks.EtcdExternal:
		status(w, http.StatusBadRequest, http.StatusBadRequest, "etcd allows only local or external")
		return
	case k.Etcd == mcks.EtcdExternal && req.ControlPlane[0].Count != 3 && req.ControlPlane[0].Count != 5 && req.ControlPlane[0].Count != 7:
		status(w, http.StatusBadRequest, http.StatusBadRequest, "External etcd must have 3,5,7 controlPlane count")
		return
	case req.Name == "":
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Cluster name is empty")
		return
	}
	s.mu.Lock()
	if s.clusters[ns][req.Name] != nil {
		s.mu.Unlock()
		status(w, http.StatusInternalServerError, http.StatusInternalServerError, fmt.Sprintf("The cluster '%s' already exists. (namespace=%s)", req.Name, ns))
		return
	}
	c := s.newCluster(ns, req)
	c.Status = mcks.ClusterStatus{Phase: mcks.PhaseProvisioning}
	fail := s.FailProvisioning[req.Name]
	s.mu.Unlock()

	// Provisioning goes on whether or not the client waits for it, as on
	// the real server, whose handler does not watch the request.
	done := make(chan *mcks.Cluster, 1)
	go s.provision(ns, req, fail, done)
	select {
	case result := <-done:
		if result.Status.Phase == mcks.PhaseFailed {
			status(w, http.StatusInternalServerError, http.StatusInternalServerError, result.Status.Message)
			return
		}
		writeJSON(w, http.StatusOK, result)
	case <-r.Context().Done():
	case <-s.stop:
	}
}

func (s *Server) provision(ns string, req mcks.ClusterReq, fail bool, done chan<- *mcks.Cluster) {
	step := func(change func(c *mcks.Cluster)) bool {
		select {
		case <-time.After(s.StepDelay):
		case <-s.stop:
			return false
		}
		s.mu.Lock()
		defer s.mu.Unlock()
		c := s.clusters[ns][req.Name]
		if c == nil { // deleted meanwhile
			return false
		}
		change(c)
		return true
	}
	// The real server records the cluster as Provisioning, with no reason,
	// and its MCIS once Tumblebug has made it.
	if !step(func(c *mcks.Cluster) { c.MCIS = c.Name }) {
		return
	}
	for _, role := range []struct {
		name string
		sets []mcks.NodeSetReq
	}{{mcks.RoleControlPlane, req.ControlPlane}, {mcks.RoleWorker, req.Worker}} {
		for _, set := range role.sets {
			for i := 0; i < set.Count; i++ {
				if !step(func(c *mcks.Cluster) { c.Nodes = append(c.Nodes, s.newNode(c.Name, role.name, set)) }) {
					return
				}
			}
		}
	}
	var result *mcks.Cluster
	if !step(func(c *mcks.Cluster) {
		if fail {
			c.Status = mcks.ClusterStatus{Phase: mcks.PhaseFailed, Reason: "SetupBoostrapFailedReason", Message: "Bootstrap failed. (cause='ssh: handshake failed')"}
		} else {
			// createdTime is set only here: a failed cluster has none.
			c.Status = mcks.ClusterStatus{Phase: mcks.PhaseProvisioned}
			c.CreatedTime = time.Now().UTC().Format(time.RFC3339)
			c.ClusterConfig = s.kubeconfig(c)
		}
		result = c.DeepCopyObject().(*mcks.Cluster)
	}) {
		return
	}
	done <- result
}

func (s *Server) listNodes(w http.ResponseWriter, ns, cluster string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	// The real server lists a missing cluster's nodes as none.
	list := mcks.NodeList{Items: []mcks.Node{}}
	if c := s.clusters[ns][cluster]; c != nil {
		list.Items = append(list.Items, c.Nodes...)
	}
	list.Kind = mcks.KindNodeList
	writeJSON(w, http.StatusOK, list)
}

func (s *Server) getNode(w http.ResponseWriter, ns, cluster, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.clusters[ns][cluster]; c != nil {
		for _, n := range c.Nodes {
			if n.Name == node {
				writeJSON(w, http.StatusOK, n)
				return
			}
		}
	}
	status(w, http.StatusNotFound, http.StatusNotFound, fmt.Sprintf("Could not be found a node '%s' (namespace=%s, cluster=%s)", node, ns, cluster))
}

// addNodes answers a NodeList, as the real server does (the swagger says Node).
func (s *Server) addNodes(w http.ResponseWriter, r *http.Request, ns, cluster string, body []byte) {
	var req mcks.NodeReq
	if err := json.Unmarshal(body, &req); err != nil {
		status(w, http.StatusBadRequest, http.StatusBadRequest, "code=400, message=Syntax error: "+err.Error())
		return
	}
	if len(req.ControlPlane) > 0 {
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Control plane node is not supported")
		return
	}
	if len(req.Worker) == 0 {
		status(w, http.StatusBadRequest, http.StatusBadRequest, "Worker node must be at least one")
		return
	}
	s.mu.Lock()
	c := s.clusters[ns][cluster]
	switch {
	case c == nil:
		s.mu.Unlock()
		status(w, http.StatusInternalServerError, http.StatusInternalServerError, fmt.Sprintf("Could not be found a cluster '%s'. (namespace=%s)", cluster, ns))
		return
	case c.Status.Phase != mcks.PhaseProvisioned:
		s.mu.Unlock()
		status(w, http.StatusInternalServerError, http.StatusInternalServerError, fmt.Sprintf("Unable to add a node. status is '%s'.", c.Status.Phase))
		return
	}
	s.mu.Unlock()
	added := mcks.NodeList{Items: []mcks.Node{}}
	added.Kind = mcks.KindNodeList
	for _, role := range []struct {
		name string
		sets []mcks.NodeSetReq
	}{{mcks.RoleControlPlane, req.ControlPlane}, {mcks.RoleWorker, req.Worker}} {
		for _, set := range role.sets {
			for i := 0; i < set.Count; i++ {
				select {
				case <-time.After(s.StepDelay):
				case <-s.stop:
					return
				}
				s.mu.Lock()
				if c := s.clusters[ns][cluster]; c != nil {
					n := s.newNode(cluster, role.name, set)
					c.Nodes = append(c.Nodes, n)
					added.Items = append(added.Items, n)
				}
				s.mu.Unlock()
			}
		}
	}
	if r.Context().Err() != nil {
		return
	}
	writeJSON(w, http.StatusOK, added)
}

// removeNode answers 404 for a missing node (this route does send a 404).
func (s *Server) removeNode(w http.ResponseWriter, ns, cluster, node string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	c := s.clusters[ns][cluster]
	switch {
	case c == nil:
		status(w, http.StatusInternalServerError, http.StatusInternalServerError, fmt.Sprintf("Could not be found a cluster. (namespace=%s, cluster=%s)", ns, cluster))
		return
	case c.Status.Phase != mcks.PhaseProvisioned:
		status(w, http.StatusInternalServerError, http.StatusInternalServerError, fmt.Sprintf("Unable to remove a node. status is '%s'.", c.Status.Phase))
		return
	}
	for i, n := range c.Nodes {
		if n.Name == node {
			if n.Role == mcks.RoleControlPlane {
				status(w, http.StatusInternalServerError, http.StatusInternalServerError, "Could not be delete a control-plane leader node.")
				return
			}
			c.Nodes = append(c.Nodes[:i], c.Nodes[i+1:]...)
			status(w, http.StatusOK, http.StatusOK, fmt.Sprintf("Node '%s' has been deleted", node))
			return
		}
	}
	status(w, http.StatusNotFound, http.StatusNotFound, fmt.Sprintf("Could not be found a node-entity '%s'", node))
}

func (s *Server) listSpecs(w http.ResponseWriter, r *http.Request, connection string) {
	cp := r.URL.Query().Get("control-plane")
	if cp != "Y" && cp != "N" {
		status(w, http.StatusBadRequest, http.StatusBadRequest, "control-plane is required (Y or N)")
		return
	}
	cpuMin, _ := strconv.Atoi(r.URL.Query().Get("cpu-min"))
	if cp == "Y" && cpuMin < 2 {
		cpuMin = 2
	}
	list := mcks.SpecList{ConnectionName: connection, Items: []mcks.VMSpec{}}
	list.Kind = mcks.KindSpecList
	for i, name := range []string{"small", "medium", "large"} {
		spec := mcks.VMSpec{Name: name, Memory: strconv.Itoa(2<<i) + "GB"}
		spec.CPU.Count = strconv.Itoa(1 << i)
		spec.CPU.Clock = "2.5"
		if 1<<i >= cpuMin {
			list.Items = append(list.Items, spec)
		}
	}
	writeJSON(w, http.StatusOK, list)
}

// newCluster stores an empty cluster; s.mu is held.
func (s *Server) newCluster(ns string, req mcks.ClusterReq) *mcks.Cluster {
	k := req.Config.Kubernetes
	c := &mcks.Cluster{
		Name: req.Name, Namespace: ns, Label: req.Label, Description: req.Description,
		// The real server stores the version as its apt package's, with "-00".
		K8sVersion: orDefault(k.Version, "1.23.13") + "-00", NetworkCNI: orDefault(k.NetworkCNI, mcks.CNIKilo), Etcd: k.Etcd,
		Loadbalancer: orDefault(k.Loadbalancer, mcks.LBHAProxy), InstallMonAgent: orDefault(req.Config.InstallMonAgent, "no"),
	}
	c.Kind = mcks.KindCluster
	if s.clusters[ns] == nil {
		s.clusters[ns] = map[string]*mcks.Cluster{}
	}
	s.clusters[ns][req.Name] = c
	return c
}

// newNode makes a node for a set; s.mu is held. The connection name gives
// the CSP and region: config-aws-ap-northeast-2 is aws, ap-northeast-2.
func (s *Server) newNode(cluster, role string, set mcks.NodeSetReq) mcks.Node {
	s.nextIP++
	csp, region := "", ""
	if rest, ok := strings.CutPrefix(set.Connection, "config-"); ok {
		csp, region, _ = strings.Cut(rest, "-")
	}
	short := "w"
	if role == mcks.RoleControlPlane {
		short = "c"
	}
	name := fmt.Sprintf("%s-%s-%d-%05x", cluster, short, s.nextIP, s.nextIP*7919%0xfffff)
	n := mcks.Node{
		Name: name, Role: role, Spec: set.Spec, CSP: csp, CSPLabel: csp, RegionLabel: region,
		ZoneLabel: region + "a", PublicIP: fmt.Sprintf("203.0.113.%d", s.nextIP%250+1), PrivateIP: fmt.Sprintf("10.0.0.%d", s.nextIP%250+1),
		CreatedTime: time.Now().UTC().Format(time.RFC3339), Credential: Credential(name),
	}
	n.Kind = mcks.KindNode
	return n
}

// kubeconfig is the admin kubeconfig MCKS writes: the same cluster, user and
// context names for every cluster.
func (s *Server) kubeconfig(c *mcks.Cluster) string {
	server := "https://203.0.113.1:6443"
	for _, n := range c.Nodes {
		if n.Role == mcks.RoleControlPlane {
			server = "https://" + n.PublicIP + ":6443"
			break
		}
	}
	if s.KubeconfigServer != nil {
		server = s.KubeconfigServer(c.Name)
	}
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	return fmt.Sprintf(`apiVersion: v1
clusters:
- cluster:
    certificate-authority-data: %s
    server: %s
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
kind: Config
preferences: {}
users:
- name: kubernetes-admin
  user:
    client-certificate-data: %s
    client-key-data: %s
`, b64("fake-ca-of-"+c.Name), server, b64("fake-admin-client-cert-of-"+c.Name), b64(ClientKeyMarker+"-of-"+c.Name))
}

// fault writes a bad answer.
func (s *Server) fault(w http.ResponseWriter, r *http.Request, path string, f Fault) {
	switch f {
	case FaultHTMLGateway:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		fmt.Fprint(w, "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.21.6</center>\r\n</body>\r\n</html>\r\n")
	case FaultHTMLOK:
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, "<!DOCTYPE html>\n<html><head><title>Cloud-Barista Web Console</title></head><body>Sign in</body></html>\n")
	case Fault500Status:
		status(w, http.StatusInternalServerError, http.StatusInternalServerError, "dial tcp 127.0.0.1:1323: connect: connection refused")
	case Fault500Empty:
		w.WriteHeader(http.StatusInternalServerError)
	case FaultTruncated:
		rec := httptest.NewRecorder()
		s.route(rec, r, path, nil)
		b := rec.Body.Bytes()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(b[:len(b)/2])
	case FaultMissingName:
		rec := httptest.NewRecorder()
		s.route(rec, r, path, nil)
		var v any
		_ = json.Unmarshal(rec.Body.Bytes(), &v)
		dropNames(v)
		writeJSON(w, rec.Code, v)
	case FaultGarbage:
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, "upstream connect error or disconnect/reset before headers. reset reason: connection termination")
	case FaultWrongType:
		writeJSON(w, http.StatusOK, map[string]any{"kind": "ClusterList", "items": "none", "name": 42})
	case FaultHang:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
	case FaultCloseConn:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.(*net.TCPConn).SetLinger(0)
				_ = conn.Close()
			}
		}
	}
}

func dropNames(v any) {
	switch t := v.(type) {
	case map[string]any:
		delete(t, "name")
		for _, child := range t {
			dropNames(child)
		}
	case []any:
		for _, child := range t {
			dropNames(child)
		}
	}
}

func status(w http.ResponseWriter, httpCode, code int, msg string) {
	writeJSON(w, httpCode, mcks.Status{Kind: mcks.KindStatus, Code: code, Message: msg})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func orDefault(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// TwoCloudReq is a small cluster across two clouds: an AWS Seoul control
// plane and one GCP London worker, the cluster the end-to-end tests keep.
func TwoCloudReq(name string) mcks.ClusterReq {
	return mcks.ClusterReq{
		Name:         name,
		Config:       mcks.ClusterConfigReq{Kubernetes: mcks.KubernetesReq{Etcd: "local", NetworkCNI: "kilo"}},
		ControlPlane: []mcks.NodeSetReq{{Connection: "config-aws-ap-northeast-2", Spec: "t3.medium", Count: 1}},
		Worker:       []mcks.NodeSetReq{{Connection: "config-gcp-europe-west2", Spec: "n1-standard-2", Count: 1}},
	}
}
