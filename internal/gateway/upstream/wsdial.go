package upstream

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// A minimal WebSocket client (RFC 6455) for the shared upstream connections: it writes
// masked text frames into a caller's buffer, so many calls leave in one write system call,
// and reads whole messages into a reused buffer. Extensions and subprotocols are not offered.

const (
	opContinuation = 0x0
	opText         = 0x1
	opBinary       = 0x2
	opClose        = 0x8
	opPing         = 0x9
	opPong         = 0xA
)

const wsGUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

// dialWS opens a WebSocket to a ws:// or wss:// URL and completes the handshake.
func dialWS(ctx context.Context, d *net.Dialer, rawURL string) (net.Conn, *bufio.Reader, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	port, secure := u.Port(), false
	switch u.Scheme {
	case "ws":
		if port == "" {
			port = "80"
		}
	case "wss":
		if port == "" {
			port = "443"
		}
		secure = true
	default:
		return nil, nil, fmt.Errorf("upstream URL %q: scheme must be ws or wss", rawURL)
	}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, nil, err
	}
	if secure {
		tc := tls.Client(c, &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, nil, err
		}
		c = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
		defer func() { _ = c.SetDeadline(time.Time{}) }()
	}
	br, err := handshake(c, u)
	if err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("websocket handshake with %s: %w", u.Host, err)
	}
	return c, br, nil
}

func handshake(c net.Conn, u *url.URL) (*bufio.Reader, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\nUser-Agent: onf-gateway\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, err
	}
	sum := sha1.Sum([]byte(key + wsGUID))
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return nil, fmt.Errorf("HTTP %d instead of 101", resp.StatusCode)
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		return nil, errors.New("no Upgrade: websocket header")
	case resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]):
		return nil, errors.New("wrong Sec-WebSocket-Accept")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return nil, errors.New("the node chose an extension that was not offered")
	}
	return br, nil
}

// appendFrame appends one final, masked frame. The mask key comes from mask (a per-connection
// random stream): clients must mask, and a predictable key would defeat the point.
func appendFrame(dst []byte, op byte, payload []byte, mask uint32) []byte {
	dst = append(dst, 0x80|op)
	switch n := len(payload); {
	case n <= 125:
		dst = append(dst, 0x80|byte(n))
	case n <= 0xFFFF:
		dst = append(dst, 0x80|126)
		dst = binary.BigEndian.AppendUint16(dst, uint16(n))
	default:
		dst = append(dst, 0x80|127)
		dst = binary.BigEndian.AppendUint64(dst, uint64(n))
	}
	dst = binary.BigEndian.AppendUint32(dst, mask)
	start := len(dst)
	dst = append(dst, payload...)
	maskBytes(dst[start:], mask)
	return dst
}

func maskBytes(b []byte, mask uint32) {
	var key [4]byte
	binary.BigEndian.PutUint32(key[:], mask)
	for i := range b {
		b[i] ^= key[i&3]
	}
}

var errTooLarge = errors.New("message larger than the limit")

// frameReader reads messages from the node (whose frames are not masked).
type frameReader struct {
	br  *bufio.Reader
	max int64
	buf []byte // the current message; reused
}

// next returns the next message or control frame; a text or binary message comes with
// op opText or opBinary and all its fragments joined. The bytes are valid until the next call.
func (r *frameReader) next() (op byte, payload []byte, err error) {
	r.buf = r.buf[:0]
	msgOp := byte(0)
	for {
		var h [2]byte
		if _, err := io.ReadFull(r.br, h[:]); err != nil {
			return 0, nil, err
		}
		fin, op := h[0]&0x80 != 0, h[0]&0x0F
		if h[0]&0x70 != 0 || h[1]&0x80 != 0 {
			return 0, nil, errors.New("reserved bits or a mask on a frame from the node")
		}
		n, err := r.length(h[1] & 0x7F)
		if err != nil {
			return 0, nil, err
		}
		if op >= opClose { // control frames are short and may come between fragments
			if n > 125 || !fin {
				return 0, nil, errors.New("malformed control frame")
			}
			ctl := make([]byte, n)
			_, err := io.ReadFull(r.br, ctl)
			return op, ctl, err
		}
		switch {
		case op == opContinuation && msgOp == 0, op != opContinuation && msgOp != 0:
			return 0, nil, errors.New("fragments out of order")
		case op != opContinuation:
			msgOp = op
		}
		if int64(len(r.buf))+n > r.max {
			return 0, nil, errTooLarge
		}
		start := len(r.buf)
		r.buf = append(r.buf, make([]byte, n)...)
		if _, err := io.ReadFull(r.br, r.buf[start:]); err != nil {
			return 0, nil, err
		}
		if fin {
			return msgOp, r.buf, nil
		}
	}
}

func (r *frameReader) length(b byte) (int64, error) {
	switch b {
	case 126:
		var ext [2]byte
		_, err := io.ReadFull(r.br, ext[:])
		return int64(binary.BigEndian.Uint16(ext[:])), err
	case 127:
		var ext [8]byte
		if _, err := io.ReadFull(r.br, ext[:]); err != nil {
			return 0, err
		}
		n := binary.BigEndian.Uint64(ext[:])
		if n > 1<<62 {
			return 0, errTooLarge
		}
		return int64(n), nil
	}
	return int64(b), nil
}
