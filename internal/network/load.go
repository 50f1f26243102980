// Package network is the one way into a SubstrateNetwork spec: it loads, defaults and validates
// specs, and plans them into per-node plans that every backend (local processes, Kubernetes,
// DINFRA reactors) consumes.
package network

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"

	"github.com/santhosh-tekuri/jsonschema/v6"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/problem"
)

// MaxSpecBytes bounds a spec document. It is refused before it is parsed, so a huge document
// costs neither the YAML parser's nor the schema's memory. Kubernetes keeps objects under
// 1.5 MiB; a network of MaxNodes nodes needs far less than this.
const MaxSpecBytes = 1 << 20

// Load reads a spec file (YAML or JSON), then checks, defaults and validates it like Parse.
func Load(file string) (*v1alpha1.SubstrateNetwork, error) {
	f, err := os.Open(file)
	if err != nil {
		return nil, fmt.Errorf("read network spec: %w", err)
	}
	defer f.Close()
	data, err := Read(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	n, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return n, nil
}

// Parse checks a YAML or JSON document against the generated JSON Schema, decodes it, applies
// defaults and runs the semantic checks. Any rejection is a *problem.Error listing every reason: all
// structural problems (unknown fields, types, enums, patterns, bounds) at once, or, for a
// structurally valid spec, all semantic problems at once. Semantic rules assume the structure
// is right, so they do not run on a document the schema rejects.
func Parse(data []byte) (*v1alpha1.SubstrateNetwork, error) {
	if len(data) > MaxSpecBytes {
		return nil, tooLarge()
	}
	doc, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, Invalid(problem.List{{Field: problem.Document, Reason: "not valid YAML or JSON: " + err.Error()}})
	}
	if err := Invalid(checkSchema(doc)); err != nil {
		return nil, err
	}
	n, ps := decode(doc)
	if err := Invalid(ps); err != nil {
		return nil, err
	}
	Default(n)
	if err := Validate(n); err != nil {
		return nil, err
	}
	return n, nil
}

// tooLarge is the rejection of a document over MaxSpecBytes.
func tooLarge() error {
	return Invalid(problem.List{{Field: problem.Document, Reason: fmt.Sprintf("larger than the limit of %d bytes (1 MiB)", MaxSpecBytes)}})
}

// Read reads a spec document from r (a file, standard input), refusing it as soon as it
// passes MaxSpecBytes rather than reading it all into memory.
func Read(r io.Reader) ([]byte, error) {
	data, err := io.ReadAll(io.LimitReader(r, MaxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("read network spec: %w", err)
	}
	if len(data) > MaxSpecBytes {
		return nil, tooLarge()
	}
	return data, nil
}

// decode turns a schema-valid document into the Go type. The schema is closed, so an
// unknown field has mostly been reported with its path already; the decoder refuses the rest
// by path too: metadata (Kubernetes ObjectMeta, left open by the schema) and the pod fields
// that hold Kubernetes core types (opaque in the schema, scripts/crdschema).
func decode(doc []byte) (*v1alpha1.SubstrateNetwork, problem.List) {
	var top struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, problem.List{decodeProblem("", err)}
	}
	if len(top.Metadata) > 0 {
		if probs := decodeStrict("metadata", top.Metadata, new(metav1.ObjectMeta)); probs != nil {
			return nil, probs
		}
	}
	var n v1alpha1.SubstrateNetwork
	if probs := decodeStrict("", doc, &n); probs != nil {
		return nil, probs
	}
	return &n, nil
}

// decodeStrict decodes data (found at the path at) into v and refuses unknown and duplicate
// fields: sigs.k8s.io/json, the API server's decoder, names each one's full path, list
// indexes included, where encoding/json names only the field.
func decodeStrict(at string, data []byte, v any) problem.List {
	strict, err := kjson.UnmarshalStrict(data, v)
	if err != nil {
		// Decoded again only to fail: encoding/json's error is the typed one decodeProblem reads.
		if serr := json.Unmarshal(data, v); serr != nil {
			err = serr
		}
		return problem.List{decodeProblem(at, err)}
	}
	var probs problem.List
	for _, e := range strict {
		field := ""
		var fe kjson.FieldError
		if errors.As(e, &fe) {
			field = fe.FieldPath()
		}
		reason := strings.TrimSpace(strings.Replace(e.Error(), fmt.Sprintf("%q", field), "", 1))
		probs = append(probs, problem.Problem{Field: joinField(at, field), Reason: reason})
	}
	return probs
}

// decodeProblem names the field of a decoding error where encoding/json knows it.
func decodeProblem(at string, err error) problem.Problem {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return problem.Problem{Field: joinField(at, te.Field), Reason: fmt.Sprintf("must be %s, got a JSON %s", te.Type, te.Value)}
	}
	return problem.Problem{Field: joinField(at, ""), Reason: strings.TrimPrefix(err.Error(), "json: ")}
}

// joinField is the path of field inside at; the document itself when both are empty.
func joinField(at, field string) string {
	switch {
	case at == "" && field == "":
		return problem.Document
	case at == "" || field == "":
		return at + field
	}
	return at + "." + field
}

// compiledSchema compiles the embedded schema on first use, which commands that never read a
// spec (the operator's, --help) need not do at start.
var compiledSchema = sync.OnceValue(mustCompileSchema)

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

// checkSchema validates a JSON document against the schema: one problem per failing leaf, and
// per missing or unknown property.
func checkSchema(doc []byte) problem.List {
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(doc))
	if err != nil {
		return problem.List{{Field: problem.Document, Reason: err.Error()}}
	}
	var verr *jsonschema.ValidationError
	if err := compiledSchema().Validate(inst); err == nil || !errors.As(err, &verr) {
		return nil
	}
	return problem.Schema(verr, inst, patternHelp)
}

// patternHelp says in words what the schema's patterns accept. A pattern missing here is shown
// as it is; TestPatternHelp keeps this table complete.
var patternHelp = map[string]string{
	`^[a-z]([a-z0-9-]{0,30}[a-z0-9])?$`:       "a name of 1 to 32 lowercase letters, digits and '-' that starts with a letter and does not end with '-'",
	`^[a-z0-9][a-z0-9_.-]*$`:                  "a chain name of lowercase letters, digits, '.', '_' and '-'",
	`^https?://`:                              "an http:// or https:// URL",
	`^(archive|[0-9]+)$`:                      "archive or a number of blocks",
	`^[0-9a-f]{64}$`:                          "a sha256 checksum: 64 lowercase hex digits",
	`^[a-z]{4}:(sr25519|ed25519|ecdsa)$`:      "a key type and scheme such as babe:sr25519 (scheme sr25519, ed25519 or ecdsa)",
	`^-?[0-9]+(\.[0-9]+)?([eE][-+]?[0-9]+)?$`: "a decimal number as a string, such as \"0.01\"",
	`^(\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\+|-)?(([0-9]+(\.[0-9]*)?)|(\.[0-9]+))))?$`: "a Kubernetes quantity such as 500m, 2 or 4Gi",
	`^[a-zA-Z_][a-zA-Z0-9_]*$`: "a Prometheus label name: letters, digits and '_', not starting with a digit",
	`^(0|(([0-9]+)y)?(([0-9]+)w)?(([0-9]+)d)?(([0-9]+)h)?(([0-9]+)m)?(([0-9]+)s)?(([0-9]+)ms)?)$`: "a Prometheus duration such as 30s, 1m or 1h30m",
}
