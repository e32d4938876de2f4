package manifest

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/util/validation"
	sigsjson "sigs.k8s.io/json"
)

// checker collects the problems of one document. Messages name the field and
// the JSON type found, never the value: the document may be a Secret.
type checker struct {
	where string
	errs  []error
	warns []string
}

func (c *checker) fail(field, format string, args ...any) {
	c.errs = append(c.errs, &FieldError{Where: c.where, Field: field, Msg: fmt.Sprintf(format, args...)})
}

func (c *checker) warn(field, format string, args ...any) {
	c.warns = append(c.warns, (&FieldError{Where: c.where, Field: field, Msg: fmt.Sprintf(format, args...)}).Error())
}

func (c *checker) err() error { return errors.Join(c.errs...) }

func join(parent, field string) string {
	if parent == "" {
		return field
	}
	return parent + "." + field
}

// object returns m[key] as an object: nil when absent (an error if
// required) or of another type (always an error).
func (c *checker) object(m map[string]any, parent, key string, required bool) map[string]any {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			c.fail(join(parent, key), "required field is missing")
		}
		return nil
	}
	o, ok := v.(map[string]any)
	if !ok {
		c.fail(join(parent, key), "must be an object, got %s", typeName(v))
		return nil
	}
	return o
}

func (c *checker) str(m map[string]any, parent, key string, required bool) (string, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			c.fail(join(parent, key), "required field is missing")
		}
		return "", false
	}
	s, ok := v.(string)
	if !ok {
		c.fail(join(parent, key), "must be a string, got %s", typeName(v))
		return "", false
	}
	return s, true
}

func (c *checker) enum(m map[string]any, parent, key string, required bool, allowed ...string) {
	s, ok := c.str(m, parent, key, required)
	if !ok {
		return
	}
	for _, a := range allowed {
		if s == a {
			return
		}
	}
	c.fail(join(parent, key), "must be one of %s", strings.Join(allowed, ", "))
}

func (c *checker) integer(m map[string]any, parent, key string, required bool, min int64) (int64, bool) {
	v, ok := m[key]
	if !ok || v == nil {
		if required {
			c.fail(join(parent, key), "required field is missing")
		}
		return 0, false
	}
	n, ok := v.(int64)
	if !ok {
		c.fail(join(parent, key), "must be an integer, got %s", typeName(v))
		return 0, false
	}
	if n < min {
		c.fail(join(parent, key), "must be at least %d", min)
		return 0, false
	}
	if n > 1<<31-1 {
		c.fail(join(parent, key), "must fit in 32 bits")
		return 0, false
	}
	return n, true
}

func (c *checker) stringSlice(m map[string]any, parent, key string) []string {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	return c.stringSliceValue(v, join(parent, key))
}

func (c *checker) stringSliceValue(v any, field string) []string {
	arr, ok := v.([]any)
	if !ok {
		c.fail(field, "must be an array of strings, got %s", typeName(v))
		return nil
	}
	out := make([]string, 0, len(arr))
	for i, e := range arr {
		s, ok := e.(string)
		if !ok {
			c.fail(fmt.Sprintf("%s[%d]", field, i), "must be a string, got %s", typeName(e))
			continue
		}
		out = append(out, s)
	}
	return out
}

func (c *checker) stringMap(m map[string]any, parent, key string) map[string]string {
	v, ok := m[key]
	if !ok || v == nil {
		return nil
	}
	field := join(parent, key)
	o, ok := v.(map[string]any)
	if !ok {
		c.fail(field, "must be an object of strings, got %s", typeName(v))
		return nil
	}
	out := make(map[string]string, len(o))
	for k, e := range o {
		s, ok := e.(string)
		if !ok {
			c.fail(field+"."+k, "must be a string, got %s", typeName(e))
			continue
		}
		out[k] = s
	}
	return out
}

// labels checks a label map the way the API server would.
func (c *checker) labels(m map[string]any, parent, key string) map[string]string {
	l := c.stringMap(m, parent, key)
	for k, v := range l {
		if errs := validation.IsQualifiedName(k); len(errs) > 0 {
			c.fail(join(parent, key), "invalid label key %q: %s", k, errs[0])
		}
		if errs := validation.IsValidLabelValue(v); len(errs) > 0 {
			c.fail(join(parent, key)+"."+k, "invalid label value: %s", errs[0])
		}
	}
	return l
}

// knownFields warns about keys not in allowed: a typo such as "replica"
// would otherwise be stored by the open CRD schema and silently ignored.
func (c *checker) knownFields(m map[string]any, parent, kind string, allowed ...string) {
	var unknown []string
	for k := range m {
		found := false
		for _, a := range allowed {
			if k == a {
				found = true
				break
			}
		}
		if !found {
			unknown = append(unknown, k)
		}
	}
	sort.Strings(unknown)
	for _, k := range unknown {
		c.warn(join(parent, k), "unknown field, ignored by OpenMCP (%s %s fields: %s)", kind, parent, strings.Join(allowed, ", "))
	}
}

// metadata checks the object's own metadata.
func (c *checker) metadata(obj map[string]any) {
	md := c.object(obj, "", "metadata", true)
	if md == nil {
		return
	}
	if name, ok := c.str(md, "metadata", "name", false); !ok {
		if _, gen := md["generateName"]; gen {
			c.fail("metadata.name", "required: generateName cannot be placed (it would create a new object every time)")
		} else if _, present := md["name"]; !present {
			c.fail("metadata.name", "required field is missing")
		}
	} else if errs := validation.IsDNS1123Subdomain(name); len(errs) > 0 {
		c.fail("metadata.name", "invalid name %q: %s", name, errs[0])
	}
	if ns, ok := c.str(md, "metadata", "namespace", false); ok && ns != "" {
		if errs := validation.IsDNS1123Label(ns); len(errs) > 0 {
			c.fail("metadata.namespace", "invalid namespace %q: %s", ns, errs[0])
		}
	}
	c.labels(md, "metadata", "labels")
	c.stringMap(md, "metadata", "annotations")
}

// typed decodes v into the Kubernetes Go type of into, the way the API
// server would decode it, and reports wrong field types under field. strict
// also reports unknown and duplicate fields: as errors for plain Kubernetes
// objects (the API server refuses them), as warnings inside OpenMCP
// templates (OpenMCP stores them and its own types differ a little).
func (c *checker) typed(v any, field string, into any, strictErrors bool, ignore ...string) bool {
	data, err := json.Marshal(v)
	if err != nil {
		c.fail(field, "cannot encode: %v", err)
		return false
	}
	strict, err := sigsjson.UnmarshalStrict(data, into)
	if err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			got := te.Value
			if i := strings.IndexByte(got, ' '); i > 0 {
				got = got[:i] // "number 5": the value is not ours to print
			}
			c.fail(join(field, te.Field), "must be %s, got %s", jsonKind(te.Type), jsonWord(got))
			return false
		}
		c.fail(field, "%v", err)
		return false
	}
next:
	for _, s := range strict {
		msg := s.Error()
		for _, ig := range ignore {
			if strings.Contains(msg, ig) {
				continue next
			}
		}
		if strictErrors {
			c.fail(field, "%s", msg)
		} else {
			c.warn(field, "%s", msg)
		}
	}
	return true
}

func jsonWord(v string) string {
	switch v {
	case "bool":
		return "boolean"
	case "number":
		return "number"
	}
	return v
}

// jsonKind names a Go type as the JSON a user writes for it.
func jsonKind(t reflect.Type) string {
	if t == nil {
		return "another type"
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch t.Kind() {
	case reflect.String:
		return "a string"
	case reflect.Bool:
		return "a boolean"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "an integer"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		if t.Elem().Kind() == reflect.Uint8 {
			return "a base64 string"
		}
		return "an array"
	case reflect.Map, reflect.Struct:
		return "an object"
	}
	return "a " + t.String()
}
