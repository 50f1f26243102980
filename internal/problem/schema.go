package problem

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/santhosh-tekuri/jsonschema/v6/kind"
	"golang.org/x/text/language"
	"golang.org/x/text/message"
)

// Schema turns a JSON Schema validation error into problems at field paths: one per failed
// leaf keyword, and one per missing or unknown property. doc is the instance that was validated
// (as jsonschema.UnmarshalJSON returns it), to tell list indexes from object keys. patterns says
// in words what a schema pattern accepts; a pattern missing there is shown as it is.
func Schema(ve *jsonschema.ValidationError, doc any, patterns map[string]string) List {
	var l List
	seen := map[Problem]bool{}
	for _, p := range schemaProblems(ve, doc, patterns) {
		if !seen[p] {
			seen[p] = true
			l = append(l, p)
		}
	}
	return l
}

func schemaProblems(e *jsonschema.ValidationError, doc any, patterns map[string]string) List {
	at := FieldPath(doc, e.InstanceLocation)
	switch k := e.ErrorKind.(type) {
	case *kind.Required:
		var l List
		for _, name := range k.Missing {
			l = append(l, Problem{Field: joinField(at, name), Reason: "required"})
		}
		return l
	case *kind.AdditionalProperties:
		var l List
		for _, name := range k.Properties {
			l = append(l, Problem{Field: joinField(at, name), Reason: "unknown field"})
		}
		return l
	case *kind.AnyOf:
		if want := typeAlternatives(e); want != nil {
			return List{{Field: at, Reason: reason(want, patterns)}}
		}
	}
	if len(e.Causes) == 0 {
		return List{{Field: at, Reason: reason(e.ErrorKind, patterns)}}
	}
	var l List
	for _, c := range e.Causes {
		l = append(l, schemaProblems(c, doc, patterns)...)
	}
	return l
}

// typeAlternatives merges an anyOf whose branches all failed on type alone (int-or-string
// fields) into one type problem; nil if any branch failed for another reason.
func typeAlternatives(e *jsonschema.ValidationError) *kind.Type {
	merged := &kind.Type{}
	for _, c := range e.Causes {
		t, ok := c.ErrorKind.(*kind.Type)
		if !ok || len(c.Causes) > 0 {
			return nil
		}
		merged.Got = t.Got
		merged.Want = append(merged.Want, t.Want...)
	}
	return merged
}

var printer = message.NewPrinter(language.English)

// reason words a failed keyword for someone editing the input: what the value must be, then
// what it is.
func reason(k jsonschema.ErrorKind, patterns map[string]string) string {
	switch k := k.(type) {
	case *kind.Type:
		return fmt.Sprintf("must be %s, got %s", strings.Join(k.Want, " or "), k.Got)
	case *kind.Const:
		return fmt.Sprintf("must be %s, got %s", show(k.Want), show(k.Got))
	case *kind.Enum:
		want := make([]string, len(k.Want))
		for i, w := range k.Want {
			want[i] = show(w)
		}
		return fmt.Sprintf("must be one of %s, got %s", strings.Join(want, ", "), show(k.Got))
	case *kind.Pattern:
		if help, ok := patterns[k.Want]; ok {
			return fmt.Sprintf("must be %s, got %q", help, k.Got)
		}
		return fmt.Sprintf("must match %s, got %q", k.Want, k.Got)
	case *kind.Minimum:
		return fmt.Sprintf("must be >= %s, got %s", k.Want.RatString(), k.Got.RatString())
	case *kind.Maximum:
		return fmt.Sprintf("must be <= %s, got %s", k.Want.RatString(), k.Got.RatString())
	case *kind.MinItems:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must have at least %d items, got %d", k.Want, k.Got)
	case *kind.MaxItems:
		return fmt.Sprintf("must have at most %d items, got %d", k.Want, k.Got)
	case *kind.MaxLength:
		return fmt.Sprintf("must be at most %d characters long, got %d", k.Want, k.Got)
	case *kind.MinLength:
		if k.Want == 1 {
			return "must not be empty"
		}
		return fmt.Sprintf("must be at least %d characters long, got %d", k.Want, k.Got)
	}
	return k.LocalizedString(printer)
}

// show renders a JSON value as it would appear in a JSON document.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// FieldPath renders a JSON pointer's tokens into doc as a field path: spec.groups[1].replicas,
// metadata.labels["app.kubernetes.io/name"]; Document for none.
func FieldPath(doc any, tokens []string) string {
	path := ""
	cur := doc
	for _, tok := range tokens {
		if list, ok := cur.([]any); ok {
			if i, err := strconv.Atoi(tok); err == nil && i >= 0 && i < len(list) {
				path += "[" + tok + "]"
				cur = list[i]
				continue
			}
		}
		path = joinField(path, tok)
		obj, _ := cur.(map[string]any)
		cur = obj[tok]
	}
	if path == "" {
		return Document
	}
	return path
}

var identifier = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// joinField appends a key to a path, quoted in brackets when it is not an identifier.
func joinField(path, field string) string {
	if path == Document {
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
