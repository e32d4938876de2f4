package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"regexp"
	"strings"
	"unicode"
	"unicode/utf8"
)

// APIError is an error the MCKS server reported: an HTTP error status, or an
// app.Status body whose code is an error (the server answers a DELETE of a
// missing cluster with HTTP 200 and code 404 in the body).
type APIError struct {
	HTTPStatus int    // the HTTP status line's code
	Code       int    // the Status body's code; HTTPStatus when there is no body code
	Message    string // the server's message, cleaned to one short line
	// NoRoute marks echo's own 404 for a path the server does not serve:
	// a wrong REST root, not a missing object.
	NoRoute bool
}

func (e *APIError) Error() string {
	text := http.StatusText(e.Code)
	if text == "" {
		text = "error"
	}
	msg := fmt.Sprintf("%d %s", e.Code, text)
	if e.HTTPStatus != e.Code && e.HTTPStatus != 0 {
		msg += fmt.Sprintf(" (HTTP %d)", e.HTTPStatus)
	}
	if e.Message != "" {
		msg += ": " + e.Message
	}
	return msg
}

// IsNotFound reports whether the server said the object does not exist.
func IsNotFound(err error) bool {
	var api *APIError
	return errors.As(err, &api) && !api.NoRoute && (api.Code == http.StatusNotFound || api.HTTPStatus == http.StatusNotFound)
}

// noRouteMessage explains echo's 404 for an unknown path. The REST root moved
// between releases, so a root that worked before is the usual cause.
const noRouteMessage = "the server has no such API path (is --mcks-server the MCKS REST root? MCKS up to v0.7.1.1 serves http://HOST:1470/mcks, v0.7.2 http://HOST:1470/ladybug)"

// BadAnswerError is an answer that is not the JSON the API promises: an HTML
// page from a proxy, a truncated or empty body, an object without its name.
type BadAnswerError struct {
	HTTPStatus int
	Reason     string
}

func (e *BadAnswerError) Error() string {
	return fmt.Sprintf("unusable answer (HTTP %d): %s", e.HTTPStatus, e.Reason)
}

// anyBody is an answer whose content does not matter, only that it came.
type anyBody struct{}

// validator is implemented by answers that must carry certain fields.
type validator interface{ validate() error }

// kinder fills kinds the server left out.
type kinder interface{ setKinds() }

// Decode turns an MCKS answer into into (a *Cluster, *ClusterList, *Node,
// *NodeList, *SpecList or *Status). Error statuses, Status bodies with an
// error code and unusable bodies come back as *APIError or *BadAnswerError
// with a one-line message; nothing here panics on any input.
func Decode(httpStatus int, body []byte, into any) error {
	trimmed := bytes.TrimSpace(body)
	if httpStatus < 200 || httpStatus > 299 {
		return errorAnswer(httpStatus, trimmed)
	}
	if looksHTML(trimmed) {
		return &BadAnswerError{HTTPStatus: httpStatus, Reason: "an HTML page instead of JSON" + htmlTitle(trimmed) + " (is --mcks-server the MCKS REST API root, e.g. http://HOST:1470/mcks?)"}
	}
	if _, ok := into.(*anyBody); ok {
		return nil
	}
	if len(trimmed) == 0 {
		return &BadAnswerError{HTTPStatus: httpStatus, Reason: "empty body where JSON was expected"}
	}
	if st, ok := statusBody(trimmed); ok {
		if st.Code >= 400 {
			return &APIError{HTTPStatus: httpStatus, Code: st.Code, Message: clean(st.Message)}
		}
		if _, wantStatus := into.(*Status); !wantStatus {
			return &BadAnswerError{HTTPStatus: httpStatus, Reason: fmt.Sprintf("a Status (code %d: %s) where an object was expected", st.Code, clean(st.Message))}
		}
	}
	if err := json.Unmarshal(trimmed, into); err != nil {
		return &BadAnswerError{HTTPStatus: httpStatus, Reason: jsonProblem(err)}
	}
	if k, ok := into.(kinder); ok {
		k.setKinds()
	}
	if v, ok := into.(validator); ok {
		if err := v.validate(); err != nil {
			return &BadAnswerError{HTTPStatus: httpStatus, Reason: err.Error()}
		}
	}
	return nil
}

// errorAnswer builds the error for a non-2xx answer from whatever body came with it.
func errorAnswer(httpStatus int, body []byte) error {
	if st, ok := statusBody(body); ok {
		if httpStatus == http.StatusNotFound && st.Kind == "" && st.Message == http.StatusText(http.StatusNotFound) {
			return &APIError{HTTPStatus: httpStatus, Code: httpStatus, Message: noRouteMessage, NoRoute: true}
		}
		code := st.Code
		if code < 400 {
			code = httpStatus
		}
		return &APIError{HTTPStatus: httpStatus, Code: code, Message: clean(st.Message)}
	}
	e := &APIError{HTTPStatus: httpStatus, Code: httpStatus}
	switch {
	case len(body) == 0:
	case looksHTML(body):
		e.Message = "an HTML error page" + htmlTitle(body)
	case json.Valid(body):
		e.Message = "unexpected JSON: " + clean(string(body))
	default:
		e.Message = clean(string(body))
	}
	return e
}

// statusBody recognises app.Status: {"kind":"Status","code":N,"message":...},
// or a bare {"code":N,"message":...} as echo's own errors are shaped.
func statusBody(body []byte) (Status, bool) {
	if len(body) == 0 || body[0] != '{' {
		return Status{}, false
	}
	var probe struct {
		Kind    string          `json:"kind"`
		Code    json.RawMessage `json:"code"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(body, &probe) != nil {
		return Status{}, false
	}
	var st Status
	st.Kind = probe.Kind
	hasCode := json.Unmarshal(probe.Code, &st.Code) == nil
	var msg any
	if len(probe.Message) > 0 && json.Unmarshal(probe.Message, &msg) == nil {
		if s, ok := msg.(string); ok {
			st.Message = s
		} else {
			st.Message = string(probe.Message)
		}
	}
	if probe.Kind == KindStatus {
		return st, true
	}
	// echo answers {"message":"..."} for its own errors (404 route, 405).
	if probe.Kind == "" && len(probe.Message) > 0 && (hasCode || !hasOtherKeys(body)) {
		return st, true
	}
	return Status{}, false
}

func hasOtherKeys(body []byte) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(body, &m) != nil {
		return true
	}
	for k := range m {
		if k != "message" && k != "code" && k != "kind" {
			return true
		}
	}
	return false
}

func looksHTML(body []byte) bool {
	head := strings.ToLower(string(body[:min(len(body), 512)]))
	return strings.HasPrefix(head, "<!doctype html") || strings.HasPrefix(head, "<html") ||
		strings.HasPrefix(head, "<head") || strings.HasPrefix(head, "<body") ||
		(strings.HasPrefix(head, "<") && strings.Contains(head, "<title"))
}

var titleRE = regexp.MustCompile(`(?is)<title[^>]*>(.*?)</title>`)

func htmlTitle(body []byte) string {
	m := titleRE.FindSubmatch(body[:min(len(body), 64<<10)])
	if m == nil {
		return ""
	}
	t := clean(string(m[1]))
	if t == "" {
		return ""
	}
	return fmt.Sprintf(" titled %q", t)
}

func jsonProblem(err error) string {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case strings.Contains(err.Error(), "unexpected end of JSON input"):
		return "truncated JSON (the answer ends early)"
	case errors.As(err, &syntax):
		return fmt.Sprintf("malformed JSON at byte %d: %s", syntax.Offset, clean(syntax.Error()))
	case errors.As(err, &typ):
		field := typ.Field
		if field == "" {
			field = "the answer"
		}
		return fmt.Sprintf("unexpected JSON: %s is a JSON %s, want %s", clean(field), typ.Value, describe(typ.Type))
	default:
		return "malformed JSON: " + clean(err.Error())
	}
}

func describe(t reflect.Type) string {
	if t == nil {
		return "something else"
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "an object"
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
		return "a number"
	default:
		return t.Kind().String()
	}
}

var pemRE = regexp.MustCompile(`(?s)-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----.*?(-----END [A-Z0-9 ]*PRIVATE KEY-----|$)`)

// maxMessage keeps a server message to what fits an error line.
const maxMessage = 240

// Clean is clean for callers that put a server's text in their own messages.
func Clean(s string) string { return clean(s) }

// clean makes a server-supplied text safe for one error line: no private
// key, no control characters, no newlines, bounded length.
func clean(s string) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "?")
	}
	s = pemRE.ReplaceAllString(s, "[private key redacted]")
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			return ' '
		}
		return r
	}, s)
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) > maxMessage {
		r := []rune(s)
		s = string(r[:maxMessage]) + "..."
	}
	return s
}

// Validation: the fields without which an answer cannot be shown or used.

func (c *Cluster) validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return errors.New("the cluster in the answer has no name")
	}
	for i := range c.Nodes {
		if strings.TrimSpace(c.Nodes[i].Name) == "" {
			return fmt.Errorf("node %d of cluster %q has no name", i+1, c.Name)
		}
	}
	return nil
}

func (l *ClusterList) validate() error {
	for i := range l.Items {
		if err := l.Items[i].validate(); err != nil {
			return fmt.Errorf("item %d: %w", i+1, err)
		}
	}
	return nil
}

func (n *Node) validate() error {
	if strings.TrimSpace(n.Name) == "" {
		return errors.New("the node in the answer has no name")
	}
	return nil
}

func (l *NodeList) validate() error {
	for i := range l.Items {
		if strings.TrimSpace(l.Items[i].Name) == "" {
			return fmt.Errorf("node %d in the answer has no name", i+1)
		}
	}
	return nil
}

func (l *SpecList) validate() error {
	for i := range l.Items {
		if strings.TrimSpace(l.Items[i].Name) == "" {
			return fmt.Errorf("spec %d in the answer has no name", i+1)
		}
	}
	return nil
}

func (s *Status) validate() error {
	if s.Kind != "" && s.Kind != KindStatus {
		return fmt.Errorf("a %s where a Status was expected", clean(s.Kind))
	}
	return nil
}
