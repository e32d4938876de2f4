// Package kubefedtypes federates Kubernetes API types the way KubeFed's
// kubefedctl enable and disable do, without kubefedctl: for a target type it
// builds the Federated<Kind> CRD (group types.kubefed.io) and the
// FederatedTypeConfig that makes KubeFed's controller propagate it, and it
// turns plain objects into Federated<Kind> objects with placement and
// overrides.
package kubefedtypes

import (
	"fmt"
	"sort"
	"strings"

	apiextv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
	fedv1b1 "sigs.k8s.io/kubefed/pkg/apis/core/v1beta1"
)

const (
	// FederatedGroup and FederatedVersion are where kubefedctl puts the
	// federated types (its --federated-group and --federated-version defaults).
	FederatedGroup   = "types.kubefed.io"
	FederatedVersion = "v1beta1"
	// NamespaceTypeName is the FederatedTypeConfig of namespaces: KubeFed
	// deployed cluster-wide propagates a namespaced federated object only
	// into clusters its FederatedNamespace is placed in.
	NamespaceTypeName = "namespaces"
	// RetainReplicasField lets an HPA in a member own replicas (KubeFed's
	// spec.retainReplicas, present on types with a scale subresource).
	RetainReplicasField = "retainReplicas"
)

// Resources this package reads and writes.
var (
	FederatedTypeConfigs = schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "federatedtypeconfigs"}
	KubeFedConfigs       = schema.GroupVersionResource{Group: "core.kubefed.io", Version: "v1beta1", Resource: "kubefedconfigs"}
	CRDs                 = schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
)

// Target is an API type to federate, as discovery describes it.
type Target struct {
	Group, Version, Kind, Plural string
	Namespaced                   bool
	ShortNames                   []string
	// Scalable is true when the type has a scale subresource, like
	// kubefedctl's test for an int32 spec.replicas.
	Scalable bool
}

// Name is the FederatedTypeConfig's name: plural, dot, group ("deployments.apps";
// core types have no group: "configmaps").
func (t Target) Name() string { return qualified(t.Plural, t.Group) }

func qualified(plural, group string) string {
	if group == "" {
		return plural
	}
	return plural + "." + group
}

// FederatedKind is "Federated" + Kind, and FederatedPlural its plural,
// exactly as kubefedctl names them.
func (t Target) FederatedKind() string   { return "Federated" + t.Kind }
func (t Target) FederatedPlural() string { return "federated" + t.Plural }

// FederatedCRDName is the Federated<Kind> CRD's name.
func (t Target) FederatedCRDName() string { return qualified(t.FederatedPlural(), FederatedGroup) }

// federatedNamespaced is the scope of the federated type: the target's,
// except that FederatedNamespace is namespaced (it lives in the namespace
// it federates), as KubeFed special-cases it.
func (t Target) federatedNamespaced() bool {
	return t.Namespaced || t.Name() == NamespaceTypeName
}

func scope(namespaced bool) apiextv1.ResourceScope {
	if namespaced {
		return apiextv1.NamespaceScoped
	}
	return apiextv1.ClusterScoped
}

// TypeConfig is the FederatedTypeConfig kubefedctl enable writes for t,
// with the defaults KubeFed's API would set filled in.
func (t Target) TypeConfig(namespace string) *fedv1b1.FederatedTypeConfig {
	return &fedv1b1.FederatedTypeConfig{
		TypeMeta:   metav1.TypeMeta{APIVersion: "core.kubefed.io/v1beta1", Kind: "FederatedTypeConfig"},
		ObjectMeta: metav1.ObjectMeta{Name: t.Name(), Namespace: namespace},
		Spec: fedv1b1.FederatedTypeConfigSpec{
			TargetType: fedv1b1.APIResource{
				Group:      t.Group,
				Version:    t.Version,
				Kind:       t.Kind,
				PluralName: t.Plural,
				Scope:      scope(t.Namespaced),
			},
			Propagation: fedv1b1.PropagationEnabled,
			FederatedType: fedv1b1.APIResource{
				Group:      FederatedGroup,
				Version:    FederatedVersion,
				Kind:       t.FederatedKind(),
				PluralName: t.FederatedPlural(),
				Scope:      scope(t.federatedNamespaced()),
			},
		},
	}
}

// CRD is the Federated<Kind> CustomResourceDefinition. Like kubefedctl's,
// its spec has a typed placement and overrides and an open template (the
// target's own API server validates the propagated object), plus
// retainReplicas for scalable types, and a status subresource.
func (t Target) CRD() *apiextv1.CustomResourceDefinition {
	preserve := true
	str := apiextv1.JSONSchemaProps{Type: "string"}
	strArray := apiextv1.JSONSchemaProps{Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &str}}
	specProps := map[string]apiextv1.JSONSchemaProps{
		"template": {Type: "object", XPreserveUnknownFields: &preserve},
		"placement": {
			Type: "object",
			Properties: map[string]apiextv1.JSONSchemaProps{
				"clusters": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{
					Type:       "object",
					Properties: map[string]apiextv1.JSONSchemaProps{"name": str},
					Required:   []string{"name"},
				}}},
				"clusterSelector": {
					Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{
						"matchExpressions": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{
							Type: "object",
							Properties: map[string]apiextv1.JSONSchemaProps{
								"key":      str,
								"operator": str,
								"values":   strArray,
							},
							Required: []string{"key", "operator"},
						}}},
						"matchLabels": {Type: "object", AdditionalProperties: &apiextv1.JSONSchemaPropsOrBool{Schema: &str}},
					},
				},
			},
		},
		"overrides": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{
			Type: "object",
			Properties: map[string]apiextv1.JSONSchemaProps{
				"clusterName": str,
				"clusterOverrides": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{
						"op":    {Type: "string", Pattern: "^(add|remove|replace)?$"},
						"path":  str,
						"value": {XPreserveUnknownFields: &preserve},
					},
					Required: []string{"path"},
				}}},
			},
		}}},
	}
	if t.Scalable {
		specProps[RetainReplicasField] = apiextv1.JSONSchemaProps{Type: "boolean"}
	}
	dateTime := apiextv1.JSONSchemaProps{Type: "string", Format: "date-time"}
	statusProps := map[string]apiextv1.JSONSchemaProps{
		"conditions": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{
			Type: "object",
			Properties: map[string]apiextv1.JSONSchemaProps{
				"type": str, "status": str, "reason": str,
				"lastUpdateTime": dateTime, "lastTransitionTime": dateTime,
			},
			Required: []string{"type", "status"},
		}}},
		"clusters": {Type: "array", Items: &apiextv1.JSONSchemaPropsOrArray{Schema: &apiextv1.JSONSchemaProps{
			Type: "object",
			Properties: map[string]apiextv1.JSONSchemaProps{
				"name":         str,
				"status":       str,
				"remoteStatus": {Type: "object", XPreserveUnknownFields: &preserve},
			},
			Required: []string{"name"},
		}}},
		"observedGeneration": {Type: "integer", Format: "int64"},
	}
	short := make([]string, 0, len(t.ShortNames))
	for _, s := range t.ShortNames {
		short = append(short, "f"+s)
	}
	return &apiextv1.CustomResourceDefinition{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apiextensions.k8s.io/v1", Kind: "CustomResourceDefinition"},
		ObjectMeta: metav1.ObjectMeta{Name: t.FederatedCRDName()},
		Spec: apiextv1.CustomResourceDefinitionSpec{
			Group: FederatedGroup,
			Scope: scope(t.federatedNamespaced()),
			Names: apiextv1.CustomResourceDefinitionNames{
				Plural:     t.FederatedPlural(),
				Singular:   strings.ToLower(t.FederatedKind()),
				Kind:       t.FederatedKind(),
				ListKind:   t.FederatedKind() + "List",
				ShortNames: short,
				Categories: []string{"kubefed"},
			},
			Versions: []apiextv1.CustomResourceDefinitionVersion{{
				Name:    FederatedVersion,
				Served:  true,
				Storage: true,
				Schema: &apiextv1.CustomResourceValidation{OpenAPIV3Schema: &apiextv1.JSONSchemaProps{
					Type: "object",
					Properties: map[string]apiextv1.JSONSchemaProps{
						"apiVersion": str,
						"kind":       str,
						"metadata":   {Type: "object"},
						"spec":       {Type: "object", Properties: specProps},
						"status":     {Type: "object", Properties: statusProps},
					},
					// kubefedctl requires a spec (even empty): a federated
					// ConfigMap without one is most likely a mistake.
					Required: []string{"spec"},
				}},
				Subresources: &apiextv1.CustomResourceSubresources{Status: &apiextv1.CustomResourceSubresourceStatus{}},
			}},
		},
	}
}

// Resolve finds the API type name stands for in discovery's preferred
// resources, matching as kubefedctl does: plural, singular, kind, short
// name (all case-insensitive) or plural.group. A core type wins a tie; any
// other tie is an error asking for plural.group.
func Resolve(lists []*metav1.APIResourceList, name string) (Target, error) {
	key := strings.ToLower(strings.TrimSpace(name))
	if key == "" {
		return Target{}, fmt.Errorf("empty type name: give a resource such as deployments or deployments.apps")
	}
	subresources := map[string]map[string]bool{} // groupVersion -> "deployments/scale"
	for _, l := range lists {
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") {
				if subresources[l.GroupVersion] == nil {
					subresources[l.GroupVersion] = map[string]bool{}
				}
				subresources[l.GroupVersion][r.Name] = true
			}
		}
	}
	var found []Target
	for _, l := range lists {
		gv, err := schema.ParseGroupVersion(l.GroupVersion)
		if err != nil {
			continue
		}
		for _, r := range l.APIResources {
			if strings.Contains(r.Name, "/") || !matches(key, r, gv.Group) {
				continue
			}
			t := Target{
				Group: gv.Group, Version: gv.Version, Kind: r.Kind, Plural: r.Name,
				Namespaced: r.Namespaced, ShortNames: r.ShortNames,
				Scalable: subresources[l.GroupVersion][r.Name+"/scale"],
			}
			if t.Group == "" {
				return t, nil
			}
			found = append(found, t)
		}
	}
	switch len(found) {
	case 0:
		return Target{}, fmt.Errorf("the host serves no API type named %q (try a plural such as deployments, or plural.group such as deployments.apps)", name)
	case 1:
		return found[0], nil
	}
	names := make([]string, 0, len(found))
	for _, t := range found {
		names = append(names, t.Name())
	}
	sort.Strings(names)
	return Target{}, fmt.Errorf("%q matches several types (%s): give the group-qualified plural", name, strings.Join(names, ", "))
}

func matches(key string, r metav1.APIResource, group string) bool {
	if key == r.Name || key == r.SingularName || key == strings.ToLower(r.Kind) || key == qualified(r.Name, group) {
		return true
	}
	for _, s := range r.ShortNames {
		if key == strings.ToLower(s) {
			return true
		}
	}
	return false
}
