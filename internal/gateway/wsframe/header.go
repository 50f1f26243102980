package wsframe

import (
	"encoding/binary"
	"errors"
)

// Header is a frame's header.
type Header struct {
	Fin  bool
	Op   byte
	Len  int64  // payload length
	Mask uint32 // 0 for an unmasked frame (masking with 0 is a no-op)
}

// ErrShort reports that a buffer holds only the start of a frame header.
var ErrShort = errors.New("websocket frame header incomplete")

// maxPayload bounds a declared payload length, so lengths stay far from overflowing.
const maxPayload = 1 << 62

// ParseHeader decodes the frame header at the start of b, which comes from a client when
// masked is set (every client frame must be masked, and no server frame may be). It returns
// the header and its size in bytes; with ErrShort, the size is how many bytes it needs.
func ParseHeader(b []byte, masked bool) (Header, int, error) {
	if len(b) < 2 {
		return Header{}, 2, ErrShort
	}
	h := Header{Fin: b[0]&0x80 != 0, Op: b[0] & 0x0F}
	switch {
	case b[0]&0x70 != 0:
		return Header{}, 0, errors.Join(ErrProtocol, errors.New("reserved bits set (no extension was agreed)"))
	case (b[1]&0x80 != 0) != masked:
		return Header{}, 0, errors.Join(ErrProtocol, errors.New("frame masking does not match the side it came from"))
	case h.Op > OpBinary && h.Op < OpClose, h.Op > OpPong:
		return Header{}, 0, errors.Join(ErrProtocol, errors.New("unknown opcode"))
	}
	size := 2
	switch b[1] & 0x7F {
	case 126:
		size += 2
	case 127:
		size += 8
	}
	if masked {
		size += 4
	}
	if len(b) < size {
		return Header{}, size, ErrShort
	}
	switch n := b[1] & 0x7F; n {
	case 126:
		h.Len = int64(binary.BigEndian.Uint16(b[2:]))
	case 127:
		u := binary.BigEndian.Uint64(b[2:])
		if u > maxPayload {
			return Header{}, 0, ErrTooLarge
		}
		h.Len = int64(u)
	default:
		h.Len = int64(n)
	}
	if masked {
		h.Mask = binary.BigEndian.Uint32(b[size-4:])
	}
	if h.Op >= OpClose && (h.Len > 125 || !h.Fin) {
		return Header{}, 0, errors.Join(ErrProtocol, errors.New("malformed control frame"))
	}
	return h, size, nil
}
