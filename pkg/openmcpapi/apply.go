package openmcpapi

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
)

// FieldManager is the server-side apply field manager of every write.
const FieldManager = "kubectl-openmcp"

// Outcomes of an apply, as kubectl apply prints them.
const (
	Created    = "created"
	Configured = "configured"
	Unchanged  = "unchanged"
)

// Applier writes objects with server-side apply and tells created,
// configured and unchanged apart.
type Applier struct {
	Dynamic      dynamic.Interface
	FieldManager string
	// DryRun sends every write as a server dry run.
	DryRun bool
	// Force takes over fields another manager owns (--force-conflicts).
	Force bool
}

// Apply satisfies kubefedtypes.Applier.
func (a *Applier) Apply(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured) (string, error) {
	_, action, err := a.ApplyObject(ctx, gvr, obj, a.DryRun)
	return action, err
}

// ApplyObject applies obj and returns the object the server answered with.
// "unchanged" is said only when nothing changed: the resourceVersion is
// the same after a real write; for a dry run, whose answer never carries a
// new resourceVersion, the objects themselves are compared.
func (a *Applier) ApplyObject(ctx context.Context, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, dryRun bool) (*unstructured.Unstructured, string, error) {
	res := a.Dynamic.Resource(gvr).Namespace(obj.GetNamespace())
	before, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{})
	if err != nil {
		if !apierrors.IsNotFound(err) {
			return nil, "", err
		}
		before = nil
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, "", err
	}
	opts := metav1.PatchOptions{FieldManager: a.manager()}
	if a.Force {
		force := true
		opts.Force = &force
	}
	if dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	after, err := res.Patch(ctx, obj.GetName(), types.ApplyPatchType, data, opts)
	if err != nil {
		return nil, "", err
	}
	switch {
	case before == nil:
		return after, Created, nil
	case !dryRun && before.GetResourceVersion() == after.GetResourceVersion():
		return after, Unchanged, nil
	case dryRun && sameContent(before, after):
		return after, Unchanged, nil
	}
	return after, Configured, nil
}

func (a *Applier) manager() string {
	if a.FieldManager != "" {
		return a.FieldManager
	}
	return FieldManager
}

// sameContent compares two versions of an object, ignoring the bookkeeping
// a dry run may fill in differently.
func sameContent(a, b *unstructured.Unstructured) bool {
	strip := func(u *unstructured.Unstructured) map[string]any {
		m := runtime.DeepCopyJSON(u.Object)
		for _, f := range []string{"managedFields", "resourceVersion", "generation"} {
			unstructured.RemoveNestedField(m, "metadata", f)
		}
		return m
	}
	return apiequality.Semantic.DeepEqual(strip(a), strip(b))
}

// Item is one object to write and where it came from.
type Item struct {
	Where  string // Document.Where(), for errors
	GVR    schema.GroupVersionResource
	Object *unstructured.Unstructured
}

// Result is what happened to one Item.
type Result struct {
	Item
	Action string
	Live   *unstructured.Unstructured // the server's answer
}

// Ref names an object as kubectl apply prints it:
// openmcpdeployment.openmcp.k8s.io/web, service/web.
func Ref(obj *unstructured.Unstructured) string {
	gvk := obj.GroupVersionKind()
	kind := strings.ToLower(gvk.Kind)
	if gvk.Group != "" {
		kind += "." + gvk.Group
	}
	return kind + "/" + obj.GetName()
}

// ApplyAll writes items all or nothing, as far as the API server lets a
// client promise it: every item is first applied as a server dry run
// (schema, admission, missing namespaces, field-manager conflicts), and only
// when all pass are they written. A failure in the second pass (the cluster
// changed in between) stops there and says what was already written.
func ApplyAll(ctx context.Context, a *Applier, items []Item) ([]Result, error) {
	var errs []error
	dry := make([]Result, 0, len(items))
	for _, it := range items {
		live, action, err := a.ApplyObject(ctx, it.GVR, it.Object, true)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", it.Where, Ref(it.Object), err))
			continue
		}
		dry = append(dry, Result{Item: it, Action: action, Live: live})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing was written: %w", errors.Join(errs...))
	}
	if a.DryRun {
		return dry, nil
	}
	out := make([]Result, 0, len(items))
	for _, it := range items {
		live, action, err := a.ApplyObject(ctx, it.GVR, it.Object, false)
		if err != nil {
			written := make([]string, 0, len(out))
			for _, r := range out {
				written = append(written, Ref(r.Object))
			}
			w := "none"
			if len(written) > 0 {
				w = strings.Join(written, ", ")
			}
			return out, fmt.Errorf("%s: %s: %w (already written: %s)", it.Where, Ref(it.Object), err, w)
		}
		out = append(out, Result{Item: it, Action: action, Live: live})
	}
	return out, nil
}

// MissingResources returns, sorted, the resources of items the server does
// not serve, as plural.group names.
func MissingResources(disc discovery.DiscoveryInterface, gvrs []schema.GroupVersionResource) ([]string, error) {
	served := map[schema.GroupVersion]map[string]bool{}
	var missing []string
	seen := map[string]bool{}
	for _, gvr := range gvrs {
		gv := gvr.GroupVersion()
		if _, ok := served[gv]; !ok {
			served[gv] = map[string]bool{}
			list, err := disc.ServerResourcesForGroupVersion(gv.String())
			if err != nil && !apierrors.IsNotFound(err) {
				return nil, fmt.Errorf("cannot discover %s on the host: %w", gv, err)
			}
			if list != nil {
				for _, r := range list.APIResources {
					served[gv][r.Name] = true
				}
			}
		}
		name := gvr.Resource + "." + gvr.Group
		if gvr.Group == "" {
			name = gvr.Resource
		}
		if !served[gv][gvr.Resource] && !seen[name] {
			seen[name] = true
			missing = append(missing, name)
		}
	}
	sort.Strings(missing)
	return missing, nil
}
