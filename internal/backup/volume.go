package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
)

// restoreDir is where RestoreVolume and RestoreSnapshot unpack before moving the data in.
const restoreDir = ".onf-restore"

// RestoreVolume restores backup id into dir, the root of a node's data volume in a cluster
// pod (a mount point, which cannot be swapped by a rename as Restore does). The archive is
// unpacked into dir/.onf-restore and checked against the manifest first; only then are the
// old entries removed and the new ones moved up. The caller runs it on a new or wiped volume
// and records completion itself (a marker), so an interrupted move is redone, never used.
// Top-level Excluded entries (node config, keystore) and .onf-* markers stay.
func (s *Store) RestoreVolume(ctx context.Context, id, dir string) (*Manifest, error) {
	var m *Manifest
	err := intoVolume(dir, func(tmp string) (err error) {
		m, err = s.read(ctx, id, func(r io.Reader) (Stats, error) { return extractArchive(r, tmp) })
		return err
	})
	return m, err
}

// RestoreSnapshot is RestoreVolume for an archive read from r without a manifest (a snapshot
// at a URL): its sha256 must be sum, and it must unpack to the end.
func RestoreSnapshot(r io.Reader, sum, dir string) (Stats, error) {
	var st Stats
	err := intoVolume(dir, func(tmp string) error {
		h := sha256.New()
		tee := io.TeeReader(r, h)
		var uerr error
		st, uerr = extractArchive(tee, tmp)
		if _, err := io.Copy(io.Discard, tee); err != nil && uerr == nil {
			uerr = err
		}
		if got := hex.EncodeToString(h.Sum(nil)); got != sum {
			return fmt.Errorf("snapshot: %w: sha256 %s, want %s", ErrCorrupt, got, sum)
		}
		if uerr != nil {
			return fmt.Errorf("snapshot: %w: %v", ErrCorrupt, uerr)
		}
		return nil
	})
	return st, err
}

// FetchSnapshot is RestoreSnapshot of the archive at an http(s) URL.
func FetchSnapshot(ctx context.Context, url, sum, dir string) (Stats, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return Stats{}, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return Stats{}, fmt.Errorf("snapshot %s: %w", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return Stats{}, fmt.Errorf("snapshot %s: %s: %s", url, resp.Status, strings.TrimSpace(string(body)))
	}
	return RestoreSnapshot(resp.Body, sum, dir)
}

// intoVolume unpacks with fill into a fresh dir/.onf-restore and, when fill succeeded,
// replaces dir's entries with it. A failed fill leaves dir as it was.
func intoVolume(dir string, fill func(tmp string) error) error {
	tmp := filepath.Join(dir, restoreDir)
	if err := os.RemoveAll(tmp); err != nil { // left by an interrupted attempt
		return err
	}
	if err := os.Mkdir(tmp, 0o700); err != nil {
		return err
	}
	if err := fill(tmp); err != nil {
		return errors.Join(err, os.RemoveAll(tmp))
	}
	old, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range old {
		if name := e.Name(); name != restoreDir && !strings.HasPrefix(name, ".onf-") && !Excluded(name) {
			if err := os.RemoveAll(filepath.Join(dir, name)); err != nil {
				return err
			}
		}
	}
	fresh, err := os.ReadDir(tmp)
	if err != nil {
		return err
	}
	for _, e := range fresh {
		if err := os.Rename(filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())); err != nil {
			return err
		}
	}
	return os.Remove(tmp)
}
