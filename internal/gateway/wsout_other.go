//go:build !unix

package gateway

// writeNonblocking writes nothing where sockets cannot be written this way: flushLoop does.
func writeNonblocking(uintptr, []byte) (int, error) { return 0, nil }

// readNonblocking reads nothing where sockets cannot be read this way: no event loop does.
func readNonblocking(uintptr, []byte) (int, error) { return 0, nil }
