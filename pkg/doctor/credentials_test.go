package doctor

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kubefake "k8s.io/client-go/kubernetes/fake"
	k8stesting "k8s.io/client-go/testing"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
)

// fakeMember answers as an apiserver would to the token "good": a
// SelfSubjectReview, and access reviews allowed when allow is true.
func fakeMember(t *testing.T, allow *bool) (*httptest.Server, []byte) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/version" {
			_, _ = w.Write([]byte(`{"gitVersion":"v1.37.2"}`))
			return
		}
		if r.Header.Get("Authorization") != "Bearer good" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = w.Write([]byte(`{"kind":"Status","apiVersion":"v1","status":"Failure","reason":"Unauthorized","code":401}`))
			return
		}
		w.WriteHeader(http.StatusCreated)
		switch {
		case strings.HasSuffix(r.URL.Path, "/selfsubjectreviews"):
			_, _ = w.Write([]byte(`{"kind":"SelfSubjectReview","apiVersion":"authentication.k8s.io/v1","status":{"userInfo":{"username":"system:serviceaccount:kube-federation-system:c1-openmcp"}}}`))
		case strings.HasSuffix(r.URL.Path, "/selfsubjectaccessreviews"):
			b, _ := json.Marshal(map[string]any{"kind": "SelfSubjectAccessReview", "apiVersion": "authorization.k8s.io/v1", "status": map[string]any{"allowed": *allow}})
			_, _ = w.Write(b)
		}
	}))
	t.Cleanup(srv.Close)
	return srv, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
}

// selfSignedCA is a CA that signed nothing the test servers serve
// (httptest's servers all share one certificate).
func selfSignedCA(t *testing.T) []byte {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "other-ca"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func TestMemberCredentialFindings(t *testing.T) {
	allow := true
	srv, ca := fakeMember(t, &allow)
	otherCA := selfSignedCA(t)
	secret := func(token string) *corev1.Secret {
		return &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: "kube-federation-system", Name: "c1-kubefed-token"}, Data: map[string][]byte{"token": []byte(token)}}
	}
	member := func(ca []byte) fleet.Member {
		return fleet.Member{Name: "c1", Cluster: fedv1b1.KubeFedCluster{Spec: fedv1b1.KubeFedClusterSpec{
			APIEndpoint: srv.URL, CABundle: ca, SecretRef: fedv1b1.LocalSecretReference{Name: "c1-kubefed-token"},
		}}}
	}
	run := func(kube *kubefake.Clientset, m fleet.Member) map[string]Finding {
		d := &Doctor{Kube: kube, KubeFedNamespace: "kube-federation-system", Timeout: 10 * time.Second}
		out := map[string]Finding{}
		for _, f := range d.memberCredentials(context.Background(), m, "Cluster") {
			out[strings.Fields(f.Item)[0]] = f
		}
		if len(out) != 4 {
			t.Fatalf("findings %v", out)
		}
		return out
	}
	is := func(f Finding, status CheckStatus, want string) {
		t.Helper()
		if f.Status != status || !strings.Contains(f.Detail, want) || strings.Contains(f.Detail, "good") && f.Item != "endpoint c1" {
			t.Errorf("%s: %s %q, want %s with %q", f.Item, f.Status, f.Detail, status, want)
		}
	}

	fs := run(kubefake.NewClientset(secret("good")), member(ca))
	is(fs["endpoint"], CheckWarn, "loopback")
	is(fs["CA"], CheckOK, "caBundle verifies")
	is(fs["token"], CheckOK, "system:serviceaccount:kube-federation-system:c1-openmcp")
	is(fs["RBAC"], CheckOK, "* on * cluster-wide")

	fs = run(kubefake.NewClientset(secret("revoked")), member(ca))
	is(fs["token"], CheckFail, "join c1 again")
	is(fs["RBAC"], CheckWarn, "not checked")

	allow = false
	fs = run(kubefake.NewClientset(secret("good")), member(ca))
	is(fs["token"], CheckOK, "authenticates")
	is(fs["RBAC"], CheckFail, "kubefed-controller-manager:c1-openmcp")
	allow = true

	fs = run(kubefake.NewClientset(secret("good")), member(otherCA))
	is(fs["CA"], CheckFail, "does not verify")
	is(fs["token"], CheckWarn, "not sent to an unverified server")

	fs = run(kubefake.NewClientset(), member(ca))
	is(fs["token"], CheckFail, "does not exist")

	forbidden := kubefake.NewClientset(secret("good"))
	forbidden.PrependReactor("get", "secrets", func(k8stesting.Action) (bool, runtime.Object, error) {
		return true, nil, apierrors.NewForbidden(schema.GroupResource{Resource: "secrets"}, "c1-kubefed-token", nil)
	})
	fs = run(forbidden, member(ca))
	is(fs["CA"], CheckOK, "caBundle verifies")
	is(fs["token"], CheckWarn, "may not read Secret kube-federation-system/c1-kubefed-token")
	is(fs["RBAC"], CheckWarn, "not checked")
}
