package wsframe

import (
	"bufio"
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
		h, err := r.header()
		if err != nil {
			return 0, nil, err
		}
		fin, op, n, mask := h.Fin, h.Op, h.Len, h.Mask
		if op >= OpClose {
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

// header reads a frame header.
func (r *Reader) header() (Header, error) {
	need := 2
	for {
		b, peekErr := r.R.Peek(need)
		h, size, err := ParseHeader(b, r.Masked)
		switch {
		case errors.Is(err, ErrShort) && peekErr != nil:
			if len(b) > 0 && peekErr == io.EOF {
				peekErr = io.ErrUnexpectedEOF
			}
			return Header{}, peekErr
		case errors.Is(err, ErrShort):
			need = size
		case err != nil:
			return Header{}, err
		default:
			_, err = r.R.Discard(size)
			return h, err
		}
	}
}
