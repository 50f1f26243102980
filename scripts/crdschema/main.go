// Command crdschema turns the openAPIV3Schema of a generated CustomResourceDefinition into a
// standalone JSON Schema document (draft 2020-12) for the same object, so specs can be checked
// outside a cluster (`onf validate`) against exactly what the API server enforces.
//
// Fields listed in the -opaque file keep only their own type and description: they hold Kubernetes
// core types (containers, volumes, affinity, ...) whose full schemas would make the document
// larger than a DINFRA descriptor may be (256 KiB). onf still checks them: the decoder is
// strict about their fields, onf's validation checks what it must, and the API server checks
// the rendered pods.
//
//	go run ./scripts/crdschema -opaque scripts/crdschema/opaque.txt CRD.yaml OUT.schema.json
package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"sigs.k8s.io/yaml"
)

const draft = "https://json-schema.org/draft/2020-12/schema"

func main() {
	opaque := flag.String("opaque", "", "a file of field paths (spec.groups[].pod.volumes), one a line, whose schemas are left out; # starts a comment")
	flag.Parse()
	if flag.NArg() != 2 {
		fmt.Fprintln(os.Stderr, "usage: crdschema [-opaque FILE] CRD.yaml OUT.schema.json")
		os.Exit(2)
	}
	paths, err := readPaths(*opaque)
	if err == nil {
		err = run(flag.Arg(0), flag.Arg(1), paths)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "crdschema:", err)
		os.Exit(1)
	}
}

// crd holds the parts of a CustomResourceDefinition the schema is made from.
type crd struct {
	Spec struct {
		Group string `json:"group"`
		Names struct {
			Kind string `json:"kind"`
		} `json:"names"`
		Versions []struct {
			Name    string `json:"name"`
			Storage bool   `json:"storage"`
			Schema  struct {
				OpenAPIV3Schema map[string]any `json:"openAPIV3Schema"`
			} `json:"schema"`
		} `json:"versions"`
	} `json:"spec"`
}

func run(in, out string, opaque []string) error {
	raw, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read CRD: %w", err)
	}
	var c crd
	if err := yaml.Unmarshal(raw, &c); err != nil {
		return fmt.Errorf("parse CRD %s: %w", in, err)
	}
	for _, v := range c.Spec.Versions {
		if !v.Storage {
			continue
		}
		schema := v.Schema.OpenAPIV3Schema
		if schema == nil {
			return fmt.Errorf("%s: version %s has no openAPIV3Schema", in, v.Name)
		}
		for _, path := range opaque {
			if err := makeOpaque(schema, path); err != nil {
				return err
			}
		}
		apiVersion := c.Spec.Group + "/" + v.Name
		pinProperty(schema, "apiVersion", apiVersion)
		pinProperty(schema, "kind", c.Spec.Names.Kind)
		closeObjects(schema)
		schema["$schema"] = draft
		schema["$id"] = "https://" + c.Spec.Group + "/schemas/" + v.Name + "/" + c.Spec.Names.Kind + ".json"
		schema["title"] = c.Spec.Names.Kind + " " + apiVersion
		doc, err := json.MarshalIndent(schema, "", "  ")
		if err != nil {
			return fmt.Errorf("encode schema: %w", err)
		}
		if err := os.WriteFile(out, append(doc, '\n'), 0o644); err != nil {
			return fmt.Errorf("write schema: %w", err)
		}
		return nil
	}
	return fmt.Errorf("%s: no storage version", in)
}

// pinProperty makes a top-level string property required and fixes its value: a CRD leaves
// apiVersion and kind open because the API server routes on them, a standalone document must
// name them.
func pinProperty(schema map[string]any, name, value string) {
	props, _ := schema["properties"].(map[string]any)
	if props == nil {
		props = map[string]any{}
		schema["properties"] = props
	}
	prop, _ := props[name].(map[string]any)
	if prop == nil {
		prop = map[string]any{"type": "string"}
		props[name] = prop
	}
	prop["const"] = value
	required, _ := schema["required"].([]any)
	for _, r := range required {
		if r == name {
			return
		}
	}
	schema["required"] = append([]any{name}, required...)
}

// closeObjects makes every object schema that lists its properties refuse others, in place.
// The CRD is open (the API server prunes unknown fields); a standalone spec is checked more
// strictly, because a misspelt field that is silently dropped is a node misconfigured, and the
// schema names its path where a decoder cannot. Objects that list no properties (metadata)
// stay open.
func closeObjects(schema any) {
	s, ok := schema.(map[string]any)
	if !ok {
		return
	}
	if props, ok := s["properties"].(map[string]any); ok {
		if _, set := s["additionalProperties"]; !set {
			s["additionalProperties"] = false
		}
		for _, p := range props {
			closeObjects(p)
		}
	}
	closeObjects(s["items"])
	closeObjects(s["additionalProperties"])
	for _, kw := range []string{"allOf", "anyOf", "oneOf"} {
		subs, _ := s[kw].([]any)
		for _, sub := range subs {
			closeObjects(sub)
		}
	}
}

// readPaths reads the field paths of an -opaque file (none without one).
func readPaths(file string) ([]string, error) {
	if file == "" {
		return nil, nil
	}
	raw, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	var paths []string
	for _, line := range strings.Split(string(raw), "\n") {
		if line = strings.TrimSpace(line); line != "" && !strings.HasPrefix(line, "#") {
			paths = append(paths, line)
		}
	}
	return paths, nil
}

// makeOpaque replaces the schema of the field at path (dots between fields, [] for a list's
// items) by its type and description; a list keeps items of its items' type.
func makeOpaque(schema map[string]any, path string) error {
	s := schema
	for _, name := range strings.Split(path, ".") {
		name, list := strings.CutSuffix(name, "[]")
		props, _ := s["properties"].(map[string]any)
		next, _ := props[name].(map[string]any)
		if next == nil {
			return fmt.Errorf("-opaque %s: no field %q", path, name)
		}
		s = next
		if list {
			if s, _ = s["items"].(map[string]any); s == nil {
				return fmt.Errorf("-opaque %s: %q is not a list", path, name)
			}
		}
	}
	kept := map[string]any{"type": s["type"], "description": s["description"]}
	if items, ok := s["items"].(map[string]any); ok {
		kept["items"] = map[string]any{"type": items["type"]}
	}
	if kept["type"] == nil {
		return errors.New("-opaque " + path + ": the field has no type")
	}
	clear(s)
	for k, v := range kept {
		if v != nil {
			s[k] = v
		}
	}
	return nil
}
