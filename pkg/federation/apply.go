package federation

import (
	"context"
	"encoding/base64"
	"fmt"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/dynamic"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

func base64Std(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

var resources = map[string]schema.GroupVersionResource{
	"Namespace":          {Version: "v1", Resource: "namespaces"},
	"ServiceAccount":     {Version: "v1", Resource: "serviceaccounts"},
	"Secret":             {Version: "v1", Resource: "secrets"},
	"ClusterRole":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterroles"},
	"ClusterRoleBinding": {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "clusterrolebindings"},
	"Role":               {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "roles"},
	"RoleBinding":        {Group: "rbac.authorization.k8s.io", Version: "v1", Resource: "rolebindings"},
	"KubeFedCluster":     fleet.KubeFedClusters,
}

// ref identifies an object written on a cluster, for rollback and reports.
type ref struct {
	kind, namespace, name string
}

func (r ref) String() string { return describe(r.kind, r.namespace, r.name) }

// writer applies objects to one cluster and remembers which it created. Its
// methods may run side by side.
type writer struct {
	client dynamic.Interface
	dryRun bool // server-side dry run
	// before holds what the checks read of the objects (read-only); an
	// object missing here is read just before it is applied.
	before map[ref]write.Before

	mu      sync.Mutex
	created []ref
	// absentNamespace is a namespace a server-side dry run "created": it
	// does not exist, so the apiserver cannot dry-run objects in it; they
	// are reported as created without a request.
	absentNamespace string
}

// skip reports whether a server-side dry run cannot send r.
func (w *writer) skip(r ref) bool {
	return w.dryRun && w.absentNamespace != "" && r.namespace == w.absentNamespace
}

func toUnstructured(obj any) (*unstructured.Unstructured, error) {
	if u, ok := obj.(*unstructured.Unstructured); ok {
		return u, nil
	}
	m, err := runtime.DefaultUnstructuredConverter.ToUnstructured(obj)
	if err != nil {
		return nil, err
	}
	u := &unstructured.Unstructured{Object: m}
	// Zero timestamps and empty status are not ours to apply.
	unstructured.RemoveNestedField(u.Object, "metadata", "creationTimestamp")
	unstructured.RemoveNestedField(u.Object, "status")
	return u, nil
}

func (w *writer) resource(kind, ns string) (dynamic.ResourceInterface, error) {
	gvr, ok := resources[kind]
	if !ok {
		return nil, fmt.Errorf("internal: no resource for kind %s", kind)
	}
	if ns == "" {
		return w.client.Resource(gvr), nil
	}
	return w.client.Resource(gvr).Namespace(ns), nil
}

func (w *writer) record(r ref) {
	w.mu.Lock()
	w.created = append(w.created, r)
	w.mu.Unlock()
}

// apply writes obj with server-side apply and says whether that created,
// changed or left it as it was; what it created is recorded for rollback.
func (w *writer) apply(ctx context.Context, obj any) (write.Outcome, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return "", err
	}
	r := ref{u.GetKind(), u.GetNamespace(), u.GetName()}
	gvr, ok := resources[r.kind]
	if !ok {
		return "", fmt.Errorf("internal: no resource for kind %s", r.kind)
	}
	if w.skip(r) {
		return write.Created, nil
	}
	opts := write.ApplyOptions{ServerDryRun: w.dryRun, Force: true, OnCreate: func() { w.record(r) }}
	if before, known := w.before[r]; known {
		opts.Before = &before
	}
	_, out, err := write.Apply(ctx, w.client, gvr, u, opts)
	if err != nil {
		return "", fmt.Errorf("apply %s: %w", r, err)
	}
	return out, nil
}

// createIfMissing creates obj unless an object of that name exists, which it
// leaves untouched (a namespace that holds other things, say).
func (w *writer) createIfMissing(ctx context.Context, obj any) (write.Outcome, error) {
	u, err := toUnstructured(obj)
	if err != nil {
		return "", err
	}
	r := ref{u.GetKind(), u.GetNamespace(), u.GetName()}
	ri, err := w.resource(r.kind, r.namespace)
	if err != nil {
		return "", err
	}
	opts := metav1.CreateOptions{FieldManager: write.FieldManager}
	if w.dryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	_, err = ri.Create(ctx, u, opts)
	if apierrors.IsAlreadyExists(err) {
		return write.Unchanged, nil
	}
	if err != nil {
		return "", fmt.Errorf("create %s: %w", r, err)
	}
	if !w.dryRun {
		w.record(r)
	}
	return write.Created, nil
}

// rollback deletes, newest first, what this writer created, and returns
// what it could not delete. It uses a fresh context: the one that failed may
// be cancelled (Ctrl-C) or out of time. A namespace it deletes is waited for
// until it is gone, so that joining again at once finds no Terminating
// namespace in its way.
func (w *writer) rollback() (left []ref, errs []error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	ctx, cancel := context.WithTimeout(context.Background(), rollbackTimeout)
	defer cancel()
	for i := len(w.created) - 1; i >= 0; i-- {
		r := w.created[i]
		ri, err := w.resource(r.kind, r.namespace)
		if err == nil {
			err = ri.Delete(ctx, r.name, metav1.DeleteOptions{})
		}
		if err != nil && !apierrors.IsNotFound(err) {
			left = append(left, r)
			errs = append(errs, fmt.Errorf("delete %s: %w", r, err))
			continue
		}
		if r.kind == "Namespace" && err == nil {
			_ = wait.PollUntilContextCancel(ctx, 200*time.Millisecond, true, func(ctx context.Context) (bool, error) {
				_, err := ri.Get(ctx, r.name, metav1.GetOptions{})
				return apierrors.IsNotFound(err), nil
			})
		}
	}
	w.created = nil
	return left, errs
}
