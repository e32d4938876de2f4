package execcred

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/util/homedir"
	"k8s.io/klog/v2"
)

// The credential cache across invocations (opt-in). An exec plugin such as
// `aws eks get-token --cluster-name X` burns a tenth of a second or more of
// CPU per cluster, and a fan-out over hundreds of clusters whose contexts
// each pass their own arguments runs hundreds of them at every command. With
// the cache on, what a plugin returned is kept, one file per exec
// configuration, until its expirationTimestamp, as kubelogin and
// gke-gcloud-auth-plugin keep their own tokens under the kube cache folder.

// EnvCache turns the cache on ("1" or "true") when --exec-credential-cache is
// not given.
const EnvCache = "OPENMCP_EXEC_CREDENTIAL_CACHE"

// FlagCache is the persistent flag that turns the cache on.
const FlagCache = "exec-credential-cache"

// cacheSubdir is the cache's folder under --cache-dir.
const cacheSubdir = "openmcp-exec-credentials"

// cacheMargin: a cached credential is used only while it has more than this
// left, so that it does not expire between the read and the request.
const cacheMargin = 30 * time.Second

var (
	cacheFlag    *pflag.Flag
	cacheDirFlag *string
)

// AddFlags registers --exec-credential-cache on a root command's persistent
// flags; cacheDir is --cache-dir's value (read when a plugin runs).
func AddFlags(fs *pflag.FlagSet, cacheDir *string) {
	fs.Bool(FlagCache, false, "Keep what exec credential plugins return (tokens, client keys) in files, one per plugin configuration, "+
		"mode 0600 under --cache-dir/"+cacheSubdir+", until each credential's expirationTimestamp (never one without), and drop a file "+
		"when a server refuses its credential (401). Saves running a plugin per cluster at every command, at the price of "+
		"bearer credentials on disk that anyone who can read your files can use until they expire. Also turned on by "+EnvCache+"=1")
	cacheFlag = fs.Lookup(FlagCache)
	cacheDirFlag = cacheDir
}

// CheckFlags reports an unusable OPENMCP_EXEC_CREDENTIAL_CACHE value.
func CheckFlags() error {
	if v := os.Getenv(EnvCache); v != "" {
		if _, err := strconv.ParseBool(v); err != nil {
			return fmt.Errorf("invalid %s %q: want 1 or 0 (true or false)", EnvCache, v)
		}
	}
	return nil
}

// cacheFolder is the cache's folder, or "" when the cache is off.
var cacheFolder = func() string {
	on := false
	if cacheFlag != nil && cacheFlag.Changed {
		on, _ = strconv.ParseBool(cacheFlag.Value.String())
	} else {
		on, _ = strconv.ParseBool(os.Getenv(EnvCache))
	}
	if !on {
		return ""
	}
	dir := ""
	if cacheDirFlag != nil {
		dir = *cacheDirFlag
	}
	if dir == "" {
		dir = filepath.Join(homedir.HomeDir(), ".kube", "cache")
	}
	return filepath.Join(dir, cacheSubdir)
}

// cacheKey names an exec configuration: what the plugin is run with, and the
// cluster when the plugin is told it (provideClusterInfo), as client-go keys
// its in-process cache. Two contexts with the same key get the same
// credential from the plugin, so they share it.
func cacheKey(r *runner) string {
	env := make([]string, 0, len(r.exec.Env))
	for _, e := range r.exec.Env {
		env = append(env, e.Name+"="+e.Value)
	}
	k := map[string]any{
		"v":          1,
		"apiVersion": r.exec.APIVersion,
		"command":    r.exec.Command,
		"args":       r.exec.Args,
		"env":        env,
	}
	if r.exec.ProvideClusterInfo {
		k["cluster"] = r.cluster
	}
	b, _ := json.Marshal(k) // maps are written in key order
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// cached is a cache file's content: the ExecCredential's status.
type cached struct {
	Token                 string    `json:"token,omitempty"`
	ClientCertificateData string    `json:"clientCertificateData,omitempty"`
	ClientKeyData         string    `json:"clientKeyData,omitempty"`
	ExpirationTimestamp   time.Time `json:"expirationTimestamp"`
}

func cachePath(dir, key string) string { return filepath.Join(dir, key+".json") }

// readCache returns the credential cached under key, or nil. A file that is
// not ours alone, not a regular file, unreadable or expired is not used (an
// expired or broken one is removed).
func readCache(dir, key string, decode func(cached) (*credentials, error)) *credentials {
	if !privateDir(dir) {
		return nil
	}
	path := cachePath(dir, key)
	f, err := openPrivate(path)
	if err != nil {
		if !errors.Is(err, os.ErrNotExist) {
			klog.V(2).Infof("exec credential cache: not using %s: %v", path, err)
		}
		return nil
	}
	data, err := io.ReadAll(io.LimitReader(f, 1<<20))
	f.Close()
	var c cached
	if err != nil || json.Unmarshal(data, &c) != nil || c.ExpirationTimestamp.IsZero() {
		_ = os.Remove(path)
		return nil
	}
	if time.Until(c.ExpirationTimestamp) <= cacheMargin {
		_ = os.Remove(path)
		return nil
	}
	creds, err := decode(c)
	if err != nil {
		_ = os.Remove(path)
		return nil
	}
	creds.fromDisk = true
	return creds
}

// writeCache keeps creds under key: never one without an expiry, written to
// a private temporary file and renamed, so a reader sees all of it or none.
func writeCache(dir, key string, creds *credentials) {
	if creds.expires.IsZero() || time.Until(creds.expires) <= cacheMargin {
		return
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		klog.V(2).Infof("exec credential cache: %v", err)
		return
	}
	if !privateDir(dir) {
		return
	}
	data, err := json.Marshal(cached{Token: creds.token, ClientCertificateData: string(creds.certPEM), ClientKeyData: string(creds.keyPEM), ExpirationTimestamp: creds.expires})
	if err != nil {
		return
	}
	tmp, err := os.CreateTemp(dir, ".tmp-*")
	if err != nil {
		klog.V(2).Infof("exec credential cache: %v", err)
		return
	}
	ok := false
	defer func() {
		if !ok {
			tmp.Close()
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return
	}
	if _, err := tmp.Write(data); err != nil {
		return
	}
	if err := tmp.Close(); err != nil {
		return
	}
	if err := os.Rename(tmp.Name(), cachePath(dir, key)); err != nil {
		return
	}
	ok = true
}

// dropCache removes the file of key (its credential was refused).
func dropCache(dir, key string) {
	if err := os.Remove(cachePath(dir, key)); err == nil {
		klog.V(4).Infof("exec credential cache: dropped a refused credential (%s)", key[:12])
	}
}

// privateDir: dir is a real folder only its owner, the current user, can
// enter; the cache is not used otherwise.
func privateDir(dir string) bool {
	fi, err := os.Lstat(dir)
	if err != nil {
		return false
	}
	if !fi.IsDir() || fi.Mode().Perm()&0o077 != 0 || !ownedByUs(fi) {
		klog.V(2).Infof("exec credential cache: not using %s: want a folder of your own with mode 0700, found %s", dir, strings.TrimSpace(fi.Mode().String()))
		return false
	}
	return true
}
