package wsframe

import (
	"bufio"
	"bytes"
	"errors"
	"testing"
)

// FuzzReader feeds arbitrary bytes to a server-side Reader: it must never panic, never
// return more than Max bytes, and read back a message encoded by AppendMasked exactly.
func FuzzReader(f *testing.F) {
	f.Add([]byte{0x81, 0x85, 1, 2, 3, 4, 'h' ^ 1, 'e' ^ 2, 'l' ^ 3, 'l' ^ 4, 'o' ^ 1}, []byte("hello"))
	f.Add(bytes.Join([][]byte{frame(false, OpText, "ab"), frame(true, OpPing, ""), frame(true, OpContinuation, "c")}, nil), []byte("{}"))
	f.Add([]byte{0x81, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF}, bytes.Repeat([]byte("x"), 300))
	f.Fuzz(func(t *testing.T, wire, payload []byte) {
		r := Reader{R: bufio.NewReader(bytes.NewReader(wire)), Masked: true, Skip: 256, Max: 1024}
		for range 64 {
			_, msg, err := r.Next()
			if err != nil && !errors.Is(err, ErrSkipped) {
				break
			}
			if len(msg) > 256 {
				t.Fatalf("%d-byte message over Skip", len(msg))
			}
		}
		if len(payload) > 256 {
			payload = payload[:256]
		}
		r = Reader{R: bufio.NewReader(bytes.NewReader(AppendMasked(nil, OpBinary, payload, 0x9E3779B9))), Masked: true, Skip: 256, Max: 1024}
		op, msg, err := r.Next()
		if err != nil || op != OpBinary || !bytes.Equal(msg, payload) {
			t.Fatalf("round trip: op %d err %v, %d of %d bytes", op, err, len(msg), len(payload))
		}
	})
}
