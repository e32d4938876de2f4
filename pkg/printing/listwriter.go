package printing

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/yaml"
)

// ListWriter writes the List that PrintList prints for -o json|yaml, byte
// for byte, but one cluster's items at a time as the clusters answer: the
// items need not all be held at once. The List's keys are printed in
// order (apiVersion, items, kind, metadata), so the failed clusters, known
// only at the end, still go into its metadata.
type ListWriter struct {
	w     io.Writer
	yaml  bool
	items int
	err   error
}

// NewListWriter writes a List as format ("json" or "yaml") to w.
func NewListWriter(w io.Writer, format string) (*ListWriter, error) {
	if format != "json" && format != "yaml" {
		return nil, fmt.Errorf("a List is streamed as json or yaml, not %q", format)
	}
	return &ListWriter{w: w, yaml: format == "yaml"}, nil
}

// Add writes one cluster's objects, ordered and annotated as MergeList
// orders and annotates them.
func (l *ListWriter) Add(part ClusterObjects) error {
	for _, it := range MergeList([]ClusterObjects{part}).Items {
		var b []byte
		var err error
		if l.yaml {
			// Marshalled as the single item of a list, so it wraps and
			// indents as it does among the others.
			b, err = yaml.Marshal(map[string]any{"items": []any{it.Object}})
			if err == nil {
				b = b[len("items:\n"):]
				if l.items == 0 {
					b = append([]byte("apiVersion: v1\nitems:\n"), b...)
				}
			}
		} else {
			b, err = json.MarshalIndent(it.Object, "        ", "    ")
			if err == nil {
				sep := ",\n        "
				if l.items == 0 {
					sep = "{\n    \"apiVersion\": \"v1\",\n    \"items\": [\n        "
				}
				b = append([]byte(sep), b...)
			}
		}
		if err != nil {
			return err
		}
		l.write(b)
		l.items++
	}
	return l.err
}

// Close writes the List's end: its kind, and metadata naming the clusters
// that failed.
func (l *ListWriter) Close(failed []Failure) error {
	meta := map[string]any{"resourceVersion": ""}
	if len(failed) > 0 {
		b, err := json.Marshal(failed)
		if err != nil {
			return err
		}
		meta["annotations"] = map[string]any{FailedClustersAnnotation: string(b)}
	}
	tail := map[string]any{"kind": "List", "metadata": meta}
	if l.yaml {
		b, err := yaml.Marshal(tail)
		if err != nil {
			return err
		}
		if l.items == 0 {
			l.write([]byte("apiVersion: v1\nitems: []\n"))
		}
		l.write(b)
		return l.err
	}
	b, err := json.MarshalIndent(tail, "", "    ")
	if err != nil {
		return err
	}
	b = bytes.TrimPrefix(b, []byte("{\n"))
	if l.items == 0 {
		l.write([]byte("{\n    \"apiVersion\": \"v1\",\n    \"items\": [],\n"))
	} else {
		l.write([]byte("\n    ],\n"))
	}
	l.write(append(b, '\n'))
	return l.err
}

func (l *ListWriter) write(b []byte) {
	if l.err == nil {
		_, l.err = l.w.Write(b)
	}
}
