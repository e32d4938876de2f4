package api

import (
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Redacted replaces a secret in printed objects, as kubectl config view does.
const Redacted = "REDACTED"

// Redact returns a copy of obj fit for printing in any format: node SSH keys
// become REDACTED and a cluster's admin kubeconfig keeps its server and names
// but loses its keys and tokens (`kubectl mcks kubeconfig NAME` is the way to
// get them). Objects of other types are returned as they are.
func Redact(obj runtime.Object) runtime.Object {
	switch o := obj.(type) {
	case *Cluster:
		c := o.DeepCopyObject().(*Cluster)
		redactCluster(c)
		return c
	case *ClusterList:
		l := o.DeepCopyObject().(*ClusterList)
		for i := range l.Items {
			redactCluster(&l.Items[i])
		}
		return l
	case *Node:
		n := o.DeepCopyObject().(*Node)
		redactNode(n)
		return n
	case *NodeList:
		l := o.DeepCopyObject().(*NodeList)
		for i := range l.Items {
			redactNode(&l.Items[i])
		}
		return l
	}
	return obj
}

func redactCluster(c *Cluster) {
	for i := range c.Nodes {
		redactNode(&c.Nodes[i])
	}
	if c.ClusterConfig != "" {
		c.ClusterConfig = RedactKubeconfig([]byte(c.ClusterConfig))
	}
}

func redactNode(n *Node) {
	if n.Credential != "" {
		n.Credential = Redacted
	}
}

// RedactKubeconfig is the kubeconfig as `kubectl config view` shows it:
// certificates and keys DATA+OMITTED, tokens and passwords REDACTED. What does
// not parse as a kubeconfig is REDACTED whole, since it may hold anything.
func RedactKubeconfig(data []byte) string {
	cfg, err := clientcmd.Load(data)
	if err != nil {
		return Redacted
	}
	// Redact first: ShortenConfig then turns the redacted bytes into DATA+OMITTED.
	if err := clientcmdapi.RedactSecrets(cfg); err != nil {
		return Redacted
	}
	clientcmdapi.ShortenConfig(cfg)
	out, err := clientcmd.Write(*cfg)
	if err != nil {
		return Redacted
	}
	return string(out)
}
