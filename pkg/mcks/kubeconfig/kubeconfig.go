// Package kubeconfig turns the admin kubeconfig MCKS keeps for a cluster
// into one that can live beside others, and merges it into the user's
// kubeconfig the way kubectl writes kubeconfigs: under kubectl's lock file,
// replaced atomically, readable by the user alone.
package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// FileMode is the mode every kubeconfig written here gets: it holds keys.
const FileMode os.FileMode = 0o600

// Rename reads an MCKS kubeconfig and names its entries after the cluster.
// MCKS gives every cluster the same names (cluster "kubernetes", user
// "kubernetes-admin", context "kubernetes-admin@kubernetes"), so two of them
// cannot share a kubeconfig as they come. The context and the cluster entry
// become contextName, the user contextName+"-admin".
func Rename(data []byte, contextName string) (*clientcmdapi.Config, error) {
	if !validName(contextName) {
		return nil, fmt.Errorf("invalid context name %q: want a non-empty name without spaces or control characters", contextName)
	}
	src, err := clientcmd.Load(data)
	if err != nil {
		return nil, fmt.Errorf("the cluster's kubeconfig does not parse: %v", oneLine(err))
	}
	ctxName := src.CurrentContext
	if src.Contexts[ctxName] == nil {
		if len(src.Contexts) != 1 {
			return nil, fmt.Errorf("the cluster's kubeconfig has %d contexts and no usable current context", len(src.Contexts))
		}
		for n := range src.Contexts {
			ctxName = n
		}
	}
	ctx := src.Contexts[ctxName]
	cluster := src.Clusters[ctx.Cluster]
	user := src.AuthInfos[ctx.AuthInfo]
	if cluster == nil || cluster.Server == "" {
		return nil, fmt.Errorf("the cluster's kubeconfig context %q names no cluster with a server", ctxName)
	}
	if user == nil {
		return nil, fmt.Errorf("the cluster's kubeconfig context %q names no user", ctxName)
	}
	userName := contextName + "-admin"
	out := clientcmdapi.NewConfig()
	out.Clusters[contextName] = cluster.DeepCopy()
	out.AuthInfos[userName] = user.DeepCopy()
	newCtx := ctx.DeepCopy()
	newCtx.Cluster, newCtx.AuthInfo = contextName, userName
	out.Contexts[contextName] = newCtx
	out.CurrentContext = contextName
	for _, m := range []any{out.Clusters[contextName], out.AuthInfos[userName], out.Contexts[contextName]} {
		clearOrigin(m)
	}
	return out, nil
}

// validName accepts what kubectl users name contexts (dots, '@', ':' as in
// EKS ARNs), not only Kubernetes names.
func validName(s string) bool {
	if s == "" {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f {
			return false
		}
	}
	return len(s) <= 253
}

func clearOrigin(v any) {
	switch t := v.(type) {
	case *clientcmdapi.Cluster:
		t.LocationOfOrigin = ""
	case *clientcmdapi.AuthInfo:
		t.LocationOfOrigin = ""
	case *clientcmdapi.Context:
		t.LocationOfOrigin = ""
	}
}

// ConflictError is an entry of the same name that already exists.
type ConflictError struct {
	Kind, Name, Path string
}

func (e *ConflictError) Error() string {
	return fmt.Sprintf("%s %q already exists in %s: use --overwrite to replace it or --context-name to choose another name", e.Kind, e.Name, e.Path)
}

// MergeResult says what Merge did.
type MergeResult struct {
	Path     string
	Replaced []string // entries that existed and were overwritten, e.g. `context "c1"`
}

// LockTimeout bounds the wait for another writer's lock. A holder that died
// is recognised at once by its process id, so this is only ever spent
// waiting for a live writer, which may be slow on a loaded machine.
var LockTimeout = 20 * time.Second

// Merge adds add's clusters, users and contexts to the kubeconfig at path
// (created if missing). An entry of the same name is an error unless
// overwrite, so nothing the user has is lost silently; one with identical
// content is left as it is. The file is locked with kubectl's lock file
// (path + ".lock") for the whole read-modify-write and replaced by a
// rename, so a concurrent kubectl or a crash never leaves half a file.
func Merge(path string, add *clientcmdapi.Config, overwrite bool) (*MergeResult, error) {
	if path == "" {
		return nil, errors.New("no kubeconfig path")
	}
	// The lock goes beside the name kubectl uses, the write to the real file.
	lockPath, err := filepath.Abs(path)
	if err != nil {
		return nil, err
	}
	unlock, err := lock(lockPath)
	if err != nil {
		return nil, err
	}
	defer unlock()
	if path, err = resolve(path); err != nil {
		return nil, err
	}

	cfg := clientcmdapi.NewConfig()
	if _, err := os.Stat(path); err == nil {
		if cfg, err = clientcmd.LoadFromFile(path); err != nil {
			return nil, fmt.Errorf("cannot read kubeconfig %s: %v", path, oneLine(err))
		}
	} else if !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("cannot read kubeconfig %s: %w", path, err)
	}

	res := &MergeResult{Path: path}
	// Check every entry before changing any.
	type entry struct {
		kind, name string
		old, new   any
	}
	var entries []entry
	for _, n := range sortedKeys(add.Clusters) {
		entries = append(entries, entry{"cluster", n, cfg.Clusters[n], add.Clusters[n]})
	}
	for _, n := range sortedKeys(add.AuthInfos) {
		entries = append(entries, entry{"user", n, cfg.AuthInfos[n], add.AuthInfos[n]})
	}
	for _, n := range sortedKeys(add.Contexts) {
		entries = append(entries, entry{"context", n, cfg.Contexts[n], add.Contexts[n]})
	}
	for _, e := range entries {
		if reflect.ValueOf(e.old).IsNil() {
			continue
		}
		if same(e.old, e.new) {
			continue
		}
		if !overwrite {
			return nil, &ConflictError{Kind: e.kind, Name: e.name, Path: path}
		}
		res.Replaced = append(res.Replaced, fmt.Sprintf("%s %q", e.kind, e.name))
	}
	for n, c := range add.Clusters {
		cfg.Clusters[n] = c
	}
	for n, u := range add.AuthInfos {
		cfg.AuthInfos[n] = u
	}
	for n, c := range add.Contexts {
		cfg.Contexts[n] = c
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return nil, err
	}
	if err := WriteAtomic(path, data); err != nil {
		return nil, err
	}
	return res, nil
}

// same compares entries without where they were read from.
func same(a, b any) bool {
	ca, cb := deepCopy(a), deepCopy(b)
	clearOrigin(ca)
	clearOrigin(cb)
	return reflect.DeepEqual(ca, cb)
}

func deepCopy(v any) any {
	switch t := v.(type) {
	case *clientcmdapi.Cluster:
		return t.DeepCopy()
	case *clientcmdapi.AuthInfo:
		return t.DeepCopy()
	case *clientcmdapi.Context:
		return t.DeepCopy()
	}
	return v
}

// WriteFile writes a standalone kubeconfig; an existing file is an error unless overwrite.
func WriteFile(path string, cfg *clientcmdapi.Config, overwrite bool) error {
	path, err := resolve(path)
	if err != nil {
		return err
	}
	if _, err := os.Stat(path); err == nil && !overwrite {
		return fmt.Errorf("%s already exists: use --overwrite to replace it, or --merge to add the context to it", path)
	}
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		return err
	}
	return WriteAtomic(path, data)
}

// WriteAtomic replaces path with data, mode 0600, through a temporary file
// in the same folder and a rename.
func WriteAtomic(path string, data []byte) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("cannot create %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".*.tmp")
	if err != nil {
		return fmt.Errorf("cannot write kubeconfig in %s: %w", dir, err)
	}
	defer func() {
		if err != nil {
			_ = os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(FileMode); err != nil {
		tmp.Close()
		return err
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("cannot write kubeconfig %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("cannot replace kubeconfig %s: %w", path, err)
	}
	return nil
}

// resolve follows a symlinked kubeconfig so the rename replaces the file,
// not the link.
func resolve(path string) (string, error) {
	if path == "" {
		return "", errors.New("no kubeconfig path")
	}
	abs, err := filepath.Abs(path)
	if err != nil {
		return "", err
	}
	if real, err := filepath.EvalSymlinks(abs); err == nil {
		return real, nil
	}
	return abs, nil
}

// lock takes kubectl's lock on a kubeconfig: the file path + ".lock",
// created exclusively (k8s.io/client-go/tools/clientcmd does the same in
// ModifyConfig), so kubectl config and this command never write at once.
// The lock holds this process's id: a writer killed (SIGKILL) while holding
// it leaves it behind, as a killed kubectl does, and the next writer can
// then say that the holder is gone instead of waiting for it.
func lock(path string) (func(), error) {
	name := path + ".lock"
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	deadline := time.Now().Add(LockTimeout)
	for {
		f, err := os.OpenFile(name, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err == nil {
			_, _ = fmt.Fprintf(f, "%d\n", os.Getpid())
			f.Close()
			return func() { _ = os.Remove(name) }, nil
		}
		if !errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("cannot lock kubeconfig %s: %w", path, err)
		}
		if pid, gone := holderGone(name); gone {
			// The kubeconfig itself is whole: it is only ever replaced by a rename.
			return nil, fmt.Errorf("kubeconfig %s is locked by process %d, which no longer runs (killed while writing?): the kubeconfig is intact; remove %s and try again", path, pid, name)
		}
		if time.Now().After(deadline) {
			return nil, fmt.Errorf("kubeconfig %s is locked by another writer (%s exists; remove it if no kubectl is running)", path, name)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// holderGone reads the process id a lock file holds (kubectl's own locks
// hold none) and reports whether that process has ended.
func holderGone(lockFile string) (int, bool) {
	data, err := os.ReadFile(lockFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	return pid, processGone(pid)
}

// TargetFile picks the kubeconfig file to merge into, as kubectl config
// set-context does: the --kubeconfig file; else the file that already holds
// the context; else the first existing $KUBECONFIG file (the last listed if
// none exists); else ~/.kube/config.
func TargetFile(explicit, contextOrigin string) string {
	if explicit != "" {
		return explicit
	}
	if contextOrigin != "" {
		return contextOrigin
	}
	opts := clientcmd.NewDefaultPathOptions()
	return opts.GetDefaultFilename()
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func oneLine(err error) string {
	s := err.Error()
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '\n' || r == '\r' {
			r = ' '
		}
		out = append(out, r)
	}
	return string(out)
}
