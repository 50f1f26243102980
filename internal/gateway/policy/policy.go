// Package policy decides which JSON-RPC methods a role may call. It is pure: roles in,
// decisions out.
package policy

import (
	"fmt"
	"slices"
	"strings"
)

// Unsafe lists node-admin and unsafe methods (polkadot-sdk's `unsafe` RPC set and the
// reserved-peer and log-filter controls). A role may call one only if its allow list names it
// exactly: no wildcard grants them.
var Unsafe = []string{
	"author_hasKey",
	"author_hasSessionKeys",
	"author_insertKey",
	"author_removeExtrinsic",
	"author_rotateKeys",
	"dev_getBlockStats",
	"offchain_localStorageGet",
	"offchain_localStorageSet",
	"state_getPairs",
	"state_traceBlock",
	"system_addLogFilter",
	"system_addReservedPeer",
	"system_dryRun",
	"system_networkState",
	"system_peers",
	"system_removeReservedPeer",
	"system_reservedPeers",
	"system_resetLogFilter",
	"system_unstable_networkState",
}

// Role is one compiled role.
type Role struct {
	allow, deny []pattern
	granted     map[string]bool // unsafe methods named exactly in allow
}

type pattern struct {
	text   string
	prefix bool
}

func (p pattern) match(method string) bool {
	if p.prefix {
		return strings.HasPrefix(method, p.text)
	}
	return method == p.text
}

// Compile builds a role from allow and deny patterns: "name", "prefix*" or "*".
func Compile(allow, deny []string) (*Role, error) {
	r := &Role{granted: map[string]bool{}}
	for _, a := range allow {
		p, err := parse(a)
		if err != nil {
			return nil, fmt.Errorf("allow: %w", err)
		}
		r.allow = append(r.allow, p)
		if !p.prefix && IsUnsafe(a) {
			r.granted[a] = true
		}
	}
	for _, d := range deny {
		p, err := parse(d)
		if err != nil {
			return nil, fmt.Errorf("deny: %w", err)
		}
		r.deny = append(r.deny, p)
	}
	return r, nil
}

func parse(s string) (pattern, error) {
	if s == "" {
		return pattern{}, fmt.Errorf("empty pattern")
	}
	if base, ok := strings.CutSuffix(s, "*"); ok {
		if strings.Contains(base, "*") {
			return pattern{}, fmt.Errorf("pattern %q: only a trailing * is allowed", s)
		}
		return pattern{text: base, prefix: true}, nil
	}
	if strings.Contains(s, "*") {
		return pattern{}, fmt.Errorf("pattern %q: only a trailing * is allowed", s)
	}
	return pattern{text: s}, nil
}

// IsUnsafe reports whether method is in Unsafe.
func IsUnsafe(method string) bool {
	_, found := slices.BinarySearch(Unsafe, method)
	return found
}

// Allows reports whether the role may call method. Deny wins; unsafe methods need an exact
// grant; otherwise an allow pattern must match.
func (r *Role) Allows(method string) bool {
	for _, p := range r.deny {
		if p.match(method) {
			return false
		}
	}
	if IsUnsafe(method) {
		return r.granted[method]
	}
	for _, p := range r.allow {
		if p.match(method) {
			return true
		}
	}
	return false
}
