package fleet

import (
	"context"
	"fmt"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// FederationConfig builds a REST config for a member from what KubeFed keeps
// on the host: the KubeFedCluster's endpoint and CA, and the service-account
// token in its Secret. Only for users who ask for it: it reads a secret on the
// host, and the member then sees KubeFed's identity, not the user's.
func FederationConfig(ctx context.Context, host kubernetes.Interface, namespace string, m Member) (*rest.Config, error) {
	spec := m.Cluster.Spec
	if spec.SecretRef.Name == "" {
		return nil, fmt.Errorf("KubeFedCluster %s names no secret", m.Name)
	}
	s, err := host.CoreV1().Secrets(namespace).Get(ctx, spec.SecretRef.Name, metav1.GetOptions{})
	if err != nil {
		return nil, fmt.Errorf("read the federation's token for %s: %w", m.Name, err)
	}
	token := s.Data["token"]
	if len(token) == 0 {
		return nil, fmt.Errorf("secret %s/%s of cluster %s holds no token", namespace, spec.SecretRef.Name, m.Name)
	}
	cfg := &rest.Config{Host: spec.APIEndpoint, BearerToken: string(token)}
	cfg.CAData = spec.CABundle
	for _, v := range spec.DisabledTLSValidations {
		if v == "*" {
			cfg.Insecure = true
			cfg.CAData = nil
		}
	}
	return cfg, nil
}
