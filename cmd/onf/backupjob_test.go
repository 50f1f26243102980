package main

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/testenv"
)

// The restore init steps as a pod runs them: mark marks only an empty volume; restore then
// restores a backup or a snapshot into it after the node's init, keeping the node's config,
// and clears the mark; a volume that held data is never touched; a corrupt snapshot fails
// with the reason and leaves the volume as it was, still marked, so the node does not start.
func TestBackupJobRestoreSteps(t *testing.T) {
	ctx := context.Background()
	src, dest := t.TempDir(), t.TempDir()
	testenv.WriteFiles(t, src, map[string]string{"db/000001.sst": "chain data", "db/MANIFEST": "m"})
	st, err := backup.Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	id := backup.NewID("dev", time.Now())
	if _, err := st.Create(ctx, src, backup.Manifest{ID: id, Network: "dev", Node: "backup-0", Created: time.Now().UTC()}); err != nil {
		t.Fatal(err)
	}
	m, err := st.Manifest(ctx, id)
	st.Close()
	if err != nil {
		t.Fatal(err)
	}
	archive, err := os.ReadFile(filepath.Join(dest, id, "archive.tar.zst"))
	if err != nil {
		t.Fatal(err)
	}
	nodeInit := map[string]string{"config/config.toml": "own config", "db/000099.sst": "genesis"}
	read := func(vol, name string) string {
		data, _ := os.ReadFile(filepath.Join(vol, name))
		return string(data)
	}
	pending := func(vol string) bool {
		_, err := os.Stat(filepath.Join(vol, restorePending))
		return err == nil
	}

	t.Run("backup", func(t *testing.T) {
		vol := t.TempDir()
		if out, err := runOnf("backup", "job", "mark", "--data", vol); err != nil || !pending(vol) {
			t.Fatalf("mark: %v %s; pending %v", err, out, pending(vol))
		}
		testenv.WriteFiles(t, vol, nodeInit)
		out, err := runOnf("backup", "job", "restore", "--data", vol, "--id", id, "--dest", dest, "--url=")
		if err != nil || !strings.Contains(out, "restored "+id) {
			t.Fatalf("restore: %v\n%s", err, out)
		}
		if read(vol, "db/000001.sst") != "chain data" || read(vol, "config/config.toml") != "own config" || read(vol, "db/000099.sst") != "" || pending(vol) {
			t.Errorf("after the restore: data %q, config %q, genesis %q, pending %v", read(vol, "db/000001.sst"), read(vol, "config/config.toml"), read(vol, "db/000099.sst"), pending(vol))
		}
		// The pod starts again: nothing is restored a second time.
		if out, err := runOnf("backup", "job", "mark", "--data", vol); err != nil || pending(vol) {
			t.Errorf("mark on a restored volume: %v %s", err, out)
		}
		if out, err := runOnf("backup", "job", "restore", "--data", vol, "--id", id, "--dest", dest, "--url="); err != nil || !strings.Contains(out, "nothing to restore") {
			t.Errorf("second restore: %v %s", err, out)
		}
	})

	snapshots := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body := archive
		if r.URL.Path == "/flipped.tar.zst" {
			body = append([]byte(nil), archive...)
			body[len(body)/2] ^= 0x40
		}
		_, _ = w.Write(body)
	}))
	defer snapshots.Close()

	t.Run("snapshot", func(t *testing.T) {
		vol := t.TempDir()
		if _, err := runOnf("backup", "job", "mark", "--data", vol); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFiles(t, vol, nodeInit)
		out, err := runOnf("backup", "job", "restore", "--data", vol, "--id=", "--url", snapshots.URL+"/dev.tar.zst", "--sha256", m.SHA256)
		if err != nil || read(vol, "db/000001.sst") != "chain data" || pending(vol) {
			t.Fatalf("restore: %v\n%s", err, out)
		}
	})

	t.Run("corrupt snapshot", func(t *testing.T) {
		vol := t.TempDir()
		if _, err := runOnf("backup", "job", "mark", "--data", vol); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFiles(t, vol, nodeInit)
		_, err := runOnf("backup", "job", "restore", "--data", vol, "--id=", "--url", snapshots.URL+"/flipped.tar.zst", "--sha256", m.SHA256)
		if err == nil || !strings.Contains(err.Error(), "archive is corrupt: sha256") {
			t.Errorf("err = %v, want the archive refused as corrupt", err)
		}
		if read(vol, "db/000099.sst") != "genesis" || read(vol, "db/000001.sst") != "" || !pending(vol) {
			t.Errorf("a refused restore changed the volume or cleared the mark")
		}
	})

	t.Run("volume with data", func(t *testing.T) {
		vol := t.TempDir()
		testenv.WriteFiles(t, vol, map[string]string{"db/000500.sst": "a running node's data"})
		if _, err := runOnf("backup", "job", "mark", "--data", vol); err != nil || pending(vol) {
			t.Fatalf("mark on a volume with data: %v", err)
		}
		if out, err := runOnf("backup", "job", "restore", "--data", vol, "--id", id, "--dest", dest, "--url="); err != nil || !strings.Contains(out, "nothing to restore") {
			t.Errorf("restore: %v %s", err, out)
		}
		if read(vol, "db/000500.sst") != "a running node's data" {
			t.Error("the node's data was touched")
		}
	})

	// `onf backup restore` on a cluster: the request file named by the pod wins over the
	// group's restoreFrom; another pod's request is not this pod's; with no request and no
	// restoreFrom a marked volume is left to the node's init and the mark cleared.
	t.Run("request by pod name", func(t *testing.T) {
		requests := t.TempDir()
		testenv.WriteFiles(t, requests, map[string]string{"dev-rpc-1": id + "\n"})
		vol := t.TempDir()
		if _, err := runOnf("backup", "job", "mark", "--data", vol); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFiles(t, vol, nodeInit)
		out, err := runOnf("backup", "job", "restore", "--data", vol, "--dest", dest, "--requests", requests, "--pod", "dev-rpc-1",
			"--id=", "--url", snapshots.URL+"/flipped.tar.zst", "--sha256", m.SHA256)
		if err != nil || !strings.Contains(out, "restore requested for pod dev-rpc-1: backup "+id) || read(vol, "db/000001.sst") != "chain data" || pending(vol) {
			t.Fatalf("restore by request: %v\n%s", err, out)
		}

		vol = t.TempDir()
		if _, err := runOnf("backup", "job", "mark", "--data", vol); err != nil {
			t.Fatal(err)
		}
		testenv.WriteFiles(t, vol, nodeInit)
		out, err = runOnf("backup", "job", "restore", "--data", vol, "--dest", dest, "--requests", requests, "--pod", "dev-rpc-0", "--id=", "--url=")
		if err != nil || !strings.Contains(out, "no restore requested for pod dev-rpc-0") || read(vol, "db/000099.sst") != "genesis" || pending(vol) {
			t.Fatalf("restore without a request: %v\n%s; pending %v", err, out, pending(vol))
		}
	})
}
