// Package delayproxy is a TCP proxy on loopback that makes a local server look
// far away: every chunk it forwards, in each direction, is held for half the
// round-trip time, in order, as a long link would deliver it. TLS and HTTP/2
// pass through untouched, so clients verify the server's own certificate.
//
// Loopback completes the TCP handshake inside the kernel at once, before the
// proxy sees the connection. To stand in for that lost round trip, the first
// bytes a client sends on a connection are not delivered before one RTT has
// passed since the connection was accepted: a TLS client then sees the
// ServerHello 2 RTT after connect() returned, as it would over a real link
// (1 RTT for SYN/SYN-ACK, 1 for the ClientHello/ServerHello).
package delayproxy

import (
	"errors"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"
)

// Proxy forwards connections from its own loopback port to a target address.
type Proxy struct {
	ln     net.Listener
	target string
	rtt    atomic.Int64 // nanoseconds

	mu     sync.Mutex
	conns  map[net.Conn]struct{}
	closed bool
	wg     sync.WaitGroup
}

// Start listens on 127.0.0.1 (a free port) and forwards to target (host:port).
func Start(target string, rtt time.Duration) (*Proxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p := &Proxy{ln: ln, target: target, conns: map[net.Conn]struct{}{}}
	p.rtt.Store(int64(rtt))
	p.wg.Add(1)
	go p.serve()
	return p, nil
}

// Addr is the proxy's host:port.
func (p *Proxy) Addr() string { return p.ln.Addr().String() }

// SetRTT changes the round-trip time of connections accepted from now on.
func (p *Proxy) SetRTT(rtt time.Duration) { p.rtt.Store(int64(rtt)) }

// RTT is the round-trip time new connections get.
func (p *Proxy) RTT() time.Duration { return time.Duration(p.rtt.Load()) }

// Close stops listening and cuts every open connection.
func (p *Proxy) Close() {
	p.mu.Lock()
	p.closed = true
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.ln.Close()
	p.wg.Wait()
}

func (p *Proxy) track(c net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.closed {
		return false
	}
	p.conns[c] = struct{}{}
	return true
}

func (p *Proxy) untrack(c net.Conn) {
	p.mu.Lock()
	delete(p.conns, c)
	p.mu.Unlock()
}

func (p *Proxy) serve() {
	defer p.wg.Done()
	for {
		client, err := p.ln.Accept()
		if err != nil {
			return
		}
		accepted := time.Now()
		rtt := p.RTT()
		p.wg.Add(1)
		go func() {
			defer p.wg.Done()
			p.handle(client, accepted, rtt)
		}()
	}
}

func (p *Proxy) handle(client net.Conn, accepted time.Time, rtt time.Duration) {
	server, err := net.Dial("tcp", p.target)
	if err != nil {
		client.Close()
		return
	}
	if !p.track(client) || !p.track(server) {
		client.Close()
		server.Close()
		return
	}
	defer func() {
		client.Close()
		server.Close()
		p.untrack(client)
		p.untrack(server)
	}()
	half := rtt / 2
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		// The client's first bytes wait out the handshake round trip loopback skipped.
		pipe(client, server, half, accepted.Add(rtt))
	}()
	go func() {
		defer wg.Done()
		pipe(server, client, half, time.Time{})
	}()
	wg.Wait()
}

type chunk struct {
	data []byte
	read time.Time
	err  error
}

// pipe copies src to dst, delivering each chunk delay after it was read (or
// after notBefore, if that is later). A reader goroutine stamps chunks as they arrive, so
// a burst is spread as it came, not serialized behind each delay. At the end it
// half-closes dst, so the other direction can still drain.
func pipe(src, dst net.Conn, delay time.Duration, notBefore time.Time) {
	// Enough chunks in flight for a few MB per direction, like a link's window.
	queue := make(chan chunk, 256)
	go func() {
		buf := make([]byte, 64<<10)
		for {
			n, err := src.Read(buf)
			if n > 0 {
				queue <- chunk{data: append([]byte(nil), buf[:n]...), read: time.Now()}
			}
			if err != nil {
				queue <- chunk{err: err, read: time.Now()}
				close(queue)
				return
			}
		}
	}()
	failed := false
	for c := range queue {
		if failed {
			continue // drain so the reader goroutine ends
		}
		sent := c.read
		if sent.Before(notBefore) {
			sent = notBefore
		}
		release := sent.Add(delay)
		if d := time.Until(release); d > 0 {
			time.Sleep(d)
		}
		if c.err != nil {
			if errors.Is(c.err, io.EOF) {
				if tc, ok := dst.(*net.TCPConn); ok {
					_ = tc.CloseWrite()
					continue
				}
			}
			dst.Close()
			src.Close()
			continue
		}
		if _, err := dst.Write(c.data); err != nil {
			failed = true
			src.Close()
		}
	}
}
