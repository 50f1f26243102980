//go:build !unix

package gateway

// Where sockets cannot be used this way, nothing is written (flushLoop writes) and there are
// no event loops to read.
func writeNonblocking(uintptr, []byte) (int, error) { return 0, nil }
func readNonblocking(uintptr, []byte) (int, error)  { return 0, nil }
