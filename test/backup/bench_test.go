package backup_test

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/backup"
)

// benchSize is the size of the synthetic chain database the benchmark backs up.
const benchSize = 384 << 20

// badgerLikeDir writes a directory shaped like a gossamer BadgerDB: a few large value-log
// files and many 2-8 MiB SST files, holding data as compressible as chain state (hashes and
// encoded values: random 32-byte words mixed with repeated small values and zero runs).
func badgerLikeDir(b *testing.B, size int) string {
	b.Helper()
	dir := filepath.Join(b.TempDir(), "db")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		b.Fatal(err)
	}
	rng := rand.New(rand.NewPCG(1, 2))
	chunk := func(n int) []byte {
		buf := make([]byte, 0, n)
		for len(buf) < n {
			switch rng.IntN(4) {
			case 0, 1: // a hash
				for range 4 {
					buf = binary.LittleEndian.AppendUint64(buf, rng.Uint64())
				}
			case 2: // a small encoded value, repeated
				buf = append(buf, byte(rng.IntN(8)), 0, 0, 0, 1, 0, 0, 0)
			default:
				buf = append(buf, make([]byte, 16)...)
			}
		}
		return buf[:n]
	}
	written, i := 0, 0
	for written < size {
		name, n := fmt.Sprintf("%06d.sst", i), (2+rng.IntN(7))<<20
		if i%8 == 0 {
			name, n = fmt.Sprintf("%06d.vlog", i), 32<<20
		}
		n = min(n, size-written)
		if err := os.WriteFile(filepath.Join(dir, name), chunk(n), 0o600); err != nil {
			b.Fatal(err)
		}
		written += n
		i++
	}
	for _, f := range []string{"MANIFEST", "KEYREGISTRY", "LOCK"} {
		if err := os.WriteFile(filepath.Join(dir, f), chunk(4096), 0o600); err != nil {
			b.Fatal(err)
		}
	}
	return filepath.Dir(dir)
}

func sh(b *testing.B, script string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	return time.Since(start)
}

// BenchmarkBackupVsTarZstd backs up and restores a synthetic chain database of benchSize
// through onf's code (file:// destination: tar, zstd, sha256, manifest; restore: download,
// sha256, unpack, swap) and, in the same iteration, through `tar | zstd -1 -T0` and
// `zstd -d | tar -x` of the same directory. Ratios above 1 mean onf is slower.
func BenchmarkBackupVsTarZstd(b *testing.B) {
	if _, err := exec.LookPath("zstd"); err != nil {
		b.Skip("zstd not installed")
	}
	src := badgerLikeDir(b, benchSize)
	ctx := context.Background()
	var ours, base, oursRestore, baseRestore time.Duration
	var archive int64
	for i := 0; b.Loop(); i++ {
		work := b.TempDir()
		dest := filepath.Join(work, "dest")
		st, err := backup.Open(ctx, dest)
		if err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		m, err := st.Create(ctx, src, backup.Manifest{ID: backup.NewID("bench", time.Now()), Network: "bench", Node: "rpc-0", Created: time.Now()})
		if err != nil {
			b.Fatal(err)
		}
		ours += time.Since(start)
		archive = m.ArchiveSize
		base += sh(b, `tar -cf - -C "$1" . | zstd -q -1 -T0 -o "$2"`, src, filepath.Join(work, "base.tar.zst"))

		start = time.Now()
		if _, err := st.Restore(ctx, m.ID, filepath.Join(work, "restored")); err != nil {
			b.Fatal(err)
		}
		oursRestore += time.Since(start)
		baseRestore += sh(b, `mkdir "$2" && zstd -q -d -c "$1" | tar -xf - -C "$2"`, filepath.Join(work, "base.tar.zst"), filepath.Join(work, "base-restored"))
		st.Close()
	}
	n := float64(b.N)
	mb := float64(benchSize) / (1 << 20)
	b.ReportMetric(mb/(ours.Seconds()/n), "backup-MiB/s")
	b.ReportMetric(mb/(base.Seconds()/n), "tar|zstd-MiB/s")
	b.ReportMetric(ours.Seconds()/base.Seconds(), "backup-ratio")
	b.ReportMetric(mb/(oursRestore.Seconds()/n), "restore-MiB/s")
	b.ReportMetric(mb/(baseRestore.Seconds()/n), "zstd-d|tar-MiB/s")
	b.ReportMetric(oursRestore.Seconds()/baseRestore.Seconds(), "restore-ratio")
	b.ReportMetric(float64(archive)/float64(benchSize), "compressed/raw")
}
