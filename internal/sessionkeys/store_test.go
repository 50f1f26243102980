package sessionkeys

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

// annotation is a pod annotation as InPod sees it: a saved pending set, public keys only.
type annotation struct{ set Set }

func (a *annotation) store() *InPod {
	return &InPod{Load: func() (Set, error) { return a.set, nil }, Save: func(s Set) error { a.set = s; return nil }}
}

// In a pod, seeds live in the generating process only; the pending set outlives it (the
// annotation), and a later process knows the set but not the seeds.
func TestInPodKeepsSeedsInMemoryOnly(t *testing.T) {
	a := &annotation{}
	first := a.store()
	set, err := first.Generate(westendTypes)
	if err != nil {
		t.Fatal(err)
	}
	if a.set.Encoded() != set.Encoded() {
		t.Fatalf("pending %s, generated %s", a.set.Encoded(), set.Encoded())
	}
	for _, k := range a.set {
		if seed, err := first.Seed(k); err != nil || !strings.HasPrefix(seed, "0x") || strings.Contains(a.set.Encoded(), strings.TrimPrefix(seed, "0x")) {
			t.Errorf("%s: seed %v, or it is in the saved set", k.Type, err)
		}
	}
	// The next command (a re-run of rotate) sees the pending set but has no seed: only the
	// node holds them. Custody inserts nothing then, and makes new keys if the node lost them.
	next := a.store()
	if p, _ := next.Pending(); p.Encoded() != set.Encoded() {
		t.Errorf("pending in the next run: %v", p)
	}
	if _, err := next.Seed(set[0]); !errors.Is(err, ErrSeedGone) {
		t.Errorf("Seed in the next run = %v, want ErrSeedGone", err)
	}
	held := &Custodian{Keystore: next, Node: &recorder{inserted: map[string]string{}}}
	if err := held.Insert(context.Background(), set); err != nil {
		t.Errorf("Insert of a set the node holds: %v", err)
	}
	lost := &Custodian{Keystore: next, Node: &notHolding{}}
	if err := lost.Insert(context.Background(), set); !errors.Is(err, ErrSeedGone) {
		t.Errorf("Insert of a set the node lost = %v, want ErrSeedGone", err)
	}
	if err := next.Confirm(); err != nil || a.set != nil {
		t.Errorf("after Confirm: %v, pending %v", err, a.set)
	}
}

// A pod whose node keeps its keystore in memory gets, for every key generated, the
// author_insertKey request its start hook sends again (Keep); Remove empties the pod's
// keystore (Clear).
func TestInPodKeepsRestorableKeys(t *testing.T) {
	a := &annotation{}
	p := a.store()
	kept := map[string]string{}
	p.Keep = func(k Key, req []byte) error {
		var r struct {
			Method string   `json:"method"`
			Params []string `json:"params"`
		}
		if err := json.Unmarshal(req, &r); err != nil || r.Method != "author_insertKey" || len(r.Params) != 3 || r.Params[0] != k.Type || r.Params[2] != k.Public {
			t.Errorf("request for %s %s: %s (%v)", k.Type, k.Public, req, err)
		} else {
			kept[k.Public] = r.Params[1]
		}
		return nil
	}
	cleared := false
	p.Clear = func() error { cleared = true; return nil }
	set, err := p.Generate(westendTypes)
	if err != nil {
		t.Fatal(err)
	}
	if len(kept) != len(set) {
		t.Fatalf("kept %d keys of %d", len(kept), len(set))
	}
	for _, k := range set {
		if seed, _ := p.Seed(k); kept[k.Public] != seed {
			t.Errorf("%s: the kept request holds another seed than the key's", k.Type)
		}
	}
	if err := p.Remove(); err != nil || !cleared {
		t.Errorf("Remove: %v, cleared %v", err, cleared)
	}
}
