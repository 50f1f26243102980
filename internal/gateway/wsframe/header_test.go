package wsframe

import (
	"bytes"
	"errors"
	"testing"
)

func TestParseHeader(t *testing.T) {
	long := AppendMasked(nil, OpBinary, bytes.Repeat([]byte{1}, 70000), 0x01020304) // 64-bit length
	mid := AppendMasked(nil, OpText, bytes.Repeat([]byte{1}, 300), 0x01020304)      // 16-bit length
	small := AppendMasked(nil, OpText, []byte("hi"), 0xA1B2C3D4)
	tests := []struct {
		name   string
		in     []byte
		masked bool
		want   Header
		size   int
		err    error
	}{
		{"empty", nil, true, Header{}, 2, ErrShort},
		{"one byte", small[:1], true, Header{}, 2, ErrShort},
		{"no mask key yet", small[:5], true, Header{}, 6, ErrShort},
		{"small", small, true, Header{Fin: true, Op: OpText, Len: 2, Mask: 0xA1B2C3D4}, 6, nil},
		{"16-bit length, short", mid[:3], true, Header{}, 8, ErrShort},
		{"16-bit length", mid, true, Header{Fin: true, Op: OpText, Len: 300, Mask: 0x01020304}, 8, nil},
		{"64-bit length, short", long[:9], true, Header{}, 14, ErrShort},
		{"64-bit length", long, true, Header{Fin: true, Op: OpBinary, Len: 70000, Mask: 0x01020304}, 14, nil},
		{"server frame", Append(nil, OpPong, []byte("p")), false, Header{Fin: true, Op: OpPong, Len: 1}, 2, nil},
		{"unmasked from a client", Append(nil, OpText, nil), true, Header{}, 0, ErrProtocol},
		{"masked from a server", small, false, Header{}, 0, ErrProtocol},
		{"reserved bit", []byte{0xC1, 0x80, 0, 0, 0, 0}, true, Header{}, 0, ErrProtocol},
		{"unknown opcode", []byte{0x83, 0x80, 0, 0, 0, 0}, true, Header{}, 0, ErrProtocol},
		{"long ping", []byte{0x89, 0x80 | 126, 0, 126, 0, 0, 0, 0}, true, Header{}, 0, ErrProtocol},
		{"fragmented ping", []byte{0x09, 0x80, 0, 0, 0, 0}, true, Header{}, 0, ErrProtocol},
		{"absurd length", []byte{0x82, 127, 0xFF, 0, 0, 0, 0, 0, 0, 0}, false, Header{}, 0, ErrTooLarge},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h, size, err := ParseHeader(tt.in, tt.masked)
			if !errors.Is(err, tt.err) || (tt.err == nil) != (err == nil) {
				t.Fatalf("err %v, want %v", err, tt.err)
			}
			if (tt.err == nil || tt.err == ErrShort) && size != tt.size {
				t.Errorf("size %d, want %d", size, tt.size)
			}
			if h != tt.want {
				t.Errorf("header %+v, want %+v", h, tt.want)
			}
		})
	}
}
