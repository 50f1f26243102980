// Package netloop reads many sockets from one goroutine. A Loop keeps its own epoll set
// (level-triggered) of sockets and waits for it through Go's network poller, in which the set
// itself is one pollable file: when any socket has data, the loop's goroutine wakes once and
// serves every ready socket in turn. Compared with a goroutine per socket, a message costs one
// read system call instead of a read, a second read that finds the socket empty, and a
// goroutine wake-up; and work that handlers queue during a batch (such as writes to a shared
// upstream connection) can leave together once the batch is served.
//
// Only Linux has a Loop; elsewhere New reports ErrUnsupported and callers keep a goroutine
// per socket.
package netloop

import "errors"

// Handler serves one socket of a Loop. Readable runs on the loop's goroutine while the socket
// has data or was shut down (level-triggered: until it is read or removed), with the token Add
// gave the socket; it must not block.
type Handler interface {
	Readable(t Token)
}

// ErrUnsupported is New's error where there is no Loop.
var ErrUnsupported = errors.New("netloop: not supported on this system")

// Token identifies a socket in its Loop.
type Token uint64
