package openmcpapi

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// Item is one object to write and where it came from.
type Item struct {
	Where  string // Document.Where(), for errors
	GVR    schema.GroupVersionResource
	Object *unstructured.Unstructured
}

// Result is what happened to one Item.
type Result struct {
	Item
	Action write.Outcome
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
// changed in between) stops there and says what was already written. With
// opts.ServerDryRun only the first pass is made.
func ApplyAll(ctx context.Context, client dynamic.Interface, opts write.ApplyOptions, items []Item) ([]Result, error) {
	var errs []error
	dry := make([]Result, 0, len(items))
	dryOpts := opts
	dryOpts.ServerDryRun = true
	for _, it := range items {
		live, action, err := write.Apply(ctx, client, it.GVR, it.Object, dryOpts)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %s: %w", it.Where, Ref(it.Object), err))
			continue
		}
		dry = append(dry, Result{Item: it, Action: action, Live: live})
	}
	if len(errs) > 0 {
		return nil, fmt.Errorf("nothing was written: %w", errors.Join(errs...))
	}
	if opts.ServerDryRun {
		return dry, nil
	}
	out := make([]Result, 0, len(items))
	for _, it := range items {
		live, action, err := write.Apply(ctx, client, it.GVR, it.Object, opts)
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
