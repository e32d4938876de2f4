package openmcp

import (
	"context"
	"fmt"
	"sort"
	"strings"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/cli"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/fleet"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
)

// ensureMemberNamespaces creates the placed objects' namespaces on the
// members OpenMCP may schedule them onto. OpenMCP's sync controller writes
// each member's Deployment and Service into the host object's namespace and
// never creates it: run against real controllers, a placement into a
// namespace the members lack was scheduled and then failed on every member
// with `namespaces "openmcp" not found`. It says on stderr what it created
// and warns about members it could not reach; the host objects stand either way.
func (o *PlaceOptions) ensureMemberNamespaces(ctx context.Context, members []fleet.Member, items []openmcpapi.Item) {
	nsSet := map[string]bool{}
	for _, it := range items {
		if ns := it.Object.GetNamespace(); ns != "" {
			nsSet[ns] = true
		}
	}
	if len(nsSet) == 0 {
		return
	}
	namespaces := make([]string, 0, len(nsSet))
	for ns := range nsSet {
		namespaces = append(namespaces, ns)
	}
	sort.Strings(namespaces)
	if len(o.Clusters) > 0 {
		if sel, err := fleet.Select(members, o.Clusters); err == nil {
			members = sel
		}
	}
	contextOf := map[string]string{}
	var names []string
	for _, m := range members {
		if m.Context == "" {
			cli.Warnf(o.ErrOut, "cluster %s: no kubeconfig context reaches it: cannot check that namespace %s exists there", m.Name, strings.Join(namespaces, ", "))
			continue
		}
		contextOf[m.Name] = m.Context
		names = append(names, m.Name)
	}
	results := fleet.FanOut(ctx, names, o.fleet.FanOut.MaxParallel, o.fleet.FanOut.Timeout, func(ctx context.Context, name string) ([]string, error) {
		c, err := o.fleet.Context(contextOf[name])
		if err != nil {
			return nil, err
		}
		kube, err := c.Kube()
		if err != nil {
			return nil, err
		}
		var created []string
		for _, ns := range namespaces {
			_, err := kube.CoreV1().Namespaces().Get(ctx, ns, metav1.GetOptions{})
			if err == nil {
				continue
			}
			if !apierrors.IsNotFound(err) {
				return created, err
			}
			_, err = kube.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{
				Name:   ns,
				Labels: map[string]string{"app.kubernetes.io/managed-by": openmcpapi.FieldManager},
			}}, metav1.CreateOptions{FieldManager: openmcpapi.FieldManager})
			if err != nil && !apierrors.IsAlreadyExists(err) {
				return created, err
			}
			created = append(created, ns)
		}
		return created, nil
	})
	for _, r := range results {
		if r.Err != nil {
			cli.Warnf(o.ErrOut, "cluster %s: cannot make sure namespace %s exists there, where OpenMCP's controllers write: %v", r.Cluster, strings.Join(namespaces, ", "), r.Err)
			continue
		}
		for _, ns := range r.Value {
			fmt.Fprintf(o.ErrOut, "namespace/%s created on cluster %s (OpenMCP's controllers write into it there)\n", ns, r.Cluster)
		}
	}
}
