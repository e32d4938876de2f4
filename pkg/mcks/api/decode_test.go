package api

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestDecodeAnswers(t *testing.T) {
	for _, tc := range []struct {
		name     string
		status   int
		body     string
		into     func() any
		wantErr  string // substring; "" means success
		notFound bool
	}{
		{name: "cluster", status: 200, body: `{"kind":"Cluster","name":"c1","status":{"phase":"Provisioned"}}`, into: func() any { return &Cluster{} }},
		{name: "cluster without kind gets one", status: 200, body: `{"name":"c1"}`, into: func() any { return &Cluster{} }},
		{name: "empty list as null", status: 200, body: `{"kind":"ClusterList","items":null}`, into: func() any { return &ClusterList{} }},
		{name: "delete of a missing cluster: HTTP 200, code 404", status: 200, body: `{"kind":"Status","code":404,"message":"Could not be found a cluster 'x'"}`, into: func() any { return &Status{} }, wantErr: "404 Not Found (HTTP 200): Could not be found a cluster 'x'", notFound: true},
		{name: "status ok", status: 200, body: `{"kind":"Status","code":200,"message":"deleted"}`, into: func() any { return &Status{} }},
		{name: "404 status", status: 404, body: `{"kind":"Status","code":404,"message":"no such cluster"}`, into: func() any { return &Cluster{} }, wantErr: "404 Not Found: no such cluster", notFound: true},
		{name: "echo route error", status: 404, body: `{"message":"Not Found"}`, into: func() any { return &Cluster{} }, wantErr: "404 Not Found: the server has no such API path (is --mcks-server the MCKS REST root?", notFound: false},
		{name: "500 status", status: 500, body: `{"kind":"Status","code":500,"message":"tumblebug: connection refused"}`, into: func() any { return &Cluster{} }, wantErr: "500 Internal Server Error: tumblebug: connection refused"},
		{name: "500 empty", status: 500, body: ``, into: func() any { return &Cluster{} }, wantErr: "500 Internal Server Error"},
		{name: "502 html", status: 502, body: "<html>\r\n<head><title>502 Bad Gateway</title></head><body>x</body></html>", into: func() any { return &Cluster{} }, wantErr: `502 Bad Gateway: an HTML error page titled "502 Bad Gateway"`},
		{name: "200 html", status: 200, body: "<!DOCTYPE html><html><head><title>Console</title></head></html>", into: func() any { return &ClusterList{} }, wantErr: `an HTML page instead of JSON titled "Console"`},
		{name: "truncated", status: 200, body: `{"kind":"ClusterList","items":[{"name":"c1","st`, into: func() any { return &ClusterList{} }, wantErr: "truncated JSON"},
		{name: "garbage", status: 200, body: `upstream connect error`, into: func() any { return &ClusterList{} }, wantErr: "malformed JSON at byte 1"},
		{name: "empty 200", status: 200, body: ``, into: func() any { return &Cluster{} }, wantErr: "empty body"},
		{name: "wrong type", status: 200, body: `{"items":"none"}`, into: func() any { return &ClusterList{} }, wantErr: "unexpected JSON: items is a JSON string, want a list"},
		{name: "missing name", status: 200, body: `{"kind":"Cluster","status":{"phase":"Provisioned"}}`, into: func() any { return &Cluster{} }, wantErr: "the cluster in the answer has no name"},
		{name: "missing item name", status: 200, body: `{"items":[{"name":"a"},{"role":"worker"}]}`, into: func() any { return &NodeList{} }, wantErr: "node 2 in the answer has no name"},
		{name: "status where object expected", status: 200, body: `{"kind":"Status","code":200,"message":"ok"}`, into: func() any { return &Cluster{} }, wantErr: "a Status (code 200: ok) where an object was expected"},
		{name: "null object", status: 200, body: `null`, into: func() any { return &Cluster{} }, wantErr: "has no name"},
		{name: "key in error text is hidden", status: 500, body: "ssh failed with -----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n", into: func() any { return &Cluster{} }, wantErr: "ssh failed with [private key redacted]"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			into := tc.into()
			err := Decode(tc.status, []byte(tc.body), into)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("Decode: %v", err)
				}
				if c, ok := into.(*Cluster); ok && c.Kind != KindCluster {
					t.Errorf("kind %q, want %q", c.Kind, KindCluster)
				}
				return
			}
			if err == nil {
				t.Fatalf("no error, want %q", tc.wantErr)
			}
			if !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("error %q lacks %q", err, tc.wantErr)
			}
			if strings.ContainsAny(err.Error(), "\r\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if IsNotFound(err) != tc.notFound {
				t.Errorf("IsNotFound = %v, want %v", IsNotFound(err), tc.notFound)
			}
			if strings.Contains(err.Error(), "MIIEsecret") {
				t.Errorf("error shows the key: %q", err)
			}
		})
	}
}

func TestCleanBoundsLength(t *testing.T) {
	got := clean(strings.Repeat("é", 1000))
	if n := len([]rune(got)); n != maxMessage+3 {
		t.Errorf("cleaned length %d runes, want %d", n, maxMessage+3)
	}
}

// targets are the answer types Decode is used with.
var targets = []func() any{
	func() any { return &Cluster{} }, func() any { return &ClusterList{} }, func() any { return &Node{} },
	func() any { return &NodeList{} }, func() any { return &SpecList{} }, func() any { return &Status{} },
}

// FuzzDecode feeds arbitrary answers to the decoder: it must never panic,
// errors must be one bounded line that never carries a private key, and a
// success must leave an object that can be printed (named, with a kind).
func FuzzDecode(f *testing.F) {
	seeds := []struct {
		status int
		body   string
	}{
		{200, `{"kind":"Cluster","name":"c1","nodes":[{"name":"n1","credential":"x"}],"status":{"phase":"Provisioned"}}`},
		{200, `{"kind":"ClusterList","items":[{"name":"c1"}]}`},
		{200, `{"kind":"Status","code":404,"message":"Could not be found"}`},
		{502, "<html><head><title>502 Bad Gateway</title></head></html>"},
		{200, `{"items":[{"name":"a"`},
		{500, ""},
	}
	for _, s := range seeds {
		for i := range targets {
			f.Add(s.status, []byte(s.body), uint8(i))
		}
	}
	f.Fuzz(func(t *testing.T, status int, body []byte, target uint8) {
		into := targets[int(target)%len(targets)]()
		err := Decode(status, body, into)
		if err != nil {
			msg := err.Error()
			if msg == "" || strings.ContainsAny(msg, "\r\n") {
				t.Fatalf("error not one line: %q", msg)
			}
			if len(msg) > 4*maxMessage+200 {
				t.Fatalf("error of %d bytes", len(msg))
			}
			if pemRE.MatchString(msg) {
				t.Fatalf("error shows a private key: %q", msg)
			}
			return
		}
		if status < 200 || status > 299 {
			t.Fatalf("HTTP %d decoded without error", status)
		}
		switch v := into.(type) {
		case *Cluster:
			if v.Name == "" || v.Kind == "" {
				t.Fatalf("accepted a cluster without name or kind: %+v", v)
			}
		case *NodeList:
			for _, n := range v.Items {
				if n.Name == "" || n.Kind == "" {
					t.Fatalf("accepted a node without name or kind: %+v", n)
				}
			}
		case *ClusterList:
			if v.Kind == "" {
				t.Fatal("list without kind")
			}
		}
		// Whatever was accepted prints.
		if _, err := json.Marshal(into); err != nil {
			t.Fatalf("accepted object does not marshal: %v", err)
		}
	})
}
