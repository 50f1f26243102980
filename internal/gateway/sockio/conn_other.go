//go:build !linux

package sockio

import "net"

// Wrap returns c as it is: only Linux makes raw system calls.
func Wrap(c net.Conn) net.Conn { return c }

// Where sockets are not used this way, nothing moves: there are no event loops to read, and
// writers leave the bytes to a goroutine of their own.
func writeNonblocking(uintptr, []byte) (int, error) { return 0, nil }
func readNonblocking(uintptr, []byte) (int, error)  { return 0, nil }
