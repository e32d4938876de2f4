package cli

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/go-logr/logr"
	"k8s.io/klog/v2"
	"k8s.io/klog/v2/textlogger"
)

// Redacted stands for a secret value in -v logs.
const Redacted = "REDACTED"

// setUpLogging sends klog (client-go's logs) to w at verbosity v. From -v=8
// on, client-go logs every request and response body, which carry Secret
// data (the service-account tokens join reads and writes, a placed Secret's
// values); the bodies pass through redactBody first, so no -v level prints
// a token, key or password.
func setUpLogging(w io.Writer, v int) {
	if v <= 0 {
		// client-go logs retries and cache misses through klog; a user who did
		// not ask for -v should see only our own messages and errors. Its
		// errors too ("Unexpected error when reading response body" for a
		// member's endless answer, already one warning of ours): klog writes
		// errors to stderr whatever its output, unless a logger takes them.
		klog.SetLoggerWithOptions(logr.Discard(), klog.ContextualLogger(true))
		klog.SetOutput(io.Discard)
		klog.LogToStderr(false)
		return
	}
	cfg := textlogger.NewConfig(textlogger.Verbosity(v), textlogger.Output(w))
	sink := textlogger.NewLogger(cfg).GetSink()
	var s logr.LogSink = &redactingSink{LogSink: sink}
	if cd, ok := sink.(logr.CallDepthLogSink); ok {
		// One frame more: this wrapper.
		s = &redactingSink{LogSink: cd.WithCallDepth(1)}
	}
	klog.SetLoggerWithOptions(logr.New(s), klog.ContextualLogger(true))
}

// redactingSink rewrites the bodies client-go logs before they are written.
type redactingSink struct{ logr.LogSink }

func (s *redactingSink) Info(level int, msg string, kv ...any) {
	s.LogSink.Info(level, msg, redactKV(msg, kv)...)
}

func (s *redactingSink) Error(err error, msg string, kv ...any) {
	s.LogSink.Error(err, msg, redactKV(msg, kv)...)
}

func (s *redactingSink) WithValues(kv ...any) logr.LogSink {
	return &redactingSink{LogSink: s.LogSink.WithValues(kv...)}
}

func (s *redactingSink) WithName(name string) logr.LogSink {
	return &redactingSink{LogSink: s.LogSink.WithName(name)}
}

func (s *redactingSink) WithCallDepth(depth int) logr.LogSink {
	if cd, ok := s.LogSink.(logr.CallDepthLogSink); ok {
		return &redactingSink{LogSink: cd.WithCallDepth(depth)}
	}
	return s
}

func redactKV(msg string, kv []any) []any {
	if msg != "Request Body" && msg != "Response Body" {
		return kv
	}
	out := append([]any(nil), kv...)
	for i := 0; i+1 < len(out); i += 2 {
		if k, _ := out[i].(string); k == "body" {
			if b, ok := out[i+1].(string); ok {
				out[i+1] = redactBody(b)
			}
		}
	}
	return out
}

// secretKeys are keys whose values are secrets wherever they appear: the
// token of a TokenRequest or ExecCredential, kubeconfig keys, MCKS node keys.
var secretKeys = map[string]bool{
	"token": true, "password": true, "credential": true, "privateKey": true,
	"client-key-data": true, "clientKeyData": true, "ssh-privatekey": true,
}

// redactBody returns a logged body without secrets. JSON is kept with the
// values of Secret data (of any kind ending in Secret, in lists and watch
// events too) and of secretKeys replaced; client-go hex-dumps protobuf
// bodies, which cannot be edited safely: one that may hold a Secret or a
// token is left out, with its size.
func redactBody(body string) string {
	trimmed := strings.TrimSpace(body)
	if trimmed == "" {
		return body
	}
	if trimmed[0] == '{' || trimmed[0] == '[' {
		var v any
		if err := json.Unmarshal([]byte(trimmed), &v); err != nil {
			// Truncated by client-go, or not JSON after all: it may be anything.
			return fmt.Sprintf("<%d bytes left out: not parseable JSON, may hold secrets>", len(body))
		}
		redactJSON(v, false)
		out, err := json.Marshal(v)
		if err != nil {
			return fmt.Sprintf("<%d bytes left out>", len(body))
		}
		return string(out)
	}
	raw := undump(body)
	if raw == nil {
		raw = []byte(body)
	}
	if bytes.Contains(raw, []byte("Secret")) || bytes.Contains(raw, []byte("Token")) || bytes.Contains(raw, []byte("token")) {
		return fmt.Sprintf("<%d-byte protobuf body left out: it may hold Secret data>", len(raw))
	}
	return body
}

// redactJSON edits v in place. inSecret says v is (in) an object of a
// Secret kind, or an item of a list of them.
func redactJSON(v any, inSecret bool) {
	switch t := v.(type) {
	case map[string]any:
		kind, _ := t["kind"].(string)
		secret := inSecret || strings.HasSuffix(kind, "Secret") || strings.HasSuffix(kind, "SecretList")
		for k, val := range t {
			switch {
			case secretKeys[k]:
				if _, isStr := val.(string); isStr {
					t[k] = Redacted
					continue
				}
			case secret && (k == "data" || k == "stringData"):
				if m, ok := val.(map[string]any); ok {
					for dk := range m {
						m[dk] = Redacted
					}
					continue
				}
			case k == "annotations":
				// The last-applied annotation is a whole copy of the object.
				if m, ok := val.(map[string]any); ok && secret {
					if _, has := m["kubectl.kubernetes.io/last-applied-configuration"]; has {
						m["kubectl.kubernetes.io/last-applied-configuration"] = Redacted
					}
				}
			}
			// A watch event's object and a list's items inherit nothing but
			// their own kind; items of a SecretList carry none of their own.
			redactJSON(val, secret && (k == "items" || k == "template" || k == "spec" || k == "metadata"))
		}
	case []any:
		for _, e := range t {
			redactJSON(e, inSecret)
		}
	}
}

// undump reads back the bytes of a hex.Dump, or nil if s is not one.
func undump(s string) []byte {
	var out []byte
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" {
			continue
		}
		// "00000000  6b 38 73 00 0a 0c 0a 02  76 31 12 06 53 74 61 74  |k8s.....v1..Stat|"
		if len(line) < 10 || line[8] != ' ' {
			return nil
		}
		hexPart := line[10:]
		if i := strings.Index(hexPart, "|"); i >= 0 {
			hexPart = hexPart[:i]
		}
		b, err := hex.DecodeString(strings.Join(strings.Fields(hexPart), ""))
		if err != nil {
			return nil
		}
		out = append(out, b...)
	}
	return out
}
