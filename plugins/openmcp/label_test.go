package openmcp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"k8s.io/cli-runtime/pkg/genericiooptions"
)

// unreachableKubeconfig has a host and a member whose servers refuse every
// connection: a command that validates first fails with a usage error
// before it ever dials them.
func unreachableKubeconfig(t *testing.T) string {
	t.Helper()
	cfg := `apiVersion: v1
kind: Config
clusters:
- name: dead
  cluster:
    server: https://127.0.0.1:1
contexts:
- name: openmcp
  context: {cluster: dead, user: u}
- name: cluster1
  context: {cluster: dead, user: u}
users:
- name: u
  user: {token: not-a-secret}
current-context: openmcp
`
	path := filepath.Join(t.TempDir(), "kubeconfig")
	if err := os.WriteFile(path, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func runOpenMCP(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	streams, _, out, errOut := genericiooptions.NewTestIOStreams()
	code := NewCmdOpenMCP(streams).Execute(append([]string{"--kubeconfig", unreachableKubeconfig(t), "--request-timeout", "2s"}, args...))
	return code, out.String(), errOut.String()
}

func TestLabelAndMetalLBRejectBadInputBeforeAnyRequest(t *testing.T) {
	for _, tc := range []struct {
		args []string
		want string
	}{
		{[]string{"label", "cluster1", "--region", "XX", "--zone", "KR"}, `invalid region "XX"`},
		{[]string{"label", "cluster1", "--region", "AS", "--zone", "UK"}, "did you mean GB (United Kingdom)?"},
		{[]string{"label", "cluster1", "--region", "AS", "--zone", "ap-northeast-2a"}, "--allow-any"},
		{[]string{"label", "cluster1", "--region", "AS", "--zone", "bad value", "--allow-any"}, "not a valid label value"},
		{[]string{"label", "cluster1"}, "nothing to set"},
		{[]string{"label", "cluster1", "cluster2", "--region", "AS"}, "exactly one CLUSTER"},
		{[]string{"label", "cluster1", "--region", "AS", "--nodes", "a in (b"}, "invalid node selection"},
		{[]string{"label", "--list", "--zone", "KR"}, "cannot be combined with --zone"},
		{[]string{"label", "cluster1", "--region", "AS", "-o", "wide"}, "--list format"},
		{[]string{"label", "cluster1", "--region", "AS", "--dry-run=maybe"}, "dry-run"},
		{[]string{"metallb", "cluster1"}, "no address range"},
		{[]string{"metallb", "cluster1", "--range", "10.0.3.250-10.0.3.241"}, `"10.0.3.250-10.0.3.241": start 10.0.3.250 is after end 10.0.3.241`},
		{[]string{"metallb", "cluster1", "--range", "10.0.3.1-fd00::1"}, "mixes IPv4 and IPv6"},
		{[]string{"metallb", "cluster1", "--range", "10.0.3.0/32"}, "only network/broadcast"},
		{[]string{"metallb", "cluster1", "--range", "10.0.3.0/28", "--range", "10.0.3.8/29"}, "overlap"},
		{[]string{"metallb", "cluster1", "--range", "10.0.3.0/28", "--mode", "bgp"}, `invalid mode "bgp"`},
		{[]string{"metallb", "cluster1", "--range", "10.0.3.0/28", "--pool", "Not_A_Name"}, `invalid pool name "Not_A_Name"`},
		{[]string{"metallb", "--list", "--range", "10.0.3.0/28"}, "cannot be combined with --range"},
		{[]string{"metallb", "--list", "--allow-stranded"}, "cannot be combined with --allow-stranded"},
	} {
		code, out, errOut := runOpenMCP(t, tc.args...)
		if code != 2 {
			t.Errorf("%v: exit %d, want 2 (stderr %q)", tc.args, code, errOut)
		}
		if !strings.Contains(errOut, tc.want) {
			t.Errorf("%v: stderr %q lacks %q", tc.args, errOut, tc.want)
		}
		if strings.Contains(errOut, "127.0.0.1:1") || strings.Contains(errOut, "connection refused") {
			t.Errorf("%v: dialled a cluster before validating: %q", tc.args, errOut)
		}
		if out != "" {
			t.Errorf("%v: stdout %q", tc.args, out)
		}
		if first := strings.SplitN(errOut, "\n", 2)[0]; !strings.HasPrefix(first, "error: ") {
			t.Errorf("%v: first stderr line %q", tc.args, first)
		}
	}
}

func TestLabelAndMetalLBAreFederationCommands(t *testing.T) {
	code, out, _ := runOpenMCP(t, "--help")
	if code != 0 {
		t.Fatalf("exit %d", code)
	}
	fed := out[strings.Index(out, "Federation Commands:"):]
	fed = fed[:strings.Index(fed, "\n\n")]
	for _, c := range []string{"label", "metallb"} {
		if !strings.Contains(fed, "\n  "+c+" ") {
			t.Errorf("%s not under Federation Commands:\n%s", c, fed)
		}
	}
}
