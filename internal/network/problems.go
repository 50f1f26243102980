package network

import (
	"fmt"
	"sort"
	"strings"
)

// Problem is one reason a spec is rejected, at a field path such as spec.groups[1].replicas.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.Field + ": " + p.Reason }

// Problems is every reason a spec is rejected; validation reports them all at once.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return "invalid network spec:\n  " + strings.Join(lines, "\n  ")
}

func (ps *Problems) add(field, format string, args ...any) {
	*ps = append(*ps, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

// err returns nil for no problems, the sorted list otherwise.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return ps[i].Field < ps[j].Field })
	return ps
}

// path builds field paths: path("spec").key("groups").index(1).key("replicas").
type path string

func (p path) key(k string) path { return path(string(p) + "." + k) }
func (p path) index(i int) path  { return path(fmt.Sprintf("%s[%d]", p, i)) }
func (p path) String() string    { return string(p) }
