package wsframe

import (
	"bufio"
	"encoding/binary"
	"errors"
	"io"
)

var (
	// ErrTooLarge ends a connection whose message is larger than Reader.Max.
	ErrTooLarge = errors.New("websocket message larger than the limit")
	// ErrSkipped reports a message larger than Reader.Skip that was read and dropped; the
	// connection can go on.
	ErrSkipped = errors.New("websocket message skipped: larger than the limit")
	// ErrProtocol ends a connection that broke RFC 6455.
	ErrProtocol = errors.New("websocket protocol error")
)

// Reader reads whole messages from one side of a connection.
type Reader struct {
	R *bufio.Reader
	// Masked is set on the server side: every frame from a client must be masked, and no
	// frame from a server may be.
	Masked bool
	Max    int64 // larger messages end the connection
	Skip   int64 // larger messages are dropped with ErrSkipped; 0 means Max

	// The message being read, kept while a control frame between its fragments is returned.
	buf      []byte
	msgOp    byte // 0 between messages
	size     int64
	skipping bool
}

// Next returns the next data message, with op OpText or OpBinary and its fragments joined,
// or the next control frame (which may come between fragments). The bytes are valid until
// the next call.
func (r *Reader) Next() (op byte, payload []byte, err error) {
	skip := r.Skip
	if skip <= 0 || skip > r.Max {
		skip = r.Max
	}
	if r.msgOp == 0 {
		if cap(r.buf) > 256<<10 { // keep a modest buffer, not the largest message ever read
			r.buf = nil
		}
		r.buf, r.size, r.skipping = r.buf[:0], 0, false
	}
	for {
		fin, op, n, mask, err := r.header()
		if err != nil {
			return 0, nil, err
		}
		if op >= OpClose {
			if n > 125 || !fin {
				return 0, nil, errors.Join(ErrProtocol, errors.New("malformed control frame"))
			}
			ctl := make([]byte, n)
			if _, err := io.ReadFull(r.R, ctl); err != nil {
				return 0, nil, err
			}
			Mask(ctl, mask)
			return op, ctl, nil
		}
		switch {
		case op == OpContinuation && r.msgOp == 0, op != OpContinuation && r.msgOp != 0:
			return 0, nil, errors.Join(ErrProtocol, errors.New("fragments out of order"))
		case op != OpContinuation:
			r.msgOp = op
		}
		if r.size += n; r.size > r.Max {
			return 0, nil, ErrTooLarge
		}
		if r.size > skip {
			r.skipping, r.buf = true, r.buf[:0]
		}
		if r.skipping {
			if _, err := r.R.Discard(int(n)); err != nil {
				return 0, nil, err
			}
		} else {
			start := len(r.buf)
			r.buf = append(r.buf, make([]byte, n)...)
			if _, err := io.ReadFull(r.R, r.buf[start:]); err != nil {
				return 0, nil, err
			}
			Mask(r.buf[start:], mask)
		}
		if fin {
			op, r.msgOp = r.msgOp, 0
			if r.skipping {
				return op, nil, ErrSkipped
			}
			return op, r.buf, nil
		}
	}
}

// header reads a frame header; mask is 0 for an unmasked frame (masking with 0 is a no-op).
func (r *Reader) header() (fin bool, op byte, n int64, mask uint32, err error) {
	var h [2]byte
	if _, err := io.ReadFull(r.R, h[:]); err != nil {
		return false, 0, 0, 0, err
	}
	fin, op = h[0]&0x80 != 0, h[0]&0x0F
	switch {
	case h[0]&0x70 != 0:
		return false, 0, 0, 0, errors.Join(ErrProtocol, errors.New("reserved bits set (no extension was agreed)"))
	case (h[1]&0x80 != 0) != r.Masked:
		return false, 0, 0, 0, errors.Join(ErrProtocol, errors.New("frame masking does not match the side it came from"))
	case op > OpBinary && op < OpClose, op > OpPong:
		return false, 0, 0, 0, errors.Join(ErrProtocol, errors.New("unknown opcode"))
	}
	switch b := h[1] & 0x7F; b {
	case 126:
		var ext [2]byte
		_, err = io.ReadFull(r.R, ext[:])
		n = int64(binary.BigEndian.Uint16(ext[:]))
	case 127:
		var ext [8]byte
		_, err = io.ReadFull(r.R, ext[:])
		u := binary.BigEndian.Uint64(ext[:])
		if err == nil && u > 1<<62 {
			err = ErrTooLarge
		}
		n = int64(u)
	default:
		n = int64(b)
	}
	if err == nil && r.Masked {
		var key [4]byte
		_, err = io.ReadFull(r.R, key[:])
		mask = binary.BigEndian.Uint32(key[:])
	}
	return fin, op, n, mask, err
}
