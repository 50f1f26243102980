// Package schemas embeds the JSON Schemas of the built-in descriptor types.
//
// substrate-network-v1alpha1.schema.json is a copy of docs/schema/substratenetwork.schema.json,
// which is generated from the Go type in api/v1alpha1; a test in this package fails when the
// two differ (refresh the copy with `go test ./internal/descriptor/schemas -update`).
// cloud-init-v1.schema.json is written by hand and owned here.
package schemas

import "embed"

// FS holds the schema files.
//
//go:embed *.schema.json
var FS embed.FS

// Built-in schema files, by descriptor type name.
var Files = map[string]string{
	"substrate-network/v1alpha1": "substrate-network-v1alpha1.schema.json",
	"cloud-init/v1":              "cloud-init-v1.schema.json",
}
