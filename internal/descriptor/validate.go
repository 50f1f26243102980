package descriptor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// DocumentPath is the Path of a problem with the document as a whole.
const DocumentPath = "(document)"

// Problem is one reason a descriptor is invalid: where (a field path such as
// spec.groups[1].replicas) and why.
type Problem struct {
	Path   string `json:"path"`
	Reason string `json:"reason"`
}

func (p Problem) String() string { return p.Path + ": " + p.Reason }

// InvalidError lists every problem found in a descriptor.
type InvalidError struct {
	Type     string
	Problems []Problem
}

func (e *InvalidError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		lines[i] = p.String()
	}
	return fmt.Sprintf("invalid %s descriptor: %s", e.Type, strings.Join(lines, "; "))
}

// Problems returns the problems held by err when it is (or wraps) an *InvalidError.
func Problems(err error) []Problem {
	var ie *InvalidError
	if errors.As(err, &ie) {
		return ie.Problems
	}
	return nil
}

var english = message.NewPrinter(language.English)

// decodeJSON parses one JSON document the way the schema validator expects (numbers kept
// exact), turning syntax errors into a Problem with line and column.
func decodeJSON(data []byte) (any, *Problem) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	err := dec.Decode(&v)
	if err == nil {
		rest := dec.InputOffset()
		for rest < int64(len(data)) && strings.ContainsRune(" \t\r\n", rune(data[rest])) {
			rest++
		}
		if rest < int64(len(data)) {
			return nil, &Problem{DocumentPath, fmt.Sprintf("unexpected data after the JSON value at %s", position(data, rest))}
		}
		return v, nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the offending one included.
		return nil, &Problem{DocumentPath, fmt.Sprintf("not valid JSON at %s: %v", position(data, max(se.Offset-1, 0)), se)}
	}
	return nil, &Problem{DocumentPath, fmt.Sprintf("not valid JSON: %v", err)}
}

// position renders the byte at offset as "line L, column C" (both from 1).
func position(data []byte, offset int64) string {
	if offset > int64(len(data)) {
		offset = int64(len(data))
	}
	before := data[:offset]
	line := bytes.Count(before, []byte("\n")) + 1
	col := int(offset) - bytes.LastIndexByte(before, '\n')
	return fmt.Sprintf("line %d, column %d", line, col)
}

// problemsOf flattens a schema validation error into one Problem per failed leaf keyword,
// sorted by path. doc is the instance that was validated (to tell array indexes from keys).
func problemsOf(ve *jsonschema.ValidationError, doc any) []Problem {
	var out []Problem
	var walk func(e *jsonschema.ValidationError)
	walk = func(e *jsonschema.ValidationError) {
		if len(e.Causes) > 0 {
			for _, c := range e.Causes {
				walk(c)
			}
			return
		}
		path := fieldPath(doc, e.InstanceLocation)
		switch k := e.ErrorKind.(type) {
		case *kind.Required:
			for _, m := range k.Missing {
				out = append(out, Problem{joinField(path, m), "required field is missing"})
			}
		case *kind.AdditionalProperties:
			for _, p := range k.Properties {
				out = append(out, Problem{joinField(path, p), "unknown field"})
			}
		default:
			out = append(out, Problem{path, e.ErrorKind.LocalizedString(english)})
		}
	}
	walk(ve)
	sort.SliceStable(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return dedupe(out)
}

func dedupe(ps []Problem) []Problem {
	out := ps[:0]
	for i, p := range ps {
		if i > 0 && p == ps[i-1] {
			continue
		}
		out = append(out, p)
	}
	return out
}

// fieldPath renders a JSON pointer's tokens as a field path: spec.groups[1].replicas.
func fieldPath(doc any, tokens []string) string {
	path := ""
	cur := doc
	for _, tok := range tokens {
		switch v := cur.(type) {
		case []any:
			i, err := strconv.Atoi(tok)
			if err == nil && i >= 0 && i < len(v) {
				path += "[" + tok + "]"
				cur = v[i]
				continue
			}
			path = joinField(path, tok)
			cur = nil
		case map[string]any:
			path = joinField(path, tok)
			cur = v[tok]
		default:
			path = joinField(path, tok)
			cur = nil
		}
	}
	if path == "" {
		return DocumentPath
	}
	return path
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

func joinField(path, field string) string {
	if path == DocumentPath {
		path = ""
	}
	if !identifier.MatchString(field) {
		return path + "[" + strconv.Quote(field) + "]"
	}
	if path == "" {
		return field
	}
	return path + "." + field
}
