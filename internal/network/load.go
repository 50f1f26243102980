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
	"slices"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
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
// defaults and runs the semantic checks. Any rejection is a Problems listing every reason: all
// structural problems (unknown fields, types, enums, patterns, bounds) at once, or, for a
// structurally valid spec, all semantic problems at once. Semantic rules assume the structure
// is right, so they do not run on a document the schema rejects.
func Parse(data []byte) (*v1alpha1.SubstrateNetwork, error) {
	if len(data) > MaxSpecBytes {
		return nil, tooLarge()
	}
	doc, err := yaml.YAMLToJSON(data)
	if err != nil {
		return nil, Problems{{Field: "(document)", Reason: "not valid YAML or JSON: " + err.Error()}}
	}
	if ps := checkSchema(doc); len(ps) > 0 {
		return nil, ps.err()
	}
	n, ps := decode(doc)
	if len(ps) > 0 {
		return nil, ps.err()
	}
	Default(n)
	if err := Validate(n); err != nil {
		return nil, err
	}
	return n, nil
}

// tooLarge is the problem of a document over MaxSpecBytes.
func tooLarge() Problems {
	return Problems{{Field: "(document)", Reason: fmt.Sprintf("larger than the limit of %d bytes (1 MiB)", MaxSpecBytes)}}
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
// unknown field anywhere else has been reported with its path already; metadata is Kubernetes
// ObjectMeta, left open by the schema, so it is decoded strictly on its own to name the place.
func decode(doc []byte) (*v1alpha1.SubstrateNetwork, Problems) {
	var top struct {
		Metadata json.RawMessage `json:"metadata"`
	}
	if err := json.Unmarshal(doc, &top); err != nil {
		return nil, Problems{decodeProblem("", err)}
	}
	if len(top.Metadata) > 0 {
		if err := decodeStrict(top.Metadata, new(metav1.ObjectMeta)); err != nil {
			return nil, Problems{decodeProblem("metadata", err)}
		}
	}
	var n v1alpha1.SubstrateNetwork
	if err := decodeStrict(doc, &n); err != nil {
		return nil, Problems{decodeProblem("", err)}
	}
	return &n, nil
}

func decodeStrict(data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}

// decodeProblem names the field of a decoding error where encoding/json knows it.
func decodeProblem(at string, err error) Problem {
	join := func(field string) string {
		switch {
		case at == "" && field == "":
			return "(document)"
		case at == "" || field == "":
			return at + field
		}
		return at + "." + field
	}
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		return Problem{Field: join(te.Field), Reason: fmt.Sprintf("must be %s, got a JSON %s", te.Type, te.Value)}
	}
	return Problem{Field: join(""), Reason: strings.TrimPrefix(err.Error(), "json: ")}
}

var compiledSchema = mustCompileSchema()

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

// checkSchema validates a JSON document against the schema: one Problem per failing leaf, and
// per missing or unknown property.
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
	seen := map[Problem]bool{}
	for _, p := range schemaProblems(verr) {
		if !seen[p] {
			seen[p] = true
			ps = append(ps, p)
		}
	}
	return ps
}

// schemaProblems flattens a validation error tree into problems at field paths.
func schemaProblems(e *jsonschema.ValidationError) Problems {
	at := e.InstanceLocation
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		var ps Problems
		for _, name := range k.Missing {
			ps = append(ps, Problem{Field: fieldPath(append(slices.Clip(at), name)), Reason: "required"})
		}
		return ps
	case *kind.AdditionalProperties:
		var ps Problems
		for _, name := range k.Properties {
			ps = append(ps, Problem{Field: fieldPath(append(slices.Clip(at), name)), Reason: "unknown field"})
		}
		return ps
	case *kind.AnyOf:
		if want := typeAlternatives(e); want != nil {
			return Problems{{Field: fieldPath(at), Reason: schemaReason(want)}}
		}
	}
	if len(e.Causes) == 0 {
		return Problems{{Field: fieldPath(at), Reason: schemaReason(e.ErrorKind)}}
	}
	var ps Problems
	for _, c := range e.Causes {
		ps = append(ps, schemaProblems(c)...)
	}
	return ps
}

// typeAlternatives merges an anyOf whose branches all failed on type alone (int-or-string
// fields) into one type problem; nil if any branch failed for another reason.
func typeAlternatives(e *jsonschema.ValidationError) *kind.Type {
	merged := &kind.Type{}
	for _, c := range e.Causes {
		t, ok := c.ErrorKind.(*kind.Type)
		if !ok || len(c.Causes) > 0 {
			return nil
		}
		merged.Got = t.Got
		merged.Want = append(merged.Want, t.Want...)
	}
	return merged
}

var printer = message.NewPrinter(language.English)

// schemaReason words a failed keyword for someone editing the spec: what the value must be,
// then what it is.
func schemaReason(k jsonschema.ErrorKind) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Const:
		return fmt.Sprintf("must be %s, got %s", show(k.Want), show(k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = show(w)
		}
		return fmt.Sprintf("must be one of %s, got %s", strings.Join(want, ", "), show(k.Got))
	case *kind.Pattern:
		if help, ok := patternHelp[k.Want]; ok {
			return fmt.Sprintf("must be %s, got %q", help, k.Got)
		}
		return fmt.Sprintf("must match %s, got %q", k.Want, k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("must be >= %s, got %s", k.Want.RatString(), k.Got.RatString())
	case *kind.Maximum:
		return fmt.Sprintf("must be <= %s, got %s", k.Want.RatString(), k.Got.RatString())
	case *kind.MinItems:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must have at least %d items, got %d", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items, got %d", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long, got %d", k.Want, k.Got)
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long, got %d", k.Want, k.Got)
	}
	return k.LocalizedString(printer)
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
}

// show renders a JSON value as it would appear in a JSON document.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
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
