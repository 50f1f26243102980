package schemas

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/dinfra/stack/internal/testenv"
)

var update = flag.Bool("update", false, "copy docs/schema/substratenetwork.schema.json over the embedded copy")

// TestSubstrateNetworkSchemaMatchesDocs keeps the embedded schema identical to the one
// generated from api/v1alpha1 into docs/schema.
func TestSubstrateNetworkSchemaMatchesDocs(t *testing.T) {
	generated := filepath.Join("..", "..", "..", "docs", "schema", "substratenetwork.schema.json")
	want, err := os.ReadFile(generated)
	if os.IsNotExist(err) {
		testenv.Missing(t, generated+" has not been generated yet")
	}
	if err != nil {
		t.Fatal(err)
	}
	local := Files["substrate-network/v1alpha1"]
	if *update {
		if err := os.WriteFile(local, want, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	got, err := os.ReadFile(local) // the embedded bytes are this file as of the build
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from %s: run `go test ./internal/descriptor/schemas -update`", local, generated)
	}
}

func TestEveryFileEmbedded(t *testing.T) {
	for name, file := range Files {
		if _, err := FS.ReadFile(file); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}
