package backup_test

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/testenv"
)

// BenchmarkS3VsFile backs up and restores the same real gossamer database (stateDB) through
// an s3:// destination (versitygw v1.8.0 on its POSIX backend, on loopback) and, in the same
// iteration, through a file:// destination on the same disk. Ratios above 1 mean S3 is
// slower: the cost of the S3 protocol (HTTP, SigV4, multipart parts) over writing files.
func BenchmarkS3VsFile(b *testing.B) {
	src := stateDB(b)
	size := dirSize(b, src)
	srv := testenv.S3(b, "bench")
	srv.UseCredentials(b)
	ctx := context.Background()
	var took [2][2]time.Duration // [file, s3][backup, restore]
	for b.Loop() {
		work := b.TempDir()
		for i, dest := range []string{filepath.Join(work, "dest"), srv.URL("bench")} {
			st, err := backup.Open(ctx, dest)
			if err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			m, err := st.Create(ctx, src, backup.Manifest{ID: backup.NewID("bench", time.Now()), Network: "bench", Node: "rpc-0", Created: time.Now()})
			if err != nil {
				b.Fatal(err)
			}
			took[i][0] += time.Since(start)
			start = time.Now()
			if _, err := st.Restore(ctx, m.ID, filepath.Join(work, "restored", m.ID)); err != nil {
				b.Fatal(err)
			}
			took[i][1] += time.Since(start)
			if err := st.Delete(ctx, m.ID); err != nil {
				b.Fatal(err)
			}
			st.Close()
		}
	}
	mb, n := float64(size)/(1<<20), float64(b.N)
	b.ReportMetric(mb, "MiB")
	b.ReportMetric(mb/(took[0][0].Seconds()/n), "file-backup-MiB/s")
	b.ReportMetric(mb/(took[1][0].Seconds()/n), "s3-backup-MiB/s")
	b.ReportMetric(took[1][0].Seconds()/took[0][0].Seconds(), "backup-ratio")
	b.ReportMetric(mb/(took[0][1].Seconds()/n), "file-restore-MiB/s")
	b.ReportMetric(mb/(took[1][1].Seconds()/n), "s3-restore-MiB/s")
	b.ReportMetric(took[1][1].Seconds()/took[0][1].Seconds(), "restore-ratio")
}
