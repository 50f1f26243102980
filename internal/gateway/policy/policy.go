// Package policy decides which JSON-RPC methods a role may call. It is pure: roles in,
// decisions out. The methods it knows, and how it treats each, are data in methods.go.
package policy

import (
	"fmt"
	"strings"
)

// Role is one compiled role.
type Role struct {
	allow, deny []pattern
	granted     map[string]bool // methods named exactly in allow
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
		if !p.prefix {
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
	if !ValidName(s) {
		return pattern{}, fmt.Errorf("%q is not a method name (namespace_method, ASCII letters and digits)", s)
	}
	return pattern{text: s}, nil
}

// Grants reports whether the role's allow list names method exactly (for calls that need
// more than a pattern, whatever the method's class).
func (r *Role) Grants(method string) bool { return r.granted[method] }

// Decision is a role's answer for one method.
type Decision uint8

const (
	Allowed Decision = iota
	Denied
	// NotFound: the gateway does not know the method and the role does not name it.
	NotFound
)

// Decide tells whether the role may call method. A method the gateway does not know is
// not found unless the role names it exactly; deny wins; Unsafe, Heavy and unknown methods
// need an exact grant; a Safe one needs a matching allow pattern.
func (r *Role) Decide(method string) Decision {
	class := Classify(method)
	if class == Unknown && !r.granted[method] {
		return NotFound
	}
	for _, p := range r.deny {
		if p.match(method) {
			return Denied
		}
	}
	if class != Safe {
		if r.granted[method] {
			return Allowed
		}
		return Denied
	}
	for _, p := range r.allow {
		if p.match(method) {
			return Allowed
		}
	}
	return Denied
}
