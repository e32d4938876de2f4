package mcksserver

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"time"
)

// Tumblebug stands in for CB-Tumblebug: every namespace exists, and so does
// every MCIS, so a create passes the server's checks and fails where it
// would start to provision ("MCIS already exists"), and a delete cleans up.
type Tumblebug struct {
	Server *httptest.Server

	mu        sync.Mutex
	mcisDelay time.Duration
	down      bool
	requests  []string
}

func newTumblebug() *Tumblebug {
	tb := &Tumblebug{}
	tb.Server = httptest.NewServer(http.HandlerFunc(tb.serve))
	return tb
}

// URL is Tumblebug's REST root, as TUMBLEBUG_URL.
func (tb *Tumblebug) URL() string { return tb.Server.URL + "/tumblebug" }

// Close stops the stand-in.
func (tb *Tumblebug) Close() {
	tb.Server.CloseClientConnections()
	tb.Server.Close()
}

// SetMCISDelay makes the MCIS lookup of a create answer after d: the time a
// cluster stays in phase Provisioning before it fails.
func (tb *Tumblebug) SetMCISDelay(d time.Duration) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.mcisDelay = d
}

// SetDown makes the stand-in close every connection without an answer, as
// a Tumblebug that went away.
func (tb *Tumblebug) SetDown(down bool) {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	tb.down = down
}

// Requests lists the calls received, "METHOD /path?query".
func (tb *Tumblebug) Requests() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.requests...)
}

func (tb *Tumblebug) serve(w http.ResponseWriter, r *http.Request) {
	tb.mu.Lock()
	tb.requests = append(tb.requests, r.Method+" "+r.URL.RequestURI())
	delay, down := tb.mcisDelay, tb.down
	tb.mu.Unlock()
	if down {
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
			}
		}
		return
	}

	parts := strings.Split(strings.Trim(strings.TrimPrefix(r.URL.Path, "/tumblebug"), "/"), "/")
	var answer any = map[string]any{}
	switch {
	case len(parts) == 2 && parts[0] == "ns" && r.Method == http.MethodGet:
		answer = map[string]any{"id": parts[1], "name": parts[1], "description": "Tumblebug stand-in"}
	case len(parts) == 4 && parts[0] == "ns" && parts[2] == "mcis" && r.Method == http.MethodGet:
		select {
		case <-time.After(delay):
		case <-r.Context().Done():
			return
		}
		answer = map[string]any{"id": parts[3], "name": parts[3], "status": "Running", "vm": []any{}}
	case r.Method == http.MethodDelete:
		answer = map[string]any{"message": "deleted"}
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(answer)
}
