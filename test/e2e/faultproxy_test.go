package e2e

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// faultProxy stands in front of one sandbox apiserver, on its own port, with
// the apiserver's own serving certificate (so the kubeconfig's CA still
// verifies it), forwarding every request with the cluster's admin identity.
// A test acts on chosen requests before they are forwarded: another writer
// changes the object between a command's read and its write, the cluster
// goes away (the listener closes: new connections are refused, open ones
// cut, as when an apiserver dies), or a request is held until the command
// gives up. Down and Up take the cluster away and bring it back on the same
// address, which the real processes cannot do.
type faultProxy struct {
	t        *testing.T
	addr     string
	tls      *tls.Config
	upstream http.Handler

	mu       sync.Mutex
	ln       net.Listener
	srv      *http.Server
	conns    map[net.Conn]bool
	down     bool
	hook     func(r *http.Request)
	requests []string
}

func startFaultProxy(t *testing.T, fed *sandbox.Federation, c *sandbox.Cluster) *faultProxy {
	t.Helper()
	dir := filepath.Join(fed.Dir, c.Name)
	cert, err := tls.LoadX509KeyPair(filepath.Join(dir, "apiserver.crt"), filepath.Join(dir, "apiserver.key"))
	if err != nil {
		t.Fatal(err)
	}
	rt, err := rest.TransportFor(c.Config)
	if err != nil {
		t.Fatal(err)
	}
	target, _ := url.Parse(c.Server)
	rp := httputil.NewSingleHostReverseProxy(target)
	rp.Transport = rt
	rp.FlushInterval = -1 // watches stream
	rp.ErrorLog = nil
	p := &faultProxy{t: t, upstream: rp, conns: map[net.Conn]bool{},
		tls: &tls.Config{Certificates: []tls.Certificate{cert}, NextProtos: []string{"http/1.1"}}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.addr = ln.Addr().String()
	p.serve(ln)
	t.Cleanup(p.Down)
	return p
}

// URL is the proxy's https address.
func (p *faultProxy) URL() string { return "https://" + p.addr }

func (p *faultProxy) serve(ln net.Listener) {
	srv := &http.Server{
		Handler:      http.HandlerFunc(p.handle),
		TLSNextProto: map[string]func(*http.Server, *tls.Conn, http.Handler){}, // HTTP/1.1 only: Hijack works
		ConnState: func(c net.Conn, s http.ConnState) {
			p.mu.Lock()
			defer p.mu.Unlock()
			switch s {
			case http.StateNew:
				p.conns[c] = true
			case http.StateClosed, http.StateHijacked:
				delete(p.conns, c)
			}
		},
	}
	p.mu.Lock()
	p.ln, p.srv, p.down = ln, srv, false
	p.mu.Unlock()
	go func() { _ = srv.Serve(tls.NewListener(ln, p.tls)) }()
}

// Down takes the cluster away: no new connection is accepted, open ones are cut.
func (p *faultProxy) Down() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.down {
		return
	}
	p.down = true
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
}

// Up brings the cluster back on the same address.
func (p *faultProxy) Up() {
	p.t.Helper()
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy back on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// OnRequest sets what runs before each request is forwarded (nil: nothing).
func (p *faultProxy) OnRequest(hook func(r *http.Request)) {
	p.mu.Lock()
	p.hook = hook
	p.mu.Unlock()
}

// Requests lists "METHOD PATH" of every request seen.
func (p *faultProxy) Requests() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.requests...)
}

// Count counts the requests seen with that method whose path contains part.
func (p *faultProxy) Count(method, part string) int {
	n := 0
	for _, r := range p.Requests() {
		m, path, _ := strings.Cut(r, " ")
		if m == method && strings.Contains(path, part) {
			n++
		}
	}
	return n
}

func (p *faultProxy) handle(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.requests = append(p.requests, r.Method+" "+r.URL.Path)
	hook := p.hook
	p.mu.Unlock()
	if hook != nil {
		hook(r)
	}
	p.mu.Lock()
	down := p.down
	p.mu.Unlock()
	if down {
		// The cluster went away with this request in flight: cut it.
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
		return
	}
	if errors.Is(r.Context().Err(), context.Canceled) {
		return
	}
	p.upstream.ServeHTTP(w, r)
}

// routeContext points a kubeconfig context's cluster at server (the
// cluster's CA stays: a delaying or fault proxy presents the apiserver's certificate).
func routeContext(t *testing.T, kubeconfig, context, server string) {
	t.Helper()
	cfg, err := clientcmd.LoadFromFile(kubeconfig)
	if err != nil {
		t.Fatal(err)
	}
	ctx := cfg.Contexts[context]
	if ctx == nil {
		t.Fatalf("no context %q in %s", context, kubeconfig)
	}
	cfg.Clusters[ctx.Cluster].Server = server
	if err := clientcmd.WriteToFile(*cfg, kubeconfig); err != nil {
		t.Fatal(err)
	}
}
