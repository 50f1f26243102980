// Package wscodec compares the gateway's WebSocket codec (internal/gateway/wsframe)
// with github.com/gobwas/ws on the gateway's hot cases: a buffer of small masked client
// frames parsed in place (what an event loop does), the same frames read from a buffered
// reader (what a session's goroutine does), and small server frames appended for one write.
package wscodec

import (
	"bufio"
	"bytes"
	"io"
	"testing"

	"github.com/gobwas/ws"
	"github.com/gobwas/ws/wsutil"

	"github.com/dinfra/stack/internal/gateway/wsframe"
)

var call = []byte(`{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}`)

const frames = 64

func clientFrames() []byte {
	var b []byte
	for i := range frames {
		b = wsframe.AppendMasked(b, wsframe.OpText, call, uint32(0x01020304+i))
	}
	return b
}

// In place, from a read buffer (the event loop).
func BenchmarkParseInPlace(b *testing.B) {
	src := clientFrames()
	buf := make([]byte, len(src))
	b.Run("wsframe", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			copy(buf, src)
			for off := 0; off < len(buf); {
				h, size, err := wsframe.ParseHeader(buf[off:], true)
				if err != nil {
					b.Fatal(err)
				}
				msg := buf[off+size : off+size+int(h.Len)]
				wsframe.Mask(msg, h.Mask)
				off += size + int(h.Len)
			}
		}
		b.SetBytes(int64(len(src)))
	})
	b.Run("gobwas", func(b *testing.B) {
		b.ReportAllocs()
		r := bytes.NewReader(nil)
		for b.Loop() {
			copy(buf, src)
			r.Reset(buf)
			for r.Len() > 0 {
				h, err := ws.ReadHeader(r)
				if err != nil {
					b.Fatal(err)
				}
				off := len(buf) - r.Len()
				msg := buf[off : off+int(h.Length)]
				ws.Cipher(msg, h.Mask, 0)
				_, _ = r.Seek(h.Length, io.SeekCurrent)
			}
		}
		b.SetBytes(int64(len(src)))
	})
}

// From a buffered reader, a message at a time (a session's reader goroutine).
func BenchmarkReadMessages(b *testing.B) {
	src := clientFrames()
	b.Run("wsframe", func(b *testing.B) {
		b.ReportAllocs()
		in := bytes.NewReader(nil)
		br := bufio.NewReaderSize(in, 64<<10)
		for b.Loop() {
			in.Reset(src)
			br.Reset(in)
			r := wsframe.Reader{R: br, Masked: true, Skip: 1 << 20, Max: 16 << 20}
			for range frames {
				if _, _, err := r.Next(); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.SetBytes(int64(len(src)))
	})
	b.Run("gobwas", func(b *testing.B) {
		b.ReportAllocs()
		in := bytes.NewReader(nil)
		br := bufio.NewReaderSize(in, 64<<10)
		rw := struct {
			io.Reader
			io.Writer
		}{br, io.Discard}
		for b.Loop() {
			in.Reset(src)
			br.Reset(in)
			for range frames {
				if _, _, err := wsutil.ReadClientData(rw); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.SetBytes(int64(len(src)))
	})
}

// Server frames appended for one write (a session's answers).
func BenchmarkAppendFrames(b *testing.B) {
	b.Run("wsframe", func(b *testing.B) {
		b.ReportAllocs()
		var out []byte
		for b.Loop() {
			out = out[:0]
			for range frames {
				out = wsframe.Append(out, wsframe.OpText, call)
			}
		}
	})
	b.Run("gobwas", func(b *testing.B) {
		b.ReportAllocs()
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			for range frames {
				if err := ws.WriteHeader(&out, ws.Header{Fin: true, OpCode: ws.OpText, Length: int64(len(call))}); err != nil {
					b.Fatal(err)
				}
				out.Write(call)
			}
		}
	})
}

// Unmasking one large message (a 1 MiB call).
func BenchmarkUnmaskLarge(b *testing.B) {
	buf := bytes.Repeat([]byte("0123456789abcdef"), 1<<16)
	mask := [4]byte{1, 2, 3, 4}
	b.Run("wsframe", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			wsframe.Mask(buf, 0x01020304)
		}
	})
	b.Run("gobwas", func(b *testing.B) {
		b.SetBytes(int64(len(buf)))
		for b.Loop() {
			ws.Cipher(buf, mask, 0)
		}
	})
}
