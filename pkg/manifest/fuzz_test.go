package manifest

import (
	"bytes"
	"strings"
	"testing"

	apiequality "k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/openmcp-plugins/kubectl-openmcp/pkg/openmcpapi"
	"github.com/openmcp-plugins/kubectl-openmcp/pkg/printing"
)

// FuzzConvert feeds arbitrary manifests through the reader and both
// converters. Whatever the input: no panic; every object ToOpenMCP returns
// is an OpenMCP kind that passes validation and converts to itself again
// (placing the output of place is a no-op); printed Secrets show no data.
// The seed corpus (testdata/fuzz/FuzzConvert) holds the OpenMCP guide's
// samples and plain manifests of every supported kind.
func FuzzConvert(f *testing.F) {
	f.Add([]byte(nginxDeployment))
	f.Fuzz(func(t *testing.T, data []byte) {
		docs, err := ParseManifest("fuzz.yaml", bytes.NewReader(data))
		if err != nil {
			if !strings.HasPrefix(err.Error(), "fuzz.yaml") && !strings.HasPrefix(err.Error(), "cannot read fuzz.yaml") {
				t.Errorf("a parse error must name the file: %v", err)
			}
			return
		}
		for _, d := range docs {
			checkConverted(t, d)
			if c, err := ToPlain(d, Options{Namespace: "default"}); err == nil && c.Object == nil {
				t.Errorf("%s: ToPlain returned no object and no error", d.Where())
			}
		}
	})
}

func checkConverted(t *testing.T, d Document) {
	t.Helper()
	c, err := ToOpenMCP(d, Options{Namespace: "default"})
	if err != nil {
		if !strings.Contains(err.Error(), "fuzz.yaml, document ") {
			t.Errorf("an error must name the document: %v", err)
		}
		return
	}
	obj := c.Object
	if obj.GetAPIVersion() != openmcpapi.Group+"/"+openmcpapi.Version {
		t.Fatalf("%s: converted to apiVersion %q", d.Where(), obj.GetAPIVersion())
	}
	if _, ok := kindByKind(obj.GetKind()); !ok {
		t.Fatalf("%s: converted to unknown kind %q", d.Where(), obj.GetKind())
	}
	if _, err := ValidateOpenMCP(d.Where(), obj); err != nil {
		t.Fatalf("%s: the converted object does not validate: %v", d.Where(), err)
	}
	again, err := ToOpenMCP(Document{Source: "fuzz.yaml", Index: d.Index, Object: obj.DeepCopy()}, Options{Namespace: "default"})
	if err != nil {
		t.Fatalf("%s: converting the output again failed: %v", d.Where(), err)
	}
	if !apiequality.Semantic.DeepEqual(again.Object.Object, obj.Object) {
		t.Fatalf("%s: conversion is not a fixed point:\n%v\n%v", d.Where(), obj.Object, again.Object.Object)
	}
	if printing.IsSecretKind(obj.GetKind()) {
		red := printing.Redact(obj)
		for _, path := range [][]string{{"spec", "template", "data"}, {"spec", "template", "stringData"}} {
			m, _, _ := unstructured.NestedMap(red.Object, path...)
			for k, v := range m {
				if v != printing.Redacted {
					t.Fatalf("%s: printed secret key %s is not redacted", d.Where(), k)
				}
			}
		}
	}
}
