package backup_test

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/dinfra/stack/internal/testenv"
)

// stateDBSize is the chain state the throughput benchmark's database holds: a chain whose
// state has grown to a few hundred MB, as production chains' have.
const stateDBSize = 320 << 20

// stateDB returns a gossamer node's base path whose database (gossamer v0.9.0 keeps it in
// Pebble, an LSM store: SST files, a write-ahead log, a manifest) holds stateDBSize of chain
// state, built once and kept beside the tools cache. gossamer writes it itself: `gossamer
// init` of westend-dev's raw chain spec with stateDBSize more of genesis storage (storage-map
// entries: a 32-byte pallet and item prefix, a blake2_128concat-shaped key and a value of 32
// bytes to 2 KiB as compressible as chain data). The result is what a node's database is
// mostly made of: trie nodes keyed by their hash. Growing a database this size through
// blocks is out of reach here: gossamer v0.9.0 on this shared machine makes a block every 10
// to 30 s under load, and a load generator's extrinsics (system.remark from the dev
// accounts) made its blocks fail to build ("Timestamp must be updated once in the block")
// and to import on its peers ("Storage root must match that calculated").
func stateDB(b *testing.B) string {
	b.Helper()
	gossamer := testenv.Binary(b, "GOSSAMER_BIN")
	dir := filepath.Join(benchCache(b), "backup-statedb-"+filepath.Base(filepath.Dir(gossamer)))
	base := filepath.Join(dir, "node")
	if _, err := os.Stat(filepath.Join(dir, "complete")); err == nil {
		return base
	}
	b.Logf("building a gossamer database of %d MiB of state in %s (once)", stateDBSize>>20, dir)
	if err := os.RemoveAll(dir); err != nil {
		b.Fatal(err)
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	raw, err := os.ReadFile(filepath.Join(filepath.Dir(gossamer), "chain", "westend-dev", "westend-dev-spec-raw.json"))
	if err != nil {
		b.Fatal(err)
	}
	var spec map[string]any
	if err := json.Unmarshal(raw, &spec); err != nil {
		b.Fatal(err)
	}
	top := spec["genesis"].(map[string]any)["raw"].(map[string]any)["top"].(map[string]any)
	rng := rand.New(rand.NewPCG(7, 8))
	for written := 0; written < stateDBSize; {
		// twox128(pallet) ++ twox128(item) of one of a few maps, then blake2_128(k) ++ k.
		prefix := sha256.Sum256([]byte{byte(rng.IntN(16))})
		k := chainLike(rng, 48)
		v := chainLike(rng, 32+rng.IntN(2017))
		top["0x"+hex.EncodeToString(append(prefix[:], k...))] = "0x" + hex.EncodeToString(v)
		written += len(v)
	}
	data, err := json.Marshal(spec)
	if err != nil {
		b.Fatal(err)
	}
	specFile := filepath.Join(dir, "spec-raw.json")
	if err := os.WriteFile(specFile, data, 0o600); err != nil {
		b.Fatal(err)
	}
	data, spec = nil, nil
	cmd := exec.Command(gossamer, "init", "--force", "--chain", specFile, "--base-path", base)
	if out, err := cmd.CombinedOutput(); err != nil {
		b.Fatalf("gossamer init: %v\n%s", err, out)
	}
	// gossamer keeps a copy of the chain spec in the base path: a node has its chain's
	// (2 MiB), not this inflated one, so that is what the benchmark's directory holds.
	if err := os.WriteFile(filepath.Join(base, "chain-spec-raw.json"), raw, 0o600); err != nil {
		b.Fatal(err)
	}
	if err := os.Remove(specFile); err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "complete"), nil, 0o600); err != nil {
		b.Fatal(err)
	}
	return base
}

// chainLike is n bytes as compressible as chain data: 32-byte hashes mixed with small
// encoded values that repeat and runs of zeros.
func chainLike(rng *rand.Rand, n int) []byte {
	buf := make([]byte, 0, n+32)
	for len(buf) < n {
		switch rng.IntN(4) {
		case 0, 1:
			for range 4 {
				buf = binary.LittleEndian.AppendUint64(buf, rng.Uint64())
			}
		case 2:
			buf = append(buf, byte(rng.IntN(8)), 0, 0, 0, 1, 0, 0, 0)
		default:
			buf = append(buf, make([]byte, 16)...)
		}
	}
	return buf[:n]
}

// benchCache is where benchmarks keep what they build once: beside the tools cache.
func benchCache(b *testing.B) string {
	b.Helper()
	root := os.Getenv("DINFRA_TOOLS_CACHE")
	if root == "" {
		cache, err := os.UserCacheDir()
		if err != nil {
			b.Fatal(err)
		}
		root = filepath.Join(cache, "dinfra-stack", "tools")
	}
	return filepath.Join(filepath.Dir(root), "bench")
}

func dirSize(b *testing.B, dir string) int64 {
	b.Helper()
	var n int64
	err := filepath.WalkDir(dir, func(_ string, d os.DirEntry, err error) error {
		if err != nil || !d.Type().IsRegular() {
			return err
		}
		info, err := d.Info()
		n += info.Size()
		return err
	})
	if err != nil {
		b.Fatal(err)
	}
	return n
}
