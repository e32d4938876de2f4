package metallb

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/util/retry"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// Mode is which MetalLB configuration a cluster reads.
type Mode string

const (
	ModeAuto      Mode = "auto"      // detect: CRD when ipaddresspools.metallb.io exists
	ModeConfigMap Mode = "configmap" // MetalLB before v0.13
	ModeCRD       Mode = "crd"       // MetalLB v0.13 and later
)

// Modes lists the values --mode accepts.
var Modes = []Mode{ModeAuto, ModeConfigMap, ModeCRD}

// ParseMode checks a --mode value.
func ParseMode(s string) (Mode, error) {
	m := Mode(strings.ToLower(strings.TrimSpace(s)))
	if m == "" {
		return ModeAuto, nil
	}
	if !slices.Contains(Modes, m) {
		return "", fmt.Errorf("invalid mode %q: allowed values are auto, configmap, crd", s)
	}
	return m, nil
}

const (
	// DefaultNamespace is where MetalLB's manifests install it.
	DefaultNamespace = "metallb-system"
	// DefaultPool is the pool name of the OpenMCP guide.
	DefaultPool = "default"
	// DefaultFieldManager names this plugin in managedFields.
	DefaultFieldManager = "kubectl-openmcp"
	// GroupVersion of the MetalLB objects written in CRD mode.
	GroupVersion = "metallb.io/v1beta1"
)

var (
	IPAddressPools   = schema.GroupVersionResource{Group: "metallb.io", Version: "v1beta1", Resource: "ipaddresspools"}
	L2Advertisements = schema.GroupVersionResource{Group: "metallb.io", Version: "v1beta1", Resource: "l2advertisements"}
)

// DryRun mirrors kubectl's --dry-run strategies (same order as
// k8s.io/kubectl/pkg/cmd/util.DryRunStrategy, so a caller can convert).
type DryRun int

const (
	DryRunNone   DryRun = iota // write
	DryRunClient               // compute the objects, send nothing
	DryRunServer               // send with dryRun=All: the server validates, nothing persists
)

// Pool is one address pool as a cluster holds it.
type Pool struct {
	Name      string
	Namespace string
	Mode      Mode
	// Protocol is the legacy pool's protocol (layer2, bgp); "" in CRD mode,
	// where advertisements, not pools, decide it.
	Protocol   string
	Addresses  []string // as written on the cluster
	AutoAssign bool
	// AvoidBuggyIPs: MetalLB skips IPv4 addresses ending in .0 and .255.
	AvoidBuggyIPs bool
	// Ranges are the Addresses parsed; Unparsed holds those that are not
	// addresses at all (MetalLB rejects them too, so they hold nothing).
	Ranges   []Range
	Unparsed []string
}

func (p *Pool) parseAddresses() {
	p.Ranges, p.Unparsed = nil, nil
	for _, a := range p.Addresses {
		r, err := parseExisting(a)
		if err != nil {
			p.Unparsed = append(p.Unparsed, a)
			continue
		}
		p.Ranges = append(p.Ranges, r)
	}
}

// DetectMode asks the API server's discovery whether ipaddresspools.metallb.io
// is served: a CRD-era MetalLB ignores the ConfigMap, an older one the CRDs.
// A cluster that serves the metallb.io group, but not v1beta1 IPAddressPools
// (only a v1alpha1, or a future v2), runs a MetalLB this plugin does not
// know: writing the ConfigMap there would be ignored, so it is an error.
func DetectMode(ctx context.Context, d discovery.DiscoveryInterface) (Mode, error) {
	var list *metav1.APIResourceList
	var err error
	if dc, ok := d.(discovery.ServerResourcesInterfaceWithContext); ok {
		list, err = dc.ServerResourcesForGroupVersionWithContext(ctx, GroupVersion)
	} else {
		list, err = d.ServerResourcesForGroupVersion(GroupVersion)
	}
	if err != nil && !apierrors.IsNotFound(err) {
		return "", fmt.Errorf("cannot tell which MetalLB runs (discovery of %s): %w", GroupVersion, err)
	}
	if err == nil {
		for _, r := range list.APIResources {
			if r.Name == IPAddressPools.Resource {
				return ModeCRD, nil
			}
		}
	}
	versions, err := groupVersions(d, IPAddressPools.Group)
	if err != nil {
		return "", fmt.Errorf("cannot tell which MetalLB runs (discovery of API groups): %w", err)
	}
	if len(versions) > 0 {
		return "", &UnknownVersionError{Served: versions}
	}
	return ModeConfigMap, nil
}

// UnknownVersionError: the cluster serves MetalLB CRDs of a version this
// plugin does not write.
type UnknownVersionError struct{ Served []string }

func (e *UnknownVersionError) Error() string {
	return fmt.Sprintf("the cluster serves MetalLB CRDs %s but not %s %s: a MetalLB version this plugin does not know; supported are %s (MetalLB v0.13 to v0.14) and the legacy ConfigMap (MetalLB < v0.13, no metallb.io CRDs)",
		strings.Join(e.Served, ", "), GroupVersion, IPAddressPools.Resource, GroupVersion)
}

// groupVersions lists the served versions of an API group, as group/version.
func groupVersions(d discovery.DiscoveryInterface, group string) ([]string, error) {
	groups, err := d.ServerGroups()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, g := range groups.Groups {
		if g.Name != group {
			continue
		}
		for _, v := range g.Versions {
			out = append(out, v.GroupVersion)
		}
	}
	return out, nil
}

func resolveMode(ctx context.Context, c *fleet.Clients, mode Mode) (Mode, error) {
	if mode != "" && mode != ModeAuto {
		return mode, nil
	}
	return DetectMode(ctx, c.Kube.Discovery())
}

// ListPools reads a cluster's pools in namespace (default metallb-system),
// from the configuration its MetalLB reads (mode auto) or the one given. A
// cluster without MetalLB configuration has no pools, which is not an error.
func ListPools(ctx context.Context, c *fleet.Clients, namespace string, mode Mode) ([]Pool, Mode, error) {
	if namespace == "" {
		namespace = DefaultNamespace
	}
	mode, err := resolveMode(ctx, c, mode)
	if err != nil {
		return nil, "", err
	}
	var pools []Pool
	switch mode {
	case ModeCRD:
		list, err := c.Dynamic.Resource(IPAddressPools).Namespace(namespace).List(ctx, metav1.ListOptions{})
		if apierrors.IsNotFound(err) {
			return nil, mode, nil
		}
		if err != nil {
			return nil, mode, fmt.Errorf("cannot list IPAddressPools in %s: %w", namespace, err)
		}
		for _, item := range list.Items {
			pools = append(pools, poolFromObject(&item))
		}
	default:
		cm, err := c.Kube.CoreV1().ConfigMaps(namespace).Get(ctx, ConfigMapName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, mode, nil
		}
		if err != nil {
			return nil, mode, fmt.Errorf("cannot read ConfigMap %s/%s: %w", namespace, ConfigMapName, err)
		}
		pools, err = configPools(cm.Data[ConfigMapKey])
		if err != nil {
			return nil, mode, fmt.Errorf("ConfigMap %s/%s: %w", namespace, ConfigMapName, err)
		}
		for i := range pools {
			pools[i].Namespace = namespace
		}
	}
	sort.SliceStable(pools, func(i, j int) bool { return pools[i].Name < pools[j].Name })
	return pools, mode, nil
}

func poolFromObject(u *unstructured.Unstructured) Pool {
	p := Pool{Name: u.GetName(), Namespace: u.GetNamespace(), Mode: ModeCRD, AutoAssign: true}
	p.Addresses, _, _ = unstructured.NestedStringSlice(u.Object, "spec", "addresses")
	if b, found, err := unstructured.NestedBool(u.Object, "spec", "autoAssign"); found && err == nil {
		p.AutoAssign = b
	}
	p.AvoidBuggyIPs, _, _ = unstructured.NestedBool(u.Object, "spec", "avoidBuggyIPs")
	p.parseAddresses()
	return p
}

// Options say what Apply writes.
type Options struct {
	Pool      string  // default "default"
	Ranges    []Range // from ParseRanges
	Mode      Mode    // auto (default), configmap or crd
	Namespace string  // default metallb-system
	// AutoAssign sets the pool's auto-assign; nil leaves it as it is (true
	// for a new pool, MetalLB's default).
	AutoAssign   *bool
	DryRun       DryRun
	FieldManager string
}

// Validate checks the options without touching a cluster.
func (o *Options) Validate() error {
	if o.Pool == "" {
		o.Pool = DefaultPool
	}
	if o.Namespace == "" {
		o.Namespace = DefaultNamespace
	}
	if o.FieldManager == "" {
		o.FieldManager = DefaultFieldManager
	}
	if errs := validation.IsDNS1123Subdomain(o.Pool); len(errs) > 0 {
		return fmt.Errorf("invalid pool name %q: %s", o.Pool, strings.Join(errs, "; "))
	}
	if errs := validation.IsDNS1123Label(o.Namespace); len(errs) > 0 {
		return fmt.Errorf("invalid namespace %q: %s", o.Namespace, strings.Join(errs, "; "))
	}
	m, err := ParseMode(string(o.Mode))
	if err != nil {
		return err
	}
	o.Mode = m
	if len(o.Ranges) == 0 {
		return fmt.Errorf("no address range given")
	}
	for i, r := range o.Ranges {
		for _, p := range o.Ranges[:i] {
			if r.Overlaps(p) {
				return fmt.Errorf("address ranges %s and %s overlap", p, r)
			}
		}
	}
	return nil
}

// Actions reported per object, in kubectl's words.
const (
	Created    = "created"
	Configured = "configured"
	Unchanged  = "unchanged"
)

// Object is one object Apply wrote or would write.
type Object struct {
	Object runtime.Object // with GVK set, ready for printing
	Action string         // created, configured or unchanged
}

// Result is what Apply did (or would do, under dry-run).
type Result struct {
	Mode Mode // the mode written
	// Detected is the mode the cluster's MetalLB reads; it differs from Mode
	// only when configmap was forced on a cluster with the CRDs, whose
	// MetalLB then ignores what was written.
	Detected  Mode
	Namespace string
	Pool      string
	// Previous are the pool's addresses before, nil for a new pool.
	Previous []string
	Objects  []Object
}

// Changed reports whether anything was (or would be) written.
func (r Result) Changed() bool {
	for _, o := range r.Objects {
		if o.Action != Unchanged {
			return true
		}
	}
	return false
}

// Apply sets one pool on a cluster: in CRD mode an IPAddressPool and an
// L2Advertisement that announces it, in ConfigMap mode a layer2 entry in the
// legacy config. The same addresses again change nothing; other addresses
// replace that pool's only, and everything else (other pools, other keys of
// the ConfigMap, other fields of the objects) is kept. Everything is read and
// checked before the first write. The metallb-system namespace is created
// when missing. Apply does not look at other clusters: call FindOverlaps
// first for the federation-wide check.
func Apply(ctx context.Context, c *fleet.Clients, opts Options) (Result, error) {
	if err := opts.Validate(); err != nil {
		return Result{}, err
	}
	detected, err := DetectMode(ctx, c.Kube.Discovery())
	if err != nil {
		return Result{}, err
	}
	mode := detected
	if opts.Mode != ModeAuto {
		mode = opts.Mode
	}
	res := Result{Mode: mode, Detected: detected, Namespace: opts.Namespace, Pool: opts.Pool}
	if mode == ModeCRD && detected != ModeCRD {
		return res, fmt.Errorf("mode crd, but the cluster does not serve %s %s (the MetalLB v0.13+ CRDs are not installed); use mode configmap or install them", GroupVersion, IPAddressPools.Resource)
	}

	_, err = c.Kube.CoreV1().Namespaces().Get(ctx, opts.Namespace, metav1.GetOptions{})
	nsMissing := apierrors.IsNotFound(err)
	if err != nil && !nsMissing {
		return res, fmt.Errorf("cannot read namespace %s: %w", opts.Namespace, err)
	}

	w := &writer{c: c, opts: opts}
	var plan func() ([]Object, error)
	switch mode {
	case ModeCRD:
		plan, err = w.planCRD(ctx, nsMissing, &res)
	default:
		plan, err = w.planConfigMap(ctx, nsMissing, &res)
	}
	if err != nil {
		return res, err
	}

	// Checks are done; writes start here.
	if nsMissing {
		ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: opts.Namespace, Labels: map[string]string{fleet.ManagedByLabel: fleet.ManagedByValue}}}
		out := runtime.Object(ns)
		if opts.DryRun != DryRunClient {
			created, err := c.Kube.CoreV1().Namespaces().Create(ctx, ns, w.createOptions())
			if err != nil {
				return res, fmt.Errorf("cannot create namespace %s: %w", opts.Namespace, err)
			}
			out = created
		}
		setGVK(out, corev1.SchemeGroupVersion.WithKind("Namespace"))
		res.Objects = append(res.Objects, Object{Object: out, Action: Created})
		if opts.DryRun == DryRunServer {
			// Nothing can be created in a namespace that a dry run did not
			// create: the rest is computed, as under client dry-run.
			w.opts.DryRun = DryRunClient
		}
	}
	objs, err := plan()
	res.Objects = append(res.Objects, objs...)
	return res, err
}

type writer struct {
	c    *fleet.Clients
	opts Options
}

func (w *writer) dryRun() []string {
	if w.opts.DryRun == DryRunServer {
		return []string{metav1.DryRunAll}
	}
	return nil
}

func (w *writer) createOptions() metav1.CreateOptions {
	return metav1.CreateOptions{FieldManager: w.opts.FieldManager, DryRun: w.dryRun()}
}

func (w *writer) patchOptions() metav1.PatchOptions {
	return metav1.PatchOptions{FieldManager: w.opts.FieldManager, DryRun: w.dryRun()}
}

func setGVK(o runtime.Object, gvk schema.GroupVersionKind) {
	o.GetObjectKind().SetGroupVersionKind(gvk)
}

func managedLabels() map[string]string {
	return map[string]string{fleet.ManagedByLabel: fleet.ManagedByValue}
}

// planConfigMap reads the ConfigMap and returns the write to make.
func (w *writer) planConfigMap(ctx context.Context, nsMissing bool, res *Result) (func() ([]Object, error), error) {
	cms := w.c.Kube.CoreV1().ConfigMaps(w.opts.Namespace)
	var cur *corev1.ConfigMap
	if !nsMissing {
		cm, err := cms.Get(ctx, ConfigMapName, metav1.GetOptions{})
		switch {
		case err == nil:
			cur = cm
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("cannot read ConfigMap %s/%s: %w", w.opts.Namespace, ConfigMapName, err)
		}
	}
	text := ""
	if cur != nil {
		text = cur.Data[ConfigMapKey]
		pools, err := configPools(text)
		if err != nil {
			return nil, fmt.Errorf("ConfigMap %s/%s: %w", w.opts.Namespace, ConfigMapName, err)
		}
		for _, p := range pools {
			if p.Name == w.opts.Pool {
				res.Previous = p.Addresses
			}
		}
	}
	// Computing the new document now catches a broken config before any write.
	if _, _, err := setConfigPool(text, w.opts.Pool, w.opts.Ranges, w.opts.AutoAssign); err != nil {
		return nil, fmt.Errorf("ConfigMap %s/%s: %w", w.opts.Namespace, ConfigMapName, err)
	}
	gvk := corev1.SchemeGroupVersion.WithKind("ConfigMap")
	return func() ([]Object, error) {
		if cur == nil {
			newText, _, _ := setConfigPool("", w.opts.Pool, w.opts.Ranges, w.opts.AutoAssign)
			cm := &corev1.ConfigMap{
				ObjectMeta: metav1.ObjectMeta{Name: ConfigMapName, Namespace: w.opts.Namespace, Labels: managedLabels()},
				Data:       map[string]string{ConfigMapKey: newText},
			}
			out := runtime.Object(cm)
			if w.opts.DryRun != DryRunClient {
				created, err := cms.Create(ctx, cm, w.createOptions())
				if err != nil {
					return nil, fmt.Errorf("cannot create ConfigMap %s/%s: %w", w.opts.Namespace, ConfigMapName, err)
				}
				out = created
			}
			setGVK(out, gvk)
			return []Object{{Object: out, Action: Created}}, nil
		}
		var out *corev1.ConfigMap
		action := Unchanged
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			newText, changed, err := setConfigPool(cur.Data[ConfigMapKey], w.opts.Pool, w.opts.Ranges, w.opts.AutoAssign)
			if err != nil {
				return err
			}
			if !changed || w.opts.DryRun == DryRunClient {
				out = cur.DeepCopy()
				if changed {
					action = Configured
					if out.Data == nil {
						out.Data = map[string]string{}
					}
					out.Data[ConfigMapKey] = newText
				}
				return nil
			}
			// Only the one key, pinned to the version read.
			patch, _ := json.Marshal(map[string]any{
				"metadata": map[string]any{"resourceVersion": cur.ResourceVersion},
				"data":     map[string]string{ConfigMapKey: newText},
			})
			out, err = cms.Patch(ctx, ConfigMapName, types.MergePatchType, patch, w.patchOptions())
			if apierrors.IsConflict(err) {
				if fresh, gerr := cms.Get(ctx, ConfigMapName, metav1.GetOptions{}); gerr == nil {
					cur = fresh
				}
			}
			action = Configured
			return err
		})
		if err != nil {
			return nil, fmt.Errorf("cannot update ConfigMap %s/%s: %w", w.opts.Namespace, ConfigMapName, err)
		}
		setGVK(out, gvk)
		return []Object{{Object: out, Action: action}}, nil
	}, nil
}

// planCRD reads the IPAddressPool and the L2Advertisements and returns the
// writes to make.
func (w *writer) planCRD(ctx context.Context, nsMissing bool, res *Result) (func() ([]Object, error), error) {
	pools := w.c.Dynamic.Resource(IPAddressPools).Namespace(w.opts.Namespace)
	advs := w.c.Dynamic.Resource(L2Advertisements).Namespace(w.opts.Namespace)
	var cur *unstructured.Unstructured
	var advList []unstructured.Unstructured
	if !nsMissing {
		p, err := pools.Get(ctx, w.opts.Pool, metav1.GetOptions{})
		switch {
		case err == nil:
			cur = p
			res.Previous = poolFromObject(p).Addresses
		case !apierrors.IsNotFound(err):
			return nil, fmt.Errorf("cannot read IPAddressPool %s/%s: %w", w.opts.Namespace, w.opts.Pool, err)
		}
		l, err := advs.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, fmt.Errorf("cannot list L2Advertisements in %s: %w", w.opts.Namespace, err)
		}
		advList = l.Items
	}
	addresses := Strings(w.opts.Ranges)
	return func() ([]Object, error) {
		var objs []Object
		// The pool.
		if cur == nil {
			spec := map[string]any{"addresses": toAny(addresses)}
			if w.opts.AutoAssign != nil {
				spec["autoAssign"] = *w.opts.AutoAssign
			}
			obj := newObject("IPAddressPool", w.opts.Namespace, w.opts.Pool, spec)
			out, err := w.create(ctx, pools, obj)
			if err != nil {
				return objs, fmt.Errorf("cannot create IPAddressPool %s/%s: %w", w.opts.Namespace, w.opts.Pool, err)
			}
			objs = append(objs, Object{Object: out, Action: Created})
			cur = obj
		} else {
			out, action, err := w.patchPool(ctx, pools, cur, addresses)
			if err != nil {
				return objs, fmt.Errorf("cannot update IPAddressPool %s/%s: %w", w.opts.Namespace, w.opts.Pool, err)
			}
			objs = append(objs, Object{Object: out, Action: action})
		}
		// Its advertisement, unless one already announces it.
		for _, a := range advList {
			if advertises(&a, cur) {
				return objs, nil
			}
		}
		var named *unstructured.Unstructured
		for i := range advList {
			if advList[i].GetName() == w.opts.Pool {
				named = &advList[i]
			}
		}
		if named == nil {
			obj := newObject("L2Advertisement", w.opts.Namespace, w.opts.Pool, map[string]any{"ipAddressPools": []any{w.opts.Pool}})
			out, err := w.create(ctx, advs, obj)
			if err != nil {
				return objs, fmt.Errorf("cannot create L2Advertisement %s/%s: %w", w.opts.Namespace, w.opts.Pool, err)
			}
			return append(objs, Object{Object: out, Action: Created}), nil
		}
		out, err := w.addPoolToAdvertisement(ctx, advs, named)
		if err != nil {
			return objs, fmt.Errorf("cannot update L2Advertisement %s/%s: %w", w.opts.Namespace, named.GetName(), err)
		}
		return append(objs, Object{Object: out, Action: Configured}), nil
	}, nil
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func newObject(kind, ns, name string, spec map[string]any) *unstructured.Unstructured {
	u := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": GroupVersion,
		"kind":       kind,
		"metadata":   map[string]any{"name": name, "namespace": ns},
		"spec":       spec,
	}}
	u.SetLabels(managedLabels())
	return u
}

func (w *writer) create(ctx context.Context, ri dynamic.ResourceInterface, obj *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	if w.opts.DryRun == DryRunClient {
		return obj, nil
	}
	return ri.Create(ctx, obj, w.createOptions())
}

// patchPool sets spec.addresses (and autoAssign when asked) and nothing else.
func (w *writer) patchPool(ctx context.Context, ri dynamic.ResourceInterface, cur *unstructured.Unstructured, addresses []string) (*unstructured.Unstructured, string, error) {
	var out *unstructured.Unstructured
	action := Unchanged
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		p := poolFromObject(cur)
		spec := map[string]any{}
		if len(p.Unparsed) > 0 || !sameRanges(p.Ranges, w.opts.Ranges) {
			spec["addresses"] = toAny(addresses)
		}
		if w.opts.AutoAssign != nil {
			_, set, _ := unstructured.NestedBool(cur.Object, "spec", "autoAssign")
			if !set || p.AutoAssign != *w.opts.AutoAssign {
				spec["autoAssign"] = *w.opts.AutoAssign
			}
		}
		if len(spec) == 0 {
			out, action = cur, Unchanged
			return nil
		}
		action = Configured
		if w.opts.DryRun == DryRunClient {
			out = cur.DeepCopy()
			for k, v := range spec {
				_ = unstructured.SetNestedField(out.Object, v, "spec", k)
			}
			return nil
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": cur.GetResourceVersion()}, "spec": spec})
		var err error
		out, err = ri.Patch(ctx, cur.GetName(), types.MergePatchType, patch, w.patchOptions())
		if apierrors.IsConflict(err) {
			if fresh, gerr := ri.Get(ctx, cur.GetName(), metav1.GetOptions{}); gerr == nil {
				cur = fresh
			}
		}
		return err
	})
	return out, action, err
}

// addPoolToAdvertisement appends the pool to spec.ipAddressPools, keeping the others.
func (w *writer) addPoolToAdvertisement(ctx context.Context, ri dynamic.ResourceInterface, cur *unstructured.Unstructured) (*unstructured.Unstructured, error) {
	var out *unstructured.Unstructured
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		names, _, _ := unstructured.NestedStringSlice(cur.Object, "spec", "ipAddressPools")
		if !slices.Contains(names, w.opts.Pool) {
			names = append(names, w.opts.Pool)
		}
		if w.opts.DryRun == DryRunClient {
			out = cur.DeepCopy()
			return unstructured.SetNestedStringSlice(out.Object, names, "spec", "ipAddressPools")
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": cur.GetResourceVersion()}, "spec": map[string]any{"ipAddressPools": names}})
		var err error
		out, err = ri.Patch(ctx, cur.GetName(), types.MergePatchType, patch, w.patchOptions())
		if apierrors.IsConflict(err) {
			if fresh, gerr := ri.Get(ctx, cur.GetName(), metav1.GetOptions{}); gerr == nil {
				cur = fresh
			}
		}
		return err
	})
	return out, err
}

// advertises reports whether an L2Advertisement announces the pool: one that
// names no pools and selects none announces them all.
func advertises(adv, pool *unstructured.Unstructured) bool {
	names, _, _ := unstructured.NestedStringSlice(adv.Object, "spec", "ipAddressPools")
	sels, _, _ := unstructured.NestedSlice(adv.Object, "spec", "ipAddressPoolSelectors")
	if len(names) == 0 && len(sels) == 0 {
		return true
	}
	if slices.Contains(names, pool.GetName()) {
		return true
	}
	for _, s := range sels {
		m, ok := s.(map[string]any)
		if !ok {
			continue
		}
		var ls metav1.LabelSelector
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(m, &ls); err != nil {
			continue
		}
		sel, err := metav1.LabelSelectorAsSelector(&ls)
		if err == nil && !sel.Empty() && sel.Matches(labels.Set(pool.GetLabels())) {
			return true
		}
	}
	return false
}

// ClusterPools are one cluster's pools, as read for the overlap check.
type ClusterPools struct {
	Cluster string
	Mode    Mode
	Pools   []Pool
	Err     error // the cluster could not be read
	// Use is what its LoadBalancer Services hold (ReadAllWithUse only);
	// UseErr says why it could not be read, with the pools still read.
	Use    *ServiceUse
	UseErr error
}

// ReadAll reads the pools of many clusters at once, within the fan-out's
// bounds; results keep the order of clusters and a cluster that fails
// carries its error (no warning is printed: callers decide what a failure
// means for them).
func ReadAll(ctx context.Context, clusters []*fleet.Cluster, namespace string, fan fleet.FanOutFlags) []ClusterPools {
	return readAll(ctx, clusters, namespace, fan, false)
}

// ReadAllWithUse is ReadAll plus each cluster's LoadBalancer Services, for
// the pools' use.
func ReadAllWithUse(ctx context.Context, clusters []*fleet.Cluster, namespace string, fan fleet.FanOutFlags) []ClusterPools {
	return readAll(ctx, clusters, namespace, fan, true)
}

func readAll(ctx context.Context, clusters []*fleet.Cluster, namespace string, fan fleet.FanOutFlags, withUse bool) []ClusterPools {
	names := make([]string, len(clusters))
	for i, c := range clusters {
		names[i] = c.Name
	}
	results := fleet.FanOutIndexed(ctx, names, fan.MaxParallel, fan.Timeout, func(ctx context.Context, i int) (ClusterPools, error) {
		cluster := names[i]
		c, err := clusters[i].Clients()
		if err != nil {
			return ClusterPools{Cluster: cluster}, err
		}
		pools, mode, err := ListPools(ctx, c, namespace, ModeAuto)
		cp := ClusterPools{Cluster: cluster, Mode: mode, Pools: pools}
		if err != nil || !withUse {
			return cp, err
		}
		use, err := ReadServiceUse(ctx, c.Kube)
		if err != nil {
			cp.UseErr = err
		} else {
			cp.Use = &use
		}
		return cp, nil
	})
	out := make([]ClusterPools, len(results))
	for i, r := range results {
		out[i] = r.Value
		out[i].Cluster, out[i].Err = r.Cluster, r.Err
	}
	return out
}

// Overlap is an address range that shares addresses with an existing pool.
type Overlap struct {
	Range          Range
	Cluster, Pool  string
	OtherAddresses string // the other pool's address block that overlaps
}

func (o Overlap) String() string {
	return fmt.Sprintf("%s overlaps pool %q (%s) of cluster %s", o.Range, o.Pool, o.OtherAddresses, o.Cluster)
}

// OverlapError lists every overlap found.
type OverlapError struct{ Overlaps []Overlap }

func (e *OverlapError) Error() string {
	parts := make([]string, len(e.Overlaps))
	for i, o := range e.Overlaps {
		parts[i] = o.String()
	}
	return "address range " + strings.Join(parts, "; ")
}

// FindOverlaps compares the ranges meant for pool on cluster with every pool
// read, except that same pool (which the ranges replace).
func FindOverlaps(cluster, pool string, ranges []Range, existing []ClusterPools) []Overlap {
	var out []Overlap
	for _, cp := range existing {
		for _, p := range cp.Pools {
			if cp.Cluster == cluster && p.Name == pool {
				continue
			}
			for _, r := range ranges {
				for _, o := range p.Ranges {
					if r.Overlaps(o) {
						out = append(out, Overlap{Range: r, Cluster: cp.Cluster, Pool: p.Name, OtherAddresses: o.String()})
					}
				}
			}
		}
	}
	return out
}
