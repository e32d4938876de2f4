package fleet

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/labels"
	utilerrors "k8s.io/apimachinery/pkg/util/errors"
	"k8s.io/cli-runtime/pkg/genericclioptions"
	"k8s.io/client-go/rest"
	"k8s.io/klog/v2"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
)

// Fleet is the federation as one command sees it, made once from the flags:
// the host, the members the host lists, how each is reached, and the bounds
// of a fan-out over them. Commands reach every cluster through it.
type Fleet struct {
	Kubeconfig *Kubeconfig
	Host       *Cluster
	// Namespace is where KubeFed keeps its KubeFedClusters on the host.
	Namespace string
	FanOut    FanOutFlags
	ErrOut    io.Writer
	// WrapTransport, if set, wraps the transport of every cluster a
	// Selection reaches (get strips Tables as they arrive).
	WrapTransport func(http.RoundTripper) http.RoundTripper

	// reach makes the Cluster of a member; a test fleet replaces it.
	reach func(ctx context.Context, m Member, federation bool) (*Cluster, error)
	// contextCluster makes the Cluster of a kubeconfig context.
	contextCluster func(name string) (*Cluster, error)
	hasContext     func(name string) bool
	cache          *MemberCache

	mu      sync.Mutex
	listed  bool
	members []Member
}

// Config is what New needs from a command's flags.
type Config struct {
	ConfigFlags *genericclioptions.ConfigFlags
	// HostContext is --host-context ("" to decide as HostContext does).
	HostContext string
	Namespace   string
	FanOut      *FanOutFlags // nil: the defaults
	ErrOut      io.Writer
}

// DefaultRequestTimeout bounds each request to the host, and to a cluster
// outside a fan-out, when the user gave no --request-timeout.
const DefaultRequestTimeout = 15 * time.Second

// New finds the host context and makes the Fleet (no request yet). A host
// context that skips TLS verification is reported on stderr: the
// federation's credentials travel to it.
func New(cfg Config) (*Fleet, error) {
	f, err := Lookup(cfg)
	if err == nil && f.Kubeconfig.InsecureContext(f.Host.Context) {
		cli.Warnf(f.ErrOut, "host context %q skips TLS verification (insecure-skip-tls-verify): the host's identity is not checked", f.Host.Context)
	}
	return f, err
}

// Lookup is New without warnings, for shell completion.
func Lookup(cfg Config) (*Fleet, error) {
	kc := NewKubeconfig(cfg.ConfigFlags)
	name, err := kc.HostContext(cfg.HostContext)
	if err != nil {
		return nil, err
	}
	ns := cfg.Namespace
	if ns == "" {
		ns = DefaultKubeFedNamespace
	}
	fan := NewFanOutFlags()
	if cfg.FanOut != nil {
		fan = cfg.FanOut
	}
	errOut := cfg.ErrOut
	if errOut == nil {
		errOut = io.Discard
	}
	f := &Fleet{Kubeconfig: kc, Namespace: ns, FanOut: *fan, ErrOut: errOut}
	// The host's list of members is read while the members are asked (the
	// guess of the member cache): on a machine busy with a thousand
	// members' answers it waits as long as they may, not less (at 1024
	// members its 15 s ran out where --cluster-timeout had not).
	f.Host = NewCluster(name, name, kc.ForHost(name).WithWrapConfigFn(guardWithin(max(DefaultRequestTimeout, fan.Timeout))))
	f.reach = f.reachMember
	f.hasContext = kc.HasContext
	f.contextCluster = func(context string) (*Cluster, error) {
		return NewCluster(context, context, kc.For(context)), nil
	}
	return f, nil
}

// NewForClusters is a Fleet over clusters whose clients are made already:
// the seam command tests use with fake clients, as kubectl's cmd tests use
// a test factory. The host's dynamic client answers the KubeFedClusters;
// members are found in clusters by name, contexts by context name.
func NewForClusters(host *Cluster, namespace string, clusters []*Cluster, errOut io.Writer) *Fleet {
	byName := map[string]*Cluster{}
	for _, c := range clusters {
		byName[c.Name] = c
		if c.Context != "" {
			byName["context:"+c.Context] = c
		}
	}
	f := &Fleet{Host: host, Namespace: namespace, FanOut: *NewFanOutFlags(), ErrOut: errOut}
	f.reach = func(_ context.Context, m Member, _ bool) (*Cluster, error) {
		if c, ok := byName[m.Name]; ok {
			c.Member = &m
			return c, nil
		}
		return nil, nil
	}
	f.hasContext = func(name string) bool { _, ok := byName["context:"+name]; return ok }
	f.contextCluster = func(name string) (*Cluster, error) {
		if c, ok := byName["context:"+name]; ok {
			return c, nil
		}
		return nil, fmt.Errorf("context %q not found", name)
	}
	return f
}

// Members lists the host's KubeFedClusters once per command, sorted by
// name, each paired with the context that reaches it.
func (f *Fleet) Members(ctx context.Context) ([]Member, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.listed {
		return f.members, nil
	}
	dyn, err := f.Host.Dynamic()
	if err != nil {
		return nil, fmt.Errorf("host context %q: %w", f.Host.Context, err)
	}
	members, err := listMembers(ctx, dyn, f.Namespace, f.hasContext)
	if err != nil {
		return nil, err
	}
	if f.cache != nil {
		if err := f.cache.Remember(members); err != nil {
			klog.V(2).Infof("member cache %s not written: %v", f.cache.Path(), err)
		}
	}
	f.listed, f.members = true, members
	return members, nil
}

// MembersOrNone is Members, but a host without the KubeFed API has none
// (its contexts can still be used directly).
func (f *Fleet) MembersOrNone(ctx context.Context) ([]Member, error) {
	members, err := f.Members(ctx)
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	return members, err
}

// Selection is which clusters a command reads.
type Selection struct {
	All          bool
	Names        []string
	Selector     labels.Selector
	SelectorText string
	IncludeHost  bool
	// UseFederation reaches members with KubeFed's tokens.
	UseFederation bool
	// Contexts lets Names be kubeconfig contexts that are not joined, and
	// makes a named member that no context reaches an error, not a warning.
	Contexts bool
}

func (s Selection) members() bool { return s.All || len(s.Names) > 0 || s.Selector != nil }

// Plan is a fan-out whose clusters cost a round trip to learn (the host's
// list) but are usually the ones of last time: Guess is them, from the
// member cache, usable at once; Resolve is the host's answer, which decides.
type Plan struct {
	Guess   []*Cluster
	Resolve func(ctx context.Context) ([]*Cluster, error)
}

// Plan makes the plan of a Selection (no request yet).
func (f *Fleet) Plan(sel Selection) *Plan {
	var host []*Cluster
	if sel.IncludeHost {
		host = append(host, f.hostForFanOut())
	}
	if !sel.members() {
		return &Plan{Guess: host, Resolve: func(context.Context) ([]*Cluster, error) { return host, nil }}
	}
	plan := &Plan{Guess: slices.Clone(host)}
	if f.Kubeconfig != nil {
		hostCfg, err := f.Host.getter.ToRESTConfig()
		if err == nil {
			f.cache = f.Kubeconfig.MembersCache(f.Host.Context, hostCfg.Host, f.Namespace)
		}
	}
	if f.cache != nil && !sel.UseFederation && sel.Selector == nil { // tokens and labels come from the host's answer
		for _, m := range f.cache.Read() {
			if (sel.All || slices.Contains(sel.Names, m.Name)) && f.hasContext(m.Context) {
				plan.Guess = append(plan.Guess, NewCluster(m.Name, m.Context, f.Kubeconfig.Getter(m.Context, f.configure)))
			}
		}
	}
	plan.Resolve = func(ctx context.Context) ([]*Cluster, error) {
		listCtx, cancel := context.WithTimeout(ctx, f.FanOut.Timeout)
		defer cancel()
		var members []Member
		var err error
		if sel.Contexts {
			members, err = f.MembersOrNone(listCtx)
		} else {
			members, err = f.Members(listCtx)
		}
		if err != nil {
			return nil, err
		}
		return f.reachAll(ctx, sel, members, host)
	}
	return plan
}

// Select is the clusters of a Selection, in order: the host first if asked
// for, then the members by name (or in the order named).
func (f *Fleet) Select(ctx context.Context, sel Selection) ([]*Cluster, error) {
	return f.Plan(sel).Resolve(ctx)
}

func (f *Fleet) reachAll(ctx context.Context, sel Selection, members []Member, clusters []*Cluster) ([]*Cluster, error) {
	clusters = slices.Clone(clusters)
	chosen, err := f.choose(sel, members)
	if err != nil {
		return nil, err
	}
	if sel.UseFederation {
		cli.Warnf(f.ErrOut, "reaching %d member(s) with the federation's service-account tokens from host %q, not your own credentials", len(chosen), f.Host.Context)
	}
	for _, m := range chosen {
		if m.Member == nil { // a context that is not joined
			c, err := f.contextCluster(m.Name)
			if err != nil {
				return nil, err
			}
			f.warnInsecure(c.Context, "")
			clusters = append(clusters, c)
			continue
		}
		if m.Member.Context == "" && !sel.UseFederation {
			if sel.Contexts && len(sel.Names) > 0 {
				return nil, fmt.Errorf("cluster %q is joined to host %q, but no kubeconfig context reaches it: add a context named %q", m.Name, f.Host.Context, m.Name)
			}
			cli.Warnf(f.ErrOut, "cluster %s: no kubeconfig context reaches it (add a context named %q, or pass --use-federation-credentials); skipped", m.Name, m.Name)
			continue
		}
		c, err := f.reach(ctx, *m.Member, sel.UseFederation)
		if err != nil {
			return nil, err
		}
		if c != nil {
			clusters = append(clusters, c)
		}
	}
	if len(clusters) == 0 {
		return nil, fmt.Errorf("no member clusters to read: host %q has no KubeFedClusters in %s that your kubeconfig reaches", f.Host.Context, f.Namespace)
	}
	return clusters, nil
}

// chosenMember is a member, or (Member nil) a context named instead.
type chosenMember struct {
	Name   string
	Member *Member
}

func (f *Fleet) choose(sel Selection, members []Member) ([]chosenMember, error) {
	var out []chosenMember
	switch {
	case sel.All:
		for i := range members {
			out = append(out, chosenMember{members[i].Name, &members[i]})
		}
	case sel.Selector != nil:
		for i := range members {
			if sel.Selector.Matches(labels.Set(members[i].Cluster.Labels)) {
				out = append(out, chosenMember{members[i].Name, &members[i]})
			}
		}
		if len(out) == 0 {
			return nil, fmt.Errorf("no member cluster of host %q matches --cluster-selector %q (members: %s)", f.Host.Context, sel.SelectorText, describeMembers(members))
		}
	default:
		for _, n := range sel.Names {
			i := slices.IndexFunc(members, func(m Member) bool { return m.Name == n })
			switch {
			case i >= 0:
				out = append(out, chosenMember{n, &members[i]})
			case sel.Contexts && f.hasContext(n):
				out = append(out, chosenMember{Name: n})
			case sel.Contexts:
				return nil, fmt.Errorf("cluster %q is neither joined to host %q (joined: %s) nor a context in your kubeconfig", n, f.Host.Context, memberNames(members))
			default:
				return nil, fmt.Errorf("cluster %q is not joined to the federation (joined: %s)", n, memberNames(members))
			}
		}
	}
	return out, nil
}

// describeMembers lists members with the labels a selector reads.
func describeMembers(members []Member) string {
	if len(members) == 0 {
		return "none"
	}
	parts := make([]string, len(members))
	for i, m := range members {
		keys := make([]string, 0, len(m.Cluster.Labels))
		for k := range m.Cluster.Labels {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		kv := make([]string, len(keys))
		for j, k := range keys {
			kv[j] = k + "=" + m.Cluster.Labels[k]
		}
		parts[i] = m.Name + " {" + strings.Join(kv, ",") + "}"
	}
	return strings.Join(parts, "; ")
}

func memberNames(members []Member) string {
	names := make([]string, len(members))
	for i, m := range members {
		names[i] = m.Name
	}
	return joinedList(names)
}

// Cluster is the one cluster a writing command acts on: a member joined to
// the host (reached through its context), else a kubeconfig context of that
// name that is not joined yet (Member nil).
func (f *Fleet) Cluster(ctx context.Context, name string) (*Cluster, error) {
	clusters, err := f.Select(ctx, Selection{Names: []string{name}, Contexts: true})
	if err != nil {
		return nil, err
	}
	return clusters[0], nil
}

// Context is the cluster of a kubeconfig context, joined or not (join
// reaches the contexts it joins this way).
func (f *Fleet) Context(name string) (*Cluster, error) {
	c, err := f.contextCluster(name)
	if err == nil {
		f.warnInsecure(name, "")
	}
	return c, err
}

// warnInsecure says, once per cluster reached, that its context skips TLS
// verification: never turned off silently.
func (f *Fleet) warnInsecure(context, cluster string) {
	if f.Kubeconfig == nil || context == "" || !f.Kubeconfig.InsecureContext(context) {
		return
	}
	if cluster != "" && cluster != context {
		cli.Warnf(f.ErrOut, "context %q skips TLS verification (insecure-skip-tls-verify) for cluster %s", context, cluster)
		return
	}
	cli.Warnf(f.ErrOut, "context %q skips TLS verification (insecure-skip-tls-verify)", context)
}

// configure is what every fanned-out cluster's REST config gets: the
// answer guard, the fan-out's timeout and the command's transport wrapper.
func (f *Fleet) configure(c *rest.Config) *rest.Config {
	if c.WrapTransport == nil { // not through Kubeconfig.Getter, which guards its own
		c = Guard(c)
	}
	c.Timeout = f.FanOut.Timeout
	if f.WrapTransport != nil {
		c.Wrap(f.WrapTransport)
	}
	return c
}

func (f *Fleet) hostForFanOut() *Cluster {
	if f.Kubeconfig == nil {
		return f.Host
	}
	return NewCluster(f.Host.Name, f.Host.Context, f.Kubeconfig.ForHost(f.Host.Context).WithWrapConfigFn(f.configure))
}

// reachMember pairs a member with how it is reached: the user's context for
// it, or, when asked, KubeFed's token read from the host.
func (f *Fleet) reachMember(ctx context.Context, m Member, federation bool) (*Cluster, error) {
	if federation {
		kube, err := f.Host.Kube()
		if err != nil {
			return nil, err
		}
		cfg, err := FederationConfig(ctx, kube, f.Namespace, m)
		if err != nil {
			return nil, err
		}
		if cfg.Insecure {
			cli.Warnf(f.ErrOut, "cluster %s: its KubeFedCluster disables TLS validation (disabledTLSValidations: [\"*\"]): reached without checking its certificate", m.Name)
		}
		c := NewCluster(m.Name, "", NewConfigGetter(f.configure(cfg), filepath.Join(f.Kubeconfig.cacheDir(), "openmcp")))
		c.Member = &m
		return c, nil
	}
	f.warnInsecure(m.Context, m.Name)
	// Not ForHost: that re-reads the kubeconfig for every member.
	c := NewCluster(m.Name, m.Context, f.Kubeconfig.Getter(m.Context, f.configure))
	c.Member = &m
	return c, nil
}

// Each calls fn for every cluster, at most FanOut.MaxParallel at a time,
// each under FanOut.Timeout, and returns the results in the clusters' order.
// A cluster that fails gets its one warning line on ErrOut (Warn); the
// others go on.
func Each[T any](ctx context.Context, f *Fleet, clusters []*Cluster, fn func(ctx context.Context, c *Cluster) (T, error)) []Result[T] {
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Name
	}
	results := FanOutIndexed(ctx, names, f.FanOut.MaxParallel, f.FanOut.Timeout, func(ctx context.Context, i int) (T, error) {
		return fn(ctx, clusters[i])
	})
	for _, r := range results {
		if r.Err != nil {
			f.Warn(r.Cluster, r.Err)
		}
	}
	return results
}

// maxClusterMessage bounds what one cluster's warning quotes of its error.
const maxClusterMessage = 300

// Warn prints the one line a failed cluster gets. What the cluster said is
// quoted briefly (a server's error page is kilobytes) and made safe.
func (f *Fleet) Warn(cluster string, err error) {
	cli.Warnf(f.ErrOut, "cluster %s: %s", cluster, f.Reason(err))
}

// Reason is the short text of a cluster's failure, as Warn prints it and
// as -o json|yaml lists carry it.
func (f *Fleet) Reason(err error) string {
	var answer *AnswerError
	switch {
	case asAnswer(err, &answer):
		// Without client-go's wrapping ("Get URL: ...", "Please retry").
		return answer.Msg
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("no answer within --cluster-timeout %s", f.FanOut.Timeout)
	default:
		return cli.Brief(err.Error(), maxClusterMessage)
	}
}

// asAnswer is errors.As for an AnswerError, also inside the aggregates of
// the resource builder (which errors.As does not open).
func asAnswer(err error, answer **AnswerError) bool {
	for _, e := range Flatten(err) {
		if errors.As(e, answer) {
			return true
		}
	}
	return false
}

// Flatten opens an aggregate error (the resource builder's) into its errors.
func Flatten(err error) []error {
	var agg utilerrors.Aggregate
	if errors.As(err, &agg) {
		return agg.Errors()
	}
	return []error{err}
}

// CacheDir is where this command keeps its caches (--cache-dir).
func (f *Fleet) CacheDir() string {
	if f.Kubeconfig == nil {
		return os.TempDir()
	}
	return f.Kubeconfig.cacheDir()
}

// Reach is the Cluster of one member, through its context.
func (f *Fleet) Reach(ctx context.Context, m Member) (*Cluster, error) {
	c, err := f.reach(ctx, m, false)
	if err == nil && c == nil {
		err = fmt.Errorf("cluster %s: no kubeconfig context reaches it", m.Name)
	}
	return c, err
}
