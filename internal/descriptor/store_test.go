package descriptor

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/descriptor/kubotest"
)

// storeContract runs the behaviour every Store must have.
func storeContract(t *testing.T, s Store) {
	ctx := context.Background()
	doc := []byte(`{"name":"contract"}`)
	c, err := s.Put(ctx, doc)
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	want, _ := CID(doc)
	if !c.Equals(want) {
		t.Fatalf("Put returned %s, want %s", c, want)
	}
	again, err := s.Put(ctx, doc)
	if err != nil || !again.Equals(c) {
		t.Fatalf("second Put = %s, %v; want %s", again, err, c)
	}
	got, err := s.Get(ctx, c)
	if err != nil || string(got) != string(doc) {
		t.Fatalf("Get = %q, %v; want %q", got, err, doc)
	}
	missing, _ := CID([]byte("never stored"))
	if _, err := s.Get(ctx, missing); !errors.Is(err, ErrNotFound) {
		t.Fatalf("Get(missing) err = %v, want ErrNotFound", err)
	}
	if _, err := s.Put(ctx, make([]byte, MaxSize+1)); !errors.Is(err, ErrTooLarge) {
		t.Fatalf("Put(too large) err = %v, want ErrTooLarge", err)
	}
}

func TestDirStore(t *testing.T) {
	s, err := NewDirStore(filepath.Join(t.TempDir(), "blocks"))
	if err != nil {
		t.Fatal(err)
	}
	storeContract(t, s)
}

func TestDirStoreDetectsCorruption(t *testing.T) {
	s, err := NewDirStore(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	c, err := s.Put(ctx, []byte("original"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(s.Dir(), c.String()), []byte("tampered"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, c); !errors.Is(err, ErrCIDMismatch) {
		t.Fatalf("err = %v, want ErrCIDMismatch", err)
	}
}

func TestKuboStore(t *testing.T) {
	node := kubotest.Start(t)
	s, err := NewKuboStore(node.APIURL)
	if err != nil {
		t.Fatal(err)
	}
	storeContract(t, s)
}

// TestCIDMatchesIPFSAdd checks the in-process CID against the ipfs CLI for documents of
// several sizes, up to the single-chunk limit.
func TestCIDMatchesIPFSAdd(t *testing.T) {
	node := kubotest.Start(t)
	for _, size := range []int{0, 1, 1000, MaxSize - 1, MaxSize} {
		data := []byte(strings.Repeat("dinfra\n", size/7+1)[:size])
		file := filepath.Join(t.TempDir(), "doc.json")
		if err := os.WriteFile(file, data, 0o644); err != nil {
			t.Fatal(err)
		}
		out, err := node.Command("add", "--quiet", "--only-hash", "--cid-version", "1", "--raw-leaves", file).Output()
		if err != nil {
			t.Fatalf("ipfs add: %v", err)
		}
		c, err := CID(data)
		if err != nil {
			t.Fatal(err)
		}
		if got := strings.TrimSpace(string(out)); got != c.String() {
			t.Errorf("size %d: ipfs add says %s, in-process CID is %s", size, got, c)
		}
	}
}

func TestKuboStoreRejectsBadURL(t *testing.T) {
	for _, u := range []string{"", "127.0.0.1:5001", "ftp://host:1"} {
		if _, err := NewKuboStore(u); err == nil {
			t.Errorf("NewKuboStore(%q) succeeded", u)
		}
	}
}
