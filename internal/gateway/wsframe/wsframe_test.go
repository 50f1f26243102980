package wsframe

import (
	"bytes"
	"testing"
)

func TestAppendHeaders(t *testing.T) {
	tests := []struct {
		name   string
		n      int
		header []byte
	}{
		{"empty", 0, []byte{0x81, 0}},
		{"short", 125, []byte{0x81, 125}},
		{"16-bit length", 126, []byte{0x81, 126, 0, 126}},
		{"16-bit max", 0xFFFF, []byte{0x81, 126, 0xFF, 0xFF}},
		{"64-bit length", 0x10000, []byte{0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			payload := bytes.Repeat([]byte{'x'}, tt.n)
			got := Append(nil, OpText, payload)
			if !bytes.Equal(got[:len(tt.header)], tt.header) || !bytes.Equal(got[len(tt.header):], payload) {
				t.Fatalf("Append(%d bytes) header % x, want % x", tt.n, got[:len(tt.header)], tt.header)
			}
			masked := AppendMasked(nil, OpText, payload, 0x01020304)
			h := len(tt.header)
			if masked[1]&0x80 == 0 || masked[1]&0x7F != tt.header[1] {
				t.Fatalf("AppendMasked length byte %#x, want mask bit and %d", masked[1], tt.header[1])
			}
			if key := masked[h : h+4]; !bytes.Equal(key, []byte{1, 2, 3, 4}) {
				t.Fatalf("mask key % x", key)
			}
			body := masked[h+4:]
			Mask(body, 0x01020304)
			if !bytes.Equal(body, payload) {
				t.Fatal("unmasked payload differs")
			}
		})
	}
}

func TestAppendKeepsPrefix(t *testing.T) {
	out := Append([]byte("prev"), OpPong, []byte("p"))
	if want := []byte{'p', 'r', 'e', 'v', 0x8A, 1, 'p'}; !bytes.Equal(out, want) {
		t.Fatalf("got % x, want % x", out, want)
	}
}
