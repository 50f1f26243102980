package backup

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/service/s3"
	"gocloud.dev/blob"

	"github.com/dinfra/stack/api/v1alpha1"
	_ "gocloud.dev/blob/fileblob" // file:// destinations
	_ "gocloud.dev/blob/s3blob"   // s3:// destinations
	"gocloud.dev/gcerrors"
)

const (
	archiveObject  = "archive.tar.zst"
	manifestObject = "manifest.json"
	// Format names the archive layout; a reader refuses formats it does not know.
	Format = "onf-backup/v1 tar+zstd"
)

// Block is a block number and hash.
type Block struct {
	Number uint64 `json:"number"`
	Hash   string `json:"hash"`
}

// Manifest describes one complete backup. It is written after the archive, so its presence
// is what makes a backup complete.
type Manifest struct {
	Format      string    `json:"format"`
	ID          string    `json:"id"`
	Network     string    `json:"network"`
	Node        string    `json:"node"`
	Created     time.Time `json:"created"`
	Chain       string    `json:"chain"`
	GenesisHash string    `json:"genesisHash"`
	// Best and Finalized are the node's blocks read just before it stopped for the copy.
	Best        Block  `json:"best"`
	Finalized   Block  `json:"finalized"`
	NodeVersion string `json:"nodeVersion"`
	Stats
	ArchiveSize int64  `json:"archiveSize"` // bytes of the compressed archive object
	SHA256      string `json:"sha256"`      // of the archive object
}

// Store is a backup destination.
type Store struct {
	bucket *blob.Bucket
	url    string
}

// Open opens a destination: a file:// or s3:// URL, or a plain directory path (created if
// missing). A file destination writes its temporary files beside the final ones, not in
// os.TempDir: the rename that completes a file stays on one file system, and a backup Job's
// container (no /tmp in the image) can write at all. s3 URLs take gocloud's query parameters (region, endpoint, use_path_style,
// disable_https, profile); credentials come from the AWS SDK's usual sources, never the URL.
func Open(ctx context.Context, dest string) (*Store, error) {
	u := dest
	if !strings.Contains(dest, "://") {
		abs, err := filepath.Abs(dest)
		if err != nil {
			return nil, err
		}
		u = "file://" + abs + "?create_dir=1&metadata=skip&no_tmp_dir=1"
	} else if pu, err := url.Parse(dest); err == nil && pu.User != nil {
		return nil, fmt.Errorf("destination %s: credentials do not belong in the URL (they would show in argv and logs)", pu.Redacted())
	} else if d, ok := urlDefaults[pu.Scheme]; err == nil && ok && !pu.Query().Has(d[0]) {
		q := pu.Query()
		q.Set(d[0], d[1])
		pu.RawQuery = q.Encode()
		u = pu.String()
	}
	b, err := blob.OpenBucket(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("destination %s: %w", dest, err)
	}
	return &Store{bucket: b, url: dest}, nil
}

// urlDefaults is the query parameter Open adds to a URL of a scheme that does not set it.
// file: temporary files beside the final ones (above). s3: no checksum checks by the AWS SDK
// on reads. Verify and Restore hash every byte against the manifest anyway, and the SDK
// cannot check a multipart object's composite checksum: it says so on stderr ("WARN Skipped
// validation of multipart checksum") in the middle of onf's output, on every read.
var urlDefaults = map[string][2]string{
	"file": {"no_tmp_dir", "1"},
	"s3":   {"response_checksum_validation", "when_required"},
}

// Close releases the destination.
func (s *Store) Close() error { return s.bucket.Close() }

var idPattern = regexp.MustCompile(v1alpha1.BackupIDPattern)

// NewID names a backup of a network taken at t: IDs of one network sort by time.
func NewID(network string, t time.Time) string {
	return network + "-" + strings.ToLower(t.UTC().Format("20060102T150405.000Z"))
}

// NetworkOf is the network an ID (checked by CheckID) names.
func NetworkOf(id string) string {
	return id[:strings.LastIndexByte(id, '-')]
}

// CheckID refuses a string that is not a backup ID as NewID makes them.
func CheckID(id string) error {
	if !idPattern.MatchString(id) {
		return fmt.Errorf("backup id %q: not an id made by onf backup create (NETWORK-YYYYMMDDtHHMMSS.mmmz)", id)
	}
	return nil
}

// Create streams the data directory src into a new backup described by m (ID, network,
// node, chain facts) and writes its manifest last. A failure or a cancelled ctx aborts the
// upload, and no manifest is written: the backup does not exist.
func (s *Store) Create(ctx context.Context, src string, m Manifest) (*Manifest, error) {
	if err := CheckID(m.ID); err != nil {
		return nil, err
	}
	if ok, err := s.bucket.Exists(ctx, m.ID+"/"+manifestObject); err != nil || ok {
		return nil, errors.Join(err, fmtErrIf(ok, "backup %s already exists", m.ID))
	}
	wctx, cancel := context.WithCancel(ctx)
	defer cancel()
	w, err := s.bucket.NewWriter(wctx, m.ID+"/"+archiveObject, &blob.WriterOptions{ContentType: "application/zstd"})
	if err != nil {
		return nil, err
	}
	sum := sha256.New()
	cw := &countingWriter{w: io.MultiWriter(w, sum)}
	st, err := writeArchive(cw, src)
	if err != nil {
		cancel() // gocloud discards a write whose context ended
		_ = w.Close()
		return nil, errors.Join(fmt.Errorf("backup %s: %w", m.ID, err), s.abortUploads(ctx, m.ID))
	}
	if err := w.Close(); err != nil {
		return nil, errors.Join(fmt.Errorf("backup %s: upload: %w", m.ID, err), s.abortUploads(ctx, m.ID))
	}
	m.Format, m.Stats, m.ArchiveSize, m.SHA256 = Format, st, cw.n, hex.EncodeToString(sum.Sum(nil))
	data, err := json.MarshalIndent(m, "", "  ")
	if err != nil {
		return nil, err
	}
	if err := s.bucket.WriteAll(ctx, m.ID+"/"+manifestObject, append(data, '\n'), &blob.WriterOptions{ContentType: "application/json"}); err != nil {
		return nil, fmt.Errorf("backup %s: manifest: %w", m.ID, err)
	}
	return &m, nil
}

// abortUploads aborts the S3 multipart uploads left under a backup whose upload failed. The
// SDK aborts a failed upload itself, but on the upload's context: after an interruption
// (Ctrl-C, SIGTERM, a Job's deadline) that context has ended, the abort is never sent, and
// the parts stay on the server, listed nowhere yet stored (and billed) until a lifecycle rule
// removes them. This runs on a context of its own for the same reason. Not S3: nothing to do.
func (s *Store) abortUploads(ctx context.Context, id string) error {
	var client *s3.Client
	if !s.bucket.As(&client) {
		return nil
	}
	u, err := url.Parse(s.url)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Minute)
	defer cancel()
	bucket, prefix := u.Host, id+"/"
	pages := s3.NewListMultipartUploadsPaginator(client, &s3.ListMultipartUploadsInput{Bucket: &bucket, Prefix: &prefix})
	for pages.HasMorePages() {
		page, err := pages.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("backup %s: abort the failed upload: %w", id, err)
		}
		for _, up := range page.Uploads {
			if _, err := client.AbortMultipartUpload(ctx, &s3.AbortMultipartUploadInput{Bucket: &bucket, Key: up.Key, UploadId: up.UploadId}); err != nil {
				return fmt.Errorf("backup %s: abort the failed upload: %w", id, err)
			}
		}
	}
	return nil
}

func fmtErrIf(cond bool, format string, args ...any) error {
	if !cond {
		return nil
	}
	return fmt.Errorf(format, args...)
}

// Manifest reads one backup's manifest.
func (s *Store) Manifest(ctx context.Context, id string) (*Manifest, error) {
	if err := CheckID(id); err != nil {
		return nil, err
	}
	data, err := s.bucket.ReadAll(ctx, id+"/"+manifestObject)
	if gcerrors.Code(err) == gcerrors.NotFound {
		return nil, fmt.Errorf("backup %s: not found in %s (or incomplete: no manifest)", id, s.url)
	}
	if err != nil {
		return nil, fmt.Errorf("backup %s: %w", id, err)
	}
	var m Manifest
	if err := json.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("backup %s: manifest: %w", id, err)
	}
	if m.Format != Format || m.ID != id {
		return nil, fmt.Errorf("backup %s: manifest of format %q for id %q, want %q for %q", id, m.Format, m.ID, Format, id)
	}
	return &m, nil
}

// List returns every complete backup, oldest first; network "" means all networks.
func (s *Store) List(ctx context.Context, network string) ([]Manifest, error) {
	var out []Manifest
	it := s.bucket.List(&blob.ListOptions{Delimiter: "/"})
	for {
		obj, err := it.Next(ctx)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		id := strings.TrimSuffix(obj.Key, "/")
		if !obj.IsDir || CheckID(id) != nil || network != "" && !strings.HasPrefix(id, network+"-") {
			continue
		}
		m, err := s.Manifest(ctx, id)
		if err != nil {
			if exists, _ := s.bucket.Exists(ctx, id+"/"+manifestObject); !exists {
				continue // incomplete: an upload that never finished
			}
			return nil, err
		}
		if network == "" || m.Network == network {
			out = append(out, *m)
		}
	}
	slices.SortFunc(out, func(a, b Manifest) int { return a.Created.Compare(b.Created) })
	return out, nil
}

// ErrCorrupt marks an archive that does not match its manifest.
var ErrCorrupt = errors.New("archive is corrupt")

// Verify reads the whole archive: its checksum and size must match the manifest and it must
// unpack (decompress and parse as tar) to the end.
func (s *Store) Verify(ctx context.Context, id string) (*Manifest, error) {
	return s.read(ctx, id, listArchive)
}

// read streams a backup's archive through unpack while checking it against the manifest.
// The checksum covers every byte of the object, also when unpacking failed half-way, so a
// flipped byte is reported as a checksum mismatch rather than as whatever it broke.
func (s *Store) read(ctx context.Context, id string, unpack func(io.Reader) (Stats, error)) (*Manifest, error) {
	m, err := s.Manifest(ctx, id)
	if err != nil {
		return nil, err
	}
	r, err := s.bucket.NewReader(ctx, id+"/"+archiveObject, nil)
	if err != nil {
		return nil, fmt.Errorf("backup %s: archive: %w", id, err)
	}
	defer r.Close()
	sum := sha256.New()
	cr := &countingReader{r: io.TeeReader(r, sum)}
	st, uerr := unpack(cr)
	if _, err := io.Copy(io.Discard, cr); err != nil && uerr == nil {
		uerr = err
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	got := hex.EncodeToString(sum.Sum(nil))
	switch {
	case cr.n != m.ArchiveSize:
		return nil, fmt.Errorf("backup %s: %w: %d bytes, the manifest says %d (truncated?)", id, ErrCorrupt, cr.n, m.ArchiveSize)
	case got != m.SHA256:
		return nil, fmt.Errorf("backup %s: %w: sha256 %s, the manifest says %s", id, ErrCorrupt, got, m.SHA256)
	case uerr != nil:
		return nil, fmt.Errorf("backup %s: %w: %v", id, ErrCorrupt, uerr)
	case st != m.Stats:
		return nil, fmt.Errorf("backup %s: %w: %d files of %d bytes, the manifest says %d of %d", id, ErrCorrupt, st.Files, st.Size, m.Files, m.Size)
	}
	return m, nil
}

// Delete removes a backup: the manifest first, so a half-deleted backup is an incomplete one.
func (s *Store) Delete(ctx context.Context, id string) error {
	if err := CheckID(id); err != nil {
		return err
	}
	for _, obj := range []string{manifestObject, archiveObject} {
		if err := s.bucket.Delete(ctx, id+"/"+obj); err != nil && gcerrors.Code(err) != gcerrors.NotFound {
			return fmt.Errorf("backup %s: delete %s: %w", id, obj, err)
		}
	}
	return nil
}

// Retention says which backups of a network prune keeps: the newest Keep, and of those only
// the ones younger than MaxAge (0: no age limit). The newest backup is always kept.
type Retention struct {
	Keep   int
	MaxAge time.Duration
}

// RetentionOf is spec.backup.retention (none for a nil spec.backup).
func RetentionOf(b *v1alpha1.Backup) (Retention, error) {
	var out Retention
	if b == nil || b.Retention == nil {
		return out, nil
	}
	if k := b.Retention.Keep; k != nil {
		out.Keep = int(*k)
	}
	var err error
	if b.Retention.MaxAge != "" {
		out.MaxAge, err = time.ParseDuration(b.Retention.MaxAge)
	}
	return out, err
}

// Expired picks the backups a retention drops from a list sorted oldest first.
func (r Retention) Expired(list []Manifest, now time.Time) []Manifest {
	var out []Manifest
	for i, m := range list {
		fromNewest := len(list) - 1 - i
		if fromNewest == 0 {
			continue
		}
		if r.Keep > 0 && fromNewest >= r.Keep || r.MaxAge > 0 && now.Sub(m.Created) > r.MaxAge {
			out = append(out, m)
		}
	}
	return out
}

// Prune deletes a network's backups that r does not keep and returns them.
func (s *Store) Prune(ctx context.Context, network string, r Retention, now time.Time) ([]Manifest, error) {
	list, err := s.List(ctx, network)
	if err != nil {
		return nil, err
	}
	drop := r.Expired(list, now)
	for _, m := range drop {
		if err := s.Delete(ctx, m.ID); err != nil {
			return nil, err
		}
	}
	return drop, nil
}

type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// Newest keeps the newest backup of each node, newest first, from a list oldest first (as
// Store.List returns it).
func Newest(list []Manifest) []Manifest {
	var out []Manifest
	for _, m := range slices.Backward(list) {
		if !slices.ContainsFunc(out, func(o Manifest) bool { return o.Node == m.Node }) {
			out = append(out, m)
		}
	}
	return out
}
