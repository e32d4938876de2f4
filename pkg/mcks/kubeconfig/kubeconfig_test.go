package kubeconfig

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// mcksKubeconfig is what MCKS stores for every cluster: the same names each time.
func mcksKubeconfig(server string) []byte {
	return []byte(`apiVersion: v1
kind: Config
clusters:
- cluster:
    certificate-authority-data: Y2E=
    server: ` + server + `
  name: kubernetes
contexts:
- context:
    cluster: kubernetes
    user: kubernetes-admin
  name: kubernetes-admin@kubernetes
current-context: kubernetes-admin@kubernetes
users:
- name: kubernetes-admin
  user:
    client-certificate-data: Y2VydA==
    client-key-data: a2V5
`)
}

func TestRenameNamesEntriesAfterTheCluster(t *testing.T) {
	cfg, err := Rename(mcksKubeconfig("https://203.0.113.5:6443"), "c1")
	if err != nil {
		t.Fatal(err)
	}
	if cfg.CurrentContext != "c1" || len(cfg.Contexts) != 1 || len(cfg.Clusters) != 1 || len(cfg.AuthInfos) != 1 {
		t.Fatalf("config %+v", cfg)
	}
	ctx := cfg.Contexts["c1"]
	if ctx == nil || ctx.Cluster != "c1" || ctx.AuthInfo != "c1-admin" {
		t.Fatalf("context %+v", ctx)
	}
	if cfg.Clusters["c1"].Server != "https://203.0.113.5:6443" || string(cfg.AuthInfos["c1-admin"].ClientKeyData) != "key" {
		t.Errorf("server or key lost: %+v %+v", cfg.Clusters["c1"], cfg.AuthInfos["c1-admin"])
	}
	for _, bad := range [][]byte{[]byte("not: [yaml"), []byte("apiVersion: v1\nkind: Config\n")} {
		if _, err := Rename(bad, "c1"); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
	if _, err := Rename(mcksKubeconfig("https://x"), "a b"); err == nil {
		t.Error("context name with a space accepted")
	}
}

func writeUserKubeconfig(t *testing.T, path string, mode os.FileMode) []byte {
	t.Helper()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["home"] = &clientcmdapi.Cluster{Server: "https://home:6443"}
	cfg.AuthInfos["me"] = &clientcmdapi.AuthInfo{Token: "secret-token"}
	cfg.Contexts["home"] = &clientcmdapi.Context{Cluster: "home", AuthInfo: "me", Namespace: "dev"}
	cfg.CurrentContext = "home"
	data, err := clientcmd.Write(*cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, mode); err != nil {
		t.Fatal(err)
	}
	return data
}

func TestMergeKeepsTheUsersEntriesAndWrites0600(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	writeUserKubeconfig(t, path, 0o644)
	c1, _ := Rename(mcksKubeconfig("https://203.0.113.5:6443"), "c1")
	c2, _ := Rename(mcksKubeconfig("https://203.0.113.9:6443"), "c2")
	for _, c := range []*clientcmdapi.Config{c1, c2} {
		if _, err := Merge(path, c, false); err != nil {
			t.Fatalf("Merge: %v", err)
		}
	}
	got, err := clientcmd.LoadFromFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.CurrentContext != "home" || got.Contexts["home"].Namespace != "dev" || got.AuthInfos["me"].Token != "secret-token" {
		t.Errorf("the user's own entries changed: %+v", got)
	}
	if got.Clusters["c1"].Server != "https://203.0.113.5:6443" || got.Clusters["c2"].Server != "https://203.0.113.9:6443" || got.Contexts["c2"].AuthInfo != "c2-admin" {
		t.Errorf("merged entries wrong: %+v %+v", got.Clusters, got.Contexts)
	}
	if fi, _ := os.Stat(path); fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if _, err := os.Stat(path + ".lock"); !os.IsNotExist(err) {
		t.Errorf("lock file left behind: %v", err)
	}
	// Merging the same thing again is a no-op, not a conflict.
	if _, err := Merge(path, c1, false); err != nil {
		t.Errorf("idempotent merge: %v", err)
	}
}

func TestMergeNeverClobbersWithoutOverwrite(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	writeUserKubeconfig(t, path, 0o600)
	first, _ := Rename(mcksKubeconfig("https://old:6443"), "c1")
	if _, err := Merge(path, first, false); err != nil {
		t.Fatal(err)
	}
	before, _ := os.ReadFile(path)

	second, _ := Rename(mcksKubeconfig("https://new:6443"), "c1")
	_, err := Merge(path, second, false)
	var conflict *ConflictError
	if !errors.As(err, &conflict) || conflict.Name != "c1" {
		t.Fatalf("merge over an existing c1: %v", err)
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("a refused merge changed the file")
	}
	res, err := Merge(path, second, true)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Replaced) != 1 || res.Replaced[0] != `cluster "c1"` {
		t.Errorf("replaced %v", res.Replaced)
	}
	got, _ := clientcmd.LoadFromFile(path)
	if got.Clusters["c1"].Server != "https://new:6443" {
		t.Errorf("--overwrite did not replace: %s", got.Clusters["c1"].Server)
	}
}

func TestMergeWaitsForKubectlsLockAndSerialisesWriters(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	writeUserKubeconfig(t, path, 0o600)

	// A lock someone else holds: refused after the timeout, file untouched.
	if err := os.WriteFile(path+".lock", nil, 0o600); err != nil {
		t.Fatal(err)
	}
	old := LockTimeout
	LockTimeout = 150 * time.Millisecond
	defer func() { LockTimeout = old }()
	c1, _ := Rename(mcksKubeconfig("https://x:6443"), "c1")
	if _, err := Merge(path, c1, false); err == nil {
		t.Fatal("merge went through a held lock")
	}
	os.Remove(path + ".lock")

	LockTimeout = 10 * time.Second
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			c, _ := Rename(mcksKubeconfig(fmt.Sprintf("https://h%d:6443", i)), fmt.Sprintf("m%d", i))
			if _, err := Merge(path, c, false); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
	got, _ := clientcmd.LoadFromFile(path)
	for i := range 8 {
		if got.Contexts[fmt.Sprintf("m%d", i)] == nil {
			t.Errorf("concurrent merge lost context m%d", i)
		}
	}
}

func TestMergeThroughSymlinkAndIntoNewFile(t *testing.T) {
	dir := t.TempDir()
	real := filepath.Join(dir, "real-config")
	writeUserKubeconfig(t, real, 0o600)
	link := filepath.Join(dir, "config")
	if err := os.Symlink(real, link); err != nil {
		t.Skip(err)
	}
	c1, _ := Rename(mcksKubeconfig("https://x:6443"), "c1")
	if _, err := Merge(link, c1, false); err != nil {
		t.Fatal(err)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced by a file")
	}
	if got, _ := clientcmd.LoadFromFile(real); got.Contexts["c1"] == nil {
		t.Error("the real file was not updated")
	}

	fresh := filepath.Join(dir, "sub", "new-config")
	if _, err := Merge(fresh, c1, false); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(fresh); err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("new file: %v %v", fi, err)
	}
	if err := WriteFile(fresh, c1, false); err == nil {
		t.Error("WriteFile over an existing file without overwrite")
	}
}

// A writer killed while holding the lock leaves it; the next one says the
// holder is gone at once instead of waiting, and changes nothing.
func TestMergeNamesALockWhoseHolderIsGone(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "config")
	writeUserKubeconfig(t, path, 0o600)
	before, _ := os.ReadFile(path)
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Skip(err)
	}
	if err := os.WriteFile(path+".lock", []byte(fmt.Sprintf("%d\n", dead.Process.Pid)), 0o600); err != nil {
		t.Fatal(err)
	}
	c1, _ := Rename(mcksKubeconfig("https://x:6443"), "c1")
	start := time.Now()
	_, err := Merge(path, c1, false)
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("locked by process %d, which no longer runs", dead.Process.Pid)) || !strings.Contains(err.Error(), "the kubeconfig is intact") {
		t.Errorf("error %v", err)
	}
	if time.Since(start) > time.Second {
		t.Errorf("waited %s for a dead holder", time.Since(start))
	}
	if after, _ := os.ReadFile(path); string(after) != string(before) {
		t.Error("the kubeconfig changed")
	}
	// Our own lock names us while held.
	os.Remove(path + ".lock")
	unlock, err := lock(path)
	if err != nil {
		t.Fatal(err)
	}
	if pid, gone := holderGone(path + ".lock"); pid != os.Getpid() || gone {
		t.Errorf("lock holds %d (gone %v), want this process %d", pid, gone, os.Getpid())
	}
	unlock()
}
