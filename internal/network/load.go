// Package network is the one way into a SubstrateNetwork spec: it loads, defaults and validates
// specs, and plans them into per-node plans that every backend (local processes, Kubernetes,
// DINFRA reactors) consumes.
package network

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
)

// Load reads a spec file (YAML or JSON), then checks, defaults and validates it like Parse.
func Load(file string) (*v1alpha1.SubstrateNetwork, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read network spec: %w", err)
	}
	n, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return n, nil
}

// Parse checks a YAML or JSON document against the generated JSON Schema, decodes it, applies
// defaults and runs the semantic checks. Any rejection is a Problems listing every reason.
func Parse(data []byte) (*v1alpha1.SubstrateNetwork, error) {
	doc, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, Problems{{Field: "(document)", Reason: "not valid YAML or JSON: " + err.Error()}}
	}
	if ps := checkSchema(doc); len(ps) > 0 {
		return nil, ps.err()
	}
	var n v1alpha1.SubstrateNetwork
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&n); err != nil {
		return nil, Problems{{Field: "(document)", Reason: err.Error()}}
	}
	Default(&n)
	if err := Validate(&n); err != nil {
		return nil, err
	}
	return &n, nil
}

var (
	compiledSchema = mustCompileSchema()
	printer        = message.NewPrinter(language.English)
)

func mustCompileSchema() *jsonschema.Schema {
	doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(v1alpha1.JSONSchema))
	if err != nil {
		panic(fmt.Sprintf("embedded SubstrateNetwork schema: %v", err))
	}
	c := jsonschema.NewCompiler()
	const url = "substratenetwork.schema.json"
	if err := c.AddResource(url, doc); err != nil {
		panic(err)
	}
	return c.MustCompile(url)
}

// checkSchema validates a JSON document against the schema, one Problem per failing leaf.
func checkSchema(doc []byte) Problems {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return Problems{{Field: "(document)", Reason: err.Error()}}
	}
	err = compiledSchema.Validate(inst)
	var verr *jsonschema.ValidationError
	if err == nil || !errors.As(err, &verr) {
		return nil
	}
	var ps Problems
	for _, leaf := range leaves(verr) {
		ps = append(ps, Problem{Field: fieldPath(leaf.InstanceLocation), Reason: leaf.ErrorKind.LocalizedString(printer)})
	}
	return ps
}

func leaves(e *jsonschema.ValidationError) []*jsonschema.ValidationError {
	if len(e.Causes) == 0 {
		return []*jsonschema.ValidationError{e}
	}
	var out []*jsonschema.ValidationError
	for _, c := range e.Causes {
		out = append(out, leaves(c)...)
	}
	return out
}

// fieldPath turns a JSON pointer's tokens into spec.groups[1].replicas form.
func fieldPath(tokens []string) string {
	var b strings.Builder
	for _, t := range tokens {
		if _, err := strconv.Atoi(t); err == nil {
			b.WriteString("[" + t + "]")
			continue
		}
		if b.Len() > 0 {
			b.WriteByte('.')
		}
		b.WriteString(t)
	}
	if b.Len() == 0 {
		return "(document)"
	}
	return b.String()
}
