// Package problem is the one vocabulary for rejected input (a network spec, a gateway config, a
// DINFRA descriptor): every problem names a field path such as spec.groups[1].replicas and the
// reason, and a check reports all of them at once.
package problem

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Document is the field of a problem with the input as a whole (not YAML, too large, ...).
const Document = "(document)"

// Problem is one reason an input is rejected.
type Problem struct {
	Field  string `json:"field"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.Field + ": " + p.Reason }

// List is every problem found in one input. As an error it reads "field: reason; ...": one line,
// for places with room for one (a public failure message); Err adds what was rejected.
type List []Problem

// Add appends a problem at field with a formatted reason.
func (l *List) Add(field, format string, args ...any) {
	*l = append(*l, Problem{Field: field, Reason: fmt.Sprintf(format, args...)})
}

func (l List) Error() string { return l.join("; ") }

func (l List) join(sep string) string {
	lines := make([]string, len(l))
	for i, p := range l {
		lines[i] = p.String()
	}
	return strings.Join(lines, sep)
}

// Err returns nil for no problems; otherwise an *Error naming the input ("network spec") with
// the problems sorted by field.
func (l List) Err(input string) error {
	if len(l) == 0 {
		return nil
	}
	sort.SliceStable(l, func(i, j int) bool { return fieldLess(l[i].Field, l[j].Field) })
	return &Error{Input: input, Problems: l}
}

// Error is an input rejected for one or more problems. errors.As finds its List too.
type Error struct {
	Input    string
	Problems List
}

func (e *Error) Error() string {
	return "invalid " + e.Input + ":\n  " + e.Problems.join("\n  ")
}

// Unwrap lets errors.As(err, &list) and Of reach the problems.
func (e *Error) Unwrap() error { return e.Problems }

// Of returns the problems in err's chain, or nil when err is not a rejection.
func Of(err error) List {
	var l List
	if errors.As(err, &l) {
		return l
	}
	return nil
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
