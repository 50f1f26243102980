// Package backup_test backs up and restores the chain database of real gossamer nodes through
// the onf CLI, as an operator would: create, list, verify, restore (also of corrupt archives)
// and prune on a running local network.
package backup_test

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// blockHash is the hash of block n on the node at url. A gossamer node just (re)started may
// answer RPC before it answers for its blocks on a loaded machine: it is asked until it
// names one, and the test fails with its last answer after a minute.
func blockHash(t *testing.T, url string, n uint64) string {
	t.Helper()
	var h string
	testenv.Eventually(t, time.Minute, fmt.Sprintf("the hash of block #%d from %s", n, url), func() (bool, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		c, err := rpc.Dial(ctx, url)
		if err != nil {
			return false, err
		}
		defer c.Close()
		h, err = c.BlockHash(ctx, n)
		return err == nil, err
	})
	return h
}

const spec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: bk}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer, binary: %s}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc}
  backup:
    source: rpc
    schedule: "0 3 * * *"
    destination: %s
    retention: {keep: 1}
`

// The whole life of a backup on a running gossamer network: the rpc node is backed up at
// finalized block N (validators are refused), the archive holds no key of any kind, corrupt
// and truncated copies are refused by verify and restore with the node's data untouched, the
// node restored from the backup has block N with the network's hash and keeps importing the
// network's blocks, and prune honours spec.backup.retention.
func TestBackupAndRestoreRealGossamer(t *testing.T) {
	testenv.Short(t)
	c := onfcli.Build(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	dest := t.TempDir()
	file := filepath.Join(t.TempDir(), "bk.yaml")
	if err := os.WriteFile(file, []byte(fmt.Sprintf(spec, gossamer, dest)), 0o600); err != nil {
		t.Fatal(err)
	}
	c.Must("up", "-f", file, "--until-block", "1", "--timeout", "3m")
	t.Cleanup(func() { _, _ = c.Run("down", "bk") })
	validator := c.Node("bk", "validator-0")

	// gossamer writes only finalised blocks to its database: wait for GRANDPA's first rounds.
	testenv.Eventually(t, 3*time.Minute, "rpc-0 to finalise block 2", func() bool { return c.Node("bk", "rpc-0").Finalized >= 2 })

	if out, err := c.Run("backup", "create", "bk", "validator-0", "--dest", dest); err == nil || !strings.Contains(out, "is a validator node") {
		t.Errorf("backup of the validator: %v\n%s, want refused", err, out)
	}
	out := c.Must("backup", "create", "bk", "rpc-0", "--dest", dest)
	t.Logf("%s", out)
	var list []backup.Manifest
	if err := json.Unmarshal([]byte(c.Must("backup", "list", "bk", "--dest", dest, "-o", "json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("list: %v %v", list, err)
	}
	m := list[0]
	n := m.Finalized.Number
	if want := blockHash(t, validator.RPC, n); m.Finalized.Hash != want || m.GenesisHash != blockHash(t, validator.RPC, 0) || m.Chain == "" || m.NodeVersion == "" || m.SHA256 == "" {
		t.Fatalf("manifest %+v: want finalized #%d %s and the network's genesis", m, n, want)
	}
	if !c.Node("bk", "rpc-0").Running {
		t.Fatal("rpc-0 was not started again after the backup")
	}

	t.Run("no keys in the archive", func(t *testing.T) {
		secrets := nodeSecrets(t, filepath.Join(c.Home, "networks", "bk"))
		for _, e := range archiveEntries(t, filepath.Join(dest, m.ID, "archive.tar.zst")) {
			if backup.Excluded(e.name) {
				t.Errorf("archive entry %s: excluded by rule", e.name)
			}
			for file, secret := range secrets {
				if bytes.Contains(e.body, secret) {
					t.Errorf("archive entry %s holds the content of %s", e.name, file)
				}
			}
		}
	})

	t.Run("corrupt archives are refused", func(t *testing.T) {
		for name, corrupt := range corruptions {
			bad := t.TempDir()
			copyBackup(t, dest, bad, m.ID, corrupt)
			if out, err := c.Run("backup", "verify", m.ID, "--dest", bad); err == nil || !strings.Contains(out, "archive is corrupt") {
				t.Errorf("%s: verify: %v\n%s", name, err, out)
			}
			// restore waits until the node answers again; it must be back on its own data,
			// with nothing of the chain it had lost.
			if name != "flipped byte" {
				continue // a restore stops and starts the node: one is enough here (internal/backup tests both)
			}
			before := c.Node("bk", "rpc-0").Finalized
			if out, err := c.Run("backup", "restore", "bk", "rpc-0", m.ID, "--dest", bad); err == nil || !strings.Contains(out, "archive is corrupt") {
				t.Errorf("%s: restore: %v\n%s", name, err, out)
			}
			if nd := c.Node("bk", "rpc-0"); !nd.Running || nd.RPCError != "" || nd.Finalized < before {
				t.Errorf("%s: rpc-0 after the refused restore: running %v, rpc error %q, finalized #%d (was #%d)", name, nd.Running, nd.RPCError, nd.Finalized, before)
			}
			if left, _ := filepath.Glob(filepath.Join(c.Home, "networks", "bk", "nodes", ".rpc-0*")); len(left) != 0 {
				t.Errorf("%s: left behind %v", name, left)
			}
		}
	})

	t.Run("restore", func(t *testing.T) {
		c.Must("backup", "verify", m.ID, "--dest", dest)
		if out, err := c.Run("backup", "restore", "bk", "validator-0", m.ID, "--dest", dest); err == nil || !strings.Contains(out, "node validator-0 is a validator node: restore a full, archive or rpc node") {
			t.Errorf("restore into the validator: %v\n%s, want refused", err, out)
		}
		// Let the network move on past the backup, then put rpc-0 back to block N.
		testenv.Eventually(t, 2*time.Minute, "the network to pass the backup", func() bool { return c.Node("bk", "validator-0").Finalized >= n+2 })
		logFile := filepath.Join(c.Home, "networks", "bk", "logs", "rpc-0.log")
		logged, _ := os.Stat(logFile)
		start := time.Now()
		t.Logf("%s", c.Must("backup", "restore", "bk", "rpc-0", m.ID, "--dest", dest))
		rpc0 := c.Node("bk", "rpc-0")
		if got := blockHash(t, rpc0.RPC, n); got != m.Finalized.Hash {
			t.Fatalf("restored rpc-0 has block #%d = %q, want %s", n, got, m.Finalized.Hash)
		}
		if rpc0.Finalized < n {
			t.Errorf("restored rpc-0 started at finalized #%d, want the backup's #%d", rpc0.Finalized, n)
		}
		t.Run("keeps importing", func(t *testing.T) {
			target := keepsImporting(t, c, "rpc-0", logged.Size())
			t.Logf("restored and imported up to #%d in %s", target, time.Since(start).Round(time.Second))
		})
	})

	t.Run("restoreFrom starts new nodes from the backup", func(t *testing.T) {
		withGroup := func(group string) string {
			f := filepath.Join(t.TempDir(), "bk.yaml")
			doc := strings.Replace(fmt.Sprintf(spec, gossamer, dest), "  backup:\n", group+"  backup:\n", 1)
			if err := os.WriteFile(f, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			return f
		}
		nodes := filepath.Join(c.Home, "networks", "bk", "nodes")

		// A corrupt copy of the backup at the same destination: onf up refuses it by field path
		// before anything starts, stores nothing and leaves no directory of the new node.
		badID := backup.NewID("bk", m.Created.Add(-time.Hour))
		copyBackupAs(t, dest, m.ID, badID, corruptions["flipped byte"])
		defer os.RemoveAll(filepath.Join(dest, badID))
		gen := c.Status("bk").Generation
		out, err := c.Run("up", "-f", withGroup("  - {name: corrupt, role: full, restoreFrom: {backup: "+badID+"}}\n"), "--until-block", "0", "--timeout", "3m")
		if want := "spec.groups[2].restoreFrom.backup: node corrupt-0: backup " + badID + ": archive is corrupt: sha256 "; err == nil || !strings.Contains(out, want) {
			t.Errorf("up with a corrupt restoreFrom backup: %v\n%s\nwant %q", err, out, want)
		}
		if st := c.Status("bk"); st.Generation != gen || len(st.Nodes) != 2 {
			t.Errorf("after the refused up: generation %d (was %d), nodes %+v: want the network as it was", st.Generation, gen, st.Nodes)
		}
		if left, _ := filepath.Glob(filepath.Join(nodes, "*corrupt-0*")); len(left) != 0 {
			t.Errorf("left behind %v", left)
		}

		c.Must("up", "-f", withGroup("  - {name: restored, role: full, restoreFrom: {backup: "+m.ID+"}}\n"), "--until-block", "0", "--timeout", "3m")
		restored := c.Node("bk", "restored-0")
		if got := blockHash(t, restored.RPC, n); got != m.Finalized.Hash {
			t.Fatalf("restored-0 has block #%d = %q, want the network's %s", n, got, m.Finalized.Hash)
		}
		if got := blockHash(t, restored.RPC, 0); got != m.GenesisHash {
			t.Errorf("restored-0's genesis %q, want %s", got, m.GenesisHash)
		}
		keepsImporting(t, c, "restored-0", 0)
		c.Must("up", "-f", file, "--until-block", "0", "--timeout", "2m") // the group goes again
	})

	t.Run("prune honours spec.backup.retention", func(t *testing.T) {
		c.Must("backup", "create", "bk", "rpc-0", "--dest", dest)
		out := c.Must("backup", "prune", "bk", "--dest", dest)
		if !strings.Contains(out, "deleted "+m.ID) {
			t.Errorf("prune: %s, want %s deleted (keep: 1)", out, m.ID)
		}
		var left []backup.Manifest
		if err := json.Unmarshal([]byte(c.Must("backup", "list", "bk", "--dest", dest, "-o", "json")), &left); err != nil || len(left) != 1 || left[0].ID == m.ID {
			t.Errorf("after prune: %v %v", left, err)
		}
	})

	// The refusals above ran on a running node, whose database moves on; stopped, its data
	// can be compared byte for byte: a refused restore must not change one.
	t.Run("refused restores leave the data as it was", func(t *testing.T) {
		var kept []backup.Manifest // prune left the newest
		if err := json.Unmarshal([]byte(c.Must("backup", "list", "bk", "--dest", dest, "-o", "json")), &kept); err != nil || len(kept) == 0 {
			t.Fatalf("list: %v %v", kept, err)
		}
		c.Must("down", "bk")
		data := filepath.Join(c.Home, "networks", "bk", "nodes", "rpc-0")
		before := treeSum(t, data)
		for name, corrupt := range corruptions {
			bad := t.TempDir()
			copyBackup(t, dest, bad, kept[0].ID, corrupt)
			if out, err := c.Run("backup", "restore", "bk", "rpc-0", kept[0].ID, "--dest", bad); err == nil || !strings.Contains(out, "archive is corrupt") {
				t.Errorf("%s: restore: %v\n%s", name, err, out)
			}
			if after := treeSum(t, data); after != before {
				t.Errorf("%s: rpc-0's data changed by a refused restore", name)
			}
		}
		if left, _ := filepath.Glob(filepath.Join(c.Home, "networks", "bk", "nodes", ".rpc-0*")); len(left) != 0 {
			t.Errorf("left behind %v", left)
		}
	})
}

// gossamerReimportBug skips a test when the node's log since offset shows gossamer v0.9.0
// refusing to re-import a block it had imported before a restart: it keeps the BABE slot of
// every imported block in its database, finalised or not, and takes the same block offered
// again for an equivocation, whose report then panics in the runtime ("could not verify block
// equivocation"). A node restarted from any database that saw unfinalised blocks, restored
// or not, stops there (docs/testing.md, docs/backup.md). Any other failure still fails.
func gossamerReimportBug(t *testing.T, logFile string, offset int64) {
	t.Helper()
	f, err := os.Open(logFile)
	if err != nil {
		return
	}
	defer f.Close()
	_, _ = f.Seek(offset, io.SeekStart)
	data, _ := io.ReadAll(f)
	if bytes.Contains(data, []byte("could not verify block equivocation")) {
		t.Skip("gossamer v0.9.0 refuses to re-import blocks its database saw before the restart (could not verify block equivocation): a node bug, see docs/backup.md")
	}
}

// keepsImporting waits until node imports the block two past the validator's best and has
// the validator's hash for it, and returns that block's number. The node's log from offset
// on is what it wrote since its restart (gossamerReimportBug).
func keepsImporting(t *testing.T, c *onfcli.CLI, node string, offset int64) uint64 {
	t.Helper()
	logFile := filepath.Join(c.Home, "networks", "bk", "logs", node+".log")
	target := c.Node("bk", "validator-0").Best + 2
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("%s to import block #%d", node, target), func() (bool, string) {
		gossamerReimportBug(t, logFile, offset)
		nd := c.Node("bk", node)
		return nd.Best >= target, fmt.Sprintf("best #%d", nd.Best)
	})
	if got, want := blockHash(t, c.Node("bk", node).RPC, target), blockHash(t, c.Node("bk", "validator-0").RPC, target); got != want || got == "" {
		t.Errorf("block #%d: %s %s, validator %s", target, node, got, want)
	}
	return target
}

// corruptions damage an archive as storage and transfers do.
var corruptions = map[string]func([]byte) []byte{
	"flipped byte": func(b []byte) []byte { b[len(b)/3] ^= 1; return b },
	"truncated":    func(b []byte) []byte { return b[:len(b)-4096] },
}

// treeSum is a sha256 over every path, mode and content under dir.
func treeSum(t *testing.T, dir string) string {
	t.Helper()
	h := sha256.New()
	err := filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s %v %d\n", p, info.Mode(), info.Size())
		if !d.Type().IsRegular() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		_, err = io.Copy(h, f)
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

type entry struct {
	name string
	body []byte
}

func archiveEntries(t *testing.T, file string) []entry {
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
	var out []entry
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			if len(out) == 0 {
				t.Fatal("empty archive")
			}
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		body, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, entry{h.Name, body})
	}
}

// nodeSecrets reads every key file of the network: node keys (onf's seeds and gossamer's
// node.key), secret URIs and keystore files, wherever they live in the state directory.
func nodeSecrets(t *testing.T, state string) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := filepath.WalkDir(state, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		rel, _ := filepath.Rel(state, p)
		if strings.HasPrefix(rel, "keys/") || strings.HasPrefix(rel, "keystore/") || d.Name() == "node.key" {
			data, err := os.ReadFile(p)
			if err == nil && len(bytes.TrimSpace(data)) >= 8 {
				out[rel] = bytes.TrimSpace(data)
			}
			return err
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("found no key files to look for")
	}
	t.Logf("looking for the content of %d key files", len(out))
	return out
}

// copyBackup copies a backup into another destination, its archive passed through corrupt.
func copyBackup(t *testing.T, from, to, id string, corrupt func([]byte) []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(to, id), 0o700); err != nil {
		t.Fatal(err)
	}
	for _, obj := range []string{"manifest.json", "archive.tar.zst"} {
		data, err := os.ReadFile(filepath.Join(from, id, obj))
		if err != nil {
			t.Fatal(err)
		}
		if obj == "archive.tar.zst" {
			data = corrupt(data)
		}
		if err := os.WriteFile(filepath.Join(to, id, obj), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

// copyBackupAs copies backup id to another ID in the same destination, its archive passed
// through corrupt.
func copyBackupAs(t *testing.T, dest, id, as string, corrupt func([]byte) []byte) {
	t.Helper()
	tmp := t.TempDir()
	copyBackup(t, dest, tmp, id, corrupt)
	file := filepath.Join(tmp, id, "manifest.json")
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, bytes.ReplaceAll(raw, []byte(`"id": "`+id+`"`), []byte(`"id": "`+as+`"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(tmp, id), filepath.Join(dest, as)); err != nil {
		t.Fatal(err)
	}
}
