package backup_test

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/testenv"
)

func sh(b *testing.B, script string, args ...string) time.Duration {
	b.Helper()
	start := time.Now()
	if out, err := exec.Command("sh", append([]string{"-c", script, "sh"}, args...)...).CombinedOutput(); err != nil {
		b.Fatalf("%s: %v\n%s", script, err, out)
	}
	return time.Since(start)
}

// BenchmarkBackupVsTarZstd backs up and restores a real gossamer database of a few hundred
// MB (stateDB) through onf's code (file:// destination: tar, zstd, sha256,
// manifest; restore: read, sha256, unpack, swap) and, in the same iteration, through
// `tar -c DIR | zstd -3` and `zstd -d | tar -x` of the same directory. Ratios above 1 mean
// onf is slower.
func BenchmarkBackupVsTarZstd(b *testing.B) {
	zstdBin := testenv.Binary(b, "ZSTD_BIN", "zstd") // Debian's zstd (.ci/run installs it)
	src := stateDB(b)
	size := dirSize(b, src)
	ctx := context.Background()
	var ours, base, oursRestore, baseRestore time.Duration
	var archive, baseArchive int64
	for b.Loop() {
		work := b.TempDir()
		st, err := backup.Open(ctx, filepath.Join(work, "dest"))
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
		tarball := filepath.Join(work, "base.tar.zst")
		base += sh(b, `tar -cf - -C "$1" . | "$3" -q -3 -o "$2"`, src, tarball, zstdBin)
		if fi, err := os.Stat(tarball); err == nil {
			baseArchive = fi.Size()
		}

		start = time.Now()
		if _, err := st.Restore(ctx, m.ID, filepath.Join(work, "restored")); err != nil {
			b.Fatal(err)
		}
		oursRestore += time.Since(start)
		baseRestore += sh(b, `mkdir "$2" && "$3" -q -d -c "$1" | tar -xf - -C "$2"`, tarball, filepath.Join(work, "base-restored"), zstdBin)
		st.Close()
	}
	n := float64(b.N)
	mb := float64(size) / (1 << 20)
	b.ReportMetric(mb, "MiB")
	b.ReportMetric(mb/(ours.Seconds()/n), "backup-MiB/s")
	b.ReportMetric(mb/(base.Seconds()/n), "tar|zstd-MiB/s")
	b.ReportMetric(ours.Seconds()/base.Seconds(), "backup-ratio")
	b.ReportMetric(mb/(oursRestore.Seconds()/n), "restore-MiB/s")
	b.ReportMetric(mb/(baseRestore.Seconds()/n), "zstd-d|tar-MiB/s")
	b.ReportMetric(oursRestore.Seconds()/baseRestore.Seconds(), "restore-ratio")
	b.ReportMetric(float64(archive)/float64(size), "compressed/raw")
	b.ReportMetric(float64(baseArchive)/float64(size), "zstd-3/raw")
}
