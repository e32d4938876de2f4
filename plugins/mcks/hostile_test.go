package mcks

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/mcks/api/mckstest"
)

// hostile is what an MCKS API that is not what it claims could send to take
// over a terminal: window title, clear screen, OSC 52, C1 CSI, bidi override.
const hostile = "\x1b]0;pwned\x07\x1b[2J\x1b]52;c;ZXZpbA==\x07\u009b31m\u202e"

// What the MCKS API says is shown with its control characters made visible
// in the cluster table (wide); the one-line error quoting its message had
// them dropped already (pkg/mcks's decoder). Neither lets one through.
func TestHostileMCKSAnswersAreShownNotObeyed(t *testing.T) {
	real := mckstest.New(t)
	real.AddCluster("default", sampleReq("c1"))
	resp, err := http.Get(real.URL() + "/ns/default/clusters")
	if err != nil {
		t.Fatal(err)
	}
	var list map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&list); err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	c := list["items"].([]any)[0].(map[string]any)
	c["name"] = "c1" + hostile
	c["status"] = map[string]any{"phase": "Provisioned\t" + hostile, "reason": "why\n" + hostile}
	fake := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/clusters") {
			_ = json.NewEncoder(w).Encode(list)
			return
		}
		w.WriteHeader(http.StatusInternalServerError)
		_ = json.NewEncoder(w).Encode(map[string]any{"kind": "Status", "code": 500, "message": "boom " + hostile})
	}))
	t.Cleanup(fake.Close)
	url := fake.URL + mckstest.BasePath

	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"cluster", "list", "-o", "wide", "--mcks-server", url}, "c1^[]0;pwned^G"},
		{[]string{"cluster", "list", "--no-headers", "--sort-by", ".status.phase", "--mcks-server", url}, "c1^[]0;pwned^G"},
		{[]string{"cluster", "list", "-o", "custom-columns=NAME:.name,REASON:.status.reason", "--mcks-server", url}, "c1^[]0;pwned^G"},
		{[]string{"cluster", "get", "c1", "--mcks-server", url}, "500 Internal Server Error: boom"},
	} {
		args := tc.args
		r := run(t, args...)
		t.Logf("%v: exit %d\nstdout:\n%s\nstderr:\n%s", args, r.code, r.stdout, r.stderr)
		for _, s := range []string{r.stdout, r.stderr} {
			if i := strings.IndexFunc(s, func(r rune) bool {
				return (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e
			}); i >= 0 {
				t.Errorf("%v: a control character reached the terminal at %d: %q", args, i, s)
			}
		}
		if !strings.Contains(r.stdout+r.stderr, tc.want) {
			t.Errorf("%v: no %q", args, tc.want)
		}
	}
}
