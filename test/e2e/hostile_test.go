package e2e

import (
	"context"
	"encoding/json"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/openmcp-plugins/kubectl-openmcp/test/sandbox"
)

// hostileText is what a member's owner can store in any free-text field a
// real apiserver keeps as it is: window title, clear screen, cursor up,
// OSC 52 (clipboard), a C1 CSI, a bidi override.
const hostileText = "\x1b]0;pwned\x07\x1b[2J\x1b[1A\x1b]52;c;ZXZpbA==\x07\u009b31m\u202e"

// A CRD whose printer column shows a free-text field: the example.
// A real apiserver carries the text into the Table as it is; get shows it
// as visible text, -o json exactly.
func TestHostileTextFromARealMember(t *testing.T) {
	fed := sandbox.Start(t, sandbox.Options{Members: 2})
	fed.JoinForTest(t, "cluster1")
	fed.JoinForTest(t, "cluster2")
	ctx := context.Background()
	crds := schema.GroupVersionResource{Group: "apiextensions.k8s.io", Version: "v1", Resource: "customresourcedefinitions"}
	widgets := schema.GroupVersionResource{Group: "hostile.example.com", Version: "v1", Resource: "widgets"}
	crd := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition",
		"metadata": map[string]any{"name": "widgets.hostile.example.com"},
		"spec": map[string]any{
			"group": "hostile.example.com", "scope": "Namespaced",
			"names": map[string]any{"plural": "widgets", "singular": "widget", "kind": "Widget"},
			"versions": []any{map[string]any{
				"name": "v1", "served": true, "storage": true,
				"schema": map[string]any{"openAPIV3Schema": map[string]any{"type": "object", "x-kubernetes-preserve-unknown-fields": true}},
				"additionalPrinterColumns": []any{
					map[string]any{"name": "Message", "type": "string", "jsonPath": ".spec.message"},
				},
			}},
		},
	}}
	for _, c := range fed.Members {
		if _, err := c.Dynamic.Resource(crds).Create(ctx, crd, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if err := c.WaitCRDsEstablished(ctx); err != nil {
			t.Fatal(err)
		}
		w := &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "hostile.example.com/v1", "kind": "Widget",
			"metadata": map[string]any{"name": "w-" + c.Name, "namespace": "default"},
			"spec":     map[string]any{"message": "hello " + hostileText},
		}}
		if _, err := c.Dynamic.Resource(widgets).Namespace("default").Create(ctx, w, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}

	res := fed.OpenMCP(t, "get", "widgets", "--all-clusters", "-n", "default")
	t.Logf("stdout:\n%s\nstderr:\n%s", res.Stdout, res.Stderr)
	if res.Code != 0 || strings.Count(res.Stdout, "hello ^[]0;pwned^G^[[2J^[[1A^[]52;c;ZXZpbA==^G\\u009b31m\\u202e") != 2 {
		t.Errorf("exit %d: want both members' rows with the message as visible text", res.Code)
	}
	for i, r := range res.Stdout + res.Stderr {
		if (r < 0x20 && r != '\n') || r == 0x7f || (r >= 0x80 && r <= 0x9f) || r == 0x202e {
			t.Fatalf("control character %q at %d reached the terminal", r, i)
		}
	}

	res = fed.OpenMCP(t, "get", "widgets", "--all-clusters", "-n", "default", "-o", "json")
	var list struct {
		Items []struct {
			Spec struct{ Message string } `json:"spec"`
		} `json:"items"`
	}
	if err := json.Unmarshal([]byte(res.Stdout), &list); err != nil || len(list.Items) != 2 || list.Items[0].Spec.Message != "hello "+hostileText {
		t.Errorf("-o json does not carry the message exactly: %v %+v", err, list)
	}
}
