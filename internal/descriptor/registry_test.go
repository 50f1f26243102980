package descriptor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

func readExample(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "examples", "descriptors", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func newRegistry(t *testing.T) *Registry {
	t.Helper()
	r, err := NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestBuiltinTypes(t *testing.T) {
	r := newRegistry(t)
	var names []string
	for _, ty := range r.Types() {
		names = append(names, ty.Name)
		// Schemas are stored by CID: the CID is the hash of the exact schema bytes.
		if err := Verify(ty.SchemaCID, ty.Schema); err != nil {
			t.Errorf("%s: %v", ty.Name, err)
		}
	}
	want := []string{TypeCloudInit, TypeSubstrateNetwork}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("types = %v, want %v", names, want)
	}
}

func TestExamplesAreValid(t *testing.T) {
	r := newRegistry(t)
	for file, typ := range map[string]string{"dev-network.json": TypeSubstrateNetwork, "vm.json": TypeCloudInit} {
		if err := r.Validate(typ, readExample(t, file)); err != nil {
			t.Errorf("%s: %v", file, err)
		}
	}
}

// edit applies a JSON edit to the dev network example by string replacement, so each case
// reads as the one change it makes.
func edit(t *testing.T, doc []byte, old, new string) []byte {
	t.Helper()
	if !strings.Contains(string(doc), old) {
		t.Fatalf("example does not contain %q", old)
	}
	return []byte(strings.Replace(string(doc), old, new, 1))
}

func TestValidationProblems(t *testing.T) {
	r := newRegistry(t)
	network := readExample(t, "dev-network.json")
	vm := readExample(t, "vm.json")
	tests := []struct {
		name string
		typ  string
		doc  []byte
		want problem.List
	}{
		{"bad role", TypeSubstrateNetwork, edit(t, network, `"role": "rpc"`, `"role": "miner"`),
			problem.List{{Field: "spec.groups[1].role", Reason: `must be one of "validator", "collator", "full", "archive", "rpc", "bootnode", got "miner"`}}},
		{"negative replicas", TypeSubstrateNetwork, edit(t, network, `"replicas": 1,
        "keys"`, `"replicas": -1,
        "keys"`),
			problem.List{{Field: "spec.groups[0].replicas", Reason: "must be >= 0, got -1"}}},
		{"missing chain", TypeSubstrateNetwork, edit(t, network, `"chain": {
      "builtin": "westend-dev"
    },`, ``),
			problem.List{{Field: "spec.chain", Reason: "required"}}},
		{"network: misspelt field", TypeSubstrateNetwork, edit(t, network, `"chain"`, `"chian"`),
			problem.List{{Field: "spec.chain", Reason: "required"}, {Field: "spec.chian", Reason: "unknown field"}}},
		{"vm: unknown field", TypeCloudInit, edit(t, vm, `"cpus"`, `"cpu": 1, "cpus"`),
			problem.List{{Field: "cpu", Reason: "unknown field"}}},
		{"wrong kind", TypeSubstrateNetwork, edit(t, network, `"SubstrateNetwork"`, `"Deployment"`),
			problem.List{{Field: "kind", Reason: `must be "SubstrateNetwork", got "Deployment"`}}},
		{"not JSON", TypeSubstrateNetwork, []byte("{\n  \"spec\": ,\n}"),
			problem.List{{Field: problem.Document, Reason: "not valid JSON at line 2, column 11: invalid character ',' looking for beginning of value"}}},
		{"trailing data", TypeCloudInit, append(append([]byte{}, vm...), []byte("{}")...),
			problem.List{{Field: problem.Document, Reason: "unexpected data after the JSON value at line 10, column 1"}}},
		{"array instead of object", TypeCloudInit, []byte(`[]`),
			problem.List{{Field: problem.Document, Reason: "must be object, got array"}}},
		{"vm: several problems at once", TypeCloudInit, []byte(`{"name":"Builder","image":"debian-12","cpus":0,"memoryMiB":1024,"diskGiB":10,"userData":"echo hi","sshAuthorizedKeys":["ssh-dss AAAA"]}`),
			problem.List{
				{Field: "cpus", Reason: "must be >= 1, got 0"},
				{Field: "name", Reason: `must match ^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$, got "Builder"`},
				{Field: "sshAuthorizedKeys[0]", Reason: `must match ^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp256|ecdsa-sha2-nistp384|ecdsa-sha2-nistp521) [A-Za-z0-9+/]+=*( [^\n]*)?$, got "ssh-dss AAAA"`},
				{Field: "userData", Reason: `must match ^(#cloud-config|#!), got "echo hi"`},
			}},
		{"too large", TypeCloudInit, make([]byte, MaxSize+1),
			problem.List{{Field: problem.Document, Reason: "document is 262145 bytes, the maximum is 262144"}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := r.Validate(tt.typ, tt.doc)
			got := problem.Of(err)
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("problems:\n got %q\nwant %q\n(err %v)", got, tt.want, err)
			}
			if !strings.Contains(err.Error(), tt.want[0].String()) {
				t.Fatalf("error text %q does not name %q", err, tt.want[0])
			}
		})
	}
}

func TestUnknownType(t *testing.T) {
	r := newRegistry(t)
	if err := r.Validate("vm/v9", []byte(`{}`)); !errors.Is(err, ErrUnknownType) {
		t.Fatalf("err = %v, want ErrUnknownType", err)
	}
}

func TestAddAndLoadType(t *testing.T) {
	r := newRegistry(t)
	store, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	schema := []byte(`{"type":"object","required":["size"],"properties":{"size":{"type":"integer","minimum":1}}}`)
	c, err := store.Put(ctx, schema)
	if err != nil {
		t.Fatal(err)
	}
	ty, err := r.Load(ctx, store, "disk/v1", c)
	if err != nil {
		t.Fatal(err)
	}
	if !ty.SchemaCID.Equals(c) {
		t.Fatalf("schema CID %s, want %s", ty.SchemaCID, c)
	}
	if got := problem.Of(r.Validate("disk/v1", []byte(`{"size":0}`))); !reflect.DeepEqual(got, problem.List{{Field: "size", Reason: "must be >= 1, got 0"}}) {
		t.Fatalf("problems = %v", got)
	}
	// Same name, same schema: no-op. Same name, another schema: refused.
	if _, err := r.Add("disk/v1", schema); err != nil {
		t.Fatalf("re-adding the same schema: %v", err)
	}
	if _, err := r.Add("disk/v1", []byte(`{"type":"object"}`)); err == nil || !strings.Contains(err.Error(), "already registered") {
		t.Fatalf("err = %v, want already registered", err)
	}
}

func TestAddRejects(t *testing.T) {
	r := newRegistry(t)
	tests := []struct {
		name, typ, schema, wantErr string
	}{
		{"bad name", "Disk", `{}`, "want NAME/VERSION"},
		{"not JSON", "disk/v2", `{`, "not valid JSON"},
		{"not an object", "disk/v2", `[]`, "must be a JSON object"},
		{"invalid schema", "disk/v2", `{"type":"integer","minimum":"one"}`, "minimum"},
		{"external reference", "disk/v2", `{"$ref":"https://example.com/s.json"}`, "external references are not allowed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := r.Add(tt.typ, []byte(tt.schema))
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
