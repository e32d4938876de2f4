// Package openmcpapi knows OpenMCP's API (group openmcp.k8s.io): its kinds,
// the apiextensions v1 CRDs this project writes for them, the OpenMCPCluster
// record, OpenMCPPolicy values, the placement status of OpenMCP resources and
// the server-side apply of their objects. Reading manifests and converting
// plain Kubernetes objects is pkg/manifest; the `check` engine is pkg/doctor.
package openmcpapi

import (
	"k8s.io/apimachinery/pkg/runtime/schema"
)

const (
	Group     = "openmcp.k8s.io"
	Version   = "v1alpha1"
	Namespace = "openmcp" // where OpenMCP's controllers and default policies live
)

// Kind describes one OpenMCP kind as its published CRD names it.
type Kind struct {
	Kind       string
	Plural     string
	ShortNames []string
	// Columns are extra printer columns, so `kubectl get` and our federated
	// tables show more than NAME and AGE.
	Columns []Column
}

// Column is a CRD additionalPrinterColumn.
type Column struct{ Name, Type, JSONPath string }

// GVR is the kind's resource.
func (k Kind) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: Group, Version: Version, Resource: k.Plural}
}

// GVK is the kind's group, version and kind.
func (k Kind) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: Group, Version: Version, Kind: k.Kind}
}

// Kinds lists every OpenMCP kind, with the plural and short names of
// OpenMCP's own CRDs (OpenMCPPolicy's plural really is "openmcppolicys").
var Kinds = []Kind{
	{Kind: "OpenMCPDeployment", Plural: "openmcpdeployments", ShortNames: []string{"odeploy"}, Columns: []Column{
		{"Replicas", "integer", ".spec.replicas"},
		{"Scheduled", "boolean", ".status.schedulingComplete"},
	}},
	{Kind: "OpenMCPService", Plural: "openmcpservices", ShortNames: []string{"osvc"}, Columns: []Column{
		{"Type", "string", ".spec.template.spec.type"},
	}},
	{Kind: "OpenMCPIngress", Plural: "openmcpingresses", ShortNames: []string{"oing"}},
	{Kind: "OpenMCPHybridAutoScaler", Plural: "openmcphybridautoscalers", ShortNames: []string{"ohas"}, Columns: []Column{
		{"Target", "string", ".spec.scalingOptions.hpaTemplate.spec.scaleTargetRef.name"},
		{"MinPods", "integer", ".spec.scalingOptions.hpaTemplate.spec.minReplicas"},
		{"MaxPods", "integer", ".spec.scalingOptions.hpaTemplate.spec.maxReplicas"},
	}},
	{Kind: "OpenMCPPolicy", Plural: "openmcppolicys", ShortNames: []string{"opol"}, Columns: []Column{
		{"Status", "string", ".spec.policyStatus"},
		{"Target", "string", ".spec.template.spec.targetController.kind"},
	}},
	{Kind: "OpenMCPConfigMap", Plural: "openmcpconfigmaps", ShortNames: []string{"ocm"}},
	{Kind: "OpenMCPSecret", Plural: "openmcpsecrets", ShortNames: []string{"osec"}},
	{Kind: "OpenMCPJob", Plural: "openmcpjobs", ShortNames: []string{"ojob"}},
	{Kind: "OpenMCPNamespace", Plural: "openmcpnamespaces", ShortNames: []string{"ons"}},
	{Kind: "OpenMCPStatefulSet", Plural: "openmcpstatefulsets", ShortNames: []string{"oss"}},
	{Kind: "OpenMCPDaemonSet", Plural: "openmcpdaemonsets", ShortNames: []string{"ods"}},
	{Kind: "OpenMCPDomain", Plural: "openmcpdomains"},
	{Kind: "OpenMCPServiceDNSRecord", Plural: "openmcpservicednsrecords", ShortNames: []string{"osvcdr"}},
	{Kind: "OpenMCPIngressDNSRecord", Plural: "openmcpingressdnsrecords", ShortNames: []string{"oingdr"}},
	{Kind: "OpenMCPDNSEndpoint", Plural: "openmcpdnsendpoints"},
	{Kind: "OpenMCPCluster", Plural: "openmcpclusters", ShortNames: []string{"oc"}},
}

// InternalKinds are kinds OpenMCP's controllers use between themselves:
// the deployment and service controllers write a Sync per member object and
// the sync controller applies it there. Users never place them.
var InternalKinds = []Kind{
	{Kind: "Sync", Plural: "syncs", Columns: []Column{
		{"Cluster", "string", ".spec.clustername"},
		{"Command", "string", ".spec.command"},
	}},
}

// KindByName finds a kind by its Kind, plural, singular or short name, case-insensitively.
func KindByName(name string) (Kind, bool) {
	n := lower(name)
	for _, k := range Kinds {
		if n == lower(k.Kind) || n == k.Plural {
			return k, true
		}
		for _, s := range k.ShortNames {
			if n == s {
				return k, true
			}
		}
	}
	return Kind{}, false
}

func lower(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'A' <= c && c <= 'Z' {
			b[i] = c + 'a' - 'A'
		}
	}
	return string(b)
}
