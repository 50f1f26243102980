package network

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// FuzzParse feeds Parse arbitrary documents, seeded with the examples, every bad spec of the
// rejection table and small bombs (deep nesting, YAML aliases, huge counts). Parse must never
// panic; it refuses with field-path problems only; a spec it accepts is within the node
// bounds, plans without panicking, and parses again after a round trip through JSON.
func FuzzParse(f *testing.F) {
	examples, _ := filepath.Glob("../../examples/*.yaml")
	for _, file := range examples {
		if data, err := os.ReadFile(file); err == nil {
			f.Add(data)
		}
	}
	for _, c := range rejectCases {
		f.Add([]byte(c.doc))
	}
	for _, bomb := range []string{
		gossamerDev + "  - {name: rpc, role: rpc, replicas: 100000000}\n",
		strings.Repeat("[", 10000) + strings.Repeat("]", 10000),
		"a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n",
		gossamerDev + "  - {name: rpc, role: rpc, args: [\"--rpc-external\", \"--log\", \"x\"]}\n",
	} {
		f.Add([]byte(bomb))
	}
	f.Fuzz(func(t *testing.T, doc []byte) {
		n, err := Parse(doc)
		if err != nil {
			var ps problem.List
			if !errors.As(err, &ps) || len(ps) == 0 {
				t.Fatalf("Parse refused with %T %v, want problems", err, err)
			}
			for _, p := range ps {
				if p.Field == "" || p.Reason == "" {
					t.Fatalf("problem without field or reason: %+v", p)
				}
			}
			return
		}
		if nodes := maxNodes(&n.Spec); nodes > MaxNodes {
			t.Fatalf("accepted a spec of %d nodes", nodes)
		}
		if _, err := Build(n, newFixedTarget(n, true)); err != nil {
			t.Logf("Build: %v", err) // a backend may refuse; it must not panic
		}
		again, err := json.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := Parse(again); err != nil {
			t.Fatalf("an accepted spec fails to parse again after a round trip: %v\n%s", err, again)
		}
	})
}
