//go:build unix

package execcred

import (
	"context"
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// apiserver answers /version to the token "good-token" only.
func apiserver(t *testing.T) *rest.Config {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer good-token" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"major":"1","minor":"37","gitVersion":"v1.37.2"}`))
	}))
	t.Cleanup(srv.Close)
	ca := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	return &rest.Config{Host: srv.URL, TLSClientConfig: rest.TLSClientConfig{CAData: ca}}
}

func plugin(t *testing.T, dir, name, body string) *clientcmdapi.ExecConfig {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, []byte("#!/bin/sh\n"+body), 0o700); err != nil {
		t.Fatal(err)
	}
	return &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: path, InteractiveMode: clientcmdapi.IfAvailableExecInteractiveMode}
}

const goodToken = `printf '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"good-token"}}'` + "\n"

func version(t *testing.T, cfg *rest.Config, ctx context.Context) error {
	t.Helper()
	g, err := Guard(cfg, "ctx-"+t.Name())
	if err != nil {
		t.Fatal(err)
	}
	c, err := kubernetes.NewForConfig(g)
	if err != nil {
		t.Fatal(err)
	}
	return c.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error()
}

// alive: the process exists and is not a zombie waiting for a parent
// (a container's init may never reap the orphans).
func alive(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return false
	}
	stat, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return true
	}
	_, rest, _ := strings.Cut(string(stat), ") ")
	return !strings.HasPrefix(rest, "Z")
}

func TestPluginsThatHangPromptOrFailCostOnlyTheirTimeAndPrintNothingRaw(t *testing.T) {
	dir := t.TempDir()
	base := apiserver(t)
	secret := "hunter2-" + strings.Repeat("x", 30)

	t.Run("a plugin that works", func(t *testing.T) {
		cfg := rest.CopyConfig(base)
		cfg.ExecProvider = plugin(t, dir, "good", "echo 'deprecated, but fine' >&2\n"+goodToken)
		if err := version(t, cfg, context.Background()); err != nil {
			t.Fatalf("guarded exec plugin: %v", err)
		}
	})

	t.Run("a plugin that hangs", func(t *testing.T) {
		cfg := rest.CopyConfig(base)
		pids := filepath.Join(dir, "hang.pids")
		cfg.ExecProvider = plugin(t, dir, "hang", "echo $$ > "+pids+"\nprintf 'token: "+secret+" \\033]0;owned\\007\\033[2J\\n' >&2\nsleep 300 &\necho $! >> "+pids+"\nwait\n")
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		start := time.Now()
		err := version(t, cfg, ctx)
		took := time.Since(start)
		t.Logf("%s: %v", took, err)
		if err == nil || took > 3*time.Second {
			t.Fatalf("returned after %s with %v: want an error within the 1s limit", took, err)
		}
		msg := err.Error()
		if !strings.Contains(msg, `context "ctx-`) || !strings.Contains(msg, "time limit") || strings.Contains(msg, secret) || strings.ContainsAny(msg, "\x1b\x07") {
			t.Errorf("error %q: want the context named, no secret, no escape", msg)
		}
		time.Sleep(200 * time.Millisecond)
		data, _ := os.ReadFile(pids)
		fields := strings.Fields(string(data))
		if len(fields) != 2 {
			t.Fatalf("pid file %q", data)
		}
		for _, f := range fields {
			if pid, _ := strconv.Atoi(f); pid > 0 && alive(pid) {
				t.Errorf("process %d of the hanging plugin still runs", pid)
			}
		}
	})

	t.Run("a plugin that prompts", func(t *testing.T) {
		cfg := rest.CopyConfig(base)
		cfg.ExecProvider = plugin(t, dir, "prompt", "printf 'Password for admin: ' >&2\nread pw || { echo 'no password given' >&2; exit 1; }\n"+goodToken)
		start := time.Now()
		err := version(t, cfg, context.Background())
		if err == nil || time.Since(start) > 5*time.Second || !strings.Contains(err.Error(), "no password given") {
			t.Errorf("prompting plugin: %v after %s", err, time.Since(start))
		}
		cfg.ExecProvider.InteractiveMode = clientcmdapi.AlwaysExecInteractiveMode
		if err := version(t, cfg, context.Background()); err == nil || !strings.Contains(err.Error(), "needs a terminal") {
			t.Errorf("interactiveMode Always: %v", err)
		}
	})

	t.Run("a plugin that fails", func(t *testing.T) {
		cfg := rest.CopyConfig(base)
		cfg.ExecProvider = plugin(t, dir, "fail", "printf '\\033[31mERROR\\033[0m password="+secret+"\\nlogin required: run gcloud auth login \\033]8;;http://evil\\033\\\\here\\033]8;;\\033\\\\\\n' >&2\nexit 3\n")
		err := version(t, cfg, context.Background())
		if err == nil {
			t.Fatal("a failing plugin gave credentials")
		}
		msg := err.Error()
		t.Logf("%s", msg)
		if !strings.Contains(msg, "exit status 3") || !strings.Contains(msg, "login required: run gcloud auth login here") || strings.Contains(msg, secret) || strings.ContainsAny(msg, "\x1b\x07\n") {
			t.Errorf("error %q", msg)
		}
		cfg.ExecProvider = plugin(t, dir, "junk", "echo '{\"kind\":\"\\033[2JSomething\"}'\n")
		if err := version(t, cfg, context.Background()); err == nil || strings.Contains(err.Error(), "\x1b") || !strings.Contains(err.Error(), "ExecCredential") {
			t.Errorf("junk on stdout: %v", err)
		}
		cfg.ExecProvider = &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: filepath.Join(dir, "nosuch"), InstallHint: "install it \x1b[2J with brew"}
		if err := version(t, cfg, context.Background()); err == nil || !strings.Contains(err.Error(), "not found: install it with brew") {
			t.Errorf("missing plugin: %v", err)
		}
	})
}

func TestCleanLeavesOneHarmlessLine(t *testing.T) {
	for in, want := range map[string]string{
		"plain message": "plain message",
		"\x1b[1;31mred\x1b[0m \x1b]0;title\x07ok":  "red ok",
		"a\nb\tc\r\x00d\u202ee":                    "a b c de",
		"token: abc password=xyz":                  "token: REDACTED password=REDACTED",
		"eyJhbGciOiJSUzI1NiIsImtpZCI6IjEyMyJ9.abc": "REDACTED",
		strings.Repeat("long ", 100):               strings.Repeat("long ", 32)[:160] + "...",
	} {
		if got := Clean(in, 160); got != want {
			t.Errorf("Clean(%q) = %q, want %q", in, got, want)
		}
	}
}
