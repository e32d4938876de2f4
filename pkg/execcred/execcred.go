// Package execcred runs a context's exec credential plugin (gke-gcloud-auth-
// plugin, aws eks get-token, kubelogin, ...) in place of client-go, for
// commands that reach many clusters at once. client-go runs the plugin with
// no deadline, connects the plugin's stderr to ours (it may print tokens,
// passwords or terminal escape codes), and hands it the terminal when it is
// interactive; in a fan-out one plugin that hangs or prompts then holds the
// whole command, and what it prints reaches the user unfiltered. Here a
// plugin runs under the context of the request that needs it (so the
// per-cluster timeout counts its time), is killed with everything it
// started when that ends or the command exits, never gets the terminal,
// and its stderr is kept: on failure its last line, cleaned and cut short,
// goes into an error that names the context; on success it is dropped.
package execcred

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"
)

// DefaultTimeout bounds a plugin run when the request has no deadline of
// its own (no --request-timeout, no fan-out timeout).
var DefaultTimeout = 60 * time.Second

// Guard returns a copy of cfg whose exec credential plugin is run by this
// package; a config without one is returned as it is. A plugin policy other
// than AllowAll (kuberc's credentialPluginPolicy) is left to client-go, which
// enforces it. The copy carries its TLS settings in its Transport, so code
// that reads cfg's CA or server (join records them) must keep cfg.
func Guard(cfg *rest.Config, contextName string) (*rest.Config, error) {
	if cfg == nil || cfg.ExecProvider == nil {
		return cfg, nil
	}
	if p := cfg.ExecProvider.PluginPolicy.PolicyType; p != "" && p != clientcmdapi.PluginPolicyAllowAll {
		return cfg, nil
	}
	r := &runner{context: contextName, exec: cfg.ExecProvider.DeepCopy(), cluster: clusterInfo(cfg)}
	base := rest.CopyConfig(cfg)
	base.ExecProvider = nil
	tc, err := base.TransportConfig()
	if err != nil {
		return nil, err
	}
	tc.TLS.GetCertHolder = &transport.GetCertHolder{GetCert: r.cert}
	tc.Wrap(func(rt http.RoundTripper) http.RoundTripper { return &roundTripper{r: r, next: rt} })
	rt, err := transport.New(tc)
	if err != nil {
		return nil, err
	}
	// Everything the transport already does is taken off the copy, or
	// client-go would apply it twice around it.
	out := rest.CopyConfig(cfg)
	out.ExecProvider, out.AuthProvider = nil, nil
	out.TLSClientConfig = rest.TLSClientConfig{}
	out.BearerToken, out.BearerTokenFile, out.Username, out.Password = "", "", "", ""
	out.Impersonate = rest.ImpersonationConfig{}
	out.WrapTransport, out.Dial, out.Proxy = nil, nil, nil
	out.Transport = rt
	return out, nil
}

type credentials struct {
	token   string
	cert    *tls.Certificate
	expires time.Time // zero: until the server refuses it
}

func (c *credentials) valid() bool {
	return c != nil && (c.expires.IsZero() || time.Until(c.expires) > 10*time.Second)
}

// runner runs one context's plugin, once at a time, and keeps what it gave.
type runner struct {
	context string
	exec    *clientcmdapi.ExecConfig
	cluster map[string]any

	mu    sync.Mutex
	creds *credentials
	call  *call
}

type call struct {
	done  chan struct{}
	creds *credentials
	err   error
}

// get returns valid credentials, running the plugin if needed; a second
// caller waits for the run in progress, but never past its own ctx.
func (r *runner) get(ctx context.Context) (*credentials, error) {
	r.mu.Lock()
	if r.creds.valid() {
		c := r.creds
		r.mu.Unlock()
		return c, nil
	}
	c := r.call
	if c == nil {
		c = &call{done: make(chan struct{})}
		r.call = c
		go func() {
			c.creds, c.err = r.run(ctx)
			r.mu.Lock()
			r.call = nil
			if c.err == nil {
				r.creds = c.creds
			}
			r.mu.Unlock()
			close(c.done)
		}()
	}
	r.mu.Unlock()
	select {
	case <-c.done:
		return c.creds, c.err
	case <-ctx.Done():
		return nil, fmt.Errorf("exec credential plugin of context %q gave no credentials before the time limit (%v): it was stopped", r.context, context.Cause(ctx))
	}
}

// forget drops credentials the server refused, so the next request runs the
// plugin again (as client-go does after a 401).
func (r *runner) forget(c *credentials) {
	r.mu.Lock()
	if r.creds == c {
		r.creds = nil
	}
	r.mu.Unlock()
}

// cert is the TLS client certificate callback: only ever reads what the
// round trip before the handshake has fetched.
func (r *runner) cert() (*tls.Certificate, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.creds != nil && r.creds.cert != nil {
		return r.creds.cert, nil
	}
	return nil, nil
}

// run runs the plugin once under ctx and decodes its ExecCredential.
func (r *runner) run(ctx context.Context) (*credentials, error) {
	name := fmt.Sprintf("exec credential plugin of context %q (%s)", r.context, r.exec.Command)
	if r.exec.InteractiveMode == clientcmdapi.AlwaysExecInteractiveMode {
		return nil, fmt.Errorf("%s needs a terminal (interactiveMode: Always), which commands over several clusters give no plugin: log in with `kubectl --context %s get --raw /version` first", name, r.context)
	}
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, DefaultTimeout)
		defer cancel()
	}
	info, err := json.Marshal(map[string]any{
		"apiVersion": r.exec.APIVersion,
		"kind":       "ExecCredential",
		"spec":       r.spec(),
	})
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, r.exec.Command, r.exec.Args...)
	cmd.Env = append(os.Environ(), "KUBERNETES_EXEC_INFO="+string(info))
	for _, e := range r.exec.Env {
		cmd.Env = append(cmd.Env, e.Name+"="+e.Value)
	}
	var stdout, stderr capped
	stdout.max, stderr.max = 1<<20, 64<<10
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// No stdin: a plugin that prompts reads end-of-file at once.
	cmd.WaitDelay = time.Second
	ownGroup(cmd)
	if err := cmd.Start(); err != nil {
		if errors.Is(err, exec.ErrNotFound) || errors.Is(err, os.ErrNotExist) {
			hint := Clean(r.exec.InstallHint, 200)
			if hint != "" {
				hint = ": " + hint
			}
			return nil, fmt.Errorf("%s: not found%s", name, hint)
		}
		return nil, fmt.Errorf("%s: %v", name, Clean(err.Error(), 200))
	}
	track(cmd)
	err = cmd.Wait()
	untrack(cmd)
	said := ""
	if line := lastLine(stderr.String()); line != "" {
		said = "; it said: " + line
	}
	switch {
	case ctx.Err() != nil:
		return nil, fmt.Errorf("%s gave no credentials before the time limit and was stopped%s", name, said)
	case err != nil:
		return nil, fmt.Errorf("%s failed (%v)%s", name, Clean(err.Error(), 100), said)
	}
	return r.decode(name, stdout.Bytes())
}

func (r *runner) spec() map[string]any {
	spec := map[string]any{"interactive": false}
	if r.exec.ProvideClusterInfo {
		spec["cluster"] = r.cluster
	}
	return spec
}

func (r *runner) decode(name string, out []byte) (*credentials, error) {
	var cred struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
		Status     *struct {
			Token                 string     `json:"token"`
			ClientCertificateData string     `json:"clientCertificateData"`
			ClientKeyData         string     `json:"clientKeyData"`
			ExpirationTimestamp   *time.Time `json:"expirationTimestamp"`
		} `json:"status"`
	}
	if err := json.Unmarshal(out, &cred); err != nil {
		return nil, fmt.Errorf("%s printed no ExecCredential JSON (%d bytes on stdout)", name, len(out))
	}
	switch {
	case cred.Kind != "ExecCredential" || cred.APIVersion != r.exec.APIVersion:
		return nil, fmt.Errorf("%s printed kind %q of %q, want ExecCredential of %q", name, Clean(cred.Kind, 40), Clean(cred.APIVersion, 60), r.exec.APIVersion)
	case cred.Status == nil:
		return nil, fmt.Errorf("%s returned no status", name)
	case cred.Status.Token == "" && cred.Status.ClientCertificateData == "":
		return nil, fmt.Errorf("%s returned neither a token nor a certificate", name)
	case (cred.Status.ClientCertificateData == "") != (cred.Status.ClientKeyData == ""):
		return nil, fmt.Errorf("%s returned a certificate or a key without the other", name)
	}
	c := &credentials{token: cred.Status.Token}
	if cred.Status.ExpirationTimestamp != nil {
		c.expires = *cred.Status.ExpirationTimestamp
	}
	if cred.Status.ClientCertificateData != "" {
		cert, err := tls.X509KeyPair([]byte(cred.Status.ClientCertificateData), []byte(cred.Status.ClientKeyData))
		if err != nil {
			return nil, fmt.Errorf("%s returned a certificate and key that do not parse", name)
		}
		c.cert = &cert
	}
	return c, nil
}

// roundTripper puts the plugin's token on requests that carry none.
type roundTripper struct {
	r    *runner
	next http.RoundTripper
}

func (t *roundTripper) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "" {
		return t.next.RoundTrip(req)
	}
	creds, err := t.r.get(req.Context())
	if err != nil {
		return nil, err
	}
	if creds.token != "" {
		req = utilnet.CloneRequest(req)
		req.Header.Set("Authorization", "Bearer "+creds.token)
	}
	res, err := t.next.RoundTrip(req)
	if err == nil && res.StatusCode == http.StatusUnauthorized {
		t.r.forget(creds)
	}
	return res, err
}

func (t *roundTripper) WrappedRoundTripper() http.RoundTripper { return t.next }

// clusterInfo is what a plugin with provideClusterInfo reads in
// KUBERNETES_EXEC_INFO's spec.cluster.
func clusterInfo(cfg *rest.Config) map[string]any {
	c := map[string]any{"server": cfg.Host}
	if cfg.ServerName != "" {
		c["tls-server-name"] = cfg.ServerName
	}
	if cfg.Insecure {
		c["insecure-skip-tls-verify"] = true
	}
	ca := cfg.CAData
	if len(ca) == 0 && cfg.CAFile != "" {
		ca, _ = os.ReadFile(cfg.CAFile)
	}
	if len(ca) > 0 {
		c["certificate-authority-data"] = ca
	}
	return c
}

// capped keeps the first max bytes written and drops the rest.
type capped struct {
	bytes.Buffer
	max int
}

func (c *capped) Write(p []byte) (int, error) {
	if room := c.max - c.Len(); room > 0 {
		c.Buffer.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

// The plugins still running, killed with their children at exit (KillAll).
var (
	runningMu sync.Mutex
	running   = map[*exec.Cmd]bool{}
)

func track(cmd *exec.Cmd) {
	runningMu.Lock()
	running[cmd] = true
	runningMu.Unlock()
}

func untrack(cmd *exec.Cmd) {
	runningMu.Lock()
	delete(running, cmd)
	runningMu.Unlock()
}

// KillAll kills every plugin still running, with what it started: a fan-out
// returns at its timeout without waiting for them, and they must not outlive
// the command.
func KillAll() {
	runningMu.Lock()
	defer runningMu.Unlock()
	for cmd := range running {
		killGroup(cmd)
	}
}

var (
	// escapes are terminal control sequences: CSI (colours, cursor), OSC
	// (window titles, hyperlinks, clipboard) and single-character escapes.
	escapes = regexp.MustCompile(`\x1b(\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(\x07|\x1b\\)?|[@-Z\\-_])`)
	// secrets are long runs of token, key or base64 characters, and
	// password=..., token: ... pairs.
	secrets   = regexp.MustCompile(`[A-Za-z0-9+/=_\-.]{24,}`)
	keyValues = regexp.MustCompile(`(?i)((?:password|passwd|secret|token|key)\s*[=:]\s*)\S+`)
)

// Clean makes one line of text from a program fit to print: escape
// sequences and control characters removed, long token-like strings and
// password=... values replaced by REDACTED, at most max runes.
func Clean(s string, max int) string {
	s = escapes.ReplaceAllString(s, "")
	s = strings.Map(func(r rune) rune {
		switch {
		case r == '\t' || r == '\n' || r == '\r':
			return ' '
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0x2028 || r == 0x2029 || r >= 0x202a && r <= 0x202e || r >= 0x2066 && r <= 0x2069:
			return -1
		}
		return r
	}, s)
	s = keyValues.ReplaceAllString(s, "${1}REDACTED")
	s = secrets.ReplaceAllString(s, "REDACTED")
	s = strings.Join(strings.Fields(s), " ")
	if r := []rune(s); len(r) > max {
		s = string(r[:max]) + "..."
	}
	return s
}

// lastLine is the last line of a plugin's stderr with something in it, cleaned.
func lastLine(s string) string {
	lines := strings.Split(s, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if l := Clean(lines[i], 160); l != "" {
			return l
		}
	}
	return ""
}
