// Package schemas holds the JSON Schemas of the built-in descriptor types.
//
// substrate-network/v1alpha1 uses the schema generated from the Go type in api/v1alpha1 (the
// one published as docs/schema/substratenetwork.schema.json), so the descriptor type and the
// Open Node Framework spec can never drift apart. cloud-init-v1.schema.json is owned here.
package schemas

import (
	"embed"
	"fmt"

	"github.com/dinfra/stack/api/v1alpha1"
)

//go:embed *.schema.json
var files embed.FS

// Builtin returns the schema document of every built-in type, by type name.
func Builtin() (map[string][]byte, error) {
	cloudInit, err := files.ReadFile("cloud-init-v1.schema.json")
	if err != nil {
		return nil, fmt.Errorf("embedded cloud-init schema: %w", err)
	}
	return map[string][]byte{
		"substrate-network/v1alpha1": v1alpha1.JSONSchema,
		"cloud-init/v1":              cloudInit,
	}, nil
}
