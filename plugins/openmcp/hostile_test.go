package openmcp

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// These tests stand a federation of fake apiservers (httptest, TLS) in
// front of the commands: a host with two KubeFedClusters, cluster1 that
// answers as a real apiserver does, and cluster2 that answers with what only
// something that is not a real apiserver sends (the sandbox's real
// apiservers cannot be made to send it): a Table whose rows do not match
// its columns, HTML, an endless body, a redirect, and escape sequences in
// column names, cells, error bodies and Warning headers.

// hostile is what a member sends to take over a terminal: window title,
// clear screen, cursor up, OSC 52 (clipboard), a C1 CSI, a bidi override.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\x1b]52;c;ZXZpbA==\x07\u009b31m\u202e"

// hostileHeader is what of it a Warning header can carry to the handler:
// Go's client refuses a header line with a C0 control (the member fails
// with "malformed MIME header line") and client-go drops a warning with a C0
// or C1 control, but a bidi override passes both.
const hostileHeader = "\u202eevil\u2066"

// terminalUnsafe returns the first control character (other than newline)
// or escape left in out, or "" if there is none.
func terminalUnsafe(out string) string {
	for i, r := range out {
		switch {
		case r == '\n':
		case r < 0x20 || r == 0x7f || (r >= 0x80 && r <= 0x9f) || (r >= 0x202a && r <= 0x202e):
			return fmt.Sprintf("%q at byte %d in %q", r, i, out)
		}
	}
	return ""
}

type fakeServer struct {
	*httptest.Server
	mu     sync.Mutex
	routes map[string]http.HandlerFunc // by path
	other  http.HandlerFunc            // any other path
	hits   int
}

func newFakeServer(t *testing.T) *fakeServer {
	f := &fakeServer{routes: map[string]http.HandlerFunc{}}
	f.Server = httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		f.hits++
		h, ok := f.routes[r.URL.Path]
		if !ok {
			h = f.other
		}
		f.mu.Unlock()
		if h == nil {
			h = notFound
		}
		h(w, r)
	}))
	t.Cleanup(f.Close)
	return f
}

func (f *fakeServer) handle(path string, h http.HandlerFunc) {
	f.mu.Lock()
	f.routes[path] = h
	f.mu.Unlock()
}

func (f *fakeServer) requests() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.hits
}

func notFound(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusNotFound, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "NotFound", "code": 404, "message": "the server could not find the requested resource"})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

func answer(v any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) { writeJSON(w, http.StatusOK, v) }
}

// serveCoreDiscovery makes f a member with the core group's pods and nodes.
func serveCoreDiscovery(f *fakeServer) {
	f.handle("/version", answer(map[string]any{"major": "1", "minor": "37", "gitVersion": "v1.37.0"}))
	f.handle("/api", answer(map[string]any{"kind": "APIVersions", "versions": []string{"v1"}, "serverAddressByClientCIDRs": []any{}}))
	f.handle("/apis", answer(map[string]any{"kind": "APIGroupList", "apiVersion": "v1", "groups": []any{}}))
	f.handle("/api/v1", answer(map[string]any{"kind": "APIResourceList", "groupVersion": "v1", "resources": []any{
		map[string]any{"name": "pods", "singularName": "pod", "namespaced": true, "kind": "Pod", "verbs": []string{"get", "list", "watch"}, "shortNames": []string{"po"}},
		map[string]any{"name": "nodes", "singularName": "node", "namespaced": false, "kind": "Node", "verbs": []string{"get", "list", "watch"}},
	}}))
}

// podTable is a Table of pods as a real apiserver sends it (includeObject=None).
func podTable(names ...string) map[string]any {
	rows := []any{}
	for _, n := range names {
		rows = append(rows, map[string]any{"cells": []any{n, "1/1", "Running", int64(0), "5m"}})
	}
	return map[string]any{
		"kind": "Table", "apiVersion": "meta.k8s.io/v1", "metadata": map[string]any{"resourceVersion": "7"},
		"columnDefinitions": []any{
			map[string]any{"name": "Name", "type": "string", "format": "name"},
			map[string]any{"name": "Ready", "type": "string"},
			map[string]any{"name": "Status", "type": "string"},
			map[string]any{"name": "Restarts", "type": "integer"},
			map[string]any{"name": "Age", "type": "string"},
		},
		"rows": rows,
	}
}

// podsPath is where get pods lists: without -n, get lists every namespace.
const podsPath = "/api/v1/pods"

// fakeFederation is a host and two members, and a kubeconfig reaching them.
type fakeFederation struct {
	host, c1, c2 *fakeServer
	kubeconfig   string
	cacheDir     string
}

func newFakeFederation(t *testing.T) *fakeFederation {
	t.Helper()
	fed := &fakeFederation{host: newFakeServer(t), c1: newFakeServer(t), c2: newFakeServer(t), cacheDir: t.TempDir()}
	kfcs := []any{}
	for name, s := range map[string]*fakeServer{"cluster1": fed.c1, "cluster2": fed.c2} {
		kfcs = append(kfcs, map[string]any{
			"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedCluster",
			"metadata": map[string]any{"name": name, "namespace": "kube-federation-system", "creationTimestamp": "2026-01-01T00:00:00Z"},
			"spec":     map[string]any{"apiEndpoint": s.URL, "secretRef": map[string]any{"name": name + "-token"}},
			"status": map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "True", "lastProbeTime": "2026-01-01T00:00:00Z"}},
				"kubernetesVersion": "v1.37.0"},
		})
	}
	fed.host.handle("/apis/core.kubefed.io/v1beta1/namespaces/kube-federation-system/kubefedclusters",
		answer(map[string]any{"apiVersion": "core.kubefed.io/v1beta1", "kind": "KubeFedClusterList", "metadata": map[string]any{"resourceVersion": "1"}, "items": kfcs}))
	serveCoreDiscovery(fed.host)
	serveCoreDiscovery(fed.c1)
	serveCoreDiscovery(fed.c2)
	fed.c1.handle(podsPath, answer(podTable("web-1")))
	fed.c1.handle("/api/v1/nodes", answer(map[string]any{"kind": "NodeList", "apiVersion": "v1", "metadata": map[string]any{}, "items": []any{
		map[string]any{"metadata": map[string]any{"name": "n1"}, "status": map[string]any{"capacity": map[string]any{"cpu": "2", "memory": "4Gi"}}},
	}}))

	var b strings.Builder
	b.WriteString("apiVersion: v1\nkind: Config\ncurrent-context: openmcp\nclusters:\n")
	for name, s := range map[string]*fakeServer{"openmcp": fed.host, "cluster1": fed.c1, "cluster2": fed.c2} {
		ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
		fmt.Fprintf(&b, "- name: %s\n  cluster:\n    server: %s\n    certificate-authority-data: %s\n", name, s.URL, b64(ca))
	}
	b.WriteString("contexts:\n")
	for _, name := range []string{"openmcp", "cluster1", "cluster2"} {
		fmt.Fprintf(&b, "- name: %s\n  context: {cluster: %s, user: u, namespace: default}\n", name, name)
	}
	b.WriteString("users:\n- name: u\n  user: {token: not-a-secret}\n")
	fed.kubeconfig = filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(fed.kubeconfig, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	return fed
}

func (fed *fakeFederation) run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	streams := genericiooptions.IOStreams{In: strings.NewReader(""), Out: &out, ErrOut: &errOut}
	code := NewCmdOpenMCP(streams).Execute(append([]string{"--kubeconfig", fed.kubeconfig, "--cache-dir", fed.cacheDir, "--color", "never"}, args...))
	return code, out.String(), errOut.String()
}

// linesAbout counts the lines of s that name cluster.
func linesAbout(s, cluster string) int {
	n := 0
	for _, l := range strings.Split(s, "\n") {
		if strings.Contains(l, cluster) {
			n++
		}
	}
	return n
}

// A member that answers with what no apiserver sends is that member's
// failure: one warning naming it and saying briefly what it sent, the other
// member's rows, exit code 1.
func TestGarbageFromOneMemberIsThatMembersFailure(t *testing.T) {
	old := fleet.MaxAnswerBytes
	fleet.MaxAnswerBytes = 4 << 20 // the endless body ends sooner than at 256 MiB
	t.Cleanup(func() { fleet.MaxAnswerBytes = old })
	elsewhere := newFakeServer(t) // where a redirect points
	elsewhere.other = answer(podTable("not-from-cluster2"))

	badRows := podTable("x")
	badRows["rows"] = []any{map[string]any{"cells": []any{"x", "1/1"}}}
	objectCell := podTable("x")
	objectCell["rows"] = []any{map[string]any{"cells": []any{"x", map[string]any{"evil": hostile}, "Running", int64(0), "5m"}}}
	notAList := podTable()
	notAList["rows"] = "rows"
	wrongCol := podTable("x")
	wrongCol["columnDefinitions"] = []any{"Name"}
	for _, tc := range []struct {
		name   string
		serve  http.HandlerFunc
		reason string // in the warning
	}{
		{"rows that do not match the columns", answer(badRows), "table row 0 has 2 cells for 5 columns"},
		{"a cell that is an object", answer(objectCell), "column Ready: a cell that is an object"},
		{"rows that are not a list", answer(notAList), "table rows are a string, not a list"},
		{"a column that is not an object", answer(wrongCol), "table column 0 is a string, not an object"},
		{"a wrong kind", answer(map[string]any{"apiVersion": "v1", "kind": "Secret", "metadata": map[string]any{"name": "s"}}), "answered with kind Secret where a Table was asked for"},
		{"a body that is not JSON", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			fmt.Fprint(w, "<html><title>"+hostile+"</title>"+strings.Repeat("x", 5000))
		}, "answered 200 with text/html, not JSON"},
		{"JSON that is cut off", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[{"cells":["x"`)
		}, ""},
		{"an endless body", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprint(w, `{"kind":"Table","apiVersion":"meta.k8s.io/v1","rows":[`)
			chunk := []byte(strings.Repeat(`{"cells":["x"]},`, 4096))
			for r.Context().Err() == nil {
				if _, err := w.Write(chunk); err != nil {
					return
				}
			}
		}, "answered with more than 4 MiB; not read further"},
		{"a redirect to another host", func(w http.ResponseWriter, r *http.Request) {
			http.Redirect(w, r, elsewhere.URL+r.URL.RequestURI(), http.StatusFound)
		}, "a redirect to https://127.0.0.1"},
		{"an error page with escape sequences", func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusInternalServerError)
			fmt.Fprint(w, "<h1>"+hostile+"</h1>\n"+strings.Repeat("<p>padding</p>\n", 300))
		}, "an error on the server"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			fed := newFakeFederation(t)
			fed.c2.handle(podsPath, tc.serve)
			code, out, errOut := fed.run(t, "get", "pods", "--all-clusters")
			t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
			if code != 1 {
				t.Errorf("exit %d, want 1; stdout %q stderr %q", code, out, errOut)
			}
			if !strings.Contains(out, "web-1") || !strings.Contains(out, "cluster1") || strings.Contains(out, "cluster2") {
				t.Errorf("stdout %q: want cluster1's row only", out)
			}
			if n := linesAbout(errOut, "cluster2"); n != 1 || strings.Count(errOut, "\n") != 1 {
				t.Errorf("stderr %q: want exactly one line, naming cluster2", errOut)
			}
			if !strings.Contains(errOut, tc.reason) {
				t.Errorf("stderr %q does not say %q", errOut, tc.reason)
			}
			if len(errOut) > 400 {
				t.Errorf("warning of %d bytes: not brief", len(errOut))
			}
			if bad := terminalUnsafe(out + errOut); bad != "" {
				t.Errorf("raw control character reached the terminal: %s", bad)
			}
		})
	}
	if n := elsewhere.requests(); n != 0 {
		t.Errorf("the redirect was followed: %d requests reached the other host", n)
	}
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

// hostileStatus is an apiserver error whose message holds escape sequences.
func hostileStatus(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Warning", `299 - "deprecated `+hostileHeader+`"`)
	writeJSON(w, http.StatusInternalServerError, map[string]any{"kind": "Status", "apiVersion": "v1", "status": "Failure", "code": 500, "message": "boom " + hostile + "\nsecond line"})
}

// podList is what -o json|yaml|name ask for.
func podList(name string) map[string]any {
	return map[string]any{"kind": "PodList", "apiVersion": "v1", "metadata": map[string]any{"resourceVersion": "7"}, "items": []any{
		map[string]any{"metadata": map[string]any{"name": name, "namespace": "default"}},
	}}
}

// watchStream answers a list with table and a watch with events, then ends
// the watch (the command ends with it).
func watchStream(table map[string]any, events ...map[string]any) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Get("watch") != "true" {
			writeJSON(w, http.StatusOK, table)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusOK)
		for _, e := range events {
			_ = json.NewEncoder(w).Encode(e)
		}
	}
}

// What a member sends is shown with its control characters made visible
// on every human-readable path, and exactly in JSON.
func TestHostileTextIsShownNotObeyed(t *testing.T) {
	hostileTable := podTable("web-" + hostile)
	cols := hostileTable["columnDefinitions"].([]any)
	cols[2] = map[string]any{"name": "Status" + hostile, "type": "string"}
	hostileTable["rows"].([]any)[0].(map[string]any)["cells"].([]any)[2] = "Running\t" + hostile + "\nhidden"
	serveHostile := func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Warning", `299 - "deprecated `+hostileHeader+`"`)
		if strings.Contains(r.Header.Get("Accept"), "as=Table") {
			writeJSON(w, http.StatusOK, hostileTable)
		} else {
			writeJSON(w, http.StatusOK, podList("web-"+hostile))
		}
	}
	check := func(t *testing.T, code, want int, out, errOut string) {
		t.Helper()
		t.Logf("stdout:\n%s\nstderr:\n%s", out, errOut)
		if code != want {
			t.Errorf("exit %d, want %d", code, want)
		}
		if bad := terminalUnsafe(out + errOut); bad != "" {
			t.Errorf("raw control character reached the terminal: %s", bad)
		}
	}

	t.Run("get table, server warning", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c2.handle(podsPath, serveHostile)
		code, out, errOut := fed.run(t, "get", "pods", "--all-clusters")
		check(t, code, 0, out, errOut)
		if !strings.Contains(out, "web-^[]0;pwned^G^[[2J") || !strings.Contains(out, `STATUS^[]0;PWNED^G`) || !strings.Contains(out, "Running^I^[]0;pwned^G") {
			t.Errorf("the hostile name, column and cell are not shown as visible text")
		}
		if strings.Contains(out, "hidden") {
			t.Errorf("a cell's second line was printed")
		}
		if !strings.Contains(errOut, `Warning: deprecated \u202eevil\u2066`) {
			t.Errorf("the server's warning is not shown as visible text")
		}
	})
	t.Run("get -o name", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c1.handle(podsPath, answer(podTable("web-1")))
		fed.c2.handle(podsPath, serveHostile)
		code, out, errOut := fed.run(t, "get", "pods", "--all-clusters", "-o", "name")
		check(t, code, 0, out, errOut)
		if !strings.Contains(out, "cluster2/pod/web-^[]0;pwned^G") {
			t.Errorf("the hostile name is not shown as visible text")
		}
	})
	t.Run("get -o json stays exact", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c1.handle(podsPath, answer(podList("web-1")))
		fed.c2.handle(podsPath, serveHostile)
		code, out, errOut := fed.run(t, "get", "pods", "--all-clusters", "-o", "json")
		if code != 0 || terminalUnsafe(errOut) != "" {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		var list struct {
			Items []struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"items"`
		}
		if err := json.Unmarshal([]byte(out), &list); err != nil || len(list.Items) != 2 || list.Items[1].Metadata.Name != "web-"+hostile {
			t.Errorf("JSON does not carry the name exactly: %v %+v", err, list)
		}
	})
	t.Run("get -w", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c1.handle(podsPath, watchStream(podTable("web-1")))
		headerless := podTable("web-" + hostile + "-2")
		delete(headerless, "columnDefinitions")
		fed.c2.handle(podsPath, watchStream(podTable("web-2"),
			map[string]any{"type": "ADDED", "object": hostileTable},
			map[string]any{"type": "MODIFIED", "object": headerless}))
		code, out, errOut := fed.run(t, "get", "pods", "--all-clusters", "-w")
		check(t, code, 0, out, errOut)
		// The second event has no columns (the apiserver sends them with the
		// first only): its row still has every cell.
		if !strings.Contains(out, "web-^[]0;pwned^G") || !regexpMatch(`web-\^\[\]0;pwned\S*-2\s+cluster2\s+1/1\s+Running\s+0\s+5m`, out) {
			t.Errorf("the watch's rows are not shown whole and as visible text")
		}
	})
	t.Run("get -w, a garbage event", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c1.handle(podsPath, watchStream(podTable("web-1")))
		bad := podTable("x")
		delete(bad, "columnDefinitions")
		bad["rows"] = []any{map[string]any{"cells": []any{"x"}}}
		fed.c2.handle(podsPath, watchStream(podTable("web-2"), map[string]any{"type": "MODIFIED", "object": bad}))
		code, out, errOut := fed.run(t, "get", "pods", "--all-clusters", "-w")
		check(t, code, 0, out, errOut)
		if linesAbout(errOut, "cluster2") != 1 || !strings.Contains(errOut, "table row 0 has 1 cells for 5 columns") {
			t.Errorf("want one warning naming cluster2 and what it sent")
		}
	})
	t.Run("clusters", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c2.handle("/api/v1/nodes", hostileStatus)
		code, out, errOut := fed.run(t, "clusters")
		check(t, code, 1, out, errOut)
		if !strings.Contains(errOut, "cluster cluster2: boom ^[]0;pwned^G") || linesAbout(errOut, "cluster2") != 1 {
			t.Errorf("want one warning naming cluster2, its message as visible text")
		}
	})
	t.Run("status", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.host.handle("/apis/openmcp.k8s.io/v1alpha1/namespaces/default/openmcpdeployments/web", answer(map[string]any{
			"apiVersion": "openmcp.k8s.io/v1alpha1", "kind": "OpenMCPDeployment", "metadata": map[string]any{"name": "web", "namespace": "default"},
			"status": map[string]any{"clusterMaps": map[string]any{"cluster1": int64(1), "cluster2": int64(1)}},
		}))
		fed.c1.handle("/apis/apps/v1/namespaces/default/deployments/web", answer(map[string]any{
			"apiVersion": "apps/v1", "kind": "Deployment", "metadata": map[string]any{"name": "web", "namespace": "default"},
			"spec": map[string]any{"replicas": int64(1)}, "status": map[string]any{"readyReplicas": int64(1)},
		}))
		fed.c2.handle("/apis/apps/v1/namespaces/default/deployments/web", hostileStatus)
		code, out, errOut := fed.run(t, "status", "openmcpdeployment/web")
		check(t, code, 1, out, errOut)
		if !strings.Contains(errOut, "boom ^[]0;pwned^G") {
			t.Errorf("the member's message is not shown as visible text")
		}
	})
	t.Run("check", func(t *testing.T) {
		fed := newFakeFederation(t)
		fed.c1.other = hostileStatus
		fed.c2.other = hostileStatus
		code, out, errOut := fed.run(t, "check", "--member-timeout", "5s")
		check(t, code, 1, out, errOut)
		if !strings.Contains(out, "^[]0;pwned^G") {
			t.Errorf("no check line quotes the members' message as visible text")
		}
	})
}

func regexpMatch(re, s string) bool { return regexp.MustCompile(re).MatchString(s) }

// get reads each member's list in pages of --chunk-size rows, as kubectl
// get does, so one member's long list never comes as one answer.
func TestGetReadsListsInChunks(t *testing.T) {
	fed := newFakeFederation(t)
	var mu sync.Mutex
	var limits []string
	fed.c2.handle(podsPath, func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		mu.Lock()
		limits = append(limits, q.Get("limit"))
		mu.Unlock()
		page := 0
		fmt.Sscan(q.Get("continue"), &page)
		tbl := podTable(fmt.Sprintf("pod-%d-a", page), fmt.Sprintf("pod-%d-b", page))
		if page < 2 {
			tbl["metadata"].(map[string]any)["continue"] = fmt.Sprint(page + 1)
		}
		writeJSON(w, http.StatusOK, tbl)
	})
	code, out, errOut := fed.run(t, "get", "pods", "--all-clusters", "--chunk-size", "2")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for page := 0; page <= 2; page++ {
		for _, s := range []string{"a", "b"} {
			if !strings.Contains(out, fmt.Sprintf("pod-%d-%s   cluster2", page, s)) {
				t.Errorf("row pod-%d-%s missing:\n%s", page, s, out)
			}
		}
	}
	if strings.Join(limits, ",") != "2,2,2" {
		t.Errorf("cluster2 was asked with limits %v, want three pages of 2", limits)
	}

	code, out, errOut = fed.run(t, "get", "pods", "--all-clusters", "--chunk-size", "-1")
	if code != 2 || out != "" || !strings.Contains(errOut, "invalid --chunk-size -1") || strings.Count(errOut, "error:") != 1 {
		t.Errorf("--chunk-size -1: exit %d, stdout %q, stderr %q; want 2 and one line naming the value", code, out, errOut)
	}
}
