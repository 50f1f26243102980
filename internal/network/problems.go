package network

import (
	"fmt"

	"github.com/dinfra/stack/internal/problem"
)

// Invalid is the rejection of a spec for ps (sorted by field), nil for none.
func Invalid(ps problem.List) error { return ps.Err("network spec") }

// path builds field paths: path("spec").key("groups").index(1).key("replicas").
type path string

func (p path) key(k string) path { return path(string(p) + "." + k) }
func (p path) index(i int) path  { return path(fmt.Sprintf("%s[%d]", p, i)) }
func (p path) String() string    { return string(p) }
