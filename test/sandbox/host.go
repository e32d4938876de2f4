package sandbox

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/util/wait"
	yamlutil "k8s.io/apimachinery/pkg/util/yaml"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/restmapper"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// KubeFedNamespace is where KubeFed's control plane lives on the host.
const KubeFedNamespace = "kube-federation-system"

var crdGVR = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}

// setUpHost installs KubeFed's CRDs, its namespace and KubeFedConfig, and
// OpenMCP's CRDs and namespace on the host.
func (f *Federation) setUpHost(ctx context.Context) error {
	h := f.Host
	if err := h.applyFile(ctx, dataDir()+"/kubefed-crds.yaml"); err != nil {
		return fmt.Errorf("KubeFed CRDs: %w", err)
	}
	for _, crd := range openmcpapi.CRDs() {
		obj, err := runtime.DefaultUnstructuredConverter.ToUnstructured(crd)
		if err != nil {
			return err
		}
		if err := h.apply(ctx, &unstructured.Unstructured{Object: obj}); err != nil {
			return fmt.Errorf("OpenMCP CRD %s: %w", crd.Name, err)
		}
	}
	for _, ns := range []string{KubeFedNamespace, openmcpapi.Namespace} {
		if err := h.EnsureNamespace(ctx, ns); err != nil {
			return err
		}
	}
	if err := h.WaitCRDsEstablished(ctx); err != nil {
		return err
	}
	kubefedConfig := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "core.kubefed.io/v1beta1",
		"kind":       "KubeFedConfig",
		"metadata":   map[string]any{"name": "kubefed", "namespace": KubeFedNamespace},
		"spec": map[string]any{
			"scope": "Cluster",
			"controllerDuration": map[string]any{
				"availableDelay": "20s", "unavailableDelay": "60s", "cacheSyncTimeout": "5m",
			},
			// KubeFed v0.10.0 accepts only configmaps or endpoints here.
			"leaderElect": map[string]any{
				"leaseDuration": "15s", "renewDeadline": "10s", "retryPeriod": "5s", "resourceLock": "configmaps",
			},
			// Checked every 2 s, so a joined cluster turns Ready within seconds.
			"clusterHealthCheck": map[string]any{
				"period": "2s", "failureThreshold": int64(3), "successThreshold": int64(1), "timeout": "3s",
			},
			"syncController":   map[string]any{"maxConcurrentReconciles": int64(2), "adoptResources": "Enabled"},
			"statusController": map[string]any{"maxConcurrentReconciles": int64(1)},
			"featureGates": []any{
				map[string]any{"name": "PushReconciler", "configuration": "Enabled"},
				map[string]any{"name": "SchedulerPreferences", "configuration": "Enabled"},
			},
		},
	}}
	return h.apply(ctx, kubefedConfig)
}

// EnsureNamespace creates a namespace if it is missing.
func (c *Cluster) EnsureNamespace(ctx context.Context, name string) error {
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	return err
}

// WaitCRDsEstablished waits until every CRD of the cluster is served.
func (c *Cluster) WaitCRDsEstablished(ctx context.Context) error {
	return wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		list, err := c.Dynamic.Resource(crdGVR).List(ctx, metav1.ListOptions{})
		if err != nil {
			return false, nil
		}
		for _, crd := range list.Items {
			conds, _, _ := unstructured.NestedSlice(crd.Object, "status", "conditions")
			established := false
			for _, cond := range conds {
				m, _ := cond.(map[string]any)
				if m["type"] == "Established" && m["status"] == "True" {
					established = true
				}
			}
			if !established {
				return false, nil
			}
		}
		return true, nil
	})
}

// ApplyFile creates (or leaves) every object of a multi-document YAML file.
func (c *Cluster) ApplyFile(ctx context.Context, path string) error {
	if err := c.applyFile(ctx, path); err != nil {
		return err
	}
	return c.WaitCRDsEstablished(ctx)
}

func (c *Cluster) applyFile(ctx context.Context, path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("%w (run `make tools`)", err)
	}
	dec := yamlutil.NewYAMLOrJSONDecoder(bytes.NewReader(data), 4096)
	for {
		var obj map[string]any
		if err := dec.Decode(&obj); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if len(obj) == 0 {
			continue
		}
		if err := c.apply(ctx, &unstructured.Unstructured{Object: obj}); err != nil {
			return err
		}
	}
}

// apply creates an object, mapping its kind through discovery.
func (c *Cluster) apply(ctx context.Context, obj *unstructured.Unstructured) error {
	gvk := obj.GroupVersionKind()
	var gvr schema.GroupVersionResource
	namespaced := true
	if gvk.Kind == "CustomResourceDefinition" {
		gvr, namespaced = crdGVR, false
	} else {
		mapper := restmapper.NewDeferredDiscoveryRESTMapper(memory.NewMemCacheClient(c.Client.Discovery()))
		m, err := mapper.RESTMapping(gvk.GroupKind(), gvk.Version)
		if err != nil {
			return fmt.Errorf("%s: %w", gvk, err)
		}
		gvr, namespaced = m.Resource, m.Scope.Name() == meta.RESTScopeNameNamespace
	}
	var err error
	if namespaced {
		_, err = c.Dynamic.Resource(gvr).Namespace(obj.GetNamespace()).Create(ctx, obj, metav1.CreateOptions{})
	} else {
		_, err = c.Dynamic.Resource(gvr).Create(ctx, obj, metav1.CreateOptions{})
	}
	if apierrors.IsAlreadyExists(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("create %s %s: %w", gvk.Kind, obj.GetName(), err)
	}
	return nil
}

// JoinForTest registers a member on the host the way kubefedctl join does,
// without the plugin's join command: for tests of other commands that need a
// joined member. The member's service account gets cluster-admin.
func (f *Federation) JoinForTest(t TB, name string) {
	t.Helper()
	if err := f.joinForTest(context.Background(), name); err != nil {
		t.Fatalf("join %s for test: %v", name, err)
	}
}

func (f *Federation) joinForTest(ctx context.Context, name string) error {
	m := f.Member(name)
	if m == nil {
		return fmt.Errorf("no member %q", name)
	}
	if err := m.EnsureNamespace(ctx, KubeFedNamespace); err != nil {
		return err
	}
	sa := name + "-" + HostName
	_, err := m.Client.CoreV1().ServiceAccounts(KubeFedNamespace).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: sa}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = m.Client.RbacV1().ClusterRoleBindings().Create(ctx, &rbacv1.ClusterRoleBinding{
		ObjectMeta: metav1.ObjectMeta{Name: "test-kubefed-" + sa},
		RoleRef:    rbacv1.RoleRef{APIGroup: "rbac.authorization.k8s.io", Kind: "ClusterRole", Name: "cluster-admin"},
		Subjects:   []rbacv1.Subject{{Kind: "ServiceAccount", Name: sa, Namespace: KubeFedNamespace}},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	_, err = m.Client.CoreV1().Secrets(KubeFedNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: sa + "-token", Annotations: map[string]string{corev1.ServiceAccountNameKey: sa}},
		Type:       corev1.SecretTypeServiceAccountToken,
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	var token []byte
	err = wait.PollUntilContextTimeout(ctx, 100*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		s, err := m.Client.CoreV1().Secrets(KubeFedNamespace).Get(ctx, sa+"-token", metav1.GetOptions{})
		if err != nil {
			return false, err
		}
		token = s.Data["token"]
		return len(token) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("token controller did not fill %s-token: %w", sa, err)
	}
	_, err = f.Host.Client.CoreV1().Secrets(KubeFedNamespace).Create(ctx, &corev1.Secret{
		ObjectMeta: metav1.ObjectMeta{Name: name + "-test-token"},
		Data:       map[string][]byte{"token": token},
	}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return err
	}
	return f.Host.apply(ctx, &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "core.kubefed.io/v1beta1",
		"kind":       "KubeFedCluster",
		"metadata":   map[string]any{"name": name, "namespace": KubeFedNamespace},
		"spec": map[string]any{
			"apiEndpoint": m.Server,
			"caBundle":    base64.StdEncoding.EncodeToString(m.CACert),
			"secretRef":   map[string]any{"name": name + "-test-token"},
		},
	}})
}
