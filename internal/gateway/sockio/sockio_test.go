//go:build linux

package sockio

import (
	"bytes"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"os"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

func socketOf(t *testing.T, c *net.TCPConn) *Socket {
	t.Helper()
	s, err := NewSocket(c)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// Both directions carry far more than the socket buffers hold, so writes find the socket
// full and reads find it empty, and both wait in the poller.
func TestWrapCarriesLargeStreams(t *testing.T) {
	a, b := testenv.TCPPair(t)
	wrapped := Wrap(a)
	if _, ok := wrapped.(*conn); !ok {
		t.Fatalf("Wrap(*net.TCPConn) = %T, want the raw connection", wrapped)
	}
	data := make([]byte, 8<<20)
	for i := range data {
		data[i] = byte(rand.Uint32())
	}
	for _, tc := range []struct {
		name     string
		from, to net.Conn
	}{{"wrapped writes", wrapped, b}, {"wrapped reads", b, wrapped}} {
		t.Run(tc.name, func(t *testing.T) {
			errs := make(chan error, 1)
			go func() {
				n, err := tc.from.Write(data)
				if err == nil && n != len(data) {
					err = io.ErrShortWrite
				}
				errs <- err
			}()
			got := make([]byte, len(data))
			if _, err := io.ReadFull(tc.to, got); err != nil {
				t.Fatal(err)
			}
			if err := <-errs; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, data) {
				t.Fatal("the bytes read differ from the bytes written")
			}
		})
	}
}

func TestWrapReadDeadlineIsATimeout(t *testing.T) {
	a, _ := testenv.TCPPair(t)
	c := Wrap(a)
	_ = c.SetReadDeadline(time.Now().Add(30 * time.Millisecond))
	_, err := c.Read(make([]byte, 16))
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() || !errors.Is(err, os.ErrDeadlineExceeded) {
		t.Fatalf("Read past the deadline: %v, want a timeout", err)
	}
}

func TestWrapReadSeesTheEnd(t *testing.T) {
	a, b := testenv.TCPPair(t)
	c := Wrap(a)
	_, _ = b.Write([]byte("last"))
	_ = b.Close()
	got, err := io.ReadAll(c)
	if err != nil || string(got) != "last" {
		t.Fatalf("ReadAll = %q, %v; want \"last\" and the end", got, err)
	}
}

func TestWrapLeavesOtherConnsAlone(t *testing.T) {
	p, q := net.Pipe()
	defer p.Close()
	defer q.Close()
	if Wrap(p) != p {
		t.Fatal("Wrap changed a connection that is not plain TCP")
	}
}

func TestReadNow(t *testing.T) {
	a, b := testenv.TCPPair(t)
	s := socketOf(t, a)
	buf := make([]byte, 64)
	if n, err := s.ReadNow(buf); n != 0 || err != nil {
		t.Fatalf("ReadNow of an empty socket = %d, %v; want 0, nil", n, err)
	}
	_, _ = b.Write([]byte("hello"))
	deadline := time.Now().Add(5 * time.Second)
	var n int
	var err error
	for n == 0 && err == nil && time.Now().Before(deadline) {
		n, err = s.ReadNow(buf)
	}
	if err != nil || string(buf[:n]) != "hello" {
		t.Fatalf("ReadNow = %q, %v; want \"hello\"", buf[:n], err)
	}
	_ = b.Close()
	for n, err = 0, nil; n == 0 && err == nil && time.Now().Before(deadline); {
		n, err = s.ReadNow(buf)
	}
	if !errors.Is(err, io.EOF) {
		t.Fatalf("ReadNow after the peer left = %d, %v; want io.EOF", n, err)
	}
}

// WriteNow stops where the socket is full, without an error, and the rest can follow.
func TestWriteNowStopsWhenFull(t *testing.T) {
	a, b := testenv.TCPPair(t)
	s := socketOf(t, a)
	data := bytes.Repeat([]byte("x"), 32<<20)
	n, err := s.WriteNow(data)
	if err != nil || n <= 0 || n >= len(data) {
		t.Fatalf("WriteNow of %d bytes to a peer that does not read = %d, %v; want part of it", len(data), n, err)
	}
	errs := make(chan error, 1)
	go func() { _, err := a.Write(data[n:]); errs <- err }()
	got, err := io.ReadAll(io.LimitReader(b, int64(len(data))))
	if err != nil || len(got) != len(data) || <-errs != nil {
		t.Fatalf("read %d of %d bytes: %v", len(got), len(data), err)
	}
	_ = b.Close()
	if _, err := s.WriteNow([]byte("late")); err == nil {
		// The first write to a closed peer may still succeed; the next one fails.
		time.Sleep(50 * time.Millisecond)
		if _, err = s.WriteNow([]byte("late")); err == nil {
			t.Fatal("WriteNow to a peer that left succeeded twice")
		}
	}
}

// The loops read and write every call's bytes through a Socket: that costs no allocation.
func TestSocketCallsDoNotAllocate(t *testing.T) {
	a, b := testenv.TCPPair(t)
	s := socketOf(t, a)
	wrapped := Wrap(b)
	buf, ping, pong := make([]byte, 64), []byte("ping"), []byte("pong")
	allocs := testing.AllocsPerRun(100, func() {
		if n, err := s.WriteNow(ping); n != 4 || err != nil {
			t.Fatalf("WriteNow = %d, %v", n, err)
		}
		if _, err := io.ReadFull(wrapped, buf[:4]); err != nil {
			t.Fatal(err)
		}
		if _, err := wrapped.Write(pong); err != nil {
			t.Fatal(err)
		}
		for n := 0; n < 4; {
			m, err := s.ReadNow(buf[n:4])
			if err != nil {
				t.Fatal(err)
			}
			n += m
		}
	})
	if allocs != 0 {
		t.Fatalf("%.1f allocations per round trip, want 0", allocs)
	}
}
