package federation

import (
	"context"
	"errors"
	"fmt"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/kubernetes"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/write"
)

// UnjoinRequest is one cluster to remove from the federation.
type UnjoinRequest struct {
	Host             *Cluster
	Member           *Cluster // nil when the kubeconfig has no context for it
	ClusterName      string
	KubeFedNamespace string
	// Force removes the host side even when the member cannot be reached.
	Force  bool
	DryRun bool // server-side dry run: say what would go, remove nothing
	// Wait waits until the objects are really gone (namespace finalizers).
	Wait time.Duration
}

// UnjoinResult lists what was (or would be) removed, and what was kept.
type UnjoinResult struct {
	Steps    []Step
	Warnings []string
}

// Unjoin removes exactly what join created: the KubeFedCluster and its Secret
// on the host; the RBAC, ServiceAccount and token Secret on the member; the
// member namespace if join created it and nothing else lives there.
func Unjoin(ctx context.Context, req UnjoinRequest) (*UnjoinResult, error) {
	res := &UnjoinResult{}
	ns := req.KubeFedNamespace
	kfcs := req.Host.Dynamic.Resource(fleet.KubeFedClusters).Namespace(ns)
	kfc, err := kfcs.Get(ctx, req.ClusterName, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return res, fmt.Errorf("cluster %q is not joined: no KubeFedCluster %s/%s on host %q", req.ClusterName, ns, req.ClusterName, req.Host.Context)
	}
	if err != nil {
		return res, &StepError{"host: read KubeFedCluster", err}
	}
	endpoint, _, _ := unstructured.NestedString(kfc.Object, "spec", "apiEndpoint")
	// Check the member before removing anything, so a member that is merely
	// unreachable does not end up half-unjoined.
	memberOK := req.Member != nil
	if memberOK {
		if _, err := req.Member.Client.Discovery().ServerVersion(); err != nil {
			memberOK = false
			if !req.Force {
				return res, &StepError{"check member", fmt.Errorf("member context %q does not answer (%v): pass --force to remove only the host side", req.Member.Context, err)}
			}
		}
	} else if !req.Force {
		return res, &StepError{"check member", fmt.Errorf("no kubeconfig context reaches cluster %q (endpoint %s): pass --force to remove only the host side", req.ClusterName, endpoint)}
	}
	opts := metav1.DeleteOptions{}
	if req.DryRun {
		opts.DryRun = []string{metav1.DryRunAll}
	}
	if memberOK {
		if err := unjoinMember(ctx, req, res, endpoint, opts); err != nil {
			return res, err
		}
	} else {
		res.Warnings = append(res.Warnings, fmt.Sprintf("member %q not reached: its service account, RBAC and namespace are left on it", req.ClusterName))
	}
	if secret, _, _ := unstructured.NestedString(kfc.Object, "spec", "secretRef", "name"); secret != "" {
		err := req.Host.Client.CoreV1().Secrets(ns).Delete(ctx, secret, opts)
		if err != nil && !apierrors.IsNotFound(err) {
			return res, &StepError{"host: delete Secret " + secret, err}
		}
		res.Steps = append(res.Steps, Step{Cluster: "host", Object: describe("Secret", ns, secret), Outcome: write.Deleted})
	}
	if err := kfcs.Delete(ctx, req.ClusterName, opts); err != nil && !apierrors.IsNotFound(err) {
		return res, &StepError{"host: delete KubeFedCluster", err}
	}
	res.Steps = append(res.Steps, Step{Cluster: "host", Object: describe("KubeFedCluster", ns, req.ClusterName), Outcome: write.Deleted})
	if req.Wait > 0 && !req.DryRun {
		err := wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, req.Wait, true, func(ctx context.Context) (bool, error) {
			_, err := kfcs.Get(ctx, req.ClusterName, metav1.GetOptions{})
			if !apierrors.IsNotFound(err) {
				return false, nil
			}
			if memberOK {
				n, err := req.Member.Client.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
				if err == nil && n.Annotations[CreatedNamespaceAnnotation] == "true" && n.DeletionTimestamp != nil {
					return false, nil
				}
			}
			return true, nil
		})
		if errors.Is(ctx.Err(), context.Canceled) {
			return res, fmt.Errorf("interrupted while waiting for cluster %q's objects to go (the deletes were sent): %w", req.ClusterName, context.Canceled)
		}
		if err != nil {
			return res, fmt.Errorf("cluster %q: removal not finished after %s", req.ClusterName, req.Wait)
		}
	}
	return res, nil
}

func unjoinMember(ctx context.Context, req UnjoinRequest, res *UnjoinResult, endpoint string, opts metav1.DeleteOptions) error {
	ns := req.KubeFedNamespace
	c := req.Member.Client
	sel := labels.SelectorFromSet(labels.Set{fleet.ManagedByLabel: fleet.ManagedByValue, ClusterLabel: req.ClusterName}).String()
	// Bindings before roles, secrets before the account: the reverse of join.
	for _, kind := range []struct{ kind, ns string }{
		{"ClusterRoleBinding", ""}, {"ClusterRole", ""}, {"RoleBinding", ns}, {"Role", ns}, {"Secret", ns}, {"ServiceAccount", ns},
	} {
		ri, err := (&writer{client: req.Member.Dynamic}).resource(kind.kind, kind.ns)
		if err != nil {
			return err
		}
		found, err := ri.List(ctx, metav1.ListOptions{LabelSelector: sel})
		if apierrors.IsNotFound(err) {
			continue
		}
		if err != nil {
			return &StepError{"member: list " + kind.kind, err}
		}
		for _, item := range found.Items {
			if err := ri.Delete(ctx, item.GetName(), opts); err != nil && !apierrors.IsNotFound(err) {
				return &StepError{"member: delete " + describe(kind.kind, kind.ns, item.GetName()), err}
			}
			res.Steps = append(res.Steps, Step{Cluster: "member", Object: describe(kind.kind, kind.ns, item.GetName()), Outcome: write.Deleted})
		}
	}
	n, err := c.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return &StepError{"member: read namespace " + ns, err}
	}
	switch {
	case n.Annotations[CreatedNamespaceAnnotation] != "true":
		// Existed before join: not ours to delete.
	case sameServer(req.Host.Config.Host, req.Member.Config.Host) || sameServer(endpoint, req.Host.Config.Host):
		res.Warnings = append(res.Warnings, fmt.Sprintf("namespace %s kept: the member is the host itself", ns))
	default:
		others, err := otherContents(ctx, c, ns, req.DryRun)
		if err != nil {
			return &StepError{"member: inspect namespace " + ns, err}
		}
		if len(others) > 0 {
			res.Warnings = append(res.Warnings, fmt.Sprintf("namespace %s kept on member: it still holds %v", ns, others))
			return nil
		}
		if err := c.CoreV1().Namespaces().Delete(ctx, ns, opts); err != nil && !apierrors.IsNotFound(err) {
			return &StepError{"member: delete namespace " + ns, err}
		}
		res.Steps = append(res.Steps, Step{Cluster: "member", Object: describe("Namespace", "", ns), Outcome: write.Deleted})
	}
	return nil
}

// otherContents lists what a namespace holds besides what Kubernetes puts in
// every namespace (and, in a dry run, besides what unjoin would delete).
func otherContents(ctx context.Context, c kubernetes.Interface, ns string, dryRun bool) ([]string, error) {
	var others []string
	ours := func(l map[string]string) bool { return dryRun && l[fleet.ManagedByLabel] == fleet.ManagedByValue }
	sas, err := c.CoreV1().ServiceAccounts(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range sas.Items {
		if s.Name != "default" && !ours(s.Labels) {
			others = append(others, "serviceaccount/"+s.Name)
		}
	}
	secrets, err := c.CoreV1().Secrets(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range secrets.Items {
		if !ours(s.Labels) && !(s.Type == corev1.SecretTypeServiceAccountToken && s.Annotations[corev1.ServiceAccountNameKey] == "default") {
			others = append(others, "secret/"+s.Name)
		}
	}
	cms, err := c.CoreV1().ConfigMaps(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, m := range cms.Items {
		if m.Name != "kube-root-ca.crt" {
			others = append(others, "configmap/"+m.Name)
		}
	}
	pods, err := c.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, p := range pods.Items {
		others = append(others, "pod/"+p.Name)
	}
	svcs, err := c.CoreV1().Services(ns).List(ctx, metav1.ListOptions{})
	if err != nil {
		return nil, err
	}
	for _, s := range svcs.Items {
		others = append(others, "service/"+s.Name)
	}
	return others, nil
}
