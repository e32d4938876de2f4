package openmcp

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing/termsafe"
)

type genericRESTGetter = genericclioptions.RESTClientGetter

// targetChoice is which clusters a fan-out command reads.
type targetChoice struct {
	All           bool
	Clusters      []string
	IncludeHost   bool
	Timeout       time.Duration
	UseFederation bool
	ErrOut        io.Writer
	// WrapTransport, if set, wraps every cluster's transport.
	WrapTransport func(http.RoundTripper) http.RoundTripper
}

// targetPlan is how a fan-out command learns its clusters: Guess, the
// members of last time (pkg/fleet MemberCache), usable at once, and Resolve,
// the host's answer, which decides (fleet.FanOutAhead).
type targetPlan struct {
	Guess   []target
	Resolve func(ctx context.Context) ([]target, error)
}

// planTargets finds the host (no request yet) and guesses the members from
// the cache. Resolve lists the host's members, keeps the chosen ones, pairs
// each with the user's context for it (or, when asked, KubeFed's token), and
// remembers them for next time.
func planTargets(root *cli.Root, cmd *cobra.Command, choice targetChoice) (*targetPlan, error) {
	kc := fleet.NewKubeconfig(root.ConfigFlags)
	host, err := resolveHost(cmd, kc)
	if err != nil {
		return nil, err
	}
	// configure is what every cluster's REST config gets: the fan-out's
	// timeout and the command's transport wrapper.
	configure := func(c *rest.Config) *rest.Config {
		if c.WrapTransport == nil { // not through Kubeconfig.Getter, which guards its own
			c = fleet.Guard(c)
		}
		c.Timeout = choice.Timeout
		if choice.WrapTransport != nil {
			c.Wrap(choice.WrapTransport)
		}
		return c
	}
	var hostTargets []target
	if choice.IncludeHost {
		hostTargets = append(hostTargets, target{Cluster: host.Context, Context: host.Context, Getter: kc.For(host.Context).WithWrapConfigFn(configure)})
	}
	if !choice.All && len(choice.Clusters) == 0 {
		return &targetPlan{Guess: hostTargets, Resolve: func(context.Context) ([]target, error) { return hostTargets, nil }}, nil
	}
	cache := kc.MembersCache(host.Context, host.Cluster.Config.Host, host.Namespace)
	plan := &targetPlan{Guess: slices.Clone(hostTargets)}
	if !choice.UseFederation { // federation tokens come from the host's answer
		for _, m := range cache.Read() {
			if (len(choice.Clusters) == 0 || slices.Contains(choice.Clusters, m.Name)) && kc.HasContext(m.Context) {
				plan.Guess = append(plan.Guess, target{Cluster: m.Name, Context: m.Context, Getter: kc.Getter(m.Context, configure)})
			}
		}
	}
	plan.Resolve = func(ctx context.Context) ([]target, error) {
		listCtx, cancel := context.WithTimeout(ctx, choice.Timeout)
		defer cancel()
		all, err := fleet.ListMembers(listCtx, host.Cluster.Dynamic, host.Namespace, kc)
		if err != nil {
			return nil, err
		}
		if err := cache.Remember(all); err != nil {
			klog.V(2).Infof("member cache %s not written: %v", cache.Path(), err)
		}
		members, err := fleet.Select(all, choice.Clusters)
		if err != nil {
			return nil, err
		}
		return memberTargets(ctx, root, kc, host, members, choice, hostTargets, configure)
	}
	return plan, nil
}

// memberTargets pairs each member with how it is reached.
func memberTargets(ctx context.Context, root *cli.Root, kc *fleet.Kubeconfig, host *hostTarget, members []fleet.Member, choice targetChoice, targets []target, configure func(*rest.Config) *rest.Config) ([]target, error) {
	targets = slices.Clone(targets)
	if choice.UseFederation {
		termsafe.Fprintf(choice.ErrOut, "Reaching %d member(s) with the federation's service-account tokens from host %q, not your own credentials.\n", len(members), host.Context)
	}
	cacheDir := filepath.Join(homeCacheDir(root), "openmcp")
	for _, m := range members {
		switch {
		case choice.UseFederation:
			cfg, err := fleet.FederationConfig(ctx, host.Cluster.Client, host.Namespace, m)
			if err != nil {
				return nil, err
			}
			if cfg.Insecure {
				cli.Warnf(choice.ErrOut, "cluster %s: its KubeFedCluster disables TLS validation (disabledTLSValidations: [\"*\"]): reached without checking its certificate", m.Name)
			}
			targets = append(targets, target{Cluster: m.Name, Getter: fleet.NewConfigGetter(configure(cfg), cacheDir)})
		case m.Context == "":
			cli.Warnf(choice.ErrOut, "cluster %s: no kubeconfig context reaches it (add a context named %q, or pass --use-federation-credentials); skipped", m.Name, m.Name)
		default:
			if kc.InsecureContext(m.Context) {
				cli.Warnf(choice.ErrOut, "context %q skips TLS verification", m.Context)
			}
			// Not kc.For: that re-reads the kubeconfig for every member.
			targets = append(targets, target{Cluster: m.Name, Context: m.Context, Getter: kc.Getter(m.Context, configure)})
		}
	}
	if len(targets) == 0 {
		return nil, fmt.Errorf("no member clusters to read: host %q has no KubeFedClusters in %s that your kubeconfig reaches", host.Context, host.Namespace)
	}
	return targets, nil
}

func homeCacheDir(root *cli.Root) string {
	if root.ConfigFlags.CacheDir != nil && *root.ConfigFlags.CacheDir != "" {
		return *root.ConfigFlags.CacheDir
	}
	home, _ := os.UserHomeDir()
	return filepath.Join(home, ".kube", "cache")
}

// checkFanOut refuses a --max-parallel or --cluster-timeout that would
// leave a fan-out unbounded or fail every cluster at once, before any request.
func checkFanOut(maxParallel int, timeout time.Duration) error {
	if maxParallel < 1 {
		return cli.Usagef("invalid --max-parallel %d: must be at least 1", maxParallel)
	}
	if timeout <= 0 {
		return cli.Usagef("invalid --cluster-timeout %s: must be positive", timeout)
	}
	return nil
}
