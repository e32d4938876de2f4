package fleet

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"

	"k8s.io/client-go/rest"
)

// A member is another team's cluster, and what stands at its address need
// not be a kube-apiserver. Guard makes three answers no apiserver gives that
// member's failure, before client-go acts on them: a redirect to another
// host (client-go would follow it with the user's credentials), a body
// under /api or /apis that is neither JSON nor protobuf (an HTML page, a
// proxy's error text), and a body without end (client-go reads a whole
// answer into memory before decoding it).

// MaxAnswerBytes bounds one answer, and one event of a watch. A page of a
// list is --chunk-size objects (500 by default) and an object is at most
// 1.5 MiB in etcd, so a real answer this large is unusual and a smaller
// --chunk-size brings it under; without a bound, one member's endless body
// takes all the memory of the process. A variable, so tests can lower it.
var MaxAnswerBytes int64 = 256 << 20

// AnswerError is an answer from a cluster that is not one an apiserver
// gives; its message says briefly what was sent.
type AnswerError struct{ Msg string }

func (e *AnswerError) Error() string { return e.Msg }

// Guard wraps a cluster's transport with the checks above.
func Guard(c *rest.Config) *rest.Config {
	c.Wrap(func(rt http.RoundTripper) http.RoundTripper { return guard{rt} })
	return c
}

type guard struct{ next http.RoundTripper }

func (g guard) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := g.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	if resp.StatusCode >= 300 && resp.StatusCode < 400 {
		if loc, lerr := resp.Location(); lerr == nil && (loc.Host != req.URL.Host || loc.Scheme != req.URL.Scheme) {
			resp.Body.Close()
			return nil, &AnswerError{Msg: fmt.Sprintf("answered %d, a redirect to %s://%s; not followed (an apiserver does not redirect to another host)", resp.StatusCode, loc.Scheme, brief(loc.Host))}
		}
	}
	if resp.StatusCode >= 200 && resp.StatusCode < 300 && resp.StatusCode != http.StatusNoContent && apiPath(req.URL.Path) && !apiContentType(resp.Header.Get("Content-Type")) {
		head := make([]byte, 64)
		n, _ := io.ReadFull(resp.Body, head)
		resp.Body.Close()
		ct := resp.Header.Get("Content-Type")
		if ct == "" {
			ct = "no Content-Type"
		}
		return nil, &AnswerError{Msg: fmt.Sprintf("answered %d with %s, not JSON: %q", resp.StatusCode, brief(ct), bytes.TrimSpace(head[:n]))}
	}
	watch := req.URL.Query().Get("watch")
	resp.Body = &cappedBody{ReadCloser: resp.Body, max: MaxAnswerBytes, perLine: watch == "true" || watch == "1"}
	return resp, nil
}

// apiPath: the resource and discovery paths, whose answers are JSON or
// protobuf (a pod's log and a proxied service are not).
func apiPath(p string) bool {
	if p != "/api" && p != "/apis" && !strings.HasPrefix(p, "/api/") && !strings.HasPrefix(p, "/apis/") {
		return false
	}
	return !strings.HasSuffix(p, "/log") && !strings.Contains(p, "/proxy")
}

func apiContentType(ct string) bool {
	mt, _, err := mime.ParseMediaType(ct)
	if err != nil {
		return false
	}
	switch mt {
	case "application/json", "application/vnd.kubernetes.protobuf", "application/yaml",
		"application/vnd.kubernetes.protobuf;stream=watch", "application/cbor", "application/apply-patch+cbor":
		return true
	}
	return strings.HasPrefix(mt, "application/com.github.proto-openapi")
}

// cappedBody fails a read once more than max bytes came, or, for a watch,
// more than max bytes since the last newline (the apiserver ends each event
// of a JSON watch with one).
type cappedBody struct {
	io.ReadCloser
	max     int64
	perLine bool
	n       int64
	over    error // once over, every read fails: a reader that ignores an error that came with bytes still stops
}

func (b *cappedBody) Read(p []byte) (int, error) {
	if b.over != nil {
		return 0, b.over
	}
	n, err := b.ReadCloser.Read(p)
	if b.perLine {
		if i := bytes.LastIndexByte(p[:n], '\n'); i >= 0 {
			b.n = int64(n - i - 1)
		} else {
			b.n += int64(n)
		}
	} else {
		b.n += int64(n)
	}
	if b.n > b.max {
		b.over = &AnswerError{Msg: fmt.Sprintf("answered with more than %d MiB; not read further (a smaller --chunk-size asks for smaller pages)", b.max>>20)}
		return n, b.over
	}
	return n, err
}

func brief(s string) string {
	if len(s) > 64 {
		return s[:64] + "..."
	}
	return s
}
