// Package jsonscan is a strict JSON scanner for the few fields the gateway reads (the call
// envelope and the node's answer). It validates everything it passes over, as json.Valid
// does (invalid UTF-8 inside strings is accepted, as there), and returns spans of the input
// instead of decoding, so the hot path allocates nothing. Values the gateway forwards (ids,
// params, results) are passed on byte for byte.
package jsonscan

// maxDepth bounds nesting like encoding/json does, so a deep message cannot exhaust the stack.
const maxDepth = 10000

// SkipSpace returns the index of the first non-space byte at or after i.
func SkipSpace(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\r' || b[i] == '\n') {
		i++
	}
	return i
}

// Value returns the end of the JSON value starting at b[i] (no leading space), or -1.
func Value(b []byte, i, depth int) int {
	if i >= len(b) {
		return -1
	}
	switch c := b[i]; {
	case c == '"':
		end, _ := scanString(b, i)
		return end
	case (c == '{' || c == '[') && depth >= maxDepth:
		return -1
	case c == '{':
		var it ObjectIter
		for it.Start(b, i, depth+1); it.Next(); {
		}
		return it.End()
	case c == '[':
		var it ArrayIter
		for it.Start(b, i, depth+1); it.Next(); {
		}
		return it.End()
	case c == 't':
		return scanLiteral(b, i, "true")
	case c == 'f':
		return scanLiteral(b, i, "false")
	case c == 'n':
		return scanLiteral(b, i, "null")
	case c == '-' || (c >= '0' && c <= '9'):
		return scanNumber(b, i)
	}
	return -1
}

func scanLiteral(b []byte, i int, lit string) int {
	if len(b)-i < len(lit) || string(b[i:i+len(lit)]) != lit {
		return -1
	}
	return i + len(lit)
}

// scanString returns the end of the string starting at b[i] (just past the closing quote) and
// whether it holds escapes, or -1.
func scanString(b []byte, i int) (end int, escaped bool) {
	for i++; i < len(b); i++ {
		switch c := b[i]; {
		case c == '"':
			return i + 1, escaped
		case c < 0x20:
			return -1, false
		case c == '\\':
			escaped = true
			i++
			if i >= len(b) {
				return -1, false
			}
			switch b[i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if len(b)-i < 5 || !isHex(b[i+1]) || !isHex(b[i+2]) || !isHex(b[i+3]) || !isHex(b[i+4]) {
					return -1, false
				}
				i += 4
			default:
				return -1, false
			}
		}
	}
	return -1, false
}

func isHex(c byte) bool {
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')
}

func scanNumber(b []byte, i int) int {
	if b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && b[i] >= '1' && b[i] <= '9':
		i = digits(b, i)
	default:
		return -1
	}
	if i < len(b) && b[i] == '.' {
		j := digits(b, i+1)
		if j == i+1 {
			return -1
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		j := digits(b, i)
		if j == i {
			return -1
		}
		i = j
	}
	return i
}

func digits(b []byte, i int) int {
	for i < len(b) && b[i] >= '0' && b[i] <= '9' {
		i++
	}
	return i
}

// list walks the items of an array or object: the brackets, commas and the end.
type list struct {
	b     []byte
	i     int // next byte to read; -1 once malformed
	depth int
	first bool
	done  bool
}

// Start begins at the opening byte b[i]; depth counts the enclosing lists.
func (l *list) Start(b []byte, i, depth int) {
	*l = list{b: b, i: SkipSpace(b, i+1), depth: depth, first: true}
}

// advance moves to the next item and returns where it starts; false at the closing byte or
// on a malformed list.
func (l *list) advance(closing byte) (int, bool) {
	if l.done || l.i < 0 {
		return 0, false
	}
	b, i := l.b, l.i
	switch {
	case i >= len(b):
		l.i = -1
		return 0, false
	case b[i] == closing:
		l.i, l.done = i+1, true
		return 0, false
	case !l.first && b[i] != ',':
		l.i = -1
		return 0, false
	case !l.first:
		i = SkipSpace(b, i+1)
	}
	l.first = false
	return i, true
}

// End is just past the closing byte, or -1 if the list is malformed.
func (l *list) End() int {
	if !l.done {
		return -1
	}
	return l.i
}

// ArrayIter walks the elements of the array starting at b[i]:
//
//	for it.Start(b, i, depth); it.Next(); { use it.Elem }; if it.End() < 0 { malformed }
type ArrayIter struct {
	list
	Elem []byte
}

func (it *ArrayIter) Next() bool {
	i, ok := it.advance(']')
	if !ok {
		return false
	}
	end := Value(it.b, i, it.depth)
	if end < 0 {
		it.i = -1
		return false
	}
	it.Elem = it.b[i:end]
	it.i = SkipSpace(it.b, end)
	return true
}

// ObjectIter walks the members of the object starting at b[i]; Key is the raw key with its
// quotes (KeyEscaped says whether it holds escapes), Val the raw value.
type ObjectIter struct {
	list
	Key, Val   []byte
	KeyEscaped bool
}

func (it *ObjectIter) Next() bool {
	i, ok := it.advance('}')
	if !ok {
		return false
	}
	b := it.b
	if i >= len(b) || b[i] != '"' {
		it.i = -1
		return false
	}
	kend, esc := scanString(b, i)
	if kend < 0 {
		it.i = -1
		return false
	}
	it.Key, it.KeyEscaped = b[i:kend], esc
	i = SkipSpace(b, kend)
	if i >= len(b) || b[i] != ':' {
		it.i = -1
		return false
	}
	i = SkipSpace(b, i+1)
	vend := Value(b, i, it.depth)
	if vend < 0 {
		it.i = -1
		return false
	}
	it.Val = b[i:vend]
	it.i = SkipSpace(b, vend)
	return true
}
