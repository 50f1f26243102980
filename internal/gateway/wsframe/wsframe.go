// Package wsframe is the WebSocket codec (RFC 6455) of both sides of the gateway: frames are
// encoded into a caller's buffer, so that many leave in one write system call, and messages
// are read from a buffered reader, so that many come in with one read. The upstream client
// writes masked frames and reads unmasked ones; the server side does the opposite.
package wsframe

import (
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
)

// Opcodes.
const (
	OpContinuation = 0x0
	OpText         = 0x1
	OpBinary       = 0x2
	OpClose        = 0x8
	OpPing         = 0x9
	OpPong         = 0xA
)

// AppendMasked appends one final frame masked with mask. Clients must mask, and the key must
// be unpredictable: mask should come from a per-connection random stream.
func AppendMasked(dst []byte, op byte, payload []byte, mask uint32) []byte {
	dst = appendHeader(dst, op, len(payload), 0x80)
	dst = binary.BigEndian.AppendUint32(dst, mask)
	start := len(dst)
	dst = append(dst, payload...)
	Mask(dst[start:], mask)
	return dst
}

// Append appends one final, unmasked frame, as a server sends them.
func Append(dst []byte, op byte, payload []byte) []byte {
	return append(appendHeader(dst, op, len(payload), 0), payload...)
}

func appendHeader(dst []byte, op byte, n int, maskBit byte) []byte {
	dst = append(dst, 0x80|op)
	switch {
	case n <= 125:
		return append(dst, maskBit|byte(n))
	case n <= 0xFFFF:
		return binary.BigEndian.AppendUint16(append(dst, maskBit|126), uint16(n))
	default:
		return binary.BigEndian.AppendUint64(append(dst, maskBit|127), uint64(n))
	}
}

// Mask applies (or removes) a frame's mask in place.
func Mask(b []byte, mask uint32) {
	var key [4]byte
	binary.BigEndian.PutUint32(key[:], mask)
	for i := range b {
		b[i] ^= key[i&3]
	}
}

// AcceptKey is the Sec-WebSocket-Accept value that answers a handshake's Sec-WebSocket-Key.
func AcceptKey(key string) string {
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	return base64.StdEncoding.EncodeToString(sum[:])
}
