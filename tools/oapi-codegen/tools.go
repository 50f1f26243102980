//go:build tools

// Package tools pins the OpenAPI code generator that turns api/reactor/openapi.yaml into
// the Chain Reactor API's Go server and client (see api/reactor/generate.sh).
package tools

import _ "github.com/oapi-codegen/oapi-codegen/v2/cmd/oapi-codegen"
