package local

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/network"
)

// A new node of a group with restoreFrom starts from the backup or snapshot: its init runs
// first (config, genesis), then the chain data is replaced with the archive's, the node's own
// entries (config) are kept, and the directory is marked initialised for the supervisor. A
// corrupt archive or a missing backup fails by field path with the backup package's words (as
// the cluster's restore step says them) and leaves no directory behind; a directory holding
// data is never touched.
func TestRestoreNewNodes(t *testing.T) {
	ctx := context.Background()
	dest := t.TempDir()
	src := t.TempDir()
	for name, body := range map[string]string{"db/000001.sst": "chain at #56", "db/MANIFEST-000001": "manifest"} {
		if err := os.MkdirAll(filepath.Join(src, filepath.Dir(name)), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(src, name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	st, err := backup.Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	good := backup.NewID("dev", time.Date(2026, 12, 5, 3, 0, 0, 0, time.UTC))
	m, err := st.Create(ctx, src, backup.Manifest{ID: good, Network: "dev", Node: "rpc-0"})
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(filepath.Join(dest, good, "archive.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	// The same backup under another ID with one byte flipped.
	bad := backup.NewID("dev", time.Date(2026, 12, 5, 4, 0, 0, 0, time.UTC))
	flipped := append([]byte(nil), archive...)
	flipped[len(flipped)/2] ^= 1
	writeBackupCopy(t, dest, good, bad, flipped)
	snapshots := httptest.NewServer(http.FileServer(http.Dir(dest)))
	defer snapshots.Close()

	home := t.TempDir()
	r := &Runtime{Home: home}
	dir, err := r.Dir("dev")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name, from string
		wantErr    string // prefix; "" restores
	}{
		{"backup", "{backup: " + good + "}", ""},
		{"snapshot", fmt.Sprintf(`{url: "%s/%s/archive.tar.zst", sha256: %s}`, snapshots.URL, good, m.SHA256), ""},
		{"corrupt backup", "{backup: " + bad + "}", "spec.groups[1].restoreFrom.backup: node rpc-0: backup " + bad + ": archive is corrupt: sha256 "},
		{"missing backup", "{backup: dev-20261205t050000.000z}", "spec.groups[1].restoreFrom.backup: node rpc-0: backup dev-20261205t050000.000z: not found in " + dest},
		{"snapshot of another sum", fmt.Sprintf(`{url: "%s/%s/archive.tar.zst", sha256: "%064x"}`, snapshots.URL, good, 1), "spec.groups[1].restoreFrom.url: node rpc-0: snapshot: archive is corrupt: sha256 " + m.SHA256 + ", want "},
		{"snapshot not there", fmt.Sprintf(`{url: "%s/nothing.tar.zst", sha256: %s}`, snapshots.URL, m.SHA256), "spec.groups[1].restoreFrom.url: node rpc-0: snapshot " + snapshots.URL + "/nothing.tar.zst: 404 Not Found"},
	} {
		t.Run(c.name, func(t *testing.T) {
			n := westendDev(t, fmt.Sprintf(`  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, replicas: 2, restoreFrom: %s}
  backup: {source: rpc, schedule: "0 3 * * *", destination: %s}
`, c.from, dest))
			nodes := t.TempDir()
			base := filepath.Join(nodes, "rpc-0")
			// rpc-1 already holds data: it is never restored, whatever the spec says.
			kept := filepath.Join(nodes, "rpc-1")
			if err := os.MkdirAll(filepath.Join(kept, "db"), 0o700); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(filepath.Join(kept, "db", "own.sst"), []byte("own chain"), 0o600); err != nil {
				t.Fatal(err)
			}
			// The init stands for gossamer's: a genesis database and a config.
			init := [][]string{{"-c", `mkdir -p "$1/db" "$1/config" && echo genesis >"$1/db/000000.sst" && echo cfg >"$1/config/config.toml"`, "init"}}
			p := &network.Plan{}
			for _, b := range []string{base, kept} {
				p.Nodes = append(p.Nodes, network.NodePlan{
					NodeRef: network.NodeRef{Name: filepath.Base(b), Group: "rpc"}, Binary: "/bin/sh", BasePath: b,
					Init: [][]string{append(append([]string(nil), init[0]...), b)},
				})
			}
			err = r.restoreNew(ctx, dir, n, p)
			if got, _ := os.ReadFile(filepath.Join(kept, "db", "own.sst")); string(got) != "own chain" || exists(filepath.Join(kept, "config")) {
				t.Errorf("rpc-1, which held data, was touched: %q", got)
			}
			if c.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), c.wantErr) {
					t.Fatalf("err = %v, want %q...", err, c.wantErr)
				}
				if left, _ := os.ReadDir(nodes); len(left) != 1 {
					t.Errorf("left behind in %s: %v", nodes, left)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			want := map[string]string{"db/000001.sst": "chain at #56", "db/MANIFEST-000001": "manifest", "config/config.toml": "cfg\n", ".onf-initialized": ""}
			if got := treeFiles(t, base); fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("rpc-0 after the restore: %v, want %v (the backup's chain, the init's config, marked initialised)", got, want)
			}
		})
	}
}

// writeBackupCopy stores backup id of dest again as id2, with archive as its archive.
func writeBackupCopy(t *testing.T, dest, id, id2 string, archive []byte) {
	t.Helper()
	raw, err := os.ReadFile(filepath.Join(dest, id, "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Join(dest, id2), 0o700); err != nil {
		t.Fatal(err)
	}
	for file, data := range map[string][]byte{
		"manifest.json":   []byte(strings.ReplaceAll(string(raw), id, id2)),
		"archive.tar.zst": archive,
	} {
		if err := os.WriteFile(filepath.Join(dest, id2, file), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// treeFiles maps every file under dir to its content.
func treeFiles(t *testing.T, dir string) map[string]string {
	t.Helper()
	out := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		rel, _ := filepath.Rel(dir, p)
		out[filepath.ToSlash(rel)] = string(data)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
