package wsframe

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"testing"
)

// frame builds one client frame (masked) with explicit fin and opcode.
func frame(fin bool, op byte, payload string) []byte {
	b := AppendMasked(nil, op, []byte(payload), 0xA1B2C3D4)
	if !fin {
		b[0] &^= 0x80
	}
	return b
}

func TestReaderMessages(t *testing.T) {
	type msg struct {
		op      byte
		payload string
		err     error
	}
	tests := []struct {
		name   string
		masked bool
		input  [][]byte
		want   []msg
	}{
		{"text", true, [][]byte{frame(true, OpText, "hello")}, []msg{{OpText, "hello", nil}}},
		{"pipelined", true, [][]byte{frame(true, OpText, "a"), frame(true, OpBinary, "b")},
			[]msg{{OpText, "a", nil}, {OpBinary, "b", nil}}},
		{"fragments with a ping between", true,
			[][]byte{frame(false, OpText, "ab"), frame(true, OpPing, "p"), frame(true, OpContinuation, "cd")},
			[]msg{{OpPing, "p", nil}, {OpText, "abcd", nil}}},
		{"over Skip is skipped, the next is read", true,
			[][]byte{frame(false, OpText, "0123"), frame(true, OpContinuation, "4567"), frame(true, OpText, "ok")},
			[]msg{{OpText, "", ErrSkipped}, {OpText, "ok", nil}}},
		{"over Max ends the connection", true, [][]byte{frame(true, OpText, "0123456789abcdefg")},
			[]msg{{0, "", ErrTooLarge}}},
		{"unmasked frame from a client", true, [][]byte{Append(nil, OpText, []byte("x"))}, []msg{{0, "", ErrProtocol}}},
		{"masked frame from a server", false, [][]byte{frame(true, OpText, "x")}, []msg{{0, "", ErrProtocol}}},
		{"server frame", false, [][]byte{Append(nil, OpText, []byte("x"))}, []msg{{OpText, "x", nil}}},
		{"reserved bits", true, [][]byte{func() []byte { b := frame(true, OpText, "x"); b[0] |= 0x40; return b }()},
			[]msg{{0, "", ErrProtocol}}},
		{"unknown opcode", true, [][]byte{frame(true, 0x3, "x")}, []msg{{0, "", ErrProtocol}}},
		{"continuation first", true, [][]byte{frame(true, OpContinuation, "x")}, []msg{{0, "", ErrProtocol}}},
		{"fragmented ping", true, [][]byte{frame(false, OpPing, "x")}, []msg{{0, "", ErrProtocol}}},
		{"truncated", true, [][]byte{frame(true, OpText, "hello")[:5]}, []msg{{0, "", io.ErrUnexpectedEOF}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := Reader{R: bufio.NewReader(bytes.NewReader(bytes.Join(tt.input, nil))), Masked: tt.masked, Skip: 6, Max: 16}
			for i, w := range tt.want {
				op, payload, err := r.Next()
				if !errors.Is(err, w.err) {
					t.Fatalf("message %d: error %v, want %v", i, err, w.err)
				}
				if err == nil && (op != w.op || string(payload) != w.payload) {
					t.Fatalf("message %d: op %d %q, want op %d %q", i, op, payload, w.op, w.payload)
				}
			}
		})
	}
}
