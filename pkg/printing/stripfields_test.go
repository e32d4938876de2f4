package printing

import (
	"encoding/json"
	"io"
	"reflect"
	"strings"
	"testing"
	"testing/iotest"
)

// withoutUnprinted is the reference: decode, delete the "managedFields"
// and "annotations" members of every metadata object, and compare.
func withoutUnprinted(v any) any {
	switch v := v.(type) {
	case map[string]any:
		if m, ok := v["metadata"].(map[string]any); ok {
			delete(m, "managedFields")
			delete(m, "annotations")
		}
		for k, e := range v {
			v[k] = withoutUnprinted(e)
		}
	case []any:
		for i, e := range v {
			v[i] = withoutUnprinted(e)
		}
	}
	return v
}

func checkStrip(t *testing.T, doc string) {
	t.Helper()
	var want any
	if err := json.Unmarshal([]byte(doc), &want); err != nil {
		return // only valid JSON has a meaning to keep
	}
	want = withoutUnprinted(want)
	for name, r := range map[string]io.Reader{
		"whole":       strings.NewReader(doc),
		"byte a time": iotest.OneByteReader(strings.NewReader(doc)),
		"half chunks": iotest.HalfReader(strings.NewReader(doc)),
	} {
		out, err := io.ReadAll(StripUnprinted(r))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		var got any
		if err := json.Unmarshal(out, &got); err != nil {
			t.Fatalf("%s: stripped %q is not JSON (%v); from %q", name, out, err, doc)
		}
		if !reflect.DeepEqual(got, want) {
			t.Fatalf("%s: stripped %q, want the same as %v; from %q", name, out, want, doc)
		}
		if len(out) > len(doc) {
			t.Fatalf("%s: output grew", name)
		}
	}
}

var stripCases = []string{
	`{"metadata":{"managedFields":[{"manager":"kubectl","fieldsV1":{"f:spec":{}}}]}}`,
	`{"metadata":{"managedFields":[],"name":"a"}}`,
	`{"metadata":{"name":"a","managedFields":[{"x":"]}\"["}],"namespace":"b"}}`,
	`{"metadata": {"name":"a", "managedFields" : null , "labels":{"app":"web"}}}`,
	`{"metadata":{"a":"managedFields","managedFields":7,"b":["managedFields",1]}}`,
	`{"metadata":{"managedFieldsX":1,"managedField":2,"\"managedFields":3,"managedFields\\":4}}`,
	`{"a":{"managedFields":{"b":{"managedFields":[1]}}},"c":[{"managedFields":true}]}`,
	"{\n  \"metadata\": {\n    \"name\": \"web\",\n    \"managedFields\": [\n      {}\n    ]\n  }\n}",
	`{"metadata":{"s":"\\","managedFields":"\\\"","t":"\u0022managedFields\u0022"}}`,
	`[{"metadata":{"managedFields":1}},{"metadata":{"x":1,"managedFields":{}}}]`,
	`"managedFields"`,
	`{"metadata":{"":"","managedFields":-1.5e3}}`,
	`{"metadata":{"annotations":{"kubectl.kubernetes.io/last-applied-configuration":"{\"a\":1}"},"managedFields":[],"labels":{"annotations":"x","managedFields":"y"}}}`,
	`{"metadata":{"annotationsX":1,"annotation":{},"annotations":[],"managedFields":[]}}`,
	`{"metadata":{"annotations":{},"managedFields":[]}, "spec":{"annotations":{"a":"b"}}}`,
	`{"metadata":"x","managedFields":1,"annotations":2}`,
	`{"metadata":[{"managedFields":1}],"x":{"metadata":{"metadata":{"annotations":1}}}}`,
	`{"kind":"Table","metadata":{"resourceVersion":"1"},"rows":[{"cells":["a"],"object":{"kind":"PartialObjectMetadata","metadata":{"name":"a","annotations":{"x":"y"},"managedFields":[{"a":1}]}}}]}`,
}

func TestStripUnprintedKeepsEverythingElse(t *testing.T) {
	for _, doc := range stripCases {
		checkStrip(t, doc)
	}
	// A pod Table as the apiserver sends it for -A.
	b, err := json.Marshal(serverTable(t, 20, true).Object)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(b), `"managedFields"`) {
		t.Fatal("the sample Table has no managed fields to strip")
	}
	checkStrip(t, string(b))
}

func FuzzStripUnprinted(f *testing.F) {
	for _, doc := range stripCases {
		f.Add(doc)
	}
	f.Fuzz(func(t *testing.T, doc string) { checkStrip(t, doc) })
}
