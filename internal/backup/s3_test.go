package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"

	"github.com/dinfra/stack/internal/testenv"
)

const testBucket = "chain-backups"

// eachDestination runs test against a directory and against a bucket of a real S3 server
// (versitygw on its POSIX backend, on loopback; the s3 half skips locally without it):
// dest is what Open takes, dir the local directory where the destination keeps object KEY
// as the file dir/KEY, for a test to look at or damage.
func eachDestination(t *testing.T, test func(t *testing.T, dest, dir string)) {
	t.Run("file", func(t *testing.T) {
		dir := t.TempDir()
		test(t, dir, dir)
	})
	t.Run("s3", func(t *testing.T) {
		srv := testenv.S3(t, testBucket)
		srv.UseCredentials(t)
		test(t, srv.URL(testBucket), filepath.Join(srv.Root, testBucket))
	})
}

// bigDataDir is a dataDir with a file of size random bytes, which zstd cannot shrink, so
// its archive goes to S3 as a multipart upload (gocloud sends parts of 8 MiB).
func bigDataDir(t *testing.T, size int) string {
	t.Helper()
	src := dataDir(t)
	big := make([]byte, size)
	_, _ = rand.NewChaCha8([32]byte{}).Read(big)
	if err := os.WriteFile(filepath.Join(src, "db", "000003.vlog"), big, 0o600); err != nil {
		t.Fatal(err)
	}
	return src
}

// The whole cycle through s3:// on the real server with a multipart archive, without a
// usable temporary directory (a backup Job's container has none): what the server stores is
// the archive the manifest describes, without keys, and prune removes it from the server.
// Nothing is said on stderr: the AWS SDK warns on every read of a multipart object that it
// cannot check its checksum, unless told to leave checksums to us.
func TestS3MultipartCycle(t *testing.T) {
	ctx := context.Background()
	srv := testenv.S3(t, testBucket)
	srv.UseCredentials(t)
	t.Setenv("TMPDIR", filepath.Join(t.TempDir(), "missing"))
	stderr := captureStderr(t)
	st, err := Open(ctx, srv.URL(testBucket))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src := bigDataDir(t, 40<<20)
	var made []*Manifest
	for i := range 2 {
		m, err := st.Create(ctx, src, manifest(NewID("dev", time.Now().Add(time.Duration(i)*time.Second))))
		if err != nil {
			t.Fatal(err)
		}
		made = append(made, m)
	}
	stored := filepath.Join(srv.Root, testBucket, made[0].ID, archiveObject)
	data, err := os.ReadFile(stored)
	if err != nil {
		t.Fatal(err)
	}
	if sum := sha256.Sum256(data); hex.EncodeToString(sum[:]) != made[0].SHA256 || int64(len(data)) != made[0].ArchiveSize {
		t.Errorf("stored archive: %d bytes, sha256 %x; the manifest says %d, %s", len(data), sum, made[0].ArchiveSize, made[0].SHA256)
	}
	for _, e := range archiveEntries(t, stored) {
		if Excluded(e) {
			t.Errorf("stored archive holds excluded entry %s", e)
		}
	}
	list, err := st.List(ctx, "dev")
	if err != nil || len(list) != 2 || list[0].ID != made[0].ID || list[1].SHA256 != made[1].SHA256 {
		t.Fatalf("list: %v %v", list, err)
	}
	if _, err := st.Verify(ctx, made[0].ID); err != nil {
		t.Fatal(err)
	}
	dst := t.TempDir()
	if _, err := st.Restore(ctx, made[0].ID, dst); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"db/000003.vlog", "db/000001.sst", "chains/dev/db/full/000002.sst"} {
		want, _ := os.ReadFile(filepath.Join(src, f))
		if got, err := os.ReadFile(filepath.Join(dst, f)); err != nil || string(got) != string(want) {
			t.Errorf("restored %s: %d bytes (%v), want the source's %d", f, len(got), err, len(want))
		}
	}
	if _, err := os.Stat(filepath.Join(dst, "node.key")); !os.IsNotExist(err) {
		t.Errorf("node.key restored from a backup: %v", err)
	}
	gone, err := st.Prune(ctx, "dev", Retention{Keep: 1}, time.Now())
	if err != nil || len(gone) != 1 || gone[0].ID != made[0].ID {
		t.Errorf("prune: %v %v", gone, err)
	}
	for _, obj := range []string{archiveObject, manifestObject} {
		if _, err := os.Stat(filepath.Join(srv.Root, testBucket, made[0].ID, obj)); !os.IsNotExist(err) {
			t.Errorf("pruned %s still on the server: %v", obj, err)
		}
	}
	if list, err := st.List(ctx, ""); err != nil || len(list) != 1 || list[0].ID != made[1].ID {
		t.Errorf("list after prune: %v %v", list, err)
	}
	if out := stderr(); out != "" {
		t.Errorf("said on stderr: %s", out)
	}
}

// captureStderr sends os.Stderr to a pipe until the returned function (or the test's end)
// puts it back; the function returns what was written.
func captureStderr(t *testing.T) func() string {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	old := os.Stderr
	os.Stderr = w
	var out strings.Builder
	done := make(chan struct{})
	go func() { _, _ = io.Copy(&out, r); close(done) }()
	stop := sync.OnceValue(func() string {
		os.Stderr = old
		w.Close()
		<-done
		r.Close()
		return out.String()
	})
	t.Cleanup(func() { stop() })
	return stop
}

// A backup interrupted in the middle of its multipart upload (the command cancelled once 7
// of its 40 MiB have gone to the server, the multipart upload begun) is not a backup: not
// listed, no manifest, no archive object, not restorable, and no multipart upload left on
// the server (its parts would be stored and billed unseen); and a new attempt with the same
// id succeeds.
func TestS3InterruptedUpload(t *testing.T) {
	srv := testenv.S3(t, testBucket)
	srv.UseCredentials(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	dest := strings.Replace(srv.URL(testBucket), srv.Addr, cutProxy(t, srv.Addr, 7<<20, cancel), 1)
	st, err := Open(context.Background(), dest)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	src := bigDataDir(t, 40<<20)
	id := NewID("dev", time.Now())
	if _, err := st.Create(ctx, src, manifest(id)); err == nil {
		t.Fatal("the backup completed although it was cancelled half-way")
	}
	bg := context.Background()
	if list, err := st.List(bg, ""); err != nil || len(list) != 0 {
		t.Errorf("list after an interrupted upload: %v %v", list, err)
	}
	for _, obj := range []string{archiveObject, manifestObject} {
		if ok, err := st.bucket.Exists(bg, id+"/"+obj); ok || err != nil {
			t.Errorf("%s exists after an interrupted upload: %v %v", obj, ok, err)
		}
	}
	if _, err := st.Restore(bg, id, t.TempDir()); err == nil || !strings.Contains(err.Error(), "not found") {
		t.Errorf("restore of the interrupted backup: %v, want not found", err)
	}
	// Nor is its multipart upload kept on the server, with the parts it had.
	var client *s3.Client
	if !st.bucket.As(&client) {
		t.Fatal("an s3:// store without an S3 client")
	}
	bucket := testBucket
	if ups, err := client.ListMultipartUploads(bg, &s3.ListMultipartUploadsInput{Bucket: &bucket}); err != nil {
		t.Error(err)
	} else if len(ups.Uploads) != 0 {
		t.Errorf("%d multipart uploads left on the server", len(ups.Uploads))
	}
	if _, err := st.Create(bg, src, manifest(id)); err != nil {
		t.Fatalf("second attempt: %v", err)
	}
	if _, err := st.Verify(bg, id); err != nil {
		t.Error(err)
	}
}

// cutProxy is a loopback TCP proxy to addr that, once more than n bytes have gone from
// clients to the server, calls cut and drops every connection open at that moment: what was
// in flight never reaches the server, whose last part is then incomplete. Connections made
// afterwards pass, as a command cleaning up after an interruption makes them. It returns the
// proxy's address.
func cutProxy(t *testing.T, addr string, n int64, cut func()) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var (
		mu    sync.Mutex
		sent  int64
		conns []net.Conn
		wg    sync.WaitGroup
	)
	count := func(k int) {
		mu.Lock()
		defer mu.Unlock()
		if sent += int64(k); sent > n && sent-int64(k) <= n {
			cut()
			for _, c := range conns {
				c.Close()
			}
		}
	}
	wg.Go(func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			s, err := net.Dial("tcp", addr)
			if err != nil {
				c.Close()
				continue
			}
			mu.Lock()
			conns = append(conns, c, s)
			mu.Unlock()
			wg.Go(func() { _, _ = io.Copy(c, s); c.Close() })
			wg.Go(func() { _, _ = io.Copy(countingTo{s, count}, c); s.Close() })
		}
	})
	t.Cleanup(func() {
		ln.Close()
		mu.Lock()
		for _, c := range conns {
			c.Close()
		}
		mu.Unlock()
		wg.Wait()
	})
	return ln.Addr().String()
}

// countingTo writes to w and reports each write's size.
type countingTo struct {
	w     io.Writer
	count func(int)
}

func (c countingTo) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.count(n)
	return n, err
}
