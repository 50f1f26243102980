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

// err returns nil for no problems, the list sorted by field otherwise.
func (ps Problems) err() error {
	if len(ps) == 0 {
		return nil
	}
	sort.SliceStable(ps, func(i, j int) bool { return fieldLess(ps[i].Field, ps[j].Field) })
	return ps
}

// fieldLess orders field paths as a reader expects: list indexes by number, so
// spec.groups[2] comes before spec.groups[10].
func fieldLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digits(a), digits(b)
		if da > 0 && db > 0 {
			na, nb := strings.TrimLeft(a[:da], "0"), strings.TrimLeft(b[:db], "0")
			if len(na) != len(nb) {
				return len(na) < len(nb)
			}
			if na != nb {
				return na < nb
			}
			a, b = a[da:], b[db:]
			continue
		}
		if a[0] != b[0] {
			return a[0] < b[0]
		}
		a, b = a[1:], b[1:]
	}
	return len(a) < len(b)
}

// digits is the length of the run of ASCII digits s starts with.
func digits(s string) int {
	n := 0
	for n < len(s) && s[n] >= '0' && s[n] <= '9' {
		n++
	}
	return n
}

// path builds field paths: path("spec").key("groups").index(1).key("replicas").
type path string

func (p path) key(k string) path { return path(string(p) + "." + k) }
func (p path) index(i int) path  { return path(fmt.Sprintf("%s[%d]", p, i)) }
func (p path) String() string    { return string(p) }
