package fleet

import (
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
)

// Defaults of a fan-out, declared once for every command.
const (
	// DefaultMaxParallel: get pods over 256 members (docs/performance.md,
	// issue 21) took 3.76 s with 16 at once, 2.83 s with 32, 2.65 s with 64,
	// 2.46-2.51 s with 128 or 256; 64 keeps most of the gain, asks every
	// member of a federation of up to 64 at once, and at 1024 members does
	// not open 1024 connections (and TLS handshakes) together.
	DefaultMaxParallel = 64
	// DefaultClusterTimeout bounds everything a command asks of one cluster.
	DefaultClusterTimeout = 10 * time.Second
)

// FanOutFlags bound a fan-out over clusters, as kubectl's PrintFlags shape
// printing: declared once, with one default and one help text, and consumed
// by Each.
type FanOutFlags struct {
	MaxParallel int
	Timeout     time.Duration
}

// NewFanOutFlags are the defaults.
func NewFanOutFlags() *FanOutFlags {
	return &FanOutFlags{MaxParallel: DefaultMaxParallel, Timeout: DefaultClusterTimeout}
}

// AddFlags declares --max-parallel and --cluster-timeout.
func (f *FanOutFlags) AddFlags(fs *pflag.FlagSet) {
	fs.IntVar(&f.MaxParallel, "max-parallel", f.MaxParallel, "Clusters asked at the same time")
	fs.DurationVar(&f.Timeout, "cluster-timeout", f.Timeout, "Give up on a cluster that has not answered within this time (it is left out with a warning, and the exit code is 1)")
}

// Validate refuses a bound that would leave a fan-out unbounded or fail
// every cluster at once, before any request.
func (f *FanOutFlags) Validate() error {
	if f.MaxParallel < 1 {
		return cli.Usagef("invalid --max-parallel %d: must be at least 1", f.MaxParallel)
	}
	if f.Timeout <= 0 {
		return cli.Usagef("invalid --cluster-timeout %s: must be positive", f.Timeout)
	}
	return nil
}

// SelectionFlags say which clusters a fan-out command reads.
type SelectionFlags struct {
	All         bool
	Names       []string
	Selector    string
	IncludeHost bool
	// UseFederation reaches members with KubeFed's tokens instead of the
	// user's contexts; only commands that read offer it.
	UseFederation bool

	offerFederation bool
	offerHost       bool
}

// NewSelectionFlags are the flags of a command that reads members; host and
// federation say whether it also offers --include-host and
// --use-federation-credentials.
func NewSelectionFlags(host, federation bool) *SelectionFlags {
	return &SelectionFlags{offerHost: host, offerFederation: federation}
}

// AddFlags declares --all-clusters, --clusters, --cluster-selector (-C) and,
// when offered, --include-host and --use-federation-credentials.
func (s *SelectionFlags) AddFlags(cmd *cobra.Command) {
	f := cmd.Flags()
	f.BoolVar(&s.All, "all-clusters", false, "Every member cluster joined to the host")
	f.StringSliceVar(&s.Names, "clusters", nil, "These member clusters (comma-separated names)")
	f.StringVarP(&s.Selector, "cluster-selector", "C", "", "Member clusters whose KubeFedCluster labels match this selector, as kubectl -l (region=AS, 'zone in (KR,JP)', platform=eks; region and zone stand for topology.kubernetes.io/region and /zone)")
	if s.offerHost {
		f.BoolVar(&s.IncludeHost, "include-host", false, "The host cluster too")
	}
	if s.offerFederation {
		f.BoolVar(&s.UseFederation, "use-federation-credentials", false, "Reach members with KubeFed's service-account tokens from the host, not your own contexts (needs read access to the host's secrets)")
	}
	cmd.MarkFlagsMutuallyExclusive("all-clusters", "clusters", "cluster-selector")
}

// Chosen reports whether any cluster was asked for.
func (s *SelectionFlags) Chosen() bool {
	return s.All || len(s.Names) > 0 || s.Selector != "" || s.IncludeHost
}

// Validate parses the selector, so bad syntax fails before any request.
func (s *SelectionFlags) Validate() error {
	if s.Selector == "" {
		return nil
	}
	if _, err := parseSelector(s.Selector); err != nil {
		return cli.Usagef("invalid --cluster-selector %q: %v (as kubectl -l: key=value, key!=value, 'key in (a,b)', key, !key)", s.Selector, err)
	}
	return nil
}

// shortKeys are the label keys a selector may name by their last word: the
// labels join and label put on every KubeFedCluster.
var shortKeys = map[string]string{"region": RegionLabel, "zone": ZoneLabel}

// parseSelector is labels.Parse with region and zone standing for
// topology.kubernetes.io/region and /zone.
func parseSelector(text string) (labels.Selector, error) {
	sel, err := labels.Parse(text)
	if err != nil {
		return nil, err
	}
	reqs, _ := sel.Requirements()
	out := labels.NewSelector()
	for _, r := range reqs {
		key := r.Key()
		if long, ok := shortKeys[key]; ok {
			key = long
		}
		nr, err := labels.NewRequirement(key, r.Operator(), r.Values().List())
		if err != nil {
			return nil, err
		}
		out = out.Add(*nr)
	}
	return out, nil
}

// Selection is what the flags ask for.
func (s *SelectionFlags) Selection() Selection {
	sel := Selection{All: s.All, Names: s.Names, IncludeHost: s.IncludeHost, UseFederation: s.UseFederation}
	if s.Selector != "" {
		sel.Selector, _ = parseSelector(s.Selector) // Validate said it parses
		sel.SelectorText = s.Selector
	}
	return sel
}

// AddSelectorFlag declares --cluster-selector (-C) alone, for a command
// that names its clusters as arguments; prefix starts its help text.
func (s *SelectionFlags) AddSelectorFlag(cmd *cobra.Command, prefix string) {
	cmd.Flags().StringVarP(&s.Selector, "cluster-selector", "C", "", prefix+"member clusters whose KubeFedCluster labels match this selector, as kubectl -l (region=AS, 'zone in (KR,JP)', platform=eks; region and zone stand for topology.kubernetes.io/region and /zone)")
}

// Require is Validate for a command that reads nothing until told which
// clusters: none chosen is a usage error naming the ways to choose.
func (s *SelectionFlags) Require() error {
	if !s.Chosen() {
		ways := "--all-clusters, --clusters C1,C2 or --cluster-selector SELECTOR"
		if s.offerHost {
			ways = "--all-clusters, --clusters C1,C2, --cluster-selector SELECTOR or --include-host"
		}
		return cli.Usagef("say which clusters: %s", ways)
	}
	return s.Validate()
}
