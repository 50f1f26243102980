//go:build !linux

package netloop

import "syscall"

// Loop does not exist here: New reports ErrUnsupported.
type Loop struct{}

// New reports ErrUnsupported.
func New(func()) (*Loop, error) { return nil, ErrUnsupported }

// Add is never reached (there is no Loop).
func (*Loop) Add(syscall.RawConn, Handler) (Token, error) { return 0, ErrUnsupported }

// Remove is never reached (there is no Loop).
func (*Loop) Remove(syscall.RawConn, Token) {}

// Close is never reached (there is no Loop).
func (*Loop) Close() error { return nil }
