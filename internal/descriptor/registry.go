package descriptor

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"sync"

	"github.com/ipfs/go-cid"
	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/dinfra/stack/internal/descriptor/schemas"
	"github.com/dinfra/stack/internal/problem"
)

// Built-in descriptor type names.
const (
	TypeSubstrateNetwork = "substrate-network/v1alpha1"
	TypeCloudInit        = "cloud-init/v1"
)

// ErrUnknownType is returned for a descriptor type the registry does not know.
var ErrUnknownType = errors.New("unknown descriptor type")

// typeName is NAME/VERSION, e.g. substrate-network/v1alpha1.
var typeName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,62}/v[0-9]+((alpha|beta)[0-9]+)?$`)

// Type is a descriptor type: its name and the JSON Schema (stored by CID) its documents
// must satisfy.
type Type struct {
	Name      string
	SchemaCID cid.Cid
	Schema    []byte
	compiled  *jsonschema.Schema
}

// Validate checks doc against the type's schema. It returns a *problem.Error listing every
// problem (see Invalid), or nil.
func (t *Type) Validate(doc []byte) error {
	if len(doc) > MaxSize {
		return Invalid(t.Name, problem.List{{Field: problem.Document, Reason: fmt.Sprintf("document is %d bytes, the maximum is %d", len(doc), MaxSize)}})
	}
	v, p := decodeJSON(doc)
	if p != nil {
		return Invalid(t.Name, problem.List{*p})
	}
	err := t.compiled.Validate(v)
	if err == nil {
		return nil
	}
	var ve *jsonschema.ValidationError
	if !errors.As(err, &ve) {
		return fmt.Errorf("validate %s descriptor: %w", t.Name, err)
	}
	return Invalid(t.Name, problem.Schema(ve, v, nil))
}

// Registry knows descriptor types by name. It is safe for concurrent use.
type Registry struct {
	mu    sync.RWMutex
	types map[string]*Type
}

// NewRegistry returns a registry holding the built-in types.
func NewRegistry() (*Registry, error) {
	r := &Registry{types: map[string]*Type{}}
	builtin, err := schemas.Builtin()
	if err != nil {
		return nil, err
	}
	names := make([]string, 0, len(builtin))
	for name := range builtin {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if _, err := r.Add(name, builtin[name]); err != nil {
			return nil, fmt.Errorf("built-in type %s: %w", name, err)
		}
	}
	return r, nil
}

// Add compiles schema and registers it as type name. Adding the same name with the same
// schema again is a no-op; with a different schema it is an error (a type's schema never
// changes: publish a new version instead).
func (r *Registry) Add(name string, schema []byte) (*Type, error) {
	if !typeName.MatchString(name) {
		return nil, fmt.Errorf("type name %q: want NAME/VERSION such as substrate-network/v1alpha1", name)
	}
	c, err := CID(schema)
	if err != nil {
		return nil, fmt.Errorf("schema of %s: %w", name, err)
	}
	r.mu.RLock()
	existing := r.types[name]
	r.mu.RUnlock()
	if existing != nil {
		if existing.SchemaCID.Equals(c) {
			return existing, nil
		}
		return nil, fmt.Errorf("type %s is already registered with schema %s, not %s", name, existing.SchemaCID, c)
	}
	compiled, err := compile(c, schema)
	if err != nil {
		return nil, fmt.Errorf("schema %s of %s: %w", c, name, err)
	}
	t := &Type{Name: name, SchemaCID: c, Schema: schema, compiled: compiled}
	r.mu.Lock()
	defer r.mu.Unlock()
	if existing := r.types[name]; existing != nil { // lost a race with another Add
		if existing.SchemaCID.Equals(c) {
			return existing, nil
		}
		return nil, fmt.Errorf("type %s is already registered with schema %s, not %s", name, existing.SchemaCID, c)
	}
	r.types[name] = t
	return t, nil
}

// Load registers type name with the schema stored under schemaCID, fetched from store (as
// the chain's type registry references schemas by CID).
func (r *Registry) Load(ctx context.Context, store Store, name string, schemaCID cid.Cid) (*Type, error) {
	if t, ok := r.Lookup(name); ok && t.SchemaCID.Equals(schemaCID) {
		return t, nil
	}
	schema, err := store.Get(ctx, schemaCID)
	if err != nil {
		return nil, fmt.Errorf("fetch schema of %s: %w", name, err)
	}
	return r.Add(name, schema)
}

// Lookup returns the type called name.
func (r *Registry) Lookup(name string) (*Type, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.types[name]
	return t, ok
}

// Types returns every registered type, sorted by name.
func (r *Registry) Types() []*Type {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]*Type, 0, len(r.types))
	for _, t := range r.types {
		out = append(out, t)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// Validate checks doc against type name: an error wrapping ErrUnknownType, an
// *problem.Error, or nil.
func (r *Registry) Validate(name string, doc []byte) error {
	t, ok := r.Lookup(name)
	if !ok {
		return fmt.Errorf("%w %q", ErrUnknownType, name)
	}
	return t.Validate(doc)
}

// compile turns a schema document into a validator. Schemas may only reference themselves:
// nothing is fetched from the network or the file system.
func compile(c cid.Cid, schema []byte) (*jsonschema.Schema, error) {
	doc, p := decodeJSON(schema)
	if p != nil {
		return nil, errors.New(p.Reason)
	}
	if _, ok := doc.(map[string]any); !ok {
		return nil, errors.New("a schema must be a JSON object")
	}
	comp := jsonschema.NewCompiler()
	comp.UseLoader(noLoader{})
	comp.AssertFormat()
	loc := "ipfs://" + c.String()
	if err := comp.AddResource(loc, doc); err != nil {
		return nil, err
	}
	return comp.Compile(loc)
}

// noLoader refuses every external schema reference.
type noLoader struct{}

func (noLoader) Load(url string) (any, error) {
	return nil, fmt.Errorf("schema references %s: external references are not allowed", url)
}
