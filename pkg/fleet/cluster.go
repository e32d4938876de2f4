package fleet

import (
	"errors"
	"sync"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/execcred"
)

// Cluster is one cluster a command talks to: the host, a member, or a
// kubeconfig context that is not joined yet. It is the only handle commands
// hold; its clients are made on first use, so naming a cluster costs nothing
// until it is asked something.
type Cluster struct {
	// Name is the KubeFedCluster's name for a member, the context's name otherwise.
	Name string
	// Context is the kubeconfig context that reaches it; "" when reached
	// with the federation's own credentials (--use-federation-credentials).
	Context string
	// Member is the host's record of it; nil for the host and for contexts
	// that are not joined.
	Member *Member

	getter genericclioptions.RESTClientGetter

	once    sync.Once
	clients *Clients
	err     error

	streamOnce sync.Once
	streaming  *Clients
	streamErr  error
}

// Clients are a cluster's typed and dynamic clients.
type Clients struct {
	// Config is the context's own REST config (server, CA, credentials as
	// the kubeconfig has them): join copies the server and CA from it.
	// Requests go through the clients, whose transport is guarded.
	Config  *rest.Config
	Kube    kubernetes.Interface
	Dynamic dynamic.Interface
	// Requests is the config the clients send with (guarded transport,
	// exec plugins bounded): for clients of one's own on the same terms.
	Requests *rest.Config
}

// NewCluster is a cluster reached through a RESTClientGetter.
func NewCluster(name, context string, getter genericclioptions.RESTClientGetter) *Cluster {
	return &Cluster{Name: name, Context: context, getter: getter}
}

// NewClusterWithClients is a cluster whose clients are already made: fake
// clients in command tests, or clients a caller built itself.
func NewClusterWithClients(name, context string, clients *Clients) *Cluster {
	c := &Cluster{Name: name, Context: context, clients: clients}
	c.once.Do(func() {})
	return c
}

// Getter is what cli-runtime's resource builder reads the cluster through.
// A cluster made with NewClusterWithClients has none.
func (c *Cluster) Getter() genericclioptions.RESTClientGetter { return c.getter }

// Clients makes the cluster's clients once. No request is made: a cluster
// that cannot be reached fails on its first call, as that cluster's error.
func (c *Cluster) Clients() (*Clients, error) {
	c.once.Do(func() {
		c.clients, c.err = clientsFor(c.getter, c.Context)
	})
	return c.clients, c.err
}

// Kube is Clients().Kube, for callers that handle the error once.
func (c *Cluster) Kube() (kubernetes.Interface, error) {
	cl, err := c.Clients()
	if err != nil {
		return nil, err
	}
	return cl.Kube, nil
}

// Dynamic is Clients().Dynamic.
func (c *Cluster) Dynamic() (dynamic.Interface, error) {
	cl, err := c.Clients()
	if err != nil {
		return nil, err
	}
	return cl.Dynamic, nil
}

// Key tells two clusters apart in a fan-out: a member now reached through
// another context is another cluster than the one guessed.
func (c *Cluster) Key() string { return c.Name + "\x00" + c.Context }

// plainConfigGetter is a getter that can also give the config before its
// transport was wrapped (contextGetter), for Clients.Config.
type plainConfigGetter interface {
	plainConfig() (*rest.Config, error)
}

// forRequests makes a cluster's config the one its requests go out with:
// exec plugins bounded, 50 requests a second.
func forRequests(g genericclioptions.RESTClientGetter, context string, cfg *rest.Config) (*rest.Config, error) {
	if _, ok := g.(plainConfigGetter); !ok {
		// A hanging or chatty exec plugin must not hold or flood a command
		// (Kubeconfig.Getter's configs have this already).
		var err error
		if cfg, err = execcred.Guard(cfg, context); err != nil {
			return nil, err
		}
	}
	// client-go's default of 5 requests a second made a two-member join wait
	// on its own rate limiter for most of a second; kubectl allows more too.
	cfg.QPS, cfg.Burst = 50, 100
	return cfg, nil
}

// RESTClient is one REST client on the cluster's request config, for
// requests of a command's own (get's lists): one connection, and none of
// the typed clients a clientset makes (80 ms of CPU over 64 clusters). A
// cluster made with NewClusterWithClients has none.
func (c *Cluster) RESTClient() (*rest.RESTClient, error) {
	if c.getter == nil {
		return nil, errors.New("cluster " + c.Name + " has no REST config")
	}
	cfg, err := c.getter.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	if cfg, err = forRequests(c.getter, c.Context, cfg); err != nil {
		return nil, err
	}
	cfg.NegotiatedSerializer = scheme.Codecs.WithoutConversion() // for the Status of a failed request
	return rest.UnversionedRESTClientFor(cfg)
}

func clientsFor(g genericclioptions.RESTClientGetter, context string) (*Clients, error) {
	cfg, err := g.ToRESTConfig()
	if err != nil {
		return nil, err
	}
	var plain *rest.Config
	if p, ok := g.(plainConfigGetter); ok {
		if plain, err = p.plainConfig(); err != nil {
			return nil, err
		}
	} else {
		plain = rest.CopyConfig(cfg) // before forRequests wraps its transport
	}
	if cfg, err = forRequests(g, context, cfg); err != nil {
		return nil, err
	}
	kube, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	dyn, err := dynamic.NewForConfig(cfg)
	if err != nil {
		return nil, err
	}
	return &Clients{Config: plain, Kube: kube, Dynamic: dyn, Requests: cfg}, nil
}

// Streaming is Clients for requests that last (logs -f, watches): the same
// config without its overall timeout, which would cut a stream after
// --cluster-timeout. Made once per cluster.
func (c *Cluster) Streaming() (*Clients, error) {
	c.streamOnce.Do(func() {
		var cl *Clients
		if cl, c.streamErr = c.Clients(); c.streamErr != nil {
			return
		}
		if cl.Requests == nil { // clients handed in (tests): nothing to loosen
			c.streaming = cl
			return
		}
		cfg := rest.CopyConfig(cl.Requests)
		cfg.Timeout = 0
		s := &Clients{Config: cl.Config, Requests: cfg}
		if s.Kube, c.streamErr = kubernetes.NewForConfig(cfg); c.streamErr != nil {
			return
		}
		s.Dynamic, c.streamErr = dynamic.NewForConfig(cfg)
		c.streaming = s
	})
	return c.streaming, c.streamErr
}
