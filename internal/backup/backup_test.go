package backup

import (
	"archive/tar"
	"context"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dinfra/stack/internal/testenv"
)

// writeTree makes a directory holding files (path: content).
func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	d := t.TempDir()
	testenv.WriteFiles(t, d, files)
	return d
}

// dataDir makes a data directory with chain data and every kind of node secret beside it.
func dataDir(t *testing.T) string {
	t.Helper()
	return writeTree(t, map[string]string{
		"db/000001.sst":                     "chain data",
		"db/MANIFEST-000001":                "manifest",
		"db/LOCK":                           "lock",
		".onf-initialized":                  "",
		"chain-spec-raw.json":               "{}",
		"node.key":                          "SECRET-node-key",
		"keystore/babe0123":                 "SECRET-babe",
		"config/config.toml":                "key = \"SECRET-alice\"",
		"chains/dev/keystore/6772616e":      "SECRET-grandpa",
		"chains/dev/network/secret_ed25519": "SECRET-p2p",
		"chains/dev/db/full/000002.sst":     "more chain data",
		"validator-0.suri":                  "SECRET-suri",
		"keys/validator-0.nodekey":          "SECRET-nodekey",
	})
}

// backedUp opens the store in dest and backs up a dataDir there; it returns the store and
// the backup's id.
func backedUp(t *testing.T, dest string) (*Store, string) {
	t.Helper()
	st, err := Open(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	id := NewID("dev", time.Now())
	if _, err := st.Create(context.Background(), dataDir(t), manifest(id)); err != nil {
		t.Fatal(err)
	}
	return st, id
}

func manifest(id string) Manifest {
	return Manifest{ID: id, Network: "dev", Node: "rpc-0", Created: time.Now().UTC(), Chain: "Development", GenesisHash: "0xabc"}
}

// ArchiveEntries lists every entry of a backup's archive object.
func archiveEntries(t *testing.T, file string) []string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := zstd.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	var names []string
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return names
		}
		if err != nil {
			t.Fatal(err)
		}
		names = append(names, h.Name)
		body, _ := io.ReadAll(tr)
		if strings.Contains(string(body), "SECRET") {
			t.Errorf("archive entry %s holds a secret", h.Name)
		}
	}
}

func TestCreateListVerifyRestore(t *testing.T) {
	eachDestination(t, testCreateListVerifyRestore)
}

func testCreateListVerifyRestore(t *testing.T, dest, dir string) {
	ctx := context.Background()
	src := dataDir(t)
	st, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	id := NewID("dev", time.Now())
	m, err := st.Create(ctx, src, manifest(id))
	if err != nil {
		t.Fatal(err)
	}
	if m.Files != 5 || m.SHA256 == "" || m.ArchiveSize == 0 {
		t.Errorf("manifest %+v: want 5 files, a checksum and a size", m)
	}
	entries := archiveEntries(t, filepath.Join(dir, id, archiveObject))
	for _, e := range entries {
		if Excluded(e) {
			t.Errorf("archive holds excluded entry %s", e)
		}
	}
	if !strings.Contains(strings.Join(entries, " "), "chains/dev/db/full/000002.sst") {
		t.Errorf("entries %v: chain data missing", entries)
	}
	list, err := st.List(ctx, "dev")
	if err != nil || len(list) != 1 || list[0].ID != id {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := st.Verify(ctx, id); err != nil {
		t.Fatal(err)
	}

	// Restore into a node with its own keys and other chain data: the data is the backup's,
	// the keys stay the node's.
	dst := dataDir(t)
	if err := os.WriteFile(filepath.Join(dst, "node.key"), []byte("own key"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dst, "db/000099.sst"), []byte("stale"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Restore(ctx, id, dst); err != nil {
		t.Fatal(err)
	}
	for file, want := range map[string]string{"node.key": "own key", "keystore/babe0123": "SECRET-babe", "db/000001.sst": "chain data", "chains/dev/network/secret_ed25519": "SECRET-p2p"} {
		if got, err := os.ReadFile(filepath.Join(dst, file)); err != nil || string(got) != want {
			t.Errorf("%s after restore: %q %v, want %q", file, got, err, want)
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "db/000099.sst")); !os.IsNotExist(err) {
		t.Errorf("stale file survived the restore: %v", err)
	}
	if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".*restore*")); len(left) != 0 {
		t.Errorf("left behind: %v", left)
	}
}

// A flipped byte and a truncated archive are refused by verify and restore, and a restore
// leaves the node's data exactly as it was.
func TestCorruptArchiveRefused(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		name    string
		corrupt func([]byte) []byte
		want    string
	}{
		{"flipped byte", func(b []byte) []byte { b[len(b)/2] ^= 0x40; return b }, "sha256"},
		{"truncated", func(b []byte) []byte { return b[:len(b)*2/3] }, "truncated"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			eachDestination(t, func(t *testing.T, dest, dir string) {
				st, id := backedUp(t, dest)
				obj := filepath.Join(dir, id, archiveObject)
				data, err := os.ReadFile(obj)
				if err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(obj, tc.corrupt(data), 0o600); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Verify(ctx, id); !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), tc.want) {
					t.Errorf("verify: %v, want %s corruption", err, tc.want)
				}
				dst := dataDir(t)
				before := tree(t, dst)
				if _, err := st.Restore(ctx, id, dst); !errors.Is(err, ErrCorrupt) {
					t.Errorf("restore: %v, want refused as corrupt", err)
				}
				if after := tree(t, dst); after != before {
					t.Errorf("data changed by a refused restore:\n%s\nwant\n%s", after, before)
				}
				if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dst), ".*restore*")); len(left) != 0 {
					t.Errorf("left behind: %v", left)
				}
			})
		})
	}
}

// tree is every file under dir with its content.
func tree(t *testing.T, dir string) string {
	var b strings.Builder
	err := filepath.Walk(dir, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		b.WriteString(p + "=" + string(data) + "\n")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// A backup whose archive fails half-way leaves no manifest: it is not listed and cannot be
// restored, and no archive object is left either.
func TestFailedBackupNeverLooksComplete(t *testing.T) {
	eachDestination(t, testFailedBackupNeverLooksComplete)
}

func testFailedBackupNeverLooksComplete(t *testing.T, dest, dir string) {
	ctx := context.Background()
	st, err := Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	id := NewID("dev", time.Now())
	if _, err := st.Create(ctx, filepath.Join(t.TempDir(), "missing"), manifest(id)); err == nil {
		t.Fatal("backup of a missing directory succeeded")
	}
	if list, err := st.List(ctx, ""); err != nil || len(list) != 0 {
		t.Errorf("list: %v %v, want nothing", list, err)
	}
	if _, err := st.Restore(ctx, id, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("restore: %v, want not found", err)
	}
	if _, err := os.Stat(filepath.Join(dir, id, archiveObject)); !os.IsNotExist(err) {
		t.Errorf("archive object left: %v", err)
	}
}

// An archive made elsewhere cannot put keys or paths outside the data directory into a node.
func TestRestoreRefusesForeignEntries(t *testing.T) {
	for _, name := range []string{"../escape", "/etc/passwd", "keystore/x", "node.key"} {
		pr, pw := io.Pipe()
		go func() {
			zw, _ := zstd.NewWriter(pw)
			tw := tar.NewWriter(zw)
			_ = tw.WriteHeader(&tar.Header{Name: name, Typeflag: tar.TypeReg, Size: 1, Mode: 0o600})
			_, _ = tw.Write([]byte("x"))
			_ = tw.Close()
			_ = zw.Close()
			_ = pw.Close()
		}()
		dst := t.TempDir()
		if _, err := extractArchive(pr, dst); err == nil {
			t.Errorf("entry %q extracted", name)
		}
		_ = pr.Close()
	}
}

func TestRetentionExpired(t *testing.T) {
	now := time.Date(2026, 12, 5, 0, 0, 0, 0, time.UTC)
	var list []Manifest
	for i := 5; i >= 0; i-- { // oldest first: 5 days old ... today
		list = append(list, Manifest{ID: string(rune('a' + 5 - i)), Created: now.Add(-time.Duration(i) * 24 * time.Hour)})
	}
	ids := func(ms []Manifest) (s string) {
		for _, m := range ms {
			s += m.ID
		}
		return s
	}
	for _, tc := range []struct {
		r    Retention
		want string
	}{
		{Retention{Keep: 2}, "abcd"},
		{Retention{MaxAge: 50 * time.Hour}, "abc"},
		{Retention{Keep: 5, MaxAge: 72 * time.Hour}, "ab"},
		{Retention{MaxAge: time.Hour}, "abcde"}, // the newest always stays
		{Retention{Keep: 10}, ""},
	} {
		if got := ids(tc.r.Expired(list, now)); got != tc.want {
			t.Errorf("%+v: expired %q, want %q", tc.r, got, tc.want)
		}
	}
}

func TestOpenRefusesCredentialsInURL(t *testing.T) {
	if _, err := Open(context.Background(), "s3://AKIA:secret@bucket?region=x"); err == nil || strings.Contains(err.Error(), "secret") {
		t.Errorf("open: %v, want refused without echoing the secret", err)
	}
}

// A file destination works without a usable temporary directory (a backup Job's container
// has no /tmp): its temporary files are made beside the final ones, whatever the form of
// the destination.
func TestFileDestinationNeedsNoTempDir(t *testing.T) {
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	dir := t.TempDir()
	for _, dest := range []string{filepath.Join(dir, "plain"), "file://" + filepath.Join(dir, "url") + "?create_dir=1"} {
		st, id := backedUp(t, dest)
		if _, err := st.Verify(context.Background(), id); err != nil {
			t.Errorf("%s: %v", dest, err)
		}
		st.Close()
	}
}
