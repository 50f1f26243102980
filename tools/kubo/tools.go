//go:build tools

// Package tools pins the IPFS node (kubo) the descriptor store is tested against.
package tools

import _ "github.com/ipfs/kubo/cmd/ipfs"
