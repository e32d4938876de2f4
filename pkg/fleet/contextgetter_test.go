package fleet

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/execcred"
)

func writeKubeconfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cfg := clientcmdapi.NewConfig()
	cfg.Clusters["c1"] = &clientcmdapi.Cluster{Server: "https://10.0.0.1:6443", CertificateAuthorityData: []byte("ca1")}
	cfg.Clusters["c2"] = &clientcmdapi.Cluster{Server: "https://10.0.0.2:6443", InsecureSkipTLSVerify: true, TLSServerName: "api.c2"}
	cfg.AuthInfos["cert"] = &clientcmdapi.AuthInfo{ClientCertificateData: []byte("cert"), ClientKeyData: []byte("key")}
	cfg.AuthInfos["exec"] = &clientcmdapi.AuthInfo{Exec: &clientcmdapi.ExecConfig{
		APIVersion: "client.authentication.k8s.io/v1", Command: "get-token", Args: []string{"--cluster", "c2"},
		InteractiveMode: clientcmdapi.NeverExecInteractiveMode,
	}}
	cfg.Contexts["cluster1"] = &clientcmdapi.Context{Cluster: "c1", AuthInfo: "cert", Namespace: "team-a"}
	cfg.Contexts["cluster2"] = &clientcmdapi.Context{Cluster: "c2", AuthInfo: "exec"}
	// Nothing listens there: requests fail at once.
	cfg.Clusters["c3"] = &clientcmdapi.Cluster{Server: "https://127.0.0.1:1", InsecureSkipTLSVerify: true}
	cfg.AuthInfos["token"] = &clientcmdapi.AuthInfo{Token: "t"}
	cfg.Contexts["cluster3"] = &clientcmdapi.Context{Cluster: "c3", AuthInfo: "token"}
	cfg.CurrentContext = "cluster1"
	path := filepath.Join(dir, "config")
	if err := clientcmd.WriteToFile(*cfg, path); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestGetterMakesTheConfigForMakes(t *testing.T) {
	path := writeKubeconfig(t)
	base := genericclioptions.NewConfigFlags(true)
	base.KubeConfig = &path
	timeout, as, groups, extra, noGzip := "7s", "jane", []string{"admins"}, []string{"scopes=a", "scopes=b"}, true
	base.Timeout, base.Impersonate, base.ImpersonateGroup, base.ImpersonateUserExtra, base.DisableCompression = &timeout, &as, &groups, &extra, &noGzip
	kc := NewKubeconfig(base)
	for _, ctx := range []string{"cluster1", "cluster2", "cluster3"} {
		want, err := kc.For(ctx).ToRESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		got, err := kc.Getter(ctx, nil).ToRESTConfig()
		if err != nil {
			t.Fatal(err)
		}
		if want.ExecProvider != nil {
			// The exec plugin is run by execcred: its transport carries the
			// TLS settings and impersonation the config had.
			if want, err = execcred.Guard(want, ctx); err != nil {
				t.Fatal(err)
			}
			if got.Transport == nil || got.ExecProvider != nil {
				t.Errorf("context %s: the exec plugin is not guarded: %#v", ctx, got)
			}
			// execcred folds Guard's wrapper into the transport it builds.
			got.Transport, want.Transport = nil, nil
		} else if got.WrapTransport == nil || want.WrapTransport == nil {
			// Both guarded (Guard); funcs compare only to nil.
			t.Errorf("context %s: a config without Guard's transport", ctx)
		}
		got.WrapTransport, want.WrapTransport = nil, nil
		if !reflect.DeepEqual(got, want) {
			t.Errorf("context %s: Getter config\n%#v\nFor config\n%#v", ctx, got, want)
		}
	}
	cfg, _ := kc.For("cluster2").ToRESTConfig()
	if cfg.Impersonate.UserName != "jane" || len(cfg.Impersonate.Extra["scopes"]) != 2 || cfg.Timeout.String() != "7s" || cfg.ExecProvider == nil {
		t.Errorf("flags lost: %+v", cfg)
	}
	if g, _ := kc.Getter("cluster2", nil).ToRESTConfig(); g.Timeout.String() != "7s" || g.DisableCompression != true {
		t.Errorf("flags lost by the guard: %+v", g)
	}
}

func TestGetterFailsOnFirstUseForAMissingContext(t *testing.T) {
	path := writeKubeconfig(t)
	base := genericclioptions.NewConfigFlags(true)
	base.KubeConfig = &path
	g := NewKubeconfig(base).Getter("gone", nil) // no error yet: it is one cluster's failure
	if _, err := g.ToRESTConfig(); err == nil {
		t.Fatal("a context missing from the kubeconfig gave a config")
	}
	if _, err := g.ToDiscoveryClient(); err == nil {
		t.Fatal("a context missing from the kubeconfig gave a discovery client")
	}
}

// A discovery cache on disk, as kubectl leaves it, for a server that is gone.
func writeDiscoveryCache(t *testing.T, dir, host string) {
	t.Helper()
	base := filepath.Join(dir, "discovery", overlyCautiousIllegalFileCharacters.ReplaceAllString(host, "_"))
	files := map[string]string{
		"servergroups.json":       `{"kind":"APIGroupList","apiVersion":"v1","groups":[{"name":"","versions":[{"groupVersion":"v1","version":"v1"}],"preferredVersion":{"groupVersion":"v1","version":"v1"}}]}`,
		"v1/serverresources.json": `{"kind":"APIResourceList","apiVersion":"v1","groupVersion":"v1","resources":[{"name":"pods","singularName":"pod","namespaced":true,"kind":"Pod","verbs":["get","list"],"shortNames":["po"]}]}`,
	}
	for name, body := range files {
		path := filepath.Join(base, name)
		if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// kubeconfigWithDiscoveryCache is writeKubeconfig with a --cache-dir that
// holds a discovery cache for each of servers; it returns the kubeconfig and
// the cache folder.
func kubeconfigWithDiscoveryCache(t *testing.T, servers ...string) (*Kubeconfig, string) {
	t.Helper()
	path := writeKubeconfig(t)
	cache := t.TempDir()
	base := genericclioptions.NewConfigFlags(true)
	base.KubeConfig, base.CacheDir = &path, &cache
	for _, server := range servers {
		writeDiscoveryCache(t, cache, server)
	}
	return NewKubeconfig(base), cache
}

func TestGetterReadsTheDiscoveryCacheOnceUntilInvalidated(t *testing.T) {
	kc, cache := kubeconfigWithDiscoveryCache(t, "https://127.0.0.1:1")
	g := kc.Getter("cluster3", nil)
	mapper, err := g.ToRESTMapper()
	if err != nil {
		t.Fatal(err)
	}
	// The mapper and the shortcut expander both read discovery.
	gvk, err := mapper.KindFor(schema.GroupVersionResource{Resource: "po"})
	if err != nil || gvk.Kind != "Pod" {
		t.Fatalf("po maps to %v, %v", gvk, err)
	}
	if err := os.RemoveAll(filepath.Join(cache, "discovery")); err != nil {
		t.Fatal(err)
	}
	d, _ := g.ToDiscoveryClient()
	if _, res, err := d.ServerGroupsAndResources(); err != nil || len(res) != 1 {
		t.Fatalf("second read went back to disk: %v, %v", res, err)
	}
	if d.Fresh() {
		t.Error("data from the disk cache reported fresh: the mapper would not ask the server about unknown types")
	}
	d.Invalidate()
	if _, _, err := d.ServerGroupsAndResources(); err == nil {
		t.Error("after Invalidate the first answer was served again instead of asking the server")
	}
}

func TestGettersOfAFanOutAreSafeToUseAtOnce(t *testing.T) {
	path := writeKubeconfig(t)
	base := genericclioptions.NewConfigFlags(true)
	base.KubeConfig = &path
	kc := NewKubeconfig(base) // nothing read yet
	var getters []genericclioptions.RESTClientGetter
	for range 8 {
		getters = append(getters, kc.Getter("cluster1", nil))
	}
	done := make(chan error, len(getters))
	for _, g := range getters {
		go func() {
			_, err := g.ToRESTConfig()
			done <- err
		}()
	}
	for range getters {
		if err := <-done; err != nil {
			t.Fatal(err)
		}
	}
}

func TestClustersWithTheSameDiscoveryFilesShareOneDecodingNotItsResult(t *testing.T) {
	// cluster2 and cluster3 are different servers with the same API.
	kc, cache := kubeconfigWithDiscoveryCache(t, "https://10.0.0.2:6443", "https://127.0.0.1:1")
	kc.shared.Lock()
	kc.shared.byBytes = map[string]decodedFile{} // other tests read the same files
	kc.shared.Unlock()
	read := func(context string) []*metav1.APIResourceList {
		d, err := kc.Getter(context, nil).ToDiscoveryClient()
		if err != nil {
			t.Fatal(err)
		}
		_, res, err := d.ServerGroupsAndResources()
		if err != nil || len(res) != 1 || len(res[0].APIResources) != 1 {
			t.Fatalf("%s: resources %v, %v", context, res, err)
		}
		if d.Fresh() {
			t.Errorf("%s: data from the disk cache reported fresh", context)
		}
		return res
	}
	first := read("cluster2")
	first[0].APIResources[0].Name = "changed by a caller"
	if second := read("cluster3"); second[0].APIResources[0].Name != "pods" {
		t.Fatalf("cluster3 got %q: one cluster's caller changed another's discovery", second[0].APIResources[0].Name)
	}
	kc.shared.Lock()
	added := len(kc.shared.byBytes)
	kc.shared.Unlock()
	if added != 2 {
		t.Errorf("%d files decoded for two clusters with the same two files, want 2", added)
	}

	// An expired file is not used, however many clusters share its bytes:
	// cluster3's server (nothing listens) is asked, and fails.
	old := time.Now().Add(-7 * time.Hour)
	hostDir := filepath.Join(cache, "discovery", overlyCautiousIllegalFileCharacters.ReplaceAllString("https://127.0.0.1:1", "_"))
	for _, f := range []string{"servergroups.json", "v1/serverresources.json"} {
		if err := os.Chtimes(filepath.Join(hostDir, f), old, old); err != nil {
			t.Fatal(err)
		}
	}
	d, _ := kc.Getter("cluster3", nil).ToDiscoveryClient()
	if _, _, err := d.ServerGroupsAndResources(); err == nil {
		t.Error("a discovery file older than kubectl's 6-hour TTL was used")
	}
}

func TestClustersWithTheSameDiscoveryFilesShareOneRESTMapper(t *testing.T) {
	kc, _ := kubeconfigWithDiscoveryCache(t, "https://10.0.0.2:6443", "https://127.0.0.1:1")
	kc.shared.Lock()
	kc.shared.mappers = map[string]meta.RESTMapperWithContext{}
	kc.shared.Unlock()
	for _, context := range []string{"cluster2", "cluster3"} {
		mapper, err := kc.Getter(context, nil).ToRESTMapper()
		if err != nil {
			t.Fatal(err)
		}
		if m, err := mapper.RESTMapping(schema.GroupKind{Kind: "Pod"}); err != nil || m.Resource.Resource != "pods" {
			t.Fatalf("%s: Pod maps to %v, %v", context, m, err)
		}
	}
	kc.shared.Lock()
	built := len(kc.shared.mappers)
	kc.shared.Unlock()
	if built != 1 {
		t.Errorf("%d REST mappers built for two clusters with the same discovery files, want 1", built)
	}
}

// An explicit --context names the host, before $OPENMCP_HOST_CONTEXT and a
// context named "openmcp"; --host-context still comes first.
func TestHostContextPrecedence(t *testing.T) {
	path := writeKubeconfig(t)
	t.Setenv(HostContextEnv, "")
	flags := func(context string) *Kubeconfig {
		f := genericclioptions.NewConfigFlags(true)
		f.KubeConfig = &path
		f.Context = &context
		return NewKubeconfig(f)
	}
	for _, tc := range []struct{ flag, context, env, want string }{
		{"", "cluster2", "", "cluster2"},
		{"cluster1", "cluster2", "", "cluster1"},
		{"", "cluster2", "cluster3", "cluster2"},
		{"", "", "cluster3", "cluster3"},
	} {
		t.Setenv(HostContextEnv, tc.env)
		got, err := flags(tc.context).HostContext(tc.flag)
		if err != nil || got != tc.want {
			t.Errorf("--host-context %q --context %q $%s=%q: host %q (%v), want %q", tc.flag, tc.context, HostContextEnv, tc.env, got, err, tc.want)
		}
	}
	if _, err := flags("nosuch").HostContext(""); err == nil || !strings.Contains(err.Error(), "nosuch") {
		t.Errorf("--context nosuch: %v", err)
	}
}
