package backup

import (
	"archive/tar"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/klauspost/compress/zstd"
)

// Stats counts what an archive holds.
type Stats struct {
	Files int   `json:"files"`
	Size  int64 `json:"size"` // bytes of file content, uncompressed
}

// writeArchive streams the data directory src as tar+zstd into w, leaving out Excluded
// entries, symbolic links and special files. Nothing is staged on disk.
func writeArchive(w io.Writer, src string) (Stats, error) {
	var st Stats
	zw, err := zstd.NewWriter(w, zstd.WithEncoderLevel(zstd.SpeedFastest))
	if err != nil {
		return st, err
	}
	tw := tar.NewWriter(zw)
	err = filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil || rel == "." {
			return err
		}
		rel = filepath.ToSlash(rel)
		if Excluded(rel) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if !d.IsDir() && !d.Type().IsRegular() {
			return nil
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		hdr := &tar.Header{Name: rel, Mode: int64(info.Mode().Perm()), ModTime: info.ModTime(), Format: tar.FormatPAX}
		if d.IsDir() {
			hdr.Typeflag, hdr.Name = tar.TypeDir, rel+"/"
			return tw.WriteHeader(hdr)
		}
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		hdr.Typeflag, hdr.Size = tar.TypeReg, info.Size()
		if err := tw.WriteHeader(hdr); err != nil {
			return err
		}
		// The size in the header is a promise: a file that changes under the copy fails it.
		n, err := io.Copy(tw, io.LimitReader(f, hdr.Size))
		if err == nil && n != hdr.Size {
			err = fmt.Errorf("%s changed while being copied (is the node still running?)", rel)
		}
		st.Files++
		st.Size += n
		return err
	})
	if err == nil {
		err = tw.Close()
	}
	if cerr := zw.Close(); err == nil {
		err = cerr
	}
	return st, err
}

// walkArchive decodes a tar+zstd stream and hands each entry to fn (r is the file's content;
// nil for a directory). Entries must be plain files or directories with local paths;
// excluded names are refused too, so an archive made elsewhere cannot plant keys in a node.
func walkArchive(r io.Reader, fn func(name string, content io.Reader) error) (Stats, error) {
	var st Stats
	zr, err := zstd.NewReader(r)
	if err != nil {
		return st, err
	}
	defer zr.Close()
	tr := tar.NewReader(zr)
	for {
		hdr, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return st, nil
		}
		if err != nil {
			return st, err
		}
		name := filepath.FromSlash(hdr.Name)
		switch {
		case !filepath.IsLocal(name):
			return st, fmt.Errorf("archive entry %q: not a path inside the data directory", hdr.Name)
		case Excluded(hdr.Name):
			return st, fmt.Errorf("archive entry %q: node keys and secrets are never restored", hdr.Name)
		case hdr.Typeflag == tar.TypeDir:
			err = fn(name, nil)
		case hdr.Typeflag == tar.TypeReg:
			st.Files++
			st.Size += hdr.Size
			err = fn(name, tr)
		default:
			err = fmt.Errorf("archive entry %q: type %q is not a file or directory", hdr.Name, hdr.Typeflag)
		}
		if err != nil {
			return st, err
		}
	}
}

// listArchive parses an archive to its end without writing anything.
func listArchive(r io.Reader) (Stats, error) {
	return walkArchive(r, func(_ string, content io.Reader) error {
		if content == nil {
			return nil
		}
		_, err := io.Copy(io.Discard, content) // reads through to the end, where truncation shows
		return err
	})
}

// extractArchive unpacks a tar+zstd stream into the existing directory dst, files 0600 and
// directories 0700 (a node's data is its own).
func extractArchive(r io.Reader, dst string) (Stats, error) {
	return walkArchive(r, func(name string, content io.Reader) error {
		p := filepath.Join(dst, name)
		if content == nil {
			return os.MkdirAll(p, 0o700)
		}
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			return err
		}
		f, err := os.OpenFile(p, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
		if err != nil {
			return err
		}
		_, err = io.Copy(f, content)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		return err
	})
}
