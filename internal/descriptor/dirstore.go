package descriptor

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/ipfs/go-cid"
)

// DirStore is the embedded Store: a directory holding one file per block, named by its CID.
type DirStore struct {
	dir string
}

// NewDirStore returns a store in dir, creating the directory if needed.
func NewDirStore(dir string) (*DirStore, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create descriptor store %s: %w", dir, err)
	}
	return &DirStore{dir: dir}, nil
}

// Dir is the directory the store writes to.
func (s *DirStore) Dir() string { return s.dir }

// Put writes data atomically (temporary file, then rename) under its CID.
func (s *DirStore) Put(_ context.Context, data []byte) (cid.Cid, error) {
	c, err := CID(data)
	if err != nil {
		return cid.Undef, err
	}
	path := s.path(c)
	if _, err := os.Stat(path); err == nil {
		return c, nil
	}
	tmp, err := os.CreateTemp(s.dir, ".put-*")
	if err != nil {
		return cid.Undef, fmt.Errorf("store %s: %w", c, err)
	}
	defer os.Remove(tmp.Name()) // no-op after a successful rename
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return cid.Undef, fmt.Errorf("store %s: %w", c, err)
	}
	if err := tmp.Close(); err != nil {
		return cid.Undef, fmt.Errorf("store %s: %w", c, err)
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return cid.Undef, fmt.Errorf("store %s: %w", c, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return cid.Undef, fmt.Errorf("store %s: %w", c, err)
	}
	return c, nil
}

// Get reads the block named by c and verifies it, so a corrupted file is reported rather
// than served.
func (s *DirStore) Get(_ context.Context, c cid.Cid) ([]byte, error) {
	data, err := os.ReadFile(s.path(c))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %s in %s", ErrNotFound, c, s.dir)
	}
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", c, err)
	}
	if err := Verify(c, data); err != nil {
		return nil, fmt.Errorf("block file %s: %w", s.path(c), err)
	}
	return data, nil
}

func (s *DirStore) path(c cid.Cid) string {
	return filepath.Join(s.dir, c.String())
}
