//go:build !unix

package gateway

// writeNonblocking writes nothing where sockets cannot be written this way: flushLoop does.
func writeNonblocking(uintptr, []byte) (int, error) { return 0, nil }
