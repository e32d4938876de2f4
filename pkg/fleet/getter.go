package fleet

import (
	"path/filepath"
	"regexp"

	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/discovery"
	diskcached "k8s.io/client-go/discovery/cached/disk"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// configGetter is a RESTClientGetter for a REST config that comes from no
// kubeconfig context (a member reached with KubeFed's own token). Discovery
// is cached on disk as kubectl caches it.
type configGetter struct {
	config   *rest.Config
	cacheDir string
}

// NewConfigGetter wraps a REST config for cli-runtime's resource builder.
func NewConfigGetter(cfg *rest.Config, cacheDir string) genericclioptions.RESTClientGetter {
	return &configGetter{config: cfg, cacheDir: cacheDir}
}

func (g *configGetter) ToRESTConfig() (*rest.Config, error) { return rest.CopyConfig(g.config), nil }

func (g *configGetter) ToDiscoveryClient() (discovery.CachedDiscoveryInterface, error) {
	cfg := rest.CopyConfig(g.config)
	cfg.Burst = 300
	host := overlyCautiousIllegalFileCharacters.ReplaceAllString(cfg.Host, "_")
	return diskcached.NewCachedDiscoveryClientForConfig(cfg,
		filepath.Join(g.cacheDir, "discovery", host), filepath.Join(g.cacheDir, "http"), discoveryTTL)
}

func (g *configGetter) ToRESTMapper() (meta.RESTMapper, error) {
	d, err := g.ToDiscoveryClient()
	if err != nil {
		return nil, err
	}
	return restmapper.NewShortcutExpander(restmapper.NewDeferredDiscoveryRESTMapper(d), d, nil), nil
}

func (g *configGetter) ToRawKubeConfigLoader() clientcmd.ClientConfig {
	return clientcmd.NewDefaultClientConfig(*clientcmdapi.NewConfig(), &clientcmd.ConfigOverrides{})
}

// As kubectl names its discovery cache folders.
var overlyCautiousIllegalFileCharacters = regexp.MustCompile(`[^(\w/.)]`)
