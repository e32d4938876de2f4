package kubeconfig

import (
	"fmt"
	"net/url"
	"reflect"
	"strings"

	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// SafeFields are the only fields a kubeconfig from the MCKS API may set
// without --allow-unsafe-fields: inline data, which names a server and
// proves an identity and nothing more. Everything else a kubeconfig can
// hold acts on the user's machine or weakens TLS once kubectl uses it: exec
// and auth-provider run commands or refresh tokens; certificate-authority,
// client-certificate, client-key and tokenFile read local files;
// proxy-url sends the admin key through another host;
// insecure-skip-tls-verify and tls-server-name change whose certificate is
// accepted; as/as-groups/as-uid/as-user-extra impersonate; username and
// password, extensions and the rest are not what MCKS writes. An MCKS
// server that sets them is spoofed, compromised or not MCKS.
var SafeFields = []string{"server (https)", "certificate-authority-data", "client-certificate-data", "client-key-data", "token"}

// v1Names are the kubeconfig (v1) names of fields whose Go json tag differs.
var v1Names = map[string]string{
	"Impersonate":          "as",
	"ImpersonateUID":       "as-uid",
	"ImpersonateGroups":    "as-groups",
	"ImpersonateUserExtra": "as-user-extra",
}

// UnsafeFields lists, as `user "c1-admin": exec`, every field of cfg's
// clusters, users and contexts that is not in SafeFields, and a server that
// is not an https URL. A context's cluster, user and namespace are safe. The
// check is by what is allowed, so a field client-go adds later is refused
// until it is known to be harmless.
func UnsafeFields(cfg *clientcmdapi.Config) []string {
	var out []string
	for _, n := range sortedKeys(cfg.Clusters) {
		c := cfg.Clusters[n].DeepCopy()
		if problem := serverProblem(c.Server); problem != "" {
			out = append(out, fmt.Sprintf("cluster %q: server %s", n, problem))
		}
		c.LocationOfOrigin, c.Server, c.CertificateAuthorityData = "", "", nil
		out = append(out, setFields("cluster", n, c)...)
	}
	for _, n := range sortedKeys(cfg.AuthInfos) {
		u := cfg.AuthInfos[n].DeepCopy()
		u.LocationOfOrigin, u.ClientCertificateData, u.ClientKeyData, u.Token = "", nil, nil, ""
		out = append(out, setFields("user", n, u)...)
	}
	for _, n := range sortedKeys(cfg.Contexts) {
		c := cfg.Contexts[n].DeepCopy()
		c.LocationOfOrigin, c.Cluster, c.AuthInfo, c.Namespace = "", "", "", ""
		out = append(out, setFields("context", n, c)...)
	}
	return out
}

// serverProblem says why a server URL is not a plain https://HOST[:PORT][/PATH].
func serverProblem(s string) string {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Host == "":
		return fmt.Sprintf("%q is not a URL", s)
	case u.Scheme != "https":
		return fmt.Sprintf("%q is not https (the admin key would travel unencrypted or elsewhere)", s)
	case u.User != nil:
		return "holds a user name or password"
	}
	return ""
}

// setFields names the non-zero fields of a cleared entry by their kubeconfig names.
func setFields(kind, name string, entry any) []string {
	v := reflect.ValueOf(entry).Elem()
	var out []string
	for i := 0; i < v.NumField(); i++ {
		fv := v.Field(i)
		if fv.IsZero() || (fv.Kind() == reflect.Map || fv.Kind() == reflect.Slice) && fv.Len() == 0 {
			continue // clientcmd.Load gives every entry an empty extensions map
		}
		f := v.Type().Field(i)
		field := v1Names[f.Name]
		if field == "" {
			field, _, _ = strings.Cut(f.Tag.Get("json"), ",")
		}
		if field == "" || field == "-" {
			field = f.Name
		}
		out = append(out, fmt.Sprintf("%s %q: %s", kind, name, field))
	}
	return out
}

// UnsafeError refuses a kubeconfig that sets UnsafeFields.
type UnsafeError struct {
	Cluster string
	Fields  []string
}

func (e *UnsafeError) Error() string {
	return fmt.Sprintf("the kubeconfig of MCKS cluster %q sets %s, which a kubeconfig from the MCKS API may not set (accepted: %s); nothing was written: inspect it with --dry-run -o yaml and pass --allow-unsafe-fields to accept it",
		e.Cluster, strings.Join(e.Fields, ", "), strings.Join(SafeFields, ", "))
}
