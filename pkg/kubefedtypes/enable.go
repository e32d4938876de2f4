package kubefedtypes

import (
	"context"
	"fmt"
	"strings"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// Host is the KubeFed host as enable and disable use it.
type Host struct {
	Dynamic   dynamic.Interface
	Namespace string // KubeFed's system namespace, kube-federation-system
	// DryRun makes every write a server dry run and skips waiting.
	DryRun bool
	// Timeout bounds each wait (CRD established, propagation stopped).
	Timeout time.Duration
}

// Step is one line of output: "federatedtypeconfig.core.kubefed.io/deployments.apps created".
type Step struct {
	Ref    string
	Action write.Outcome
}

func (s Step) String() string { return s.Ref + " " + s.Action.String() }

// apply writes obj with server-side apply, taking over fields others own.
func (h Host) apply(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) (write.Outcome, error) {
	_, out, err := write.Apply(ctx, h.Dynamic, gvr, obj, write.ApplyOptions{ServerDryRun: h.DryRun, Force: true})
	return out, err
}

var namespaces = schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}

// ListTypeConfigs reads every FederatedTypeConfig of the host.
func ListTypeConfigs(ctx context.Context, dyn dynamic.Interface, namespace string) ([]fedv1b1.FederatedTypeConfig, error) {
	list, err := dyn.Resource(FederatedTypeConfigs).Namespace(namespace).List(ctx, metav1.ListOptions{})
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("the host has no FederatedTypeConfig API (core.kubefed.io/v1beta1): is KubeFed installed?")
		}
		return nil, fmt.Errorf("cannot list FederatedTypeConfigs in %s: %w", namespace, err)
	}
	out := make([]fedv1b1.FederatedTypeConfig, 0, len(list.Items))
	for _, item := range list.Items {
		var ftc fedv1b1.FederatedTypeConfig
		if err := runtime.DefaultUnstructuredConverter.FromUnstructured(item.Object, &ftc); err != nil {
			return nil, fmt.Errorf("FederatedTypeConfig %s: %w", item.GetName(), err)
		}
		out = append(out, ftc)
	}
	return out, nil
}

// FindByName finds the FederatedTypeConfig a user means by name: its own
// name (deployments.apps), or its target's plural, kind or plural.group.
func FindByName(ftcs []fedv1b1.FederatedTypeConfig, name string) (*fedv1b1.FederatedTypeConfig, bool) {
	key := strings.ToLower(strings.TrimSpace(name))
	for i := range ftcs {
		tt := ftcs[i].Spec.TargetType
		if key == ftcs[i].Name || key == tt.PluralName || key == strings.ToLower(tt.Kind) || key == qualified(tt.PluralName, tt.Group) {
			return &ftcs[i], true
		}
	}
	return nil, false
}

// Enable creates or updates the Federated<Kind> CRD and the
// FederatedTypeConfig for t, refusing what kubefedctl refuses: a type
// already federated under another name, or a federated CRD that another
// type config owns.
func Enable(ctx context.Context, h Host, t Target) ([]Step, error) {
	if _, err := h.Dynamic.Resource(namespaces).Get(ctx, h.Namespace, metav1.GetOptions{}); err != nil {
		if apierrors.IsNotFound(err) {
			return nil, fmt.Errorf("KubeFed system namespace %q does not exist on the host: is KubeFed installed?", h.Namespace)
		}
		return nil, fmt.Errorf("cannot read namespace %s on the host: %w", h.Namespace, err)
	}
	ftcs, err := ListTypeConfigs(ctx, h.Dynamic, h.Namespace)
	if err != nil {
		return nil, err
	}
	want := t.TypeConfig(h.Namespace)
	for _, ftc := range ftcs {
		if ftc.Name == want.Name {
			have, wantFT := ftc.Spec.FederatedType, want.Spec.FederatedType
			if have.Group != wantFT.Group || have.Version != wantFT.Version || have.PluralName != wantFT.PluralName {
				return nil, fmt.Errorf("%s is already federated as %s.%s/%s; changing its federated type is not supported (run kubectl openmcp disable %s first)",
					want.Name, have.PluralName, have.Group, have.Version, want.Name)
			}
			continue
		}
		tt := ftc.Spec.TargetType
		if tt.Group == t.Group && tt.Kind == t.Kind {
			return nil, fmt.Errorf("%s is already federated by FederatedTypeConfig %s/%s", want.Name, h.Namespace, ftc.Name)
		}
		ft := ftc.Spec.FederatedType
		if qualified(ft.PluralName, ft.Group) == t.FederatedCRDName() {
			return nil, fmt.Errorf("cannot federate %s: FederatedTypeConfig %s already uses the CRD %s (two kinds named %s in different groups)",
				want.Name, ftc.Name, t.FederatedCRDName(), t.Kind)
		}
	}

	var steps []Step
	crd, err := toUnstructured(t.CRD())
	if err != nil {
		return nil, err
	}
	action, err := h.apply(ctx, CRDs, crd)
	if err != nil {
		return steps, fmt.Errorf("cannot write CRD %s: %w", t.FederatedCRDName(), err)
	}
	steps = append(steps, Step{"customresourcedefinition.apiextensions.k8s.io/" + t.FederatedCRDName(), action})
	if !h.DryRun {
		if err := waitEstablished(ctx, h, t.FederatedCRDName()); err != nil {
			return steps, err
		}
	}
	ftc, err := toUnstructured(want)
	if err != nil {
		return nil, err
	}
	action, err = h.apply(ctx, FederatedTypeConfigs, ftc)
	if err != nil {
		return steps, fmt.Errorf("cannot write FederatedTypeConfig %s/%s: %w", h.Namespace, want.Name, err)
	}
	steps = append(steps, Step{"federatedtypeconfig.core.kubefed.io/" + want.Name, action})
	return steps, nil
}

// Disable undoes Enable for the type of ftc: it stops propagation, waits
// for KubeFed's controller to let go, and deletes the FederatedTypeConfig
// and the Federated<Kind> CRD. It refuses while federated objects of the
// type exist: deleting the CRD would delete them without KubeFed removing
// what they propagated.
func Disable(ctx context.Context, h Host, ftc *fedv1b1.FederatedTypeConfig) ([]Step, []string, error) {
	ft := ftc.Spec.FederatedType
	fedGVR := schema.GroupVersionResource{Group: ft.Group, Version: ft.Version, Resource: ft.PluralName}
	crdName := qualified(ft.PluralName, ft.Group)
	var warnings []string

	list, err := h.Dynamic.Resource(fedGVR).List(ctx, metav1.ListOptions{Limit: 5})
	switch {
	case err == nil && len(list.Items) > 0:
		names := make([]string, 0, len(list.Items))
		for _, it := range list.Items {
			names = append(names, qualifiedName(it.GetNamespace(), it.GetName()))
		}
		more := ""
		if list.GetContinue() != "" {
			more = ", ..."
		}
		return nil, nil, fmt.Errorf("cannot disable %s: %s objects still exist (%s%s); delete them first so KubeFed removes what they propagated",
			ftc.Name, ft.Kind, strings.Join(names, ", "), more)
	case err != nil && !apierrors.IsNotFound(err):
		return nil, nil, fmt.Errorf("cannot list %s: %w", crdName, err)
	}

	var dryRun []string
	if h.DryRun {
		dryRun = []string{metav1.DryRunAll}
	}
	var steps []Step
	ftcs := h.Dynamic.Resource(FederatedTypeConfigs).Namespace(ftc.Namespace)
	if ftc.Spec.Propagation == fedv1b1.PropagationEnabled {
		patch := []byte(`{"spec":{"propagation":"Disabled"}}`)
		if _, err := ftcs.Patch(ctx, ftc.Name, types.MergePatchType, patch, metav1.PatchOptions{DryRun: dryRun}); err != nil {
			return nil, nil, fmt.Errorf("cannot disable propagation in FederatedTypeConfig %s: %w", ftc.Name, err)
		}
		if !h.DryRun {
			if err := waitStopped(ctx, h, ftc); err != nil {
				warnings = append(warnings, err.Error())
			}
		}
	}
	if err := ftcs.Delete(ctx, ftc.Name, metav1.DeleteOptions{DryRun: dryRun}); err != nil && !apierrors.IsNotFound(err) {
		return steps, warnings, fmt.Errorf("cannot delete FederatedTypeConfig %s: %w", ftc.Name, err)
	}
	if !h.DryRun {
		// KubeFed's finalizer keeps it until its controller lets go of the
		// type: "deleted" is said once it is gone, and the CRD goes after it.
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, h.timeout(), true, func(ctx context.Context) (bool, error) {
			_, err := ftcs.Get(ctx, ftc.Name, metav1.GetOptions{})
			return apierrors.IsNotFound(err), nil
		})
		if err != nil {
			warnings = append(warnings, fmt.Sprintf("FederatedTypeConfig %s is still terminating after %s (KubeFed's finalizer: is its controller running?)", ftc.Name, h.timeout()))
		}
	}
	steps = append(steps, Step{"federatedtypeconfig.core.kubefed.io/" + ftc.Name, write.Deleted})
	err = h.Dynamic.Resource(CRDs).Delete(ctx, crdName, metav1.DeleteOptions{DryRun: dryRun})
	switch {
	case apierrors.IsNotFound(err):
		warnings = append(warnings, fmt.Sprintf("CRD %s did not exist", crdName))
	case err != nil:
		return steps, warnings, fmt.Errorf("cannot delete CRD %s: %w", crdName, err)
	default:
		steps = append(steps, Step{"customresourcedefinition.apiextensions.k8s.io/" + crdName, write.Deleted})
	}
	return steps, warnings, nil
}

func qualifiedName(ns, name string) string {
	if ns == "" {
		return name
	}
	return ns + "/" + name
}

func (h Host) timeout() time.Duration {
	if h.Timeout > 0 {
		return h.Timeout
	}
	return 30 * time.Second
}

// waitEstablished waits until the API server serves the new CRD, so the
// KubeFed controller's informer for it starts at once.
func waitEstablished(ctx context.Context, h Host, name string) error {
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, h.timeout(), true, func(ctx context.Context) (bool, error) {
		crd, err := h.Dynamic.Resource(CRDs).Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
		for _, c := range conds {
			cm, _ := c.(map[string]any)
			if cm["type"] == "Established" && cm["status"] == "True" {
				return true, nil
			}
		}
		return false, nil
	})
	if err != nil {
		return fmt.Errorf("CRD %s not established after %s: %w", name, h.timeout(), err)
	}
	return nil
}

// waitStopped waits for KubeFed's controller to report the type's sync
// controller stopped, as kubefedctl disable does; without a running
// controller it never will, which is only worth a warning.
func waitStopped(ctx context.Context, h Host, ftc *fedv1b1.FederatedTypeConfig) error {
	timeout := 10 * time.Second
	if h.Timeout > 0 && h.Timeout < timeout {
		timeout = h.Timeout
	}
	err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, timeout, true, func(ctx context.Context) (bool, error) {
		u, err := h.Dynamic.Resource(FederatedTypeConfigs).Namespace(ftc.Namespace).Get(ctx, ftc.Name, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		s, _, _ := unstructured.NestedString(u.Object, "status", "propagationController")
		return s == string(fedv1b1.ControllerStatusNotRunning), nil
	})
	if err != nil {
		return fmt.Errorf("KubeFed's controller did not report propagation of %s stopped within %s (is it running?); deleting anyway", ftc.Name, timeout)
	}
	return nil
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	// Converted typed objects carry creationTimestamp: null; an apply must
	// not claim it.
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	// Status belongs to the API server and KubeFed's controller.
	delete(u.Object, "status")
	return u, nil
}
