package openmcpapi

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// JoinStatusJoined is spec.joinStatus of a member OpenMCP schedules onto:
// with the default scheduling policy (algorithm=OpenMCP) its scheduler
// filters out every member whose OpenMCPCluster says anything else.
const JoinStatusJoined = "JOIN"

// ClusterKind is OpenMCP's record of a member (namespace openmcp, named as
// the member's KubeFedCluster).
var ClusterKind, _ = KindByName("OpenMCPCluster")

// ClusterRecord is what we record of a member in its OpenMCPCluster. Only
// what OpenMCP's controllers and omcpctl read is filled; the upstream field
// kubeconfigInfo, which held the member's whole kubeconfig, stays empty: the
// host's KubeFedCluster Secret already holds the one credential KubeFed needs.
type ClusterRecord struct {
	// Platform is spec.clusterPlatformType (gke, eks, aks, k3s...; "" unknown).
	Platform string
	// ServerIP is spec.serverIP, the member's API endpoint host.
	ServerIP string
	// Region and Zone are spec.nodeInfo, as `label` writes on the nodes.
	Region, Zone string
	// MetalLBFrom and MetalLBTo are spec.metalLBRange, the first pool's range.
	MetalLBFrom, MetalLBTo string
}

// fill writes rec's non-empty fields into an OpenMCPCluster's spec, under
// upstream's field names; empty ones leave what is there.
func (rec ClusterRecord) fill(spec map[string]any) {
	set := func(v string, path ...string) {
		if v != "" {
			_ = unstructured.SetNestedField(spec, v, path...)
		}
	}
	set(rec.Platform, "clusterPlatformType")
	set(rec.ServerIP, "serverIP")
	set(rec.Region, "nodeInfo", "region")
	set(rec.Zone, "nodeInfo", "zone")
	set(rec.MetalLBFrom, "metalLBRange", "addressFrom")
	set(rec.MetalLBTo, "metalLBRange", "addressTo")
}

// HostServesClusters reports whether the host has the OpenMCPCluster CRD:
// a plain KubeFed host has not, and then no record is written.
func HostServesClusters(d discovery.DiscoveryInterface) (bool, error) {
	list, err := d.ServerResourcesForGroupVersion(Group + "/" + Version)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	for _, r := range list.APIResources {
		if r.Name == ClusterKind.Plural {
			return true, nil
		}
	}
	return false, nil
}

// RecordCluster creates or updates the member's OpenMCPCluster with
// joinStatus JOIN. Fields left empty in rec are left as they are, so `label`
// and `metallb` can each update their part. The join time is set when the
// member (re)joins, not on every update. It returns the object as written
// (or as it would be, with dryRun) and whether anything changed.
func RecordCluster(ctx context.Context, host dynamic.Interface, name string, rec ClusterRecord, dryRun bool) (*unstructured.Unstructured, bool, error) {
	res := host.Resource(ClusterKind.GVR()).Namespace(Namespace)
	cur, err := res.Get(ctx, name, metav1.GetOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		return nil, false, err
	}
	var obj *unstructured.Unstructured
	if cur == nil || apierrors.IsNotFound(err) {
		obj = &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": Group + "/" + Version, "kind": ClusterKind.Kind,
			"metadata": map[string]any{"name": name, "namespace": Namespace},
			"spec":     map[string]any{},
		}}
	} else {
		obj = cur.DeepCopy()
	}
	before, _ := json.Marshal(obj.Object["spec"])
	spec, _ := obj.Object["spec"].(map[string]any)
	if spec == nil {
		spec = map[string]any{}
		obj.Object["spec"] = spec
	}
	if spec["joinStatus"] != JoinStatusJoined {
		spec["joinStatus"] = JoinStatusJoined
		// Upstream types this as a Go time.Time: RFC 3339, never empty.
		spec["joinStatusTime"] = time.Now().UTC().Format(time.RFC3339)
	}
	rec.fill(spec)
	delete(spec, "kubeconfigInfo")
	after, _ := json.Marshal(spec)
	if cur != nil && string(before) == string(after) {
		return obj, false, nil
	}
	if dryRun {
		return obj, true, nil
	}
	if cur == nil {
		out, err := res.Create(ctx, obj, metav1.CreateOptions{FieldManager: "kubectl-openmcp"})
		return out, err == nil, err
	}
	out, err := res.Update(ctx, obj, metav1.UpdateOptions{FieldManager: "kubectl-openmcp"})
	return out, err == nil, err
}

// UpdateClusterRecord updates an existing OpenMCPCluster's fields from rec
// and does nothing when the member has none (not joined, or a plain KubeFed
// host). `label` and `metallb` call it to keep the record in step.
func UpdateClusterRecord(ctx context.Context, host dynamic.Interface, name string, rec ClusterRecord, dryRun bool) (bool, error) {
	res := host.Resource(ClusterKind.GVR()).Namespace(Namespace)
	spec := map[string]any{}
	rec.fill(spec)
	if len(spec) == 0 {
		return false, nil
	}
	patch, _ := json.Marshal(map[string]any{"spec": spec})
	opts := metav1.PatchOptions{FieldManager: "kubectl-openmcp"}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err := res.Patch(ctx, name, types.MergePatchType, patch, opts)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("OpenMCPCluster %s/%s: %w", Namespace, name, err)
	}
	return true, nil
}

// ForgetCluster deletes the member's OpenMCPCluster, if any, so OpenMCP's
// scheduler stops considering it. It reports whether one was deleted.
func ForgetCluster(ctx context.Context, host dynamic.Interface, name string, dryRun bool) (bool, error) {
	opts := metav1.DeleteOptions{}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	err := host.Resource(ClusterKind.GVR()).Namespace(Namespace).Delete(ctx, name, opts)
	if apierrors.IsNotFound(err) {
		return false, nil
	}
	return err == nil, err
}
