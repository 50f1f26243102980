//go:build tools

// Package tools pins the gossamer node used by the local runtime and its tests.
package tools

import _ "github.com/ChainSafe/gossamer/cmd/gossamer"
