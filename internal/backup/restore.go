package backup

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
)

// Restore replaces the data directory dst with backup id. The archive is unpacked into a
// temporary directory beside dst and checked against its manifest on the way; only a
// complete, matching copy is swapped in (two renames), so a corrupt or truncated archive, a
// failed download or a cancelled ctx leaves dst as it was. The entries of dst that never
// travel in backups (Excluded: keys, keystore, node config) are moved into the restored
// copy: the node keeps its identity and keys.
func (s *Store) Restore(ctx context.Context, id, dst string) (*Manifest, error) {
	dst = filepath.Clean(dst)
	parent, base := filepath.Split(dst)
	if err := os.MkdirAll(parent, 0o700); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, "."+base+".restore-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // a no-op once swapped in
	m, err := s.read(ctx, id, func(r io.Reader) (Stats, error) { return extractArchive(r, tmp) })
	if err != nil {
		return nil, err
	}
	if err := keepNodeOwn(dst, tmp); err != nil {
		return nil, fmt.Errorf("restore %s: keeping the node's keys: %w (data untouched)", id, err)
	}
	if err := swapDir(dst, tmp); err != nil {
		return nil, fmt.Errorf("restore %s: %w", id, err)
	}
	return m, nil
}

// keepNodeOwn moves the excluded entries of the old data directory (if any) into the new.
func keepNodeOwn(old, fresh string) error {
	err := filepath.WalkDir(old, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(old, p)
		if err != nil || rel == "." || !Excluded(filepath.ToSlash(rel)) {
			return err
		}
		target := filepath.Join(fresh, rel)
		if err := os.MkdirAll(filepath.Dir(target), 0o700); err != nil {
			return err
		}
		// Hard links when possible keep the old directory intact until the swap.
		if err := copyTree(p, target); err != nil {
			return err
		}
		if d.IsDir() {
			return filepath.SkipDir
		}
		return nil
	})
	if errors.Is(err, fs.ErrNotExist) {
		return nil // a new or wiped node: nothing of its own yet
	}
	return err
}

// copyTree links (or copies) a file or directory tree.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(target, info.Mode().Perm()|0o700)
		case d.Type().IsRegular():
			if os.Link(p, target) == nil {
				return nil
			}
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, info.Mode().Perm())
		}
		return nil // links and special files are not a node's keys
	})
}

// swapDir puts fresh in place of dst and deletes the old copy.
func swapDir(dst, fresh string) error {
	old := fresh + ".old"
	switch err := os.Rename(dst, old); {
	case errors.Is(err, fs.ErrNotExist):
		old = ""
	case err != nil:
		return err
	}
	if err := os.Rename(fresh, dst); err != nil {
		if old != "" {
			_ = os.Rename(old, dst) // put the old data back
		}
		return err
	}
	if old != "" {
		return os.RemoveAll(old)
	}
	return nil
}
