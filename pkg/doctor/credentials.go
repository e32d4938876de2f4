package doctor

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"

	authenticationv1 "k8s.io/api/authentication/v1"
	authorizationv1 "k8s.io/api/authorization/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// checkCredentials checks, for every member, what KubeFed itself holds for
// it, since that is what goes bad silently after a join (a member's
// ServiceAccount or its token Secret deleted, its RBAC removed, its CA
// rotated): the KubeFedCluster stays, KubeFed only says NotReady. Four
// lines per member, reached the way KubeFed reaches it (the
// KubeFedCluster's apiEndpoint, caBundle and proxyURL, the token of its
// secretRef), never with the user's own credentials:
//
//	endpoint NAME  not loopback or link-local
//	CA NAME        the caBundle verifies the endpoint's serving certificate
//	token NAME     the token still authenticates (a SelfSubjectReview)
//	RBAC NAME      it still has what join grants (SelfSubjectAccessReviews)
func (d *Doctor) checkCredentials(ctx context.Context, emit func(Finding)) {
	members, err := fleet.ListMembers(ctx, d.Dynamic, d.KubeFedNamespace, nil)
	if err != nil || len(members) == 0 {
		return // checkMembers has said so
	}
	scope := "Cluster"
	if kfc, err := d.Dynamic.Resource(kubeFedConfigGVR).Namespace(d.KubeFedNamespace).Get(ctx, KubeFedConfigName, metav1.GetOptions{}); err == nil {
		if s, _, _ := unstructured.NestedString(kfc.Object, "spec", "scope"); s == "Namespaced" {
			scope = s
		}
	}
	names := make([]string, len(members))
	byName := map[string]fleet.Member{}
	for i, m := range members {
		names[i] = m.Name
		byName[m.Name] = m
	}
	results := fleet.FanOut(ctx, names, 8, d.timeout(), func(ctx context.Context, name string) ([]Finding, error) {
		return d.memberCredentials(ctx, byName[name], scope), nil
	})
	for _, r := range results {
		if r.Err != nil {
			for _, item := range []string{"CA ", "token ", "RBAC "} {
				emit(Finding{CheckWarn, item + r.Cluster, fmt.Sprintf("not checked: %v", r.Err)})
			}
			continue
		}
		for _, f := range r.Value {
			emit(f)
		}
	}
}

// memberCredentials is one member's four findings, in order.
func (d *Doctor) memberCredentials(ctx context.Context, m fleet.Member, scope string) []Finding {
	spec := m.Cluster.Spec
	rejoin := fmt.Sprintf("join %s again (kubectl openmcp join CONTEXT --cluster-name %s)", m.Name, m.Name)
	endpoint := strings.TrimRight(spec.APIEndpoint, "/")
	if endpoint != "" && !strings.Contains(endpoint, "://") {
		endpoint = "https://" + endpoint // KubeFed's default, as client-go's
	}
	out := []Finding{endpointFinding(m.Name, endpoint)}
	caItem, tokenItem, rbacItem := "CA "+m.Name, "token "+m.Name, "RBAC "+m.Name
	notChecked := func(why string) []Finding {
		return append(out, Finding{CheckWarn, tokenItem, "not checked: " + why}, Finding{CheckWarn, rbacItem, "not checked: " + why})
	}

	cfg := &rest.Config{Host: endpoint, Timeout: d.timeout()}
	if spec.ProxyURL != "" {
		if u, err := url.Parse(spec.ProxyURL); err == nil {
			cfg.Proxy = http.ProxyURL(u)
		}
	}
	insecure := false
	for _, v := range spec.DisabledTLSValidations {
		if v == "*" {
			insecure = true
		}
	}
	switch {
	case endpoint == "":
		out = append(out, Finding{CheckFail, caItem, "KubeFedCluster has no apiEndpoint: " + rejoin})
		return notChecked("no apiEndpoint")
	case insecure:
		cfg.Insecure = true
		out = append(out, Finding{CheckWarn, caItem, "TLS validation is disabled (disabledTLSValidations: [\"*\"]): KubeFed does not check the member's identity; join again from a context that verifies TLS"})
	default:
		cfg.CAData = spec.CABundle
		f, reachable := probeTLS(ctx, cfg, caItem, endpoint, len(spec.CABundle) > 0, rejoin)
		out = append(out, f)
		if f.Status == CheckFail {
			// The token is never sent to a server whose certificate did not verify.
			return notChecked("the endpoint's certificate did not verify, and the token is not sent to an unverified server")
		}
		if !reachable {
			return notChecked(endpoint + " does not answer from this machine")
		}
	}

	// The token: reading the host's Secret is a permission many users lack.
	ref := spec.SecretRef.Name
	secret, err := d.Kube.CoreV1().Secrets(d.KubeFedNamespace).Get(ctx, ref, metav1.GetOptions{})
	switch {
	case ref == "":
		out = append(out, Finding{CheckFail, tokenItem, "KubeFedCluster names no secretRef: " + rejoin})
		return append(out, Finding{CheckWarn, rbacItem, "not checked: no token"})
	case apierrors.IsForbidden(err):
		return notChecked(fmt.Sprintf("you may not read Secret %s/%s on the host (needs get secrets in %s): KubeFed's token for %s is not checked", d.KubeFedNamespace, ref, d.KubeFedNamespace, m.Name))
	case apierrors.IsNotFound(err):
		out = append(out, Finding{CheckFail, tokenItem, fmt.Sprintf("Secret %s/%s, which KubeFedCluster %s names, does not exist: %s", d.KubeFedNamespace, ref, m.Name, rejoin)})
		return append(out, Finding{CheckWarn, rbacItem, "not checked: no token"})
	case err != nil:
		return notChecked(fmt.Sprintf("cannot read Secret %s/%s on the host: %v", d.KubeFedNamespace, ref, oneLineErr(err)))
	case len(secret.Data["token"]) == 0:
		out = append(out, Finding{CheckFail, tokenItem, fmt.Sprintf("Secret %s/%s holds no token: %s", d.KubeFedNamespace, ref, rejoin)})
		return append(out, Finding{CheckWarn, rbacItem, "not checked: no token"})
	}
	cfg.BearerToken = string(secret.Data["token"])
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return notChecked(oneLineErr(err))
	}
	revoked := func() []Finding {
		out = append(out, Finding{CheckFail, tokenItem, fmt.Sprintf("the token KubeFed holds for %s no longer authenticates at %s (401 Unauthorized: its ServiceAccount or token Secret on the member was deleted?): %s", m.Name, endpoint, rejoin)})
		return append(out, Finding{CheckWarn, rbacItem, "not checked: the token is not valid"})
	}
	user := ""
	ssr, err := client.AuthenticationV1().SelfSubjectReviews().Create(ctx, &authenticationv1.SelfSubjectReview{}, metav1.CreateOptions{})
	switch {
	case apierrors.IsUnauthorized(err):
		return revoked()
	case err == nil:
		user = ssr.Status.UserInfo.Username
	case apierrors.IsNotFound(err), apierrors.IsForbidden(err), apierrors.IsMethodNotSupported(err):
		// Kubernetes < 1.28 serves no v1 SelfSubjectReview, or an admin
		// took it away: the access reviews below still prove the token.
	default:
		return notChecked(fmt.Sprintf("SelfSubjectReview at %s: %v", endpoint, oneLineErr(err)))
	}

	missing, err := missingPermissions(ctx, client, d.KubeFedNamespace, scope)
	if apierrors.IsUnauthorized(err) {
		return revoked()
	}
	if user != "" {
		out = append(out, Finding{CheckOK, tokenItem, "authenticates at " + endpoint + " as " + user})
	} else {
		out = append(out, Finding{CheckOK, tokenItem, "authenticates at " + endpoint})
	}
	switch {
	case err != nil:
		out = append(out, Finding{CheckWarn, rbacItem, fmt.Sprintf("not checked: SelfSubjectAccessReview at %s: %v", endpoint, oneLineErr(err))})
	case len(missing) > 0:
		binding := "the ClusterRoleBinding"
		if scope == "Namespaced" {
			binding = "the RoleBinding in " + d.KubeFedNamespace + " or the /healthz ClusterRoleBinding"
		}
		if sa, ok := strings.CutPrefix(user, "system:serviceaccount:"+d.KubeFedNamespace+":"); ok {
			binding += " kubefed-controller-manager:" + sa
		}
		out = append(out, Finding{CheckFail, rbacItem, fmt.Sprintf("the token lacks what join grants KubeFed: %s (%s on the member removed or changed?): %s", strings.Join(missing, ", "), binding, rejoin)})
	default:
		what := "* on * cluster-wide"
		if scope == "Namespaced" {
			what = "* on * in " + d.KubeFedNamespace + ", get /healthz"
		}
		out = append(out, Finding{CheckOK, rbacItem, "has what join grants KubeFed (" + what + ")"})
	}
	return out
}

// endpointFinding warns about an endpoint that only one machine can reach,
// or that carries the token in clear text.
func endpointFinding(name, endpoint string) Finding {
	item := "endpoint " + name
	if kind, local := fleet.LocalOnlyEndpoint(endpoint); local {
		return Finding{CheckWarn, item, fmt.Sprintf("%s is a %s address: only a KubeFed controller on the machine that ran join reaches it (from a pod it is the pod itself); join again with --api-endpoint https://ADDRESS-KUBEFED-REACHES", endpoint, kind)}
	}
	if strings.HasPrefix(endpoint, "http://") {
		return Finding{CheckWarn, item, endpoint + " is plain HTTP: KubeFed's token travels unencrypted; join again with an https --api-endpoint"}
	}
	return Finding{CheckOK, item, endpoint}
}

// probeTLS makes a request without credentials: any HTTP answer (401
// included) means the CA bundle verified the serving certificate.
func probeTLS(ctx context.Context, cfg *rest.Config, item, endpoint string, hasCA bool, rejoin string) (f Finding, reachable bool) {
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return Finding{CheckWarn, item, fmt.Sprintf("not checked: %v", oneLineErr(err))}, false
	}
	err = client.Discovery().RESTClient().Get().AbsPath("/version").Do(ctx).Error()
	var status apierrors.APIStatus
	if err == nil || errors.As(err, &status) {
		if !hasCA {
			return Finding{CheckOK, item, "no caBundle: the system's CAs verify " + endpoint}, true
		}
		return Finding{CheckOK, item, "caBundle verifies the certificate served at " + endpoint}, true
	}
	if why := certificateProblem(err); why != "" {
		what := "caBundle"
		if !hasCA {
			what = "no caBundle, and the system's CAs"
		}
		return Finding{CheckFail, item, fmt.Sprintf("KubeFed cannot trust %s: %s does not verify its certificate (%s): %s", endpoint, what, why, rejoin)}, true
	}
	return Finding{CheckWarn, item, fmt.Sprintf("not checked: %s does not answer from this machine (%s)", endpoint, oneLineErr(err))}, false
}

// certificateProblem names a TLS verification failure, or "" for other errors.
func certificateProblem(err error) string {
	var unknown x509.UnknownAuthorityError
	var hostname x509.HostnameError
	var invalid x509.CertificateInvalidError
	var verify *tls.CertificateVerificationError
	switch {
	case errors.As(err, &unknown):
		return "signed by an authority the bundle does not hold"
	case errors.As(err, &hostname):
		return "it is not valid for " + hostname.Host
	case errors.As(err, &invalid):
		return "invalid: " + invalid.Error()
	case errors.As(err, &verify):
		return oneLineErr(verify.Err)
	case strings.Contains(err.Error(), "x509:"):
		return "x509 verification failed"
	}
	return ""
}

// missingPermissions asks, as the token, for what join grants KubeFed.
func missingPermissions(ctx context.Context, client kubernetes.Interface, ns, scope string) ([]string, error) {
	all := &authorizationv1.ResourceAttributes{Verb: "*", Group: "*", Resource: "*"}
	allText := "* on * cluster-wide"
	if scope == "Namespaced" {
		all.Namespace = ns
		allText = "* on * in namespace " + ns
	}
	reviews := []struct {
		text string
		spec authorizationv1.SelfSubjectAccessReviewSpec
	}{
		{allText, authorizationv1.SelfSubjectAccessReviewSpec{ResourceAttributes: all}},
		{"get /healthz", authorizationv1.SelfSubjectAccessReviewSpec{NonResourceAttributes: &authorizationv1.NonResourceAttributes{Verb: "get", Path: "/healthz"}}},
	}
	var missing []string
	for _, r := range reviews {
		res, err := client.AuthorizationV1().SelfSubjectAccessReviews().Create(ctx, &authorizationv1.SelfSubjectAccessReview{Spec: r.spec}, metav1.CreateOptions{})
		if err != nil {
			return nil, err
		}
		if !res.Status.Allowed {
			missing = append(missing, r.text)
		}
	}
	return missing, nil
}

func oneLineErr(err error) string {
	return strings.Join(strings.Fields(err.Error()), " ")
}
