package main

import (
	"bytes"
	"cmp"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"

	"golang.org/x/net/http2"
	"k8s.io/client-go/rest"

	"github.com/openmcp-plugins/kubectl-openmcp/test/bench/delayproxy"
)

// The floor is what no client can beat: start-up plus the round trips one
// request needs. It is measured, not computed, with a minimal Go client that
// makes exactly one connection through one proxy: TCP connect (its round trip
// emulated by the proxy), a TLS 1.3 handshake with the admin client
// certificate, then, when cold, both aggregated discovery documents (/api and
// /apis) at once on that connection, then the list kubectl openmcp get makes
// (a Table, limit=500, includeObject=None, following continue), its body read
// to the end but not decoded. (kubectl's own get asks for each row's metadata
// too: a larger answer than this floor's.)

type floorKey struct {
	N        int // 0 for the one-request floor
	RTT      time.Duration
	Resource string
	Cold     bool
}

var listPaths = map[string]string{
	"pods": "/api/v1/namespaces/" + benchNamespace + "/pods",
	"hpa":  "/apis/autoscaling/v2/namespaces/" + benchNamespace + "/horizontalpodautoscalers",
}

const (
	tableAccept     = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"
	discoveryAccept = "application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,application/json"
)

// measureFloors records the one-request floor (once per RTT, the fastest of
// FloorRuns) and the N-request floor (the median of up to 3 runs): N minimal
// clients at once, each through its own proxy, which shows what one apiserver
// on this machine can serve to N clusters' worth of lists.
func measureFloors(ctx context.Context, cfg *config, f *fixture, rep *report, n int, rtt time.Duration) error {
	tlsConfig, err := floorTLS(f.tlsConfig)
	if err != nil {
		return err
	}
	for _, res := range []string{"pods", "hpa"} {
		for _, cold := range []bool{false, true} {
			if cold && cfg.NoCold {
				continue
			}
			one := floorKey{0, rtt, res, cold}
			if _, done := rep.floors[one]; !done {
				// A lower bound: the fastest of the runs, after one untimed
				// run that warms the apiserver's caches.
				var best time.Duration
				for i := -1; i < cfg.FloorRuns; i++ {
					d, err := minimalGet(ctx, f.proxies[0], tlsConfig, listPaths[res], cold)
					if err != nil {
						return fmt.Errorf("floor: %w", err)
					}
					if i == 0 || (i > 0 && d < best) {
						best = d
					}
				}
				rep.floors[one] = best
			}
			var ds []time.Duration
			for range min(cfg.FloorRuns, 3) {
				start := time.Now()
				errs := make([]error, n)
				var wg sync.WaitGroup
				for k := range n {
					wg.Go(func() { _, errs[k] = minimalGet(ctx, f.proxies[k], tlsConfig, listPaths[res], cold) })
				}
				wg.Wait()
				took := time.Since(start)
				failed := 0
				var first error
				for _, err := range errs {
					if err != nil {
						failed++
						first = cmp.Or(first, err)
					}
				}
				if failed > 0 {
					// Above 64 one apiserver on two cores may drop some
					// of N simultaneous clients: that run is left out.
					if n <= 64 || ctx.Err() != nil {
						return fmt.Errorf("floor of %d clusters: %w", n, first)
					}
					logf("bench: floor of %d clusters: %d of them failed (%v), run left out", n, failed, first)
					rep.failed = append(rep.failed, fmt.Sprintf("a run of the N-FLOOR of %d %s clusters: %d minimal clients failed (%v)", n, res, failed, first))
					continue
				}
				ds = append(ds, took)
			}
			rep.nFloors[floorKey{n, rtt, res, cold}] = median(ds)
		}
	}
	return nil
}

func floorTLS(cfg *rest.Config) (*tls.Config, error) {
	t, err := rest.TLSConfigFor(cfg)
	if err != nil {
		return nil, err
	}
	t = t.Clone()
	t.ServerName = "127.0.0.1" // the serving certificate's IP SAN
	t.NextProtos = []string{"h2"}
	return t, nil
}

// minimalGet is one connection, one handshake, (discovery,) one list.
func minimalGet(ctx context.Context, p *delayproxy.Proxy, tlsConfig *tls.Config, path string, discovery bool) (time.Duration, error) {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	start := time.Now()
	var d net.Dialer
	raw, err := d.DialContext(ctx, "tcp", p.Addr())
	if err != nil {
		return 0, err
	}
	conn := tls.Client(raw, tlsConfig)
	if err := conn.HandshakeContext(ctx); err != nil {
		raw.Close()
		return 0, err
	}
	cc, err := (&http2.Transport{}).NewClientConn(conn)
	if err != nil {
		conn.Close()
		return 0, err
	}
	defer cc.Close()
	get := func(path, accept string) ([]byte, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+p.Addr()+path, nil)
		if err != nil {
			return nil, err
		}
		req.Header.Set("Accept", accept)
		resp, err := cc.RoundTrip(req)
		if err != nil {
			return nil, err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		if err != nil {
			return nil, err
		}
		if resp.StatusCode != http.StatusOK {
			return nil, fmt.Errorf("GET %s: %s", path, resp.Status)
		}
		return body, nil
	}
	if discovery {
		errs := make([]error, 2)
		var wg sync.WaitGroup
		for i, p := range []string{"/api", "/apis"} {
			wg.Go(func() { _, errs[i] = get(p, discoveryAccept) })
		}
		wg.Wait()
		for _, err := range errs {
			if err != nil {
				return 0, err
			}
		}
	}
	next := ""
	for {
		// What get asks for in one namespace: cells only, no row metadata.
		q := url.Values{"limit": {"500"}, "includeObject": {"None"}}
		if next != "" {
			q.Set("continue", next)
		}
		body, err := get(path+"?"+q.Encode(), tableAccept)
		if err != nil {
			return 0, err
		}
		if next = continueToken(body); next == "" {
			break
		}
	}
	return time.Since(start), nil
}

// continueToken finds metadata.continue near the top of a list, without
// decoding the list.
func continueToken(body []byte) string {
	head := body[:min(len(body), 1024)]
	const key = `"continue":"`
	i := bytes.Index(head, []byte(key))
	if i < 0 {
		return ""
	}
	rest := head[i+len(key):]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
