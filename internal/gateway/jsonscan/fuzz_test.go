package jsonscan

import (
	"encoding/json"
	"testing"
)

// FuzzValue checks the scanner against encoding/json: a document is whole and valid for
// Value exactly when json.Valid says so, and the iterators walk the same members and
// elements encoding/json decodes, each a valid value.
func FuzzValue(f *testing.F) {
	for _, seed := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"system_name","params":[]}`,
		`[{"a":1},{"b":[true,false,null]},"\u00e9\n",-1.5e+10]`,
		` {"k\"ey":"v","k\"ey":2} `, `{"a":}`, `[1,]`, `"\ud800"`, `01`, `-`, `1e`, `"\x"`, "\"\xff\"",
		`[[[[[[[[[[]]]]]]]]]]`, `{"a":1}x`, `nul`, `{"a" 1}`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		i := SkipSpace(b, 0)
		end := Value(b, i, 0)
		valid := end >= 0 && SkipSpace(b, end) == len(b)
		if valid != json.Valid(b) {
			t.Fatalf("%q: scanner says valid %v, encoding/json %v", b, valid, !valid)
		}
		if !valid {
			return
		}
		switch b[i] {
		case '{':
			var members map[string]json.RawMessage
			if err := json.Unmarshal(b, &members); err != nil {
				t.Fatal(err)
			}
			var it ObjectIter
			n := 0
			for it.Start(b, i, 1); it.Next(); n++ {
				var key string
				if json.Unmarshal(it.Key, &key) != nil || !json.Valid(it.Val) {
					t.Fatalf("%q: member %q: %q", b, it.Key, it.Val)
				}
				if _, ok := members[key]; !ok {
					t.Fatalf("%q: member %q unknown to encoding/json", b, key)
				}
			}
			if n < len(members) || it.End() != end {
				t.Fatalf("%q: %d members, encoding/json %d; end %d, want %d", b, n, len(members), it.End(), end)
			}
		case '[':
			var elems []json.RawMessage
			if err := json.Unmarshal(b, &elems); err != nil {
				t.Fatal(err)
			}
			var it ArrayIter
			n := 0
			for it.Start(b, i, 1); it.Next(); n++ {
				if !json.Valid(it.Elem) {
					t.Fatalf("%q: element %q", b, it.Elem)
				}
			}
			if n != len(elems) || it.End() != end {
				t.Fatalf("%q: %d elements, encoding/json %d", b, n, len(elems))
			}
		}
	})
}
