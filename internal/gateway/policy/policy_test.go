package policy

import (
	"slices"
	"testing"
)

func TestUnsafeIsSorted(t *testing.T) {
	if !slices.IsSorted(Unsafe) {
		t.Fatal("Unsafe must stay sorted (binary search)")
	}
}

func TestAllows(t *testing.T) {
	tests := []struct {
		name        string
		allow, deny []string
		method      string
		want        bool
	}{
		{"wildcard allows safe", []string{"*"}, nil, "chain_getHeader", true},
		{"wildcard never grants insertKey", []string{"*"}, nil, "author_insertKey", false},
		{"wildcard never grants rotateKeys", []string{"*"}, nil, "author_rotateKeys", false},
		{"wildcard never grants addReservedPeer", []string{"*"}, nil, "system_addReservedPeer", false},
		{"wildcard never grants removeReservedPeer", []string{"*"}, nil, "system_removeReservedPeer", false},
		{"prefix never grants unsafe", []string{"author_*"}, nil, "author_insertKey", false},
		{"exact grant", []string{"*", "author_insertKey"}, nil, "author_insertKey", true},
		{"exact grant does not leak", []string{"*", "author_insertKey"}, nil, "author_rotateKeys", false},
		{"deny wins over grant", []string{"author_insertKey"}, []string{"author_*"}, "author_insertKey", false},
		{"prefix allow", []string{"chain_*"}, nil, "chain_subscribeNewHeads", true},
		{"prefix allow other namespace", []string{"chain_*"}, nil, "state_getStorage", false},
		{"deny prefix", []string{"*"}, []string{"state_*"}, "state_getStorage", false},
		{"nothing allowed", nil, nil, "system_name", false},
		{"empty method", []string{"*"}, nil, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := Compile(tt.allow, tt.deny)
			if err != nil {
				t.Fatal(err)
			}
			if got := r.Allows(tt.method); got != tt.want {
				t.Fatalf("Allows(%q) = %v, want %v", tt.method, got, tt.want)
			}
		})
	}
}

func TestCompileRejects(t *testing.T) {
	for _, p := range []string{"", "a*b", "*a*", "**"} {
		if _, err := Compile([]string{p}, nil); err == nil {
			t.Errorf("pattern %q accepted", p)
		}
	}
}
