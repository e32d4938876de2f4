// Package federation joins member clusters to a KubeFed host and unjoins
// them, from the user's own kubeconfig contexts: the user's credentials create
// a service account on the member, and only that account's token goes to the
// host. It replaces omcpctl's NFS-based join and kubefedctl join.
package federation

import (
	"fmt"
	"regexp"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

const (
	// ClusterLabel names, on every member object join creates, the cluster it was made for.
	ClusterLabel = "openmcp.k8s.io/joined-cluster"
	// CreatedNamespaceAnnotation marks a member namespace that join created,
	// so unjoin deletes only a namespace it made.
	CreatedNamespaceAnnotation = "openmcp.k8s.io/created-by-join"
	// RedactedToken stands for the token in --dry-run output.
	RedactedToken = "<redacted>"
)

// Names are the names of the objects a join creates, derived from the
// cluster and host names the way kubefedctl derives them, so a cluster joined
// by kubefedctl and re-joined here ends up with one set of objects.
type Names struct {
	Cluster        string // KubeFedCluster name
	ServiceAccount string // on the member
	TokenSecret    string // on the member
	Role           string // ClusterRole/Role and bindings on the member
	HealthRole     string // ClusterRole for /healthz in Namespaced scope
	HostSecret     string // on the host, referenced by the KubeFedCluster
}

// NamesFor derives the object names for a cluster joined to a host.
func NamesFor(cluster, host string) Names {
	sa := dnsLabel(cluster + "-" + host)
	return Names{
		Cluster:        cluster,
		ServiceAccount: sa,
		TokenSecret:    dnsLabel(sa + "-token"),
		Role:           "kubefed-controller-manager:" + sa,
		HealthRole:     "kubefed-controller-manager:" + sa + ":healthcheck",
		HostSecret:     dnsLabel(cluster + "-kubefed-token"),
	}
}

var notLabel = regexp.MustCompile(`[^a-z0-9-]+`)

// dnsLabel turns a context name (which may hold '@', ':', '/' or capitals,
// as EKS and kubeadm contexts do) into a valid object name.
func dnsLabel(s string) string {
	s = notLabel.ReplaceAllString(strings.ToLower(s), "-")
	if len(s) > 63 {
		s = s[:63]
	}
	return strings.Trim(s, "-")
}

func joinLabels(cluster string) map[string]string {
	return map[string]string{fleet.ManagedByLabel: fleet.ManagedByValue, ClusterLabel: cluster}
}

func typeMeta(apiVersion, kind string) metav1.TypeMeta {
	return metav1.TypeMeta{APIVersion: apiVersion, Kind: kind}
}

// memberObjects are what join writes on the member, in creation order.
func memberObjects(n Names, ns string, scope string, createNamespace bool) (namespace *corev1.Namespace, sa *corev1.ServiceAccount, secret *corev1.Secret, rbac []any) {
	l := joinLabels(n.Cluster)
	if createNamespace {
		namespace = &corev1.Namespace{TypeMeta: typeMeta("v1", "Namespace"), ObjectMeta: metav1.ObjectMeta{
			Name: ns, Labels: l, Annotations: map[string]string{CreatedNamespaceAnnotation: "true"},
		}}
	}
	sa = &corev1.ServiceAccount{TypeMeta: typeMeta("v1", "ServiceAccount"), ObjectMeta: metav1.ObjectMeta{Name: n.ServiceAccount, Namespace: ns, Labels: l}}
	secret = &corev1.Secret{
		TypeMeta: typeMeta("v1", "Secret"),
		ObjectMeta: metav1.ObjectMeta{Name: n.TokenSecret, Namespace: ns, Labels: l,
			Annotations: map[string]string{corev1.ServiceAccountNameKey: n.ServiceAccount}},
		// Since Kubernetes 1.24 service accounts get no token Secret of their own;
		// a long-lived token is asked for with a Secret of this type.
		Type: corev1.SecretTypeServiceAccountToken,
	}
	subject := []rbacv1.Subject{{Kind: "ServiceAccount", Name: n.ServiceAccount, Namespace: ns}}
	all := []rbacv1.PolicyRule{{APIGroups: []string{rbacv1.APIGroupAll}, Resources: []string{rbacv1.ResourceAll}, Verbs: []string{rbacv1.VerbAll}}}
	health := []rbacv1.PolicyRule{{NonResourceURLs: []string{"/healthz"}, Verbs: []string{"get"}}}
	if scope == "Namespaced" {
		// KubeFed limited to its namespace needs everything there and only the
		// health check cluster-wide.
		rbac = []any{
			&rbacv1.Role{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "Role"), ObjectMeta: metav1.ObjectMeta{Name: n.Role, Namespace: ns, Labels: l}, Rules: all},
			&rbacv1.RoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "RoleBinding"), ObjectMeta: metav1.ObjectMeta{Name: n.Role, Namespace: ns, Labels: l},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: n.Role}, Subjects: subject},
			&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: metav1.ObjectMeta{Name: n.HealthRole, Labels: l}, Rules: health},
			&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: metav1.ObjectMeta{Name: n.HealthRole, Labels: l},
				RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: n.HealthRole}, Subjects: subject},
		}
		return
	}
	// Cluster scope: KubeFed propagates any type into any namespace, which is
	// what kubefedctl grants too; /healthz is covered by the non-resource rule.
	rules := append(all, rbacv1.PolicyRule{NonResourceURLs: []string{rbacv1.NonResourceAll}, Verbs: []string{"get"}})
	rbac = []any{
		&rbacv1.ClusterRole{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRole"), ObjectMeta: metav1.ObjectMeta{Name: n.Role, Labels: l}, Rules: rules},
		&rbacv1.ClusterRoleBinding{TypeMeta: typeMeta("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"), ObjectMeta: metav1.ObjectMeta{Name: n.Role, Labels: l},
			RoleRef: rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "ClusterRole", Name: n.Role}, Subjects: subject},
	}
	return
}

// Endpoint is what the host needs to reach a member.
type Endpoint struct {
	APIEndpoint string
	CABundle    []byte
	Insecure    bool // the context skips TLS verification
	ProxyURL    string
}

// hostObjects are what join writes on the host.
func hostObjects(n Names, ns, contextName string, ep Endpoint, token []byte, extraLabels map[string]string) (*corev1.Secret, *unstructured.Unstructured) {
	secret := &corev1.Secret{
		TypeMeta:   typeMeta("v1", "Secret"),
		ObjectMeta: metav1.ObjectMeta{Name: n.HostSecret, Namespace: ns, Labels: joinLabels(n.Cluster)},
		Type:       corev1.SecretTypeOpaque,
		Data:       map[string][]byte{"token": token},
	}
	kfcLabels := map[string]any{fleet.ManagedByLabel: fleet.ManagedByValue}
	for k, v := range extraLabels {
		kfcLabels[k] = v
	}
	spec := map[string]any{
		"apiEndpoint": ep.APIEndpoint,
		"secretRef":   map[string]any{"name": n.HostSecret},
	}
	if len(ep.CABundle) > 0 {
		spec["caBundle"] = base64Std(ep.CABundle)
	}
	if ep.Insecure {
		spec["disabledTLSValidations"] = []any{"*"}
	}
	if ep.ProxyURL != "" {
		spec["proxyURL"] = ep.ProxyURL
	}
	kfc := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "core.kubefed.io/v1beta1",
		"kind":       "KubeFedCluster",
		"metadata": map[string]any{
			"name": n.Cluster, "namespace": ns, "labels": kfcLabels,
			"annotations": map[string]any{fleet.ContextAnnotation: contextName},
		},
		"spec": spec,
	}}
	return secret, kfc
}

func describe(kind, ns, name string) string {
	if ns == "" {
		return fmt.Sprintf("%s %s", kind, name)
	}
	return fmt.Sprintf("%s %s/%s", kind, ns, name)
}
