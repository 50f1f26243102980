package chainspec

import (
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
)

// Pack compresses a chain spec (gzip) and splits the result into parts of at most partSize
// bytes: a raw relay chain spec of several MiB, mostly hex, shrinks to a few ConfigMaps
// under the API server's 1 MiB limit each. Unpack reverses it.
func Pack(data []byte, partSize int) [][]byte {
	var buf bytes.Buffer
	zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression) // the level is valid
	zw.Write(data)                                           // a bytes.Buffer does not fail
	zw.Close()
	packed := buf.Bytes()
	var parts [][]byte
	for len(packed) > partSize {
		parts = append(parts, packed[:partSize])
		packed = packed[partSize:]
	}
	return append(parts, packed)
}

// Unpack joins the parts Pack made, in order, decompresses them (refusing more than
// opts.MaxBytes, so a small part cannot expand into a huge file) and accepts the result as a
// chain spec, with opts.SHA256 the checksum of the uncompressed spec: a missing, reordered or
// altered part is refused.
func Unpack(parts []io.Reader, opts Options) ([]byte, error) {
	zr, err := gzip.NewReader(io.MultiReader(parts...))
	if err != nil {
		return nil, fmt.Errorf("packed chain spec: %w", err)
	}
	data, err := readCapped(zr, opts.maxBytes())
	if err != nil {
		return nil, fmt.Errorf("packed chain spec: %w", err)
	}
	if err := accept(data, opts); err != nil {
		return nil, fmt.Errorf("packed chain spec: %w", err)
	}
	return data, nil
}
