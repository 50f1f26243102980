package descriptor

import (
	"errors"
	"strings"
	"testing"
)

func TestCIDVectors(t *testing.T) {
	// Vectors printed by `ipfs add --cid-version 1 --raw-leaves` (kubo v0.43.0); the kubo
	// integration test checks the same property against a live node for other inputs.
	tests := []struct {
		name, data, want string
	}{
		{"hello world", "hello world\n", "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"},
		{"empty", "", "bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := CID([]byte(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if c.String() != tt.want {
				t.Fatalf("CID = %s, want %s", c, tt.want)
			}
			if err := Verify(c, []byte(tt.data)); err != nil {
				t.Fatalf("Verify: %v", err)
			}
		})
	}
}

func TestCIDTooLarge(t *testing.T) {
	if _, err := CID(make([]byte, MaxSize)); err != nil {
		t.Fatalf("a document of exactly MaxSize must hash: %v", err)
	}
	if _, err := CID(make([]byte, MaxSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("err = %v, want ErrTooLarge", err)
	}
}

func TestVerifyMismatch(t *testing.T) {
	c, _ := CID([]byte("a"))
	err := Verify(c, []byte("b"))
	if !errors.Is(err, ErrCIDMismatch) {
		t.Fatalf("err = %v, want ErrCIDMismatch", err)
	}
}

func TestParseCID(t *testing.T) {
	tests := []struct {
		in      string
		wantErr string
	}{
		{"bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4", ""},
		{"QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o", "want CIDv1 with the raw codec"},
		// CIDv1 dag-pb (what `ipfs add --cid-version 1` without --raw-leaves prints).
		{"bafybeieb33pqideyl5ncd33kho4tq3h6k6ppzmw4ckyvw2cqbd7s7afy5a", "want CIDv1 with the raw codec"},
		// CIDv1 raw with a blake2b-256 multihash.
		{"bafk2bzacecgtdbmtkd2ks3nf2pwh6ywxmaqtjeqyu3kozuaakjeiqmdkmjlye", "want a sha2-256 multihash"},
		{"not-a-cid", "parse CID"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := ParseCID(tt.in)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("unexpected error: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("err = %v, want it to contain %q", err, tt.wantErr)
			}
		})
	}
}
