package write

import (
	"context"
	"encoding/json"
	"net/http"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/dynamic"
)

// ApplyOptions are the choices of one Apply.
type ApplyOptions struct {
	// FieldManager owns the applied fields; "" is FieldManager.
	FieldManager string
	// ServerDryRun sends the apply with dryRun=All.
	ServerDryRun bool
	// Force takes over fields another manager owns (--force-conflicts).
	Force bool
	// Before, when not nil, is what the caller already read of the object,
	// so Apply reads nothing first.
	Before *Before
	// OnCreate, when not nil, is called when this very request created the
	// object (never in a dry run): join's bookkeeping of what to roll back.
	OnCreate func()
}

// Before is an object as read before a write; a nil Object is one that was
// not there.
type Before struct {
	Object *unstructured.Unstructured
}

// Apply writes obj with server-side apply through client and says whether
// that created, configured or left it unchanged, with the server's answer.
//
// Created is said when the server answered 201 Created, so this request made
// the object; through a client whose transport does not pass the status on
// (see RecordStatus), when the object was not there before. An object absent
// before that the server did not create (someone else did, since it was
// read) is configured. "unchanged" is said only when nothing changed: the
// resourceVersion is the same after a real write; a dry run's answer never
// carries a new resourceVersion, so there the objects are compared.
func Apply(ctx context.Context, client dynamic.Interface, gvr schema.GroupVersionResource, obj *unstructured.Unstructured, opts ApplyOptions) (*unstructured.Unstructured, Outcome, error) {
	var res dynamic.ResourceInterface = client.Resource(gvr)
	if ns := obj.GetNamespace(); ns != "" {
		res = client.Resource(gvr).Namespace(ns)
	}
	var before *unstructured.Unstructured
	if opts.Before != nil {
		before = opts.Before.Object
	} else {
		got, err := res.Get(ctx, obj.GetName(), metav1.GetOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return nil, "", err
		}
		if err == nil {
			before = got
		}
	}
	data, err := json.Marshal(obj.Object)
	if err != nil {
		return nil, "", err
	}
	manager := opts.FieldManager
	if manager == "" {
		manager = FieldManager
	}
	popts := metav1.PatchOptions{FieldManager: manager}
	if opts.Force {
		force := true
		popts.Force = &force
	}
	if opts.ServerDryRun {
		popts.DryRun = []string{metav1.DryRunAll}
	}
	status := new(int)
	after, err := res.Patch(context.WithValue(ctx, statusKey{}, status), obj.GetName(), types.ApplyPatchType, data, popts)
	if err != nil {
		return nil, "", err
	}
	created := before == nil && (opts.ServerDryRun || *status == 0 || *status == http.StatusCreated)
	switch {
	case created:
		if !opts.ServerDryRun && opts.OnCreate != nil {
			opts.OnCreate()
		}
		return after, Created, nil
	case before == nil:
		return after, Configured, nil
	case !opts.ServerDryRun && before.GetResourceVersion() == after.GetResourceVersion():
		return after, Unchanged, nil
	case opts.ServerDryRun && sameContent(before, after):
		return after, Unchanged, nil
	}
	return after, Configured, nil
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

type statusKey struct{}

// RecordStatus wraps a client's transport (rest.Config.Wrap) so that Apply
// learns the status of its request: 201 tells an object this request
// created from one that was there. Requests of anyone else pass unchanged.
func RecordStatus(rt http.RoundTripper) http.RoundTripper { return statusRecorder{rt} }

type statusRecorder struct{ next http.RoundTripper }

func (s statusRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := s.next.RoundTrip(req)
	if p, ok := req.Context().Value(statusKey{}).(*int); ok && resp != nil {
		*p = resp.StatusCode
	}
	return resp, err
}
