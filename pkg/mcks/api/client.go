// Package api is a client of the CB-Ladybug MCKS REST API (swagger v0.7.1.1,
// root /mcks on port 1470; the server v0.7.2, which the e2e tests run, serves
// it under /ladybug): clusters, nodes, VM specs and the health check, with the
// server's quirks handled and its bad answers turned into one-line errors.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/version"
)

const (
	// DefaultServer is where cb-operator and the MCKS container listen.
	DefaultServer = "http://localhost:1470/mcks"
	// ServerEnv overrides DefaultServer.
	ServerEnv = "MCKS_SERVER"
	// DefaultNamespace is the MCKS namespace used when none is given; the
	// swagger names no default.
	DefaultNamespace = "default"
	// DefaultRequestTimeout bounds every call except the ones that provision.
	DefaultRequestTimeout = 30 * time.Second
	// maxBody bounds what is read from an answer: a cluster list with its
	// kubeconfigs is a few hundred KiB; a server streaming garbage is cut.
	maxBody = 32 << 20
)

// Client talks to one MCKS server in one MCKS namespace.
type Client struct {
	server    *url.URL
	namespace string
	http      *http.Client
	// RequestTimeout bounds each read. Creates, adds, deletes and removes
	// answer only when the clouds are done; the caller's context bounds them.
	RequestTimeout time.Duration
}

// NewClient checks server and namespace and returns a client. httpClient may be nil.
func NewClient(server, namespace string, httpClient *http.Client) (*Client, error) {
	u, err := ParseServer(server)
	if err != nil {
		return nil, err
	}
	if err := checkPathName("MCKS namespace", namespace); err != nil {
		return nil, err
	}
	if httpClient == nil {
		httpClient = &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	}
	return &Client{server: u, namespace: namespace, http: httpClient, RequestTimeout: DefaultRequestTimeout}, nil
}

// ParseServer checks an --mcks-server value.
func ParseServer(server string) (*url.URL, error) {
	bad := func(why string) error {
		return fmt.Errorf("invalid MCKS server %q: %s; want a URL such as %s", server, why, DefaultServer)
	}
	if strings.TrimSpace(server) == "" {
		return nil, bad("empty")
	}
	u, err := url.Parse(server)
	if err != nil {
		return nil, bad("not a URL")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return nil, bad("the scheme must be http or https")
	}
	if u.Host == "" {
		return nil, bad("no host")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, bad("no query or fragment allowed")
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// checkPathName refuses names that would change the request path.
func checkPathName(what, name string) error {
	switch {
	case strings.TrimSpace(name) == "":
		return fmt.Errorf("empty %s", what)
	case strings.ContainsAny(name, "/?#%\\") || strings.ContainsFunc(name, func(r rune) bool { return r <= ' ' || r == 0x7f }):
		return fmt.Errorf("invalid %s %q: it may not contain '/', '?', '#', '%%', '\\', spaces or control characters", what, name)
	case name == "." || name == "..":
		return fmt.Errorf("invalid %s %q", what, name)
	}
	return nil
}

// Server is the server's URL, for messages.
func (c *Client) Server() string { return c.server.String() }

// Namespace is the MCKS namespace the client works in.
func (c *Client) Namespace() string { return c.namespace }

// Healthy calls GET /healthy: any 2xx answer but an HTML page is healthy.
func (c *Client) Healthy(ctx context.Context) error {
	return c.do(ctx, false, http.MethodGet, "check health", "/healthy", nil, nil, &anyBody{})
}

// ListClusters lists the namespace's clusters.
func (c *Client) ListClusters(ctx context.Context) (*ClusterList, error) {
	out := &ClusterList{}
	if err := c.do(ctx, false, http.MethodGet, "list clusters", c.clustersPath(), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetCluster reads one cluster.
func (c *Client) GetCluster(ctx context.Context, name string) (*Cluster, error) {
	if err := checkPathName("cluster name", name); err != nil {
		return nil, err
	}
	out := &Cluster{}
	if err := c.do(ctx, false, http.MethodGet, fmt.Sprintf("get cluster %q", name), c.clusterPath(name), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// CreateCluster posts req and returns the cluster the server built. The MCKS
// server answers only when provisioning has ended, minutes later: ctx alone
// bounds the call (RequestTimeout does not apply). The body sent is
// req.Defaulted(): it always carries etcd.
func (c *Client) CreateCluster(ctx context.Context, req *ClusterReq) (*Cluster, error) {
	body := req.Defaulted()
	if err := body.Validate(); err != nil {
		return nil, err
	}
	out := &Cluster{}
	if err := c.do(ctx, true, http.MethodPost, fmt.Sprintf("create cluster %q", body.Name), c.clustersPath(), nil, &body, out); err != nil {
		return nil, err
	}
	return out, nil
}

// DeleteCluster deletes a cluster and its VMs. A missing cluster is an
// error for which IsNotFound is true, although the server answers it with
// HTTP 200. The server answers when the VMs are gone: ctx alone bounds it.
func (c *Client) DeleteCluster(ctx context.Context, name string) (*Status, error) {
	if err := checkPathName("cluster name", name); err != nil {
		return nil, err
	}
	out := &Status{}
	if err := c.do(ctx, true, http.MethodDelete, fmt.Sprintf("delete cluster %q", name), c.clusterPath(name), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// ListNodes lists a cluster's nodes.
func (c *Client) ListNodes(ctx context.Context, cluster string) (*NodeList, error) {
	if err := checkPathName("cluster name", cluster); err != nil {
		return nil, err
	}
	out := &NodeList{}
	if err := c.do(ctx, false, http.MethodGet, fmt.Sprintf("list nodes of cluster %q", cluster), c.clusterPath(cluster)+"/nodes", nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// GetNode reads one node of a cluster.
func (c *Client) GetNode(ctx context.Context, cluster, node string) (*Node, error) {
	if err := checkPathName("cluster name", cluster); err != nil {
		return nil, err
	}
	if err := checkPathName("node name", node); err != nil {
		return nil, err
	}
	out := &Node{}
	if err := c.do(ctx, false, http.MethodGet, fmt.Sprintf("get node %q of cluster %q", node, cluster), c.nodePath(cluster, node), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// AddNodes adds nodes to a cluster and returns them. Like CreateCluster it
// answers only when the nodes have joined: ctx alone bounds it. The swagger
// promises a Node, the server sends a NodeList; both are accepted.
func (c *Client) AddNodes(ctx context.Context, cluster string, req *NodeReq) (*NodeList, error) {
	if err := checkPathName("cluster name", cluster); err != nil {
		return nil, err
	}
	if err := req.Validate(); err != nil {
		return nil, err
	}
	var raw json.RawMessage
	op := fmt.Sprintf("add nodes to cluster %q", cluster)
	if err := c.do(ctx, true, http.MethodPost, op, c.clusterPath(cluster)+"/nodes", nil, req, &raw); err != nil {
		return nil, err
	}
	var probe map[string]json.RawMessage
	_ = json.Unmarshal(raw, &probe)
	if _, isList := probe["items"]; isList {
		out := &NodeList{}
		if err := Decode(http.StatusOK, raw, out); err != nil {
			return nil, c.wrap(op, err)
		}
		return out, nil
	}
	node := &Node{}
	if err := Decode(http.StatusOK, raw, node); err != nil {
		return nil, c.wrap(op, err)
	}
	list := &NodeList{Items: []Node{*node}}
	list.setKinds()
	return list, nil
}

// RemoveNode drains and removes a node and deletes its VM; like
// DeleteCluster, ctx alone bounds it.
func (c *Client) RemoveNode(ctx context.Context, cluster, node string) (*Status, error) {
	if err := checkPathName("cluster name", cluster); err != nil {
		return nil, err
	}
	if err := checkPathName("node name", node); err != nil {
		return nil, err
	}
	out := &Status{}
	if err := c.do(ctx, true, http.MethodDelete, fmt.Sprintf("remove node %q from cluster %q", node, cluster), c.nodePath(cluster, node), nil, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

// SpecQuery filters ListSpecs; zero values are left out.
type SpecQuery struct {
	ControlPlane         bool
	CPUMin, CPUMax       int
	MemoryMin, MemoryMax int
}

// ListSpecs lists the VM specs a cloud connection offers.
func (c *Client) ListSpecs(ctx context.Context, connection string, q SpecQuery) (*SpecList, error) {
	if err := checkPathName("connection name", connection); err != nil {
		return nil, err
	}
	query := url.Values{}
	query.Set("control-plane", "N")
	if q.ControlPlane {
		query.Set("control-plane", "Y")
	}
	for k, v := range map[string]int{"cpu-min": q.CPUMin, "cpu-max": q.CPUMax, "memory-min": q.MemoryMin, "memory-max": q.MemoryMax} {
		if v > 0 {
			query.Set(k, strconv.Itoa(v))
		}
	}
	out := &SpecList{}
	if err := c.do(ctx, false, http.MethodGet, fmt.Sprintf("list specs of connection %q", connection), "/mcir/connections/"+url.PathEscape(connection)+"/specs", query, nil, out); err != nil {
		return nil, err
	}
	return out, nil
}

func (c *Client) clustersPath() string {
	return "/ns/" + url.PathEscape(c.namespace) + "/clusters"
}

func (c *Client) clusterPath(name string) string {
	return c.clustersPath() + "/" + url.PathEscape(name)
}

func (c *Client) nodePath(cluster, node string) string {
	return c.clusterPath(cluster) + "/nodes/" + url.PathEscape(node)
}

// do sends one request and decodes its answer. long marks the calls the
// server holds open while it provisions: they get no RequestTimeout.
func (c *Client) do(ctx context.Context, long bool, method, op, path string, query url.Values, body, into any) error {
	u := *c.server
	u.Path = c.server.Path + path
	u.RawQuery = query.Encode()

	var reqBody io.Reader
	if body != nil {
		data, err := json.Marshal(body)
		if err != nil {
			return fmt.Errorf("cannot %s: %w", op, err)
		}
		reqBody = bytes.NewReader(data)
	}
	callCtx := ctx
	var timeout time.Duration
	if !long && c.RequestTimeout > 0 {
		timeout = c.RequestTimeout
		var cancel context.CancelFunc
		callCtx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	req, err := http.NewRequestWithContext(callCtx, method, u.String(), reqBody)
	if err != nil {
		return fmt.Errorf("cannot %s: %w", op, err)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", "kubectl-mcks/"+version.Version)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}

	resp, err := c.http.Do(req)
	if err != nil {
		return c.transportError(ctx, callCtx, op, method, path, timeout, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, maxBody+1))
	if err != nil {
		return c.transportError(ctx, callCtx, op, method, path, timeout, err)
	}
	if len(data) > maxBody {
		return c.wrap(op, &BadAnswerError{HTTPStatus: resp.StatusCode, Reason: fmt.Sprintf("the answer is larger than %d MiB", maxBody>>20)})
	}
	if err := Decode(resp.StatusCode, data, into); err != nil {
		return c.wrap(op, err)
	}
	return nil
}

// wrap names the operation and the server in an error from the server.
func (c *Client) wrap(op string, err error) error {
	return &OpError{Op: op, Server: c.Server(), Err: err}
}

// OpError is any failed call: what was tried, where, and why.
type OpError struct {
	Op     string
	Server string
	Err    error
}

func (e *OpError) Error() string {
	return fmt.Sprintf("cannot %s: MCKS server %s: %v", e.Op, e.Server, e.Err)
}

func (e *OpError) Unwrap() error { return e.Err }

// ErrNoAnswer marks a server that did not answer in time.
var ErrNoAnswer = errors.New("no answer")

// transportError explains a failure below HTTP: refused, unresolvable, timed
// out, cut off. A cancelled parent context (Ctrl-C, the caller's own
// deadline) is passed through so callers can tell it apart.
func (c *Client) transportError(parent, call context.Context, op, method, path string, timeout time.Duration, err error) error {
	if parent.Err() != nil {
		return fmt.Errorf("cannot %s: %w", op, parent.Err())
	}
	var why error
	var dnsErr *net.DNSError
	switch {
	case call.Err() != nil && timeout > 0:
		why = fmt.Errorf("%w to %s %s within %s", ErrNoAnswer, method, path, timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		why = errors.New("connection refused (is the server running? set --mcks-server or $" + ServerEnv + ")")
	case errors.As(err, &dnsErr):
		why = fmt.Errorf("cannot resolve host %q", dnsErr.Name)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		why = errors.New("the connection closed before a complete answer")
	default:
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		why = errors.New(clean(err.Error()))
	}
	return c.wrap(op, why)
}
