package v1alpha1

import _ "embed"

// JSONSchema is the JSON Schema (draft 2020-12) of a SubstrateNetwork document, generated from
// these types by scripts/generate.sh and published as docs/schema/substratenetwork.schema.json.
//
//go:embed substratenetwork.schema.json
var JSONSchema []byte
