// Package fleet is the federation as the user's kubeconfig sees it: the host
// context, the member clusters the host knows (KubeFedClusters), the context
// that reaches each of them, and a bounded, ordered fan-out over them.
package fleet

import (
	"fmt"
	"os"
	"sort"
	"strings"
	"time"

	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

const (
	// DefaultHostContext is the host's context name in the OpenMCP guide.
	DefaultHostContext = "openmcp"
	// HostContextEnv overrides the default host context for a shell session.
	HostContextEnv = "OPENMCP_HOST_CONTEXT"
	// DefaultKubeFedNamespace is where KubeFed keeps KubeFedClusters and their secrets.
	DefaultKubeFedNamespace = "kube-federation-system"
)

// Kubeconfig hands out per-context client flags built from the user's own
// kubeconfig flags, so every cluster is reached with the user's credentials.
type Kubeconfig struct {
	base   *genericclioptions.ConfigFlags
	raw    *clientcmdapi.Config
	shared *sharedDiscovery
}

// NewKubeconfig wraps the command's ConfigFlags.
func NewKubeconfig(base *genericclioptions.ConfigFlags) *Kubeconfig {
	return &Kubeconfig{base: base, shared: newSharedDiscovery()}
}

// Raw is the merged kubeconfig (KUBECONFIG, --kubeconfig), read once.
func (k *Kubeconfig) Raw() (*clientcmdapi.Config, error) {
	if k.raw != nil {
		return k.raw, nil
	}
	raw, err := k.base.ToRawKubeConfigLoader().RawConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot read kubeconfig: %w", err)
	}
	k.raw = &raw
	return k.raw, nil
}

// Contexts lists the kubeconfig's context names, sorted.
func (k *Kubeconfig) Contexts() ([]string, error) {
	raw, err := k.Raw()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(raw.Contexts))
	for n := range raw.Contexts {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// HasContext reports whether the kubeconfig has a context of that name.
func (k *Kubeconfig) HasContext(name string) bool {
	raw, err := k.Raw()
	return err == nil && raw.Contexts[name] != nil
}

// CheckContext returns a one-line error naming the context and the ones that exist.
func (k *Kubeconfig) CheckContext(name string) error {
	if strings.TrimSpace(name) == "" {
		return fmt.Errorf("empty context name: give the name of a context in your kubeconfig")
	}
	names, err := k.Contexts()
	if err != nil {
		return err
	}
	for _, n := range names {
		if n == name {
			return nil
		}
	}
	avail := strings.Join(names, ", ")
	if avail == "" {
		avail = "none"
	}
	return fmt.Errorf("context %q not found in kubeconfig (contexts: %s)", name, avail)
}

// CurrentContext is --context if given, else the kubeconfig's current-context.
func (k *Kubeconfig) CurrentContext() (string, error) {
	if k.base.Context != nil && *k.base.Context != "" {
		return *k.base.Context, nil
	}
	raw, err := k.Raw()
	if err != nil {
		return "", err
	}
	return raw.CurrentContext, nil
}

// HostContext decides which context is the federation host: the flag
// (--host-context), else kubectl's --context, else $OPENMCP_HOST_CONTEXT,
// else "openmcp" when the kubeconfig has it, else the current context. An
// explicit --context comes before the defaults because a kubectl user types
// it first and expects it to be obeyed. The chosen context must exist.
func (k *Kubeconfig) HostContext(flag string) (string, error) {
	name := flag
	if name == "" && k.base.Context != nil {
		name = *k.base.Context
	}
	if name == "" {
		name = os.Getenv(HostContextEnv)
	}
	if name == "" {
		if k.HasContext(DefaultHostContext) {
			name = DefaultHostContext
		} else {
			cur, err := k.CurrentContext()
			if err != nil {
				return "", err
			}
			if cur == "" {
				return "", fmt.Errorf("no host context: pass --host-context, or add a context named %q to your kubeconfig", DefaultHostContext)
			}
			name = cur
		}
	}
	if err := k.CheckContext(name); err != nil {
		return "", fmt.Errorf("host %w", err)
	}
	return name, nil
}

// For returns client flags for one context. Of the user's flags it keeps the
// kubeconfig, cache dir, request timeout, impersonation and compression; the
// flags that pick a cluster or credentials (--cluster, --user, --server,
// --token, --insecure-skip-tls-verify ...) name the user's one cluster and
// would be wrong for the others, so they are not carried over. Its REST
// config is guarded (Guard); a caller's own WithWrapConfigFn must call Guard.
func (k *Kubeconfig) For(context string) *genericclioptions.ConfigFlags {
	f := genericclioptions.NewConfigFlags(true).WithDiscoveryBurst(300).WithDiscoveryQPS(50)
	f.KubeConfig = k.base.KubeConfig
	f.CacheDir = k.base.CacheDir
	f.Timeout = k.base.Timeout
	f.Impersonate = k.base.Impersonate
	f.ImpersonateUID = k.base.ImpersonateUID
	f.ImpersonateGroup = k.base.ImpersonateGroup
	f.ImpersonateUserExtra = k.base.ImpersonateUserExtra
	f.DisableCompression = k.base.DisableCompression
	ctx := context
	f.Context = &ctx
	ns := ""
	f.Namespace = &ns
	// Every cluster is another team's: its answers are checked (Guard).
	return f.WithWrapConfigFn(guardWithTimeout)
}

// guardWithTimeout guards a cluster's answers and bounds each request to it
// when the user gave no --request-timeout, so an unreachable cluster fails,
// not hangs.
func guardWithTimeout(c *rest.Config) *rest.Config { return guardWithin(DefaultRequestTimeout)(c) }

func guardWithin(timeout time.Duration) func(*rest.Config) *rest.Config {
	return func(c *rest.Config) *rest.Config {
		c = Guard(c)
		if c.Timeout == 0 {
			c.Timeout = timeout
		}
		return c
	}
}

// ForHost is For with the flags that pick a cluster or credentials carried
// over too (--server, --token, --user, --cluster, --insecure-skip-tls-verify,
// --certificate-authority, --client-certificate, --client-key,
// --tls-server-name, --username, --password): they name the user's one
// cluster, which for these plugins is the host.
func (k *Kubeconfig) ForHost(context string) *genericclioptions.ConfigFlags {
	f := k.For(context)
	b := k.base
	f.APIServer, f.BearerToken, f.AuthInfoName, f.ClusterName = b.APIServer, b.BearerToken, b.AuthInfoName, b.ClusterName
	f.Insecure, f.CAFile, f.CertFile, f.KeyFile, f.TLSServerName = b.Insecure, b.CAFile, b.CertFile, b.KeyFile, b.TLSServerName
	f.Username, f.Password = b.Username, b.Password
	return f
}

// InsecureContext reports whether a context skips TLS verification, so
// commands can say so instead of hiding it.
func (k *Kubeconfig) InsecureContext(name string) bool {
	raw, err := k.Raw()
	if err != nil || raw.Contexts[name] == nil {
		return false
	}
	c := raw.Clusters[raw.Contexts[name].Cluster]
	return c != nil && c.InsecureSkipTLSVerify
}
