package delayproxy

import (
	"bytes"
	"io"
	"net"
	"testing"
	"time"
)

// echoServer answers every byte it reads with the same byte.
func echoServer(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				_, _ = io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func TestRoundTripsTakeTheRTTAndTheFirstOneAHandshakeMore(t *testing.T) {
	const rtt = 60 * time.Millisecond
	p, err := Start(echoServer(t), rtt)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	buf := make([]byte, 5)
	exchange := func(msg string) time.Duration {
		start := time.Now()
		if _, err := c.Write([]byte(msg)); err != nil {
			t.Fatal(err)
		}
		if _, err := io.ReadFull(c, buf); err != nil {
			t.Fatal(err)
		}
		if string(buf) != msg {
			t.Fatalf("echo %q, want %q", buf, msg)
		}
		return time.Since(start)
	}
	// Connect returned at once on loopback; the first exchange pays for the
	// handshake round trip too.
	if d := exchange("hello"); d < 2*rtt-5*time.Millisecond || d > 2*rtt+40*time.Millisecond {
		t.Errorf("first exchange took %s, want about 2 RTT (%s)", d, 2*rtt)
	}
	if d := exchange("again"); d < rtt-5*time.Millisecond || d > rtt+40*time.Millisecond {
		t.Errorf("second exchange took %s, want about 1 RTT (%s)", d, rtt)
	}
}

func TestBulkDataArrivesWholeAndInOrder(t *testing.T) {
	p, err := Start(echoServer(t), 10*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	c, err := net.Dial("tcp", p.Addr())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	want := bytes.Repeat([]byte("0123456789abcdef"), 1<<16) // 1 MiB
	go func() {
		_, _ = c.Write(want)
		_ = c.(*net.TCPConn).CloseWrite()
	}()
	start := time.Now()
	got, err := io.ReadAll(c)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("got %d bytes back, want %d identical bytes", len(got), len(want))
	}
	// A burst is delayed once, not once per chunk.
	if d := time.Since(start); d > time.Second {
		t.Errorf("1 MiB through a 10 ms proxy took %s", d)
	}
}
