//go:build unix

package execcred

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// newProcess forgets what this process shares between contexts, as a new
// invocation of the command starts with nothing.
func newProcess() {
	sharedMu.Lock()
	sharedBy = map[string]*shared{}
	sharedMu.Unlock()
}

// withCache turns the cache on into a fresh folder for the test.
func withCache(t *testing.T) string {
	dir := filepath.Join(t.TempDir(), "kube-cache", cacheSubdir)
	old := cacheFolder
	cacheFolder = func() string { return dir }
	t.Cleanup(func() { cacheFolder = old; newProcess() })
	newProcess()
	return dir
}

// counting is a plugin that appends a line to a file at every run and prints
// status (JSON) as its ExecCredential's status.
func counting(t *testing.T, dir, name, status string) (*clientcmdapi.ExecConfig, func() int) {
	t.Helper()
	runs := filepath.Join(dir, name+".runs")
	cfg := plugin(t, dir, name, "echo run >> "+runs+"\nprintf '%s' '{\"apiVersion\":\"client.authentication.k8s.io/v1\",\"kind\":\"ExecCredential\",\"status\":"+status+"}'\n")
	return cfg, func() int {
		b, _ := os.ReadFile(runs)
		return strings.Count(string(b), "run")
	}
}

func expiresIn(d time.Duration) string {
	return time.Now().Add(d).UTC().Format(time.RFC3339)
}

func cacheFiles(t *testing.T, dir string) []string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	var out []string
	for _, e := range entries {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

func TestCacheKeepsACredentialUntilItExpiresInAPrivateFile(t *testing.T) {
	dir := t.TempDir()
	cache := withCache(t)
	cfg := rest.CopyConfig(apiserver(t))
	exec, runs := counting(t, dir, "expiring", `{"token":"good-token","expirationTimestamp":"`+expiresIn(time.Hour)+`"}`)
	cfg.ExecProvider = exec
	if err := version(t, cfg, context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs() != 1 {
		t.Fatalf("first invocation: %d plugin runs, want 1", runs())
	}
	files := cacheFiles(t, cache)
	if len(files) != 1 {
		t.Fatalf("cache files %v, want 1", files)
	}
	fi, _ := os.Stat(files[0])
	di, _ := os.Stat(cache)
	if fi.Mode().Perm() != 0o600 || di.Mode().Perm() != 0o700 {
		t.Errorf("file mode %v, folder mode %v: want 0600 and 0700", fi.Mode(), di.Mode())
	}
	data, _ := os.ReadFile(files[0])
	if !strings.Contains(string(data), "good-token") || strings.Contains(string(data), "KUBERNETES_EXEC_INFO") {
		t.Errorf("cache file holds %q", data)
	}

	newProcess()
	if err := version(t, cfg, context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs() != 1 {
		t.Errorf("second invocation with the cache warm ran the plugin (%d runs)", runs())
	}

	// A credential that expires within the safety margin is not used.
	var c cached
	_ = json.Unmarshal(data, &c)
	c.ExpirationTimestamp = time.Now().Add(cacheMargin / 2)
	data, _ = json.Marshal(c)
	if err := os.WriteFile(files[0], data, 0o600); err != nil {
		t.Fatal(err)
	}
	newProcess()
	if err := version(t, cfg, context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs() != 2 {
		t.Errorf("a cached credential about to expire was used (%d runs, want 2)", runs())
	}

	// A file others can read is not trusted (nor is one reached through a link).
	if err := os.Chmod(files[0], 0o644); err != nil {
		t.Fatal(err)
	}
	newProcess()
	if err := version(t, cfg, context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs() != 3 {
		t.Errorf("a cache file of mode 0644 was used (%d runs, want 3)", runs())
	}
	fi, _ = os.Stat(files[0])
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("rewritten cache file has mode %v", fi.Mode())
	}
	target := filepath.Join(dir, "elsewhere.json")
	_ = os.Rename(files[0], target)
	if err := os.Symlink(target, files[0]); err != nil {
		t.Fatal(err)
	}
	newProcess()
	if err := version(t, cfg, context.Background()); err != nil {
		t.Fatal(err)
	}
	if runs() != 4 {
		t.Errorf("a cache file reached through a symbolic link was used (%d runs, want 4)", runs())
	}
}

func TestCacheNeverKeepsACredentialWithoutExpiryOrWhenOff(t *testing.T) {
	dir := t.TempDir()
	cfg := rest.CopyConfig(apiserver(t))
	exec, runs := counting(t, dir, "forever", `{"token":"good-token"}`)
	cfg.ExecProvider = exec
	cache := withCache(t)
	for i := range 2 {
		newProcess()
		if err := version(t, cfg, context.Background()); err != nil {
			t.Fatal(err)
		}
		if runs() != i+1 {
			t.Errorf("invocation %d: %d runs", i+1, runs())
		}
	}
	if f := cacheFiles(t, cache); len(f) != 0 {
		t.Errorf("a credential without expirationTimestamp was written: %v", f)
	}

	// Off: nothing is written, however long the credential lives.
	cacheFolder = func() string { return "" }
	exec, runs = counting(t, dir, "off", `{"token":"good-token","expirationTimestamp":"`+expiresIn(time.Hour)+`"}`)
	cfg.ExecProvider = exec
	for i := range 2 {
		newProcess()
		if err := version(t, cfg, context.Background()); err != nil {
			t.Fatal(err)
		}
		if runs() != i+1 {
			t.Errorf("cache off, invocation %d: %d runs", i+1, runs())
		}
	}
	if f := cacheFiles(t, cache); len(f) != 0 {
		t.Errorf("cache off wrote %v", f)
	}
}

func TestARefusedCachedCredentialIsDroppedAndThePluginRunAgain(t *testing.T) {
	dir := t.TempDir()
	cache := withCache(t)
	cfg := rest.CopyConfig(apiserver(t))
	exec, runs := counting(t, dir, "revoked", `{"token":"good-token","expirationTimestamp":"`+expiresIn(time.Hour)+`"}`)
	cfg.ExecProvider = exec
	// A credential cached by an earlier invocation, revoked since.
	r := &runner{exec: exec, cluster: clusterInfo(cfg)}
	key := cacheKey(r)
	writeCache(cache, key, &credentials{token: "revoked-token", expires: time.Now().Add(time.Hour)})
	if _, err := os.Stat(cachePath(cache, key)); err != nil {
		t.Fatal(err)
	}
	if err := version(t, cfg, context.Background()); err != nil {
		t.Fatalf("a revoked cached token: %v (want a retry with the plugin's)", err)
	}
	if runs() != 1 {
		t.Errorf("%d runs, want 1", runs())
	}
	data, _ := os.ReadFile(cachePath(cache, key))
	if !strings.Contains(string(data), "good-token") || strings.Contains(string(data), "revoked-token") {
		t.Errorf("cache after the 401: %q", data)
	}

	// A plugin whose fresh credential is refused: the 401 is the answer,
	// and nothing stays cached.
	exec, runs = counting(t, dir, "refused", `{"token":"bad-token","expirationTimestamp":"`+expiresIn(time.Hour)+`"}`)
	cfg.ExecProvider = exec
	newProcess()
	if err := version(t, cfg, context.Background()); err == nil || !strings.Contains(err.Error(), "provide credentials") {
		t.Errorf("refused token: %v", err)
	}
	if runs() != 1 {
		t.Errorf("refused token: %d runs, want 1 (no retry of the plugin's own credential)", runs())
	}
	r = &runner{exec: exec, cluster: clusterInfo(cfg)}
	if _, err := os.Stat(cachePath(cache, cacheKey(r))); !os.IsNotExist(err) {
		t.Errorf("a refused credential stays cached: %v", err)
	}
}

func TestCacheKeyDiffersByCommandArgsEnvAndToldCluster(t *testing.T) {
	base := func() *runner {
		return &runner{
			exec:    &clientcmdapi.ExecConfig{APIVersion: "client.authentication.k8s.io/v1", Command: "aws", Args: []string{"eks", "get-token", "--cluster-name", "a"}, Env: []clientcmdapi.ExecEnvVar{{Name: "AWS_PROFILE", Value: "prod"}}},
			cluster: map[string]any{"server": "https://a.example"},
		}
	}
	k := cacheKey(base())
	if cacheKey(base()) != k {
		t.Fatal("the same configuration has two keys")
	}
	variants := map[string]func(r *runner){
		"args":        func(r *runner) { r.exec.Args[3] = "b" },
		"env":         func(r *runner) { r.exec.Env[0].Value = "dev" },
		"command":     func(r *runner) { r.exec.Command = "/usr/local/bin/aws" },
		"api version": func(r *runner) { r.exec.APIVersion = "client.authentication.k8s.io/v1beta1" },
		"told cluster": func(r *runner) {
			r.exec.ProvideClusterInfo = true
		},
	}
	for name, change := range variants {
		r := base()
		change(r)
		if cacheKey(r) == k {
			t.Errorf("a different %s has the same key", name)
		}
	}
	// The server matters only to a plugin that is told it.
	r := base()
	r.cluster["server"] = "https://b.example"
	if cacheKey(r) != k {
		t.Error("the server changed the key of a plugin that is not told it")
	}
	r.exec.ProvideClusterInfo = true
	told := cacheKey(r)
	r.cluster["server"] = "https://a.example"
	if cacheKey(r) == told {
		t.Error("the server did not change the key of a plugin told it")
	}
}

func TestHostilePluginOutputIsNeitherUsedNorCached(t *testing.T) {
	dir := t.TempDir()
	cache := withCache(t)
	cfg := rest.CopyConfig(apiserver(t))
	for name, status := range map[string]string{
		"header injection": `{"token":"good-token\r\nX-Evil: 1","expirationTimestamp":"` + expiresIn(time.Hour) + `"}`,
		"escape codes":     `{"token":"\u001b[2Jgood-token","expirationTimestamp":"` + expiresIn(time.Hour) + `"}`,
		"no credential":    `{"expirationTimestamp":"` + expiresIn(time.Hour) + `"}`,
		"bad certificate":  `{"clientCertificateData":"x","clientKeyData":"y","expirationTimestamp":"` + expiresIn(time.Hour) + `"}`,
	} {
		exec, _ := counting(t, dir, strings.ReplaceAll(name, " ", "-"), status)
		cfg.ExecProvider = exec
		newProcess()
		err := version(t, cfg, context.Background())
		if err == nil || strings.ContainsAny(err.Error(), "\x1b\r\n") || strings.Contains(err.Error(), "X-Evil") {
			t.Errorf("%s: %v", name, err)
		}
	}
	// Already expired: used for nothing more than this request, not kept.
	exec, runs := counting(t, dir, "expired", `{"token":"good-token","expirationTimestamp":"`+expiresIn(-time.Hour)+`"}`)
	cfg.ExecProvider = exec
	newProcess()
	_ = version(t, cfg, context.Background())
	if f := cacheFiles(t, cache); len(f) != 0 {
		t.Errorf("hostile or expired output was cached: %v", f)
	}
	if runs() < 1 {
		t.Error("the expired plugin did not run")
	}
	// A cache file with junk in it is removed, and the plugin run.
	exec, runs = counting(t, dir, "junkfile", `{"token":"good-token","expirationTimestamp":"`+expiresIn(time.Hour)+`"}`)
	cfg.ExecProvider = exec
	key := cacheKey(&runner{exec: exec, cluster: clusterInfo(cfg)})
	if err := os.MkdirAll(cache, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(cachePath(cache, key), []byte(`{"token":"a b","expirationTimestamp":"`+expiresIn(time.Hour)+`"}`), 0o600); err != nil {
		t.Fatal(err)
	}
	newProcess()
	if err := version(t, cfg, context.Background()); err != nil || runs() != 1 {
		t.Errorf("junk cache file: %v, %d runs", err, runs())
	}
}

func TestPluginsRunAtMostSlotsAtOnceAndContextsOfOneConfigurationShareARun(t *testing.T) {
	dir := t.TempDir()
	old := slots
	slots = make(chan struct{}, 1)
	t.Cleanup(func() { slots = old; newProcess() })
	newProcess()
	base := apiserver(t)
	lock, overlaps := filepath.Join(dir, "lock"), filepath.Join(dir, "overlaps")
	var wg sync.WaitGroup
	var runs []func() int
	for i := range 4 {
		name := "slow" + string(rune('a'+i))
		cfg := rest.CopyConfig(base)
		exec, n := counting(t, dir, name, `{"token":"good-token"}`)
		// A plugin that finds another one running leaves a mark.
		script, _ := os.ReadFile(exec.Command)
		body := strings.Replace(string(script), "#!/bin/sh\n", "#!/bin/sh\nmkdir "+lock+" 2>/dev/null || echo overlap >> "+overlaps+"\nsleep 0.2\nrmdir "+lock+" 2>/dev/null\n", 1)
		if err := os.WriteFile(exec.Command, []byte(body), 0o700); err != nil {
			t.Fatal(err)
		}
		cfg.ExecProvider = exec
		runs = append(runs, n)
		// Three contexts of each configuration.
		for range 3 {
			wg.Go(func() {
				if err := version(t, cfg, context.Background()); err != nil {
					t.Error(err)
				}
			})
		}
	}
	wg.Wait()
	if b, _ := os.ReadFile(overlaps); len(b) > 0 {
		t.Errorf("plugins ran at the same time with one slot: %q", b)
	}
	for i, n := range runs {
		if n() != 1 {
			t.Errorf("configuration %d: %d runs for 3 contexts, want 1", i, n())
		}
	}
}
