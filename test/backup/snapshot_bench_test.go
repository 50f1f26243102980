package backup_test

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

var snapshotBlocks = flag.Uint64("snapshot-blocks", 300, "BenchmarkSnapshotVsGenesis: blocks the network makes before nodes join (6 s each)")

// BenchmarkSnapshotVsGenesis times what snapshots are for: a new node of a running network
// reaching the network's best block from a snapshot, against syncing from genesis. Each
// iteration runs a real gossamer network (TestBackupAndRestoreRealGossamer's: a validator and
// rpc-0) until it has made
// -snapshot-blocks blocks, backs up rpc-0 (`onf backup create`), then adds rpc-1 (`onf
// scale`: it syncs from genesis) and times it to the validator's best block at its start;
// then adds rpc-2 and restores the backup into it at once (`onf backup restore`) and times
// the same. Both times run from the scale command to the new node's best block reaching the
// target. The network is made fresh each time: gossamer v0.9.0 resumed from its database
// refuses blocks it saw before the stop (docs/backup.md), so no network is cached.
func BenchmarkSnapshotVsGenesis(b *testing.B) {
	gossamer := testenv.Binary(b, "GOSSAMER_BIN")
	c := onfcli.Build(b)
	var genesis, snapshot time.Duration
	var behind, blocks uint64
	for b.Loop() {
		c.Home = b.TempDir()
		dest := filepath.Join(c.Home, "snapshots")
		file := filepath.Join(c.Home, "bk.yaml")
		if err := os.WriteFile(file, fmt.Appendf(nil, spec, gossamer, dest), 0o600); err != nil {
			b.Fatal(err)
		}
		c.Must("up", "-f", file, "--until-block", "1", "--timeout", "5m")
		validator := func() uint64 { return c.Node("bk", "validator-0").Best }
		testenv.Eventually(b, time.Duration(*snapshotBlocks)*30*time.Second, fmt.Sprintf("the network to make %d blocks", *snapshotBlocks),
			func() bool { return validator() >= *snapshotBlocks })
		c.Must("backup", "create", "bk", "rpc-0", "--dest", dest)
		var list []backup.Manifest
		if err := json.Unmarshal([]byte(c.Must("backup", "list", "bk", "--dest", dest, "-o", "json")), &list); err != nil || len(list) != 1 {
			b.Fatalf("list: %v %v", list, err)
		}

		target, start := validator(), time.Now()
		c.Must("scale", "bk", "rpc=2")
		reach(b, c, "rpc-1", target)
		genesis += time.Since(start)

		target, start = validator(), time.Now()
		c.Must("scale", "bk", "rpc=3")
		c.Must("backup", "restore", "bk", "rpc-2", list[0].ID, "--dest", dest)
		reach(b, c, "rpc-2", target)
		snapshot += time.Since(start)
		blocks, behind = target, target-list[0].Finalized.Number
		c.Must("down", "bk")
	}
	n := float64(b.N)
	b.ReportMetric(float64(blocks), "blocks")
	b.ReportMetric(float64(behind), "snapshot-behind-blocks")
	b.ReportMetric(genesis.Seconds()/n, "genesis-s")
	b.ReportMetric(snapshot.Seconds()/n, "snapshot-s")
	b.ReportMetric(genesis.Seconds()/snapshot.Seconds(), "genesis/snapshot")
}

// reach waits until node's best block is at least target.
func reach(b *testing.B, c *onfcli.CLI, node string, target uint64) {
	b.Helper()
	testenv.Eventually(b, 20*time.Minute, node+" to reach the network's best block", func() (bool, string) {
		nd := c.Node("bk", node)
		return nd.Best >= target, fmt.Sprintf("best #%d of #%d", nd.Best, target)
	})
}
