package backup

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// freshVolume is a just-initialised node volume: the node's config, a genesis database and
// the init marker, as a cluster pod's init step leaves them.
func freshVolume(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{".onf-initialized": "", "config/config.toml": "own config", "db/000099.sst": "genesis only"})
}

// RestoreVolume and RestoreSnapshot restore into a volume root (which cannot be renamed):
// the chain data becomes the backup's, the node's config and markers stay, and a corrupt
// archive leaves the volume exactly as it was.
func TestRestoreVolume(t *testing.T) {
	ctx := context.Background()
	dest := t.TempDir()
	st, id := backedUp(t, dest)
	archive, err := os.ReadFile(filepath.Join(dest, id, archiveObject))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(archive)
	check := func(t *testing.T, vol string) {
		for file, want := range map[string]string{"config/config.toml": "own config", "db/000001.sst": "chain data", ".onf-initialized": "", "chains/dev/db/full/000002.sst": "more chain data"} {
			if got, err := os.ReadFile(filepath.Join(vol, file)); err != nil || string(got) != want {
				t.Errorf("%s: %q %v, want %q", file, got, err, want)
			}
		}
		for _, gone := range []string{"db/000099.sst", restoreDir} {
			if _, err := os.Stat(filepath.Join(vol, gone)); !os.IsNotExist(err) {
				t.Errorf("%s after the restore: %v", gone, err)
			}
		}
	}
	t.Run("backup", func(t *testing.T) {
		vol := freshVolume(t)
		if _, err := st.RestoreVolume(ctx, id, vol); err != nil {
			t.Fatal(err)
		}
		check(t, vol)
	})
	t.Run("snapshot", func(t *testing.T) {
		vol := freshVolume(t)
		if _, err := RestoreSnapshot(bytes.NewReader(archive), hex.EncodeToString(sum[:]), vol); err != nil {
			t.Fatal(err)
		}
		check(t, vol)
	})
	t.Run("corrupt", func(t *testing.T) {
		flipped := bytes.Clone(archive)
		flipped[len(flipped)/2] ^= 0x40
		vol := freshVolume(t)
		before := tree(t, vol)
		if _, err := RestoreSnapshot(bytes.NewReader(flipped), hex.EncodeToString(sum[:]), vol); !errors.Is(err, ErrCorrupt) {
			t.Errorf("flipped byte: %v, want refused as corrupt", err)
		}
		if _, err := RestoreSnapshot(bytes.NewReader(archive[:len(archive)/2]), hex.EncodeToString(sum[:]), vol); !errors.Is(err, ErrCorrupt) {
			t.Errorf("truncated: %v, want refused as corrupt", err)
		}
		if err := os.WriteFile(filepath.Join(dest, id, archiveObject), flipped, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := st.RestoreVolume(ctx, id, vol); !errors.Is(err, ErrCorrupt) {
			t.Errorf("corrupt backup: %v, want refused as corrupt", err)
		}
		if after := tree(t, vol); after != before {
			t.Errorf("volume changed by a refused restore:\n%s\nwant\n%s", after, before)
		}
	})
}
