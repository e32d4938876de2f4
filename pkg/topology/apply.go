package topology

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/util/retry"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// Label keys. OpenMCP's scheduler and KubeFed's cluster controller read the
// beta keys, newer components the GA ones: both are written.
const (
	RegionLabel     = fleet.RegionLabel
	ZoneLabel       = fleet.ZoneLabel
	BetaRegionLabel = corev1.LabelFailureDomainBetaRegion // failure-domain.beta.kubernetes.io/region
	BetaZoneLabel   = corev1.LabelFailureDomainBetaZone   // failure-domain.beta.kubernetes.io/zone

	ControlPlaneRoleLabel = "node-role.kubernetes.io/control-plane"
	// MasterRoleLabel is the role label of clusters set up before Kubernetes 1.20.
	MasterRoleLabel = "node-role.kubernetes.io/master"
)

// Node selections besides a label selector.
const (
	NodesControlPlane = "control-plane"
	NodesAll          = "all"
)

// Options say what Apply writes.
type Options struct {
	// Region and Zone as the user typed them; either may be empty (left alone).
	Region, Zone string
	// Nodes is "all" (or ""), "control-plane", or a label selector.
	Nodes string
	// Overwrite allows changing a label that already has another value.
	Overwrite bool
	// AllowAny accepts any label value instead of continent and country codes.
	AllowAny     bool
	DryRun       write.DryRun
	FieldManager string
}

// Change is one object Apply looked at.
type Change struct {
	Kind string // "Node" or "KubeFedCluster"
	Name string
	// Set holds the label keys whose value changes, with the new value.
	Set map[string]string
	// Object is the object after the change (as the server returned it, or as
	// computed under client dry-run); with GVK set, ready for printing.
	Object runtime.Object
}

// Changed reports whether the object's labels change.
func (c Change) Changed() bool { return len(c.Set) > 0 }

// Result is what Apply did (or would do, under dry-run).
type Result struct {
	Region, Zone string // normalised
	Nodes        []Change
	// KubeFedCluster is nil when the host was not given (cluster not joined).
	KubeFedCluster *Change
}

// Changes lists every object in order: the nodes, then the KubeFedCluster.
func (r Result) Changes() []Change {
	out := append([]Change(nil), r.Nodes...)
	if r.KubeFedCluster != nil {
		out = append(out, *r.KubeFedCluster)
	}
	return out
}

// ConflictError lists the labels that already hold another value.
type ConflictError struct{ Conflicts []string }

func (e *ConflictError) Error() string {
	return "labels already set to other values: " + strings.Join(e.Conflicts, ", ") + "; pass --overwrite to change them"
}

// ParseNodes checks a node selection: "control-plane", "all" or a label selector.
func ParseNodes(sel string) (func(corev1.Node) bool, string, error) {
	switch strings.TrimSpace(sel) {
	case NodesControlPlane:
		return IsControlPlane, "control-plane nodes (labelled " + ControlPlaneRoleLabel + " or " + MasterRoleLabel + ")", nil
	case "", NodesAll:
		// The default: managed members (GKE, EKS, AKS) show no control-plane
		// node, cloud providers label every node, and OpenMCP's scheduler
		// matches a workload's region/zone affinity against any node's labels.
		return func(corev1.Node) bool { return true }, "nodes", nil
	}
	s, err := labels.Parse(sel)
	if err != nil {
		return nil, "", fmt.Errorf("invalid node selection %q: want control-plane, all or a label selector (%v)", sel, err)
	}
	return func(n corev1.Node) bool { return s.Matches(labels.Set(n.Labels)) }, "nodes matching " + s.String(), nil
}

// IsControlPlane reports whether a node carries the control-plane role, or
// the master role of older clusters.
func IsControlPlane(n corev1.Node) bool {
	_, cp := n.Labels[ControlPlaneRoleLabel]
	_, m := n.Labels[MasterRoleLabel]
	return cp || m
}

// Labels returns the four label keys and values that region and zone mean
// (an empty region or zone contributes nothing).
func Labels(region, zone string) map[string]string {
	out := map[string]string{}
	if region != "" {
		out[RegionLabel], out[BetaRegionLabel] = region, region
	}
	if zone != "" {
		out[ZoneLabel], out[BetaZoneLabel] = zone, zone
	}
	return out
}

// Apply labels a member's nodes and the host's KubeFedCluster for it with a
// region and zone. Everything is read and checked first (codes, node
// selection, labels that would be overwritten); only then does it write, so
// an invalid value or a refused overwrite changes nothing anywhere. Writes are
// merge patches of exactly the label keys, pinned to the resourceVersion read
// and retried on conflict, so other fields and labels are never clobbered.
//
// member reaches the member cluster. host may be nil: the cluster is not
// joined yet and only its nodes are labelled. kubefedNS defaults to
// kube-federation-system; clusterName is the KubeFedCluster's name.
func Apply(ctx context.Context, member kubernetes.Interface, host dynamic.Interface, kubefedNS, clusterName string, opts Options) (Result, error) {
	var res Result
	region, zone, err := ParseRegionZone(opts.Region, opts.Zone, opts.AllowAny)
	if err != nil {
		return res, err
	}
	res.Region, res.Zone = region, zone
	match, what, err := ParseNodes(opts.Nodes)
	if err != nil {
		return res, err
	}
	if kubefedNS == "" {
		kubefedNS = fleet.DefaultKubeFedNamespace
	}
	fieldManager := opts.FieldManager
	if fieldManager == "" {
		fieldManager = write.FieldManager
	}
	want := Labels(region, zone)

	list, err := member.CoreV1().Nodes().List(ctx, metav1.ListOptions{})
	if err != nil {
		return res, fmt.Errorf("cannot list nodes: %w", err)
	}
	var nodes []corev1.Node
	for _, n := range list.Items {
		if match(n) {
			nodes = append(nodes, n)
		}
	}
	if len(nodes) == 0 {
		return res, fmt.Errorf("no %s among the cluster's %d nodes; choose others with --nodes all or --nodes SELECTOR", what, len(list.Items))
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })

	var kfc *unstructured.Unstructured
	if host != nil {
		if clusterName == "" {
			return res, fmt.Errorf("no cluster name for the KubeFedCluster")
		}
		kfc, err = host.Resource(fleet.KubeFedClusters).Namespace(kubefedNS).Get(ctx, clusterName, metav1.GetOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) {
				return res, fmt.Errorf("cluster %q is not joined: no KubeFedCluster %s/%s on the host", clusterName, kubefedNS, clusterName)
			}
			return res, fmt.Errorf("cannot read KubeFedCluster %s/%s on the host: %w", kubefedNS, clusterName, err)
		}
	}

	// Check everything before the first write.
	var conflicts []string
	nodeSets := make([]map[string]string, len(nodes))
	for i, n := range nodes {
		set, c := diff("node/"+n.Name, n.Labels, want, opts.Overwrite)
		nodeSets[i], conflicts = set, append(conflicts, c...)
	}
	var kfcSet map[string]string
	if kfc != nil {
		var c []string
		kfcSet, c = diff("kubefedcluster/"+clusterName, kfc.GetLabels(), want, opts.Overwrite)
		conflicts = append(conflicts, c...)
	}
	if len(conflicts) > 0 {
		return res, &ConflictError{Conflicts: conflicts}
	}

	for i := range nodes {
		n := &nodes[i]
		ch := Change{Kind: "Node", Name: n.Name, Set: nodeSets[i]}
		obj, err := labelNode(ctx, member, n, want, opts, fieldManager)
		if err != nil {
			return res, err
		}
		obj.SetGroupVersionKind(corev1.SchemeGroupVersion.WithKind("Node"))
		ch.Object = obj
		res.Nodes = append(res.Nodes, ch)
	}
	if kfc != nil {
		obj, err := labelKubeFedCluster(ctx, host, kfc, want, opts, fieldManager)
		if err != nil {
			return res, err
		}
		res.KubeFedCluster = &Change{Kind: "KubeFedCluster", Name: clusterName, Set: kfcSet, Object: obj}
	}
	return res, nil
}

// diff returns the labels to set and, without overwrite, the ones that
// already hold a different value (as "node/x topology...=EU (want AS)").
func diff(what string, have, want map[string]string, overwrite bool) (map[string]string, []string) {
	set := map[string]string{}
	var conflicts []string
	for _, k := range sortedKeys(want) {
		cur, ok := have[k]
		if ok && cur == want[k] {
			continue
		}
		if ok && cur != "" && !overwrite {
			conflicts = append(conflicts, fmt.Sprintf("%s %s=%s (want %s)", what, k, cur, want[k]))
			continue
		}
		set[k] = want[k]
	}
	return set, conflicts
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// labelPatch is a merge patch of the given labels pinned to a resourceVersion:
// a concurrent writer makes it fail with a conflict instead of racing.
func labelPatch(resourceVersion string, set map[string]string) ([]byte, error) {
	return json.Marshal(map[string]any{"metadata": map[string]any{"resourceVersion": resourceVersion, "labels": set}})
}

func patchOptions(opts Options, fieldManager string) metav1.PatchOptions {
	po := metav1.PatchOptions{FieldManager: fieldManager, DryRun: opts.DryRun.Options()}
	return po
}

func labelNode(ctx context.Context, c kubernetes.Interface, node *corev1.Node, want map[string]string, opts Options, fieldManager string) (*corev1.Node, error) {
	cur := node.DeepCopy()
	var out *corev1.Node
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		set, conflicts := diff("node/"+cur.Name, cur.Labels, want, opts.Overwrite)
		if len(conflicts) > 0 {
			return &ConflictError{Conflicts: conflicts}
		}
		if len(set) == 0 || opts.DryRun == write.DryRunClient {
			out = cur.DeepCopy()
			if out.Labels == nil {
				out.Labels = map[string]string{}
			}
			for k, v := range set {
				out.Labels[k] = v
			}
			return nil
		}
		patch, err := labelPatch(cur.ResourceVersion, set)
		if err != nil {
			return err
		}
		out, err = c.CoreV1().Nodes().Patch(ctx, cur.Name, types.MergePatchType, patch, patchOptions(opts, fieldManager))
		if apierrors.IsConflict(err) {
			fresh, gerr := c.CoreV1().Nodes().Get(ctx, cur.Name, metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			cur = fresh
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot label node %s: %w", node.Name, err)
	}
	return out, nil
}

func labelKubeFedCluster(ctx context.Context, host dynamic.Interface, kfc *unstructured.Unstructured, want map[string]string, opts Options, fieldManager string) (*unstructured.Unstructured, error) {
	res := host.Resource(fleet.KubeFedClusters).Namespace(kfc.GetNamespace())
	cur := kfc.DeepCopy()
	var out *unstructured.Unstructured
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		set, conflicts := diff("kubefedcluster/"+cur.GetName(), cur.GetLabels(), want, opts.Overwrite)
		if len(conflicts) > 0 {
			return &ConflictError{Conflicts: conflicts}
		}
		if len(set) == 0 || opts.DryRun == write.DryRunClient {
			out = cur.DeepCopy()
			l := out.GetLabels()
			if l == nil {
				l = map[string]string{}
			}
			for k, v := range set {
				l[k] = v
			}
			out.SetLabels(l)
			return nil
		}
		patch, err := labelPatch(cur.GetResourceVersion(), set)
		if err != nil {
			return err
		}
		out, err = res.Patch(ctx, cur.GetName(), types.MergePatchType, patch, patchOptions(opts, fieldManager))
		if apierrors.IsConflict(err) {
			fresh, gerr := res.Get(ctx, cur.GetName(), metav1.GetOptions{})
			if gerr != nil {
				return gerr
			}
			cur = fresh
		}
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("cannot label KubeFedCluster %s/%s: %w", kfc.GetNamespace(), kfc.GetName(), err)
	}
	return out, nil
}
