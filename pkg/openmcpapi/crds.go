package openmcpapi

import (
	"slices"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// ApprovalAnnotation lets a CRD live in the protected *.k8s.io API group:
// OpenMCP's group was never approved, and apiextensions v1 refuses such CRDs
// without it (a value starting with "unapproved" is accepted).
const ApprovalAnnotation = "api-approved.kubernetes.io"

// CRDName is the CustomResourceDefinition name of a kind.
func (k Kind) CRDName() string { return k.Plural + "." + Group }

// CRD returns an apiextensions v1 CRD for the kind. OpenMCP published only
// v1beta1 CRDs (gone since Kubernetes 1.22) with untyped specs; these keep
// their names and short names, type spec and status as open objects and add
// the status subresource and printer columns.
func (k Kind) CRD() *apiextv1.CustomResourceDefinition {
	preserve := true
	open := apiextv1.JSONSchemaProps{Type: "object", XPreserveUnknownFields: &preserve}
	cols := make([]apiextv1.CustomResourceColumnDefinition, 0, len(k.Columns)+1)
	for _, c := range k.Columns {
		cols = append(cols, apiextv1.CustomResourceColumnDefinition{Name: c.Name, Type: c.Type, JSONPath: c.JSONPath})
	}
	cols = append(cols, apiextv1.CustomResourceColumnDefinition{Name: "Age", Type: "date", JSONPath: ".metadata.creationTimestamp"})
	return &apiextv1.CustomResourceDefinition{
		TypeMeta: metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{
			Name:        k.CRDName(),
			Annotations: map[string]string{ApprovalAnnotation: "unapproved, OpenMCP API group (https://github.com/openmcp)"},
			Labels:      map[string]string{"app.kubernetes.io/part-of": "openmcp"},
		},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: Group,
			Scope: apiextv1.NamespaceScoped,
			Names: apiextv1.CustomResourceDefinitionNames{
				Kind:       k.Kind,
				ListKind:   k.Kind + "List",
				Plural:     k.Plural,
				Singular:   lower(k.Kind),
				ShortNames: k.ShortNames,
				Categories: []string{"openmcp"},
			},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name:    Version,
				Served:  true,
				Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{
						"apiVersion": {Type: "string"},
						"kind":       {Type: "string"},
						"metadata":   {Type: "object"},
						"spec":       open,
						"status":     open,
					},
				}},
				Subresources:             &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
				AdditionalPrinterColumns: cols,
			}},
		},
	}
}

// CRDs returns the CRDs of every OpenMCP kind, the internal ones included.
func CRDs() []*apiextv1.CustomResourceDefinition {
	out := make([]*apiextv1.CustomResourceDefinition, 0, len(Kinds)+len(InternalKinds))
	for _, k := range append(slices.Clone(Kinds), InternalKinds...) {
		out = append(out, k.CRD())
	}
	return out
}
