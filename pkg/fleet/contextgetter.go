package fleet

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	diskcached "k8s.io/client-go/discovery/cached/disk"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"k8s.io/client-go/util/homedir"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/execcred"
)

// Getter is For(context) for the resource builder of a fan-out, with the
// context's REST config made from the kubeconfig parsed once (Raw), not from
// the file: each ConfigFlags reads and parses the whole kubeconfig again, so
// a command over N clusters, each a context of that kubeconfig, parsed N
// contexts N times (a fifth of the CPU of `get --all-clusters` at 64
// clusters, and quadratic). It keeps what For keeps of the user's flags, and
// caches discovery where kubectl does. wrap, if not nil, adjusts the config.
// The config is made on first use, so a broken context fails as that one
// cluster, as with For.
func (k *Kubeconfig) Getter(context string, wrap func(*rest.Config) *rest.Config) genericclioptions.RESTClientGetter {
	// Read here, not on first use: Raw fills its cache without a lock, and
	// the getters of a fan-out are used from many goroutines at once.
	raw, err := k.Raw()
	return &contextGetter{kc: k, raw: raw, rawErr: err, context: context, wrap: wrap}
}

type contextGetter struct {
	kc      *Kubeconfig
	raw     *clientcmdapi.Config
	rawErr  error
	context string
	wrap    func(*rest.Config) *rest.Config

	once   sync.Once
	loader clientcmd.ClientConfig
	config *rest.Config
	plain  *rest.Config // config before execcred.Guard: its CA and server as the kubeconfig says
	err    error
	disco  discovery.CachedDiscoveryInterface
	mapper meta.RESTMapper
	mu     sync.Mutex
}

func (g *contextGetter) load() {
	g.once.Do(func() {
		raw := g.raw
		if g.rawErr != nil {
			g.err = g.rawErr
			return
		}
		// The loading rules only write back tokens an auth provider refreshed.
		access := clientcmd.NewDefaultClientConfigLoadingRules()
		if p := g.kc.base.KubeConfig; p != nil {
			access.ExplicitPath = *p
		}
		g.loader = clientcmd.NewNonInteractiveClientConfig(*raw, g.context, g.kc.overrides(g.context), access)
		if g.config, g.err = g.loader.ClientConfig(); g.err != nil {
			return
		}
		g.config = Guard(g.config)
		if g.wrap != nil {
			g.config = g.wrap(g.config)
		}
		g.plain = rest.CopyConfig(g.config)
		// A hanging or chatty exec plugin must not hold or flood a fan-out.
		g.config, g.err = execcred.Guard(g.config, g.context)
	})
}

// overrides are what ConfigFlags makes of the flags For keeps: the context,
// --request-timeout, impersonation and --disable-compression.
func (k *Kubeconfig) overrides(context string) *clientcmd.ConfigOverrides {
	b := k.base
	o := &clientcmd.ConfigOverrides{ClusterDefaults: clientcmd.ClusterDefaults, CurrentContext: context}
	if b.Timeout != nil {
		o.Timeout = *b.Timeout
	}
	if b.Impersonate != nil {
		o.AuthInfo.Impersonate = *b.Impersonate
	}
	if b.ImpersonateUID != nil {
		o.AuthInfo.ImpersonateUID = *b.ImpersonateUID
	}
	if b.ImpersonateGroup != nil {
		o.AuthInfo.ImpersonateGroups = *b.ImpersonateGroup
	}
	if b.ImpersonateUserExtra != nil && len(*b.ImpersonateUserExtra) > 0 {
		extra := map[string][]string{}
		for _, kv := range *b.ImpersonateUserExtra {
			if key, value, ok := strings.Cut(kv, "="); ok {
				extra[key] = append(extra[key], value)
			}
		}
		o.AuthInfo.ImpersonateUserExtra = extra
	}
	if b.DisableCompression != nil {
		o.ClusterInfo.DisableCompression = *b.DisableCompression
	}
	return o
}

func (g *contextGetter) ToRESTConfig() (*rest.Config, error) {
	g.load()
	if g.err != nil {
		return nil, g.err
	}
	return rest.CopyConfig(g.config), nil
}

func (g *contextGetter) plainConfig() (*rest.Config, error) {
	g.load()
	if g.err != nil {
		return nil, g.err
	}
	return rest.CopyConfig(g.plain), nil
}

func (g *contextGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	g.load()
	if g.loader == nil {
		return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), &clientcmd.ConfigOverrides{})
	}
	return g.loader
}

// ToDiscoveryClient is kubectl's disk cache (--cache-dir, $KUBECACHEDIR or
// ~/.kube/cache; 6 hours), one per getter as ConfigFlags keeps one.
func (g *contextGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.disco != nil {
		return g.disco, nil
	}
	cfg, err := g.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	cfg.Burst, cfg.QPS = 300, 50 // as For's WithDiscoveryBurst/WithDiscoveryQPS
	dir := g.kc.cacheDir()
	host := overlyCautiousIllegalFileCharacters.ReplaceAllString(cfg.Host, "_")
	discoDir := filepath.Join(dir, "discovery", host)
	disk, err := diskcached.NewCachedDiscoveryClientForConfig(cfg, discoDir, filepath.Join(dir, "http"), discoveryTTL)
	if err != nil {
		return nil, err
	}
	g.disco = &onceDiscovery{CachedDiscoveryClient: disk, dir: discoDir, shared: g.kc.shared}
	return g.disco, nil
}

// discoveryTTL is how long kubectl trusts its discovery cache.
const discoveryTTL = 6 * time.Hour

// onceDiscovery reads a cluster's discovery cache once per command. The
// resource builder's shortcut expander and its REST mapper each read every
// group's file from disk and decode it: the largest share of get's CPU over
// many clusters. Fresh and Invalidate stay the disk cache's, so a type the
// cache does not know yet still makes the mapper ask the server. The files it
// reads are decoded once per command for all clusters (shareddiscovery.go).
type onceDiscovery struct {
	*diskcached.CachedDiscoveryClient
	dir    string           // the disk cache's folder for this cluster
	shared *sharedDiscovery // decodings shared by the command's clusters

	state       sync.Mutex // guards the fields below
	invalidated bool
	usedCache   bool           // something came from the disk: not Fresh
	notShared   bool           // something came another way: no fingerprint
	files       map[string]int // file name -> its bytes' number

	mu        sync.Mutex
	read      bool
	groups    []*metav1.APIGroup
	resources []*metav1.APIResourceList
}

func (d *onceDiscovery) ServerGroupsAndResources() ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
	return d.ServerGroupsAndResourcesWithContext(context.Background())
}

func (d *onceDiscovery) ServerGroupsAndResourcesWithContext(ctx context.Context) ([]*metav1.APIGroup, []*metav1.APIResourceList, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.read {
		return d.groups, d.resources, nil
	}
	// With d, not the disk cache: its reads of single files are ours.
	groups, resources, err := discovery.ServerGroupsAndResourcesWithContext(ctx, d)
	if err == nil { // partial answers are asked again, as without this cache
		d.read, d.groups, d.resources = true, groups, resources
	}
	return groups, resources, err
}

func (d *onceDiscovery) Invalidate() { d.InvalidateWithContext(context.Background()) }

func (d *onceDiscovery) InvalidateWithContext(ctx context.Context) {
	d.mu.Lock()
	d.read, d.groups, d.resources = false, nil, nil
	d.mu.Unlock()
	d.state.Lock()
	d.invalidated, d.usedCache, d.notShared, d.files = true, false, false, nil
	d.state.Unlock()
	d.CachedDiscoveryClient.InvalidateWithContext(ctx)
}

func (g *contextGetter) ToRESTMapper() (meta.RESTMapper, error) {
	d, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.mapper == nil {
		mapper := meta.RESTMapper(restmapper.NewDeferredDiscoveryRESTMapper(d))
		if once, ok := d.(*onceDiscovery); ok {
			mapper = &sharedMapper{d: once}
		}
		g.mapper = restmapper.NewShortcutExpander(mapper, d, nil)
	}
	return g.mapper, nil
}

// cacheDir is where ConfigFlags keeps kubectl's caches.
func (k *Kubeconfig) cacheDir() string {
	if k.base.CacheDir != nil && *k.base.CacheDir != "" {
		return *k.base.CacheDir
	}
	if d := os.Getenv("KUBECACHEDIR"); d != "" {
		return d
	}
	return filepath.Join(homedir.HomeDir(), ".kube", "cache")
}
