package descriptor

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/dinfra/stack/internal/problem"
)

// Invalid is the rejection of a descriptor of type typ for ps (sorted by field), nil for none.
func Invalid(typ string, ps problem.List) error { return ps.Err(typ + " descriptor") }

// decodeJSON parses one JSON document the way the schema validator expects (numbers kept
// exact), turning syntax errors into a Problem with line and column.
func decodeJSON(data []byte) (any, *problem.Problem) {
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
			return nil, &problem.Problem{Field: problem.Document, Reason: fmt.Sprintf("unexpected data after the JSON value at %s", position(data, rest))}
		}
		return v, nil
	}
	var se *json.SyntaxError
	if errors.As(err, &se) {
		// Offset counts the bytes read, the offending one included.
		return nil, &problem.Problem{Field: problem.Document, Reason: fmt.Sprintf("not valid JSON at %s: %v", position(data, max(se.Offset-1, 0)), se)}
	}
	return nil, &problem.Problem{Field: problem.Document, Reason: fmt.Sprintf("not valid JSON: %v", err)}
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
