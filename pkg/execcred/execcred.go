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
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	utilnet "k8s.io/apimachinery/pkg/util/net"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/transport"
	"k8s.io/klog/v2"
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
	r.key = cacheKey(r)
	r.shared = sharedFor(r.key)
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
	token           string
	cert            *tls.Certificate
	certPEM, keyPEM []byte
	expires         time.Time // zero: until the server refuses it
	fromDisk        bool      // read from the cache across invocations
}

func (c *credentials) valid() bool {
	return c != nil && (c.expires.IsZero() || time.Until(c.expires) > 10*time.Second)
}

// runner runs one context's plugin, once at a time, and keeps what it gave
// in what it shares with every context of the same exec configuration (the
// same key): N contexts that run the same command with the same arguments
// and environment run it once, as client-go does.
type runner struct {
	context string
	exec    *clientcmdapi.ExecConfig
	cluster map[string]any
	key     string
	shared  *shared
}

type shared struct {
	mu    sync.Mutex
	creds *credentials
	call  *call
}

var (
	sharedMu sync.Mutex
	sharedBy = map[string]*shared{}
)

func sharedFor(key string) *shared {
	sharedMu.Lock()
	defer sharedMu.Unlock()
	s := sharedBy[key]
	if s == nil {
		s = &shared{}
		sharedBy[key] = s
	}
	return s
}

type call struct {
	done  chan struct{}
	creds *credentials
	err   error
}

// get returns valid credentials, running the plugin if needed; a second
// caller waits for the run in progress, but never past its own ctx.
func (r *runner) get(ctx context.Context) (*credentials, error) {
	s := r.shared
	s.mu.Lock()
	if s.creds.valid() {
		c := s.creds
		s.mu.Unlock()
		return c, nil
	}
	c := s.call
	if c == nil {
		c = &call{done: make(chan struct{})}
		s.call = c
		go func() {
			c.creds, c.err = r.fetch(ctx)
			s.mu.Lock()
			s.call = nil
			if c.err == nil {
				s.creds = c.creds
			}
			s.mu.Unlock()
			close(c.done)
		}()
	}
	s.mu.Unlock()
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
	s := r.shared
	s.mu.Lock()
	forgot := s.creds == c
	if forgot {
		s.creds = nil
	}
	s.mu.Unlock()
	// Only the one that forgot it: a request that was refused the same
	// credential later must not remove the file of the credential that
	// replaced it.
	if dir := cacheFolder(); dir != "" && forgot {
		dropCache(dir, r.key)
	}
}

// fetch returns the cached credential of the configuration if the cache is
// on and holds one still valid, else runs the plugin (and caches what it
// returned, if it expires).
func (r *runner) fetch(ctx context.Context) (*credentials, error) {
	dir := cacheFolder()
	if dir != "" {
		if c := readCache(dir, r.key, r.fromCache); c != nil {
			klog.V(4).Infof("exec credential plugin of context %q: not run, its credential is cached until %s", r.context, c.expires.Format(time.RFC3339))
			return c, nil
		}
	}
	c, err := r.run(ctx)
	if err == nil && dir != "" {
		writeCache(dir, r.key, c)
	}
	return c, err
}

// cert is the TLS client certificate callback: only ever reads what the
// round trip before the handshake has fetched.
func (r *runner) cert() (*tls.Certificate, error) {
	s := r.shared
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.creds != nil && s.creds.cert != nil {
		return s.creds.cert, nil
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
	queued := time.Now()
	release, err := acquireSlot(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s gave no credentials before the time limit: it waited %s for one of the %d plugins run at once, and was not started", name, time.Since(queued).Round(time.Millisecond), cap(slots))
	}
	defer release()
	started := time.Now()
	defer func() {
		klog.V(4).Infof("exec credential plugin of context %q ran for %s after waiting %s for a free plugin slot", r.context, time.Since(started).Round(time.Millisecond), started.Sub(queued).Round(time.Millisecond))
	}()
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
	c := cached{Token: cred.Status.Token, ClientCertificateData: cred.Status.ClientCertificateData, ClientKeyData: cred.Status.ClientKeyData}
	if cred.Status.ExpirationTimestamp != nil {
		c.ExpirationTimestamp = *cred.Status.ExpirationTimestamp
	}
	creds, err := newCredentials(c)
	if err != nil {
		return nil, fmt.Errorf("%s %v", name, err)
	}
	return creds, nil
}

// fromCache decodes a cache file's credential as decode does the plugin's.
func (r *runner) fromCache(c cached) (*credentials, error) {
	if c.Token == "" && c.ClientCertificateData == "" || (c.ClientCertificateData == "") != (c.ClientKeyData == "") {
		return nil, errors.New("incomplete")
	}
	return newCredentials(c)
}

func newCredentials(c cached) (*credentials, error) {
	if strings.ContainsFunc(c.Token, func(r rune) bool { return r < 0x21 || r == 0x7f }) {
		return nil, errors.New("returned a token with spaces or control characters, which no Authorization header can carry")
	}
	creds := &credentials{token: c.Token, expires: c.ExpirationTimestamp}
	if c.ClientCertificateData != "" {
		cert, err := tls.X509KeyPair([]byte(c.ClientCertificateData), []byte(c.ClientKeyData))
		if err != nil {
			return nil, errors.New("returned a certificate and key that do not parse")
		}
		creds.cert = &cert
		creds.certPEM, creds.keyPEM = []byte(c.ClientCertificateData), []byte(c.ClientKeyData)
	}
	return creds, nil
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
	res, err := t.next.RoundTrip(withToken(req, creds))
	if err != nil || res.StatusCode != http.StatusUnauthorized {
		return res, err
	}
	t.r.forget(creds)
	// A cached credential the server refuses (revoked, or its role
	// removed) is dropped, and the request made once more with what the
	// plugin returns now, if it can be sent again.
	if !creds.fromDisk || creds.token == "" || (req.Body != nil && req.GetBody == nil) {
		return res, nil
	}
	fresh, ferr := t.r.get(req.Context())
	if ferr != nil || fresh == creds {
		return res, nil
	}
	again := req
	if req.Body != nil {
		body, berr := req.GetBody()
		if berr != nil {
			return res, nil
		}
		again = req.Clone(req.Context())
		again.Body = body
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(res.Body, 64<<10))
	res.Body.Close()
	klog.V(4).Infof("exec credential plugin of context %q: the cached credential was refused (401); asked again with a new one", t.r.context)
	return t.next.RoundTrip(withToken(again, fresh))
}

func withToken(req *http.Request, creds *credentials) *http.Request {
	if creds.token == "" {
		return req
	}
	req = utilnet.CloneRequest(req)
	req.Header.Set("Authorization", "Bearer "+creds.token)
	return req
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

// slots bounds the plugins run at once, whatever --max-parallel is: a plugin
// is a process that spends CPU (aws eks get-token, a Python program, about
// 0.3 s; the bench's 150 ms), and hundreds of them at once only share the
// cores, each taking as long as all of them, so that none gives its
// credential before the last. One per core finishes the same work in the
// same total time, but the first credentials come after one plugin's time,
// and the clusters that got them are read while the others wait.
// OPENMCP_EXEC_PLUGIN_PARALLEL overrides it (for measurement).
var slots = make(chan struct{}, pluginSlots())

func pluginSlots() int {
	if n, err := strconv.Atoi(os.Getenv("OPENMCP_EXEC_PLUGIN_PARALLEL")); err == nil && n > 0 {
		return n
	}
	return max(2, runtime.NumCPU())
}

// acquireSlot waits for a plugin slot until ctx ends.
func acquireSlot(ctx context.Context) (func(), error) {
	select {
	case slots <- struct{}{}:
		return func() { <-slots }, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
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
