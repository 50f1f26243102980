package policy

import (
	"os"
	"slices"
	"strings"
	"testing"
)

func TestClassesAreSortedAndDisjoint(t *testing.T) {
	seen := map[string]bool{}
	for _, g := range classes {
		if !slices.IsSorted(g.methods) {
			t.Errorf("class %d: keep the group sorted", g.class)
		}
		for _, m := range g.methods {
			if seen[m] || !ValidName(m) {
				t.Errorf("%q: listed twice or not a valid name", m)
			}
			seen[m] = true
		}
	}
	for _, p := range subscriptions {
		for _, m := range append(slices.Clone(p.start), p.end...) {
			if !seen[m] {
				t.Errorf("subscription method %q has no class", m)
			}
		}
	}
}

// TestDocsListTheRestrictedMethods keeps docs/gateway.md's Unsafe and Heavy lists in step.
func TestDocsListTheRestrictedMethods(t *testing.T) {
	doc, err := os.ReadFile("../../../docs/gateway.md")
	if err != nil {
		t.Fatal(err)
	}
	for _, g := range classes {
		for _, m := range g.methods {
			if listed := strings.Contains(string(doc), "`"+m+"`"); g.class != Safe && !listed {
				t.Errorf("docs/gateway.md does not list %s", m)
			}
		}
	}
}

// gossamerUnsafe is gossamer v0.9.0's UnsafeMethods (dot/rpc/modules/rpc.go).
var gossamerUnsafe = []string{
	"system_addReservedPeer", "system_removeReservedPeer", "author_submitExtrinsic",
	"author_removeExtrinsic", "author_insertKey", "author_rotateKeys", "state_getPairs",
	"state_getKeysPaged", "state_queryStorage", "state_trie",
}

func TestNodeUnsafeMethodsAreNotSafe(t *testing.T) {
	for _, m := range gossamerUnsafe {
		if Classify(m) == Safe && m != "author_submitExtrinsic" { // safe in polkadot-sdk: see methods.go
			t.Errorf("gossamer's unsafe %s is Safe here", m)
		}
	}
	for _, m := range []string{"syncstate_genSyncSpec", "state_trie", "state_queryStorage", "state_getKeys", "state_getPairs"} {
		if Classify(m) == Safe {
			t.Errorf("%s is Safe", m)
		}
	}
}

func TestValidName(t *testing.T) {
	for _, ok := range []string{"chain_getBlock", "chainHead_v1_follow", "subscribe_newHead", "system_unstable_networkState", "eth_call", "a_b"} {
		if !ValidName(ok) {
			t.Errorf("%q refused", ok)
		}
	}
	for _, bad := range []string{
		"", "Author_rotateKeys", "author_rotateKeys ", "author_rotateKeys\x00", "author_rotateKeys\t",
		" author_rotateKeys", "аuthor_rotateKeys" /* Cyrillic a */, "author_rоtateKeys", /* Cyrillic o */
		"author", "_rotateKeys", "author_", "author-rotateKeys", "author.rotateKeys", "1_a",
		"author_rotate\u200bKeys", strings.Repeat("a", 120) + "_" + strings.Repeat("b", 8),
	} {
		if ValidName(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestDecide(t *testing.T) {
	tests := []struct {
		name        string
		allow, deny []string
		method      string
		want        Decision
	}{
		{"wildcard allows safe", []string{"*"}, nil, "chain_getHeader", Allowed},
		{"wildcard never grants insertKey", []string{"*"}, nil, "author_insertKey", Denied},
		{"wildcard never grants rotateKeys", []string{"*"}, nil, "author_rotateKeys", Denied},
		{"wildcard never grants addReservedPeer", []string{"*"}, nil, "system_addReservedPeer", Denied},
		{"wildcard never grants removeReservedPeer", []string{"*"}, nil, "system_removeReservedPeer", Denied},
		{"wildcard never grants state_trie", []string{"*"}, nil, "state_trie", Denied},
		{"wildcard never grants state_queryStorage", []string{"*"}, nil, "state_queryStorage", Denied},
		{"wildcard never grants genSyncSpec", []string{"*"}, nil, "syncstate_genSyncSpec", Denied},
		{"prefix never grants unsafe", []string{"author_*"}, nil, "author_insertKey", Denied},
		{"prefix never grants heavy", []string{"state_*"}, nil, "state_getKeys", Denied},
		{"exact grant", []string{"*", "author_insertKey"}, nil, "author_insertKey", Allowed},
		{"exact grant of heavy", []string{"state_trie"}, nil, "state_trie", Allowed},
		{"exact grant does not leak", []string{"*", "author_insertKey"}, nil, "author_rotateKeys", Denied},
		{"deny wins over grant", []string{"author_insertKey"}, []string{"author_*"}, "author_insertKey", Denied},
		{"prefix allow", []string{"chain_*"}, nil, "chain_subscribeNewHeads", Allowed},
		{"prefix allow other namespace", []string{"chain_*"}, nil, "state_getStorage", Denied},
		{"deny prefix", []string{"*"}, []string{"state_*"}, "state_getStorage", Denied},
		{"nothing allowed", nil, nil, "system_name", Denied},
		{"unknown method", []string{"*"}, nil, "foo_bar", NotFound},
		{"unknown method, prefix", []string{"foo_*"}, nil, "foo_bar", NotFound},
		{"unknown method named exactly", []string{"*", "eth_call"}, nil, "eth_call", Allowed},
		{"unknown method named exactly, denied", []string{"eth_call"}, []string{"eth_*"}, "eth_call", Denied},
		{"wrong case", []string{"*", "author_rotateKeys"}, nil, "Author_rotateKeys", NotFound},
		{"empty method", []string{"*"}, nil, "", NotFound},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.allow, tt.deny)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Decide(tt.method); got != tt.want {
				t.Fatalf("Decide(%q) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	for _, p := range []string{"", "a*b", "*a*", "**", "Author_rotateKeys", "author_rotateKeys ", "аuthor_rotateKeys"} {
		if _, err := Compile([]string{p}, nil); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}

func TestSubscription(t *testing.T) {
	tests := []struct {
		method       string
		family       string
		starts, ends bool
	}{
		{"chain_subscribeNewHeads", "chain_subscribeNewHeads", true, false},
		{"subscribe_newHead", "chain_subscribeNewHeads", true, false},
		{"chain_unsubscribeNewHead", "chain_subscribeNewHeads", false, true},
		{"author_unwatchExtrinsic", "author_submitAndWatchExtrinsic", false, true},
		{"chainHead_v1_unfollow", "chainHead_v1_follow", false, true},
		{"state_unsubscribeStorage", "state_subscribeStorage", false, true},
		{"eth_subscribe", "eth_subscribe", true, false},
		{"eth_unsubscribe", "eth_subscribe", false, true},
		{"chain_getHeader", "", false, false},
		{"chainHead_v1_header", "", false, false},
	}
	for _, tt := range tests {
		family, starts, ends := Subscription(tt.method)
		if family != tt.family || starts != tt.starts || ends != tt.ends {
			t.Errorf("Subscription(%q) = %q %v %v, want %q %v %v", tt.method, family, starts, ends, tt.family, tt.starts, tt.ends)
		}
	}
}
