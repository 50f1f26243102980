package kube

import (
	"encoding/json"
	"fmt"
	"io"

	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"
)

// WriteYAML writes objects as a multi-document YAML stream, without the status and null
// timestamps typed objects carry before they reach an API server.
func WriteYAML(w io.Writer, objs []client.Object) error {
	for _, o := range objs {
		m, err := Clean(o)
		if err != nil {
			return err
		}
		doc, err := yaml.Marshal(m)
		if err != nil {
			return fmt.Errorf("encode %s %s: %w", o.GetObjectKind().GroupVersionKind().Kind, o.GetName(), err)
		}
		if _, err := fmt.Fprintf(w, "---\n%s", doc); err != nil {
			return err
		}
	}
	return nil
}

// Clean is an object as a JSON map without status and null values. Empty objects stay: some
// mean something (an empty namespaceSelector selects every namespace).
func Clean(o client.Object) (map[string]any, error) {
	raw, err := json.Marshal(o)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", o.GetName(), err)
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, err
	}
	delete(m, "status")
	prune(m)
	return m, nil
}

// prune drops null values, recursively; it reports whether v itself is null.
func prune(v any) bool {
	switch t := v.(type) {
	case nil:
		return true
	case map[string]any:
		for k, e := range t {
			if prune(e) {
				delete(t, k)
			}
		}
	case []any:
		for _, e := range t {
			prune(e)
		}
	}
	return false
}
