// Package manifest reads manifests (files, directories, standard input; YAML
// and JSON streams; Lists), checks them against OpenMCP's API types, and
// converts plain Kubernetes objects to OpenMCP objects and back.
package manifest

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	utiljson "k8s.io/apimachinery/pkg/util/json"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/yaml"
)

// Document is one object read from a manifest, with where it came from so
// every error can name the file and the document.
type Document struct {
	// Source is the file the document came from, "-" for standard input.
	Source string
	// Index counts the non-empty documents of Source from 1, as a reader of
	// the file counts them (a leading "---" or a comment-only document does
	// not count).
	Index int
	// Item counts from 1 the items of a List document; 0 when the document
	// is not a List.
	Item   int
	Object *unstructured.Unstructured
}

// Where names the document for messages: "app.yaml, document 2".
func (d Document) Where() string {
	src := d.Source
	if src == "-" {
		src = "<stdin>"
	}
	s := fmt.Sprintf("%s, document %d", src, d.Index)
	if d.Item > 0 {
		s += fmt.Sprintf(", item %d", d.Item)
	}
	return s
}

// FieldError is a problem with one field of one document.
type FieldError struct {
	Where string // Document.Where()
	Field string // JSON path such as spec.replicas; "" for the whole document
	Msg   string
}

func (e *FieldError) Error() string {
	if e.Field == "" {
		return e.Where + ": " + e.Msg
	}
	return e.Where + ": " + e.Field + ": " + e.Msg
}

// manifestExtensions are the file names a directory walk picks up, as
// kubectl apply -f DIR does; other files (README, *.backup) are skipped.
var manifestExtensions = []string{".yaml", ".yml", ".json"}

// ReadManifests reads every document of the given files and directories
// ("-" is stdin). Directories contribute their .yaml, .yml and .json files,
// in name order, and with recursive their subdirectories too. A file named
// explicitly is read whatever its extension.
func ReadManifests(paths []string, recursive bool, stdin io.Reader) ([]Document, error) {
	if len(paths) == 0 {
		return nil, errors.New("no manifests given: pass -f FILE, -f DIR or -f -")
	}
	var docs []Document
	stdinRead := false
	for _, p := range paths {
		if p == "-" {
			if stdinRead {
				return nil, errors.New(`"-f -" given more than once: standard input can be read only once`)
			}
			stdinRead = true
			if stdin == nil {
				return nil, errors.New("no standard input to read")
			}
			d, err := ParseManifest("-", stdin)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
			continue
		}
		files, err := manifestFiles(p, recursive)
		if err != nil {
			return nil, err
		}
		for _, f := range files {
			d, err := readFile(f)
			if err != nil {
				return nil, err
			}
			docs = append(docs, d...)
		}
	}
	return docs, nil
}

func readFile(name string) ([]Document, error) {
	f, err := os.Open(name)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return ParseManifest(name, f)
}

// manifestFiles expands a path into the files to read.
func manifestFiles(path string, recursive bool) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("the path %q does not exist", path)
		}
		return nil, err
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	err = filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			if p != path && !recursive {
				return filepath.SkipDir
			}
			return nil
		}
		ext := strings.ToLower(filepath.Ext(p))
		for _, e := range manifestExtensions {
			if ext == e {
				files = append(files, p)
				break
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	sort.Strings(files)
	if len(files) == 0 {
		hint := ""
		if !recursive {
			hint = " (add -R to read subdirectories)"
		}
		return nil, fmt.Errorf("no .yaml, .yml or .json files in directory %q%s", path, hint)
	}
	return files, nil
}

// ParseManifest splits one stream into documents: YAML separated by "---",
// or one or more JSON values. Kind List documents are expanded into their
// items.
func ParseManifest(source string, r io.Reader) ([]Document, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("cannot read %s: %w", source, err)
	}
	var chunks [][]byte
	if trimmed := bytes.TrimSpace(data); len(trimmed) > 0 && (trimmed[0] == '{' || trimmed[0] == '[') {
		chunks, err = splitJSON(trimmed)
		if err != nil {
			return nil, &FieldError{Where: Document{Source: source, Index: len(chunks) + 1}.Where(), Msg: "invalid JSON: " + err.Error()}
		}
	} else {
		reader := utilyaml.NewYAMLReader(bufio.NewReader(bytes.NewReader(data)))
		for {
			chunk, err := reader.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				return nil, fmt.Errorf("cannot read %s: %w", source, err)
			}
			chunks = append(chunks, chunk)
		}
	}

	var docs []Document
	index := 0
	for _, chunk := range chunks {
		if isEmptyDocument(chunk) {
			continue
		}
		index++
		doc := Document{Source: source, Index: index}
		obj, err := decodeObject(chunk)
		if err != nil {
			return nil, &FieldError{Where: doc.Where(), Msg: err.Error()}
		}
		if obj == nil {
			index-- // "null" or "{}" only: nothing there
			continue
		}
		if items, ok, err := listItems(obj); err != nil {
			return nil, &FieldError{Where: doc.Where(), Field: "items", Msg: err.Error()}
		} else if ok {
			for i, item := range items {
				d := doc
				d.Item = i + 1
				d.Object = &unstructured.Unstructured{Object: item}
				docs = append(docs, d)
			}
			continue
		}
		doc.Object = &unstructured.Unstructured{Object: obj}
		docs = append(docs, doc)
	}
	return docs, nil
}

// splitJSON reads a stream of JSON values.
func splitJSON(data []byte) ([][]byte, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	var out [][]byte
	for {
		var raw json.RawMessage
		if err := dec.Decode(&raw); err == io.EOF {
			return out, nil
		} else if err != nil {
			return out, err
		}
		if t := bytes.TrimSpace(raw); len(t) > 0 && t[0] == '[' {
			return out, errors.New("a JSON array is not an object: wrap the objects in a List")
		}
		out = append(out, raw)
	}
}

// isEmptyDocument reports whether a YAML document holds only blank lines
// and comments.
func isEmptyDocument(chunk []byte) bool {
	for _, line := range bytes.Split(chunk, []byte("\n")) {
		l := bytes.TrimSpace(line)
		if len(l) == 0 || l[0] == '#' || string(l) == "---" {
			continue
		}
		return false
	}
	return true
}

// decodeObject turns one YAML or JSON document into the generic form
// unstructured objects use (integers as int64).
func decodeObject(chunk []byte) (map[string]any, error) {
	js, err := yaml.YAMLToJSON(chunk)
	if err != nil {
		return nil, fmt.Errorf("invalid YAML: %s", strings.TrimPrefix(err.Error(), "error converting YAML to JSON: "))
	}
	js = bytes.TrimSpace(js)
	if string(js) == "null" {
		return nil, nil
	}
	if len(js) == 0 || js[0] != '{' {
		return nil, errors.New("not an object: a manifest document must be a mapping with apiVersion, kind and metadata")
	}
	var obj map[string]any
	if err := utiljson.Unmarshal(js, &obj); err != nil {
		return nil, fmt.Errorf("invalid document: %v", err)
	}
	if len(obj) == 0 {
		return nil, nil
	}
	return obj, nil
}

// listItems expands v1 List (and any *List kind with items), as kubectl does.
func listItems(obj map[string]any) ([]map[string]any, bool, error) {
	kind, _ := obj["kind"].(string)
	if !strings.HasSuffix(kind, "List") {
		return nil, false, nil
	}
	raw, found := obj["items"]
	if !found {
		return nil, false, nil
	}
	arr, ok := raw.([]any)
	if !ok {
		return nil, false, fmt.Errorf("must be an array, got %s", typeName(raw))
	}
	items := make([]map[string]any, 0, len(arr))
	for i, it := range arr {
		m, ok := it.(map[string]any)
		if !ok {
			return nil, false, fmt.Errorf("item %d must be an object, got %s", i+1, typeName(it))
		}
		items = append(items, m)
	}
	return items, true, nil
}

// typeName is the JSON type of a decoded value, for messages that must not
// echo the value itself (it may be a secret).
func typeName(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "string"
	case bool:
		return "boolean"
	case int64, int, int32:
		return "integer"
	case float64, float32:
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	default:
		return fmt.Sprintf("%T", v)
	}
}
