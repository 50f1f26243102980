package chainspec

import (
	"bytes"
	"context"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"testing"
)

// bigSpec is a chain spec of about size bytes whose genesis holds a code blob, as a raw
// relay chain spec does.
func bigSpec(size int) []byte {
	code := make([]byte, size/2)
	rand.NewChaCha8([32]byte{1}).Read(code) // hex of random bytes gzips to about half, as WASM hex does
	var b bytes.Buffer
	b.WriteString(`{"name":"Big","id":"big","genesis":{"raw":{"top":{"0x3a636f6465":"0x`)
	for _, c := range code {
		b.WriteString("0123456789abcdef"[c>>4 : c>>4+1])
		b.WriteString("0123456789abcdef"[c&15 : c&15+1])
	}
	b.WriteString(`"}}}}`)
	return b.Bytes()
}

func readers(parts [][]byte) []io.Reader {
	var rs []io.Reader
	for _, p := range parts {
		rs = append(rs, bytes.NewReader(p))
	}
	return rs
}

func TestPackUnpack(t *testing.T) {
	spec := bigSpec(3 << 20)
	sum := SHA256(spec)
	parts := Pack(spec, 256<<10)
	if len(parts) < 2 {
		t.Fatalf("Pack made %d part(s) of a %d-byte spec; the test needs several", len(parts), len(spec))
	}
	got, err := Unpack(readers(parts), Options{SHA256: sum})
	if err != nil || !bytes.Equal(got, spec) {
		t.Fatalf("Unpack = %d bytes, %v; want the %d-byte spec", len(got), err, len(spec))
	}
	tampered := bytes.Clone(parts[0])
	tampered[len(tampered)/2] ^= 1
	for _, tc := range []struct {
		name  string
		parts [][]byte
		opts  Options
		want  string
	}{
		{"a part missing", parts[1:], Options{SHA256: sum}, "gzip: invalid header"},
		{"the last part missing", parts[:len(parts)-1], Options{SHA256: sum}, "unexpected EOF"},
		{"parts swapped", append([][]byte{parts[0], parts[len(parts)-1]}, parts[1:len(parts)-1]...), Options{SHA256: sum}, "packed chain spec"},
		{"a byte changed", append([][]byte{tampered}, parts[1:]...), Options{SHA256: sum}, "packed chain spec"},
		{"another spec's checksum", parts, Options{SHA256: strings.Repeat("0", 64)}, "the file changed or was tampered with"},
		{"expands beyond the cap", parts, Options{MaxBytes: 1 << 20}, "larger than the chain spec size limit"},
		{"not a chain spec", Pack([]byte("root:x:0:0::/root:/bin/sh\n"), 100), Options{}, "not a chain spec"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got, err := Unpack(readers(tc.parts), tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) || got != nil {
				t.Errorf("Unpack = %d bytes, %v; want an error containing %q", len(got), err, tc.want)
			}
		})
	}
}

func TestFetchChecksum(t *testing.T) {
	ctx := context.Background()
	good := serve(t, "127.0.0.1:0", specHandler)
	if _, err := Fetch(ctx, good.URL, Options{SHA256: SHA256([]byte(minimalSpec))}); err != nil {
		t.Fatalf("Fetch with the right sha256 = %v", err)
	}
	if data, err := Fetch(ctx, good.URL, Options{SHA256: SHA256([]byte(minimalSpec + " "))}); err == nil || !strings.Contains(err.Error(), "tampered") || data != nil {
		t.Errorf("Fetch with another sha256 = %q, %v; want a refusal", data, err)
	}

	wasm := []byte("\x00asm\x01\x00\x00\x00 a runtime")
	runtime := serve(t, "127.0.0.1:0", func(w http.ResponseWriter, _ *http.Request) { w.Write(wasm) })
	if data, err := FetchFile(ctx, runtime.URL, Options{SHA256: SHA256(wasm)}); err != nil || !bytes.Equal(data, wasm) {
		t.Fatalf("FetchFile = %q, %v", data, err)
	}
	for _, tc := range []struct {
		name string
		opts Options
		want string
	}{
		{"no checksum", Options{}, "only with its sha256"},
		{"another checksum", Options{SHA256: SHA256([]byte("other"))}, "tampered"},
		{"too large", Options{SHA256: SHA256(wasm), MaxBytes: 4}, "larger than"},
	} {
		if data, err := FetchFile(ctx, runtime.URL, tc.opts); err == nil || !strings.Contains(err.Error(), tc.want) || data != nil {
			t.Errorf("FetchFile(%s) = %q, %v; want an error containing %q", tc.name, data, err, tc.want)
		}
	}
}
