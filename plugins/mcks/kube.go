package mcks

import (
	"fmt"

	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/kubernetes"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
)

// kubeClient is a clientset for the kubeconfig context the user chose
// (--context, --kubeconfig, ...), as kubectl would reach it. The command
// tests put a fake clientset here.
var kubeClient = func(root *cli.Root) (kubernetes.Interface, error) {
	cfg, err := root.ConfigFlags.ToRESTConfig()
	if err != nil {
		return nil, fmt.Errorf("cannot use the kubeconfig: %w", err)
	}
	return kubernetes.NewForConfig(cfg)
}

// namespace is kubectl's -n, or the context's namespace, or "default".
func namespace(root *cli.Root) (string, error) {
	ns, _, err := root.ConfigFlags.ToRawKubeConfigLoader().Namespace()
	if err != nil {
		return "", fmt.Errorf("cannot read the namespace from the kubeconfig: %w", err)
	}
	return ns, nil
}

func checkSelector(s string) error {
	if s == "" {
		return nil
	}
	if _, err := labels.Parse(s); err != nil {
		return cli.Usagef("invalid selector %q: %v", s, err)
	}
	return nil
}
