//go:build linux

package netloop

import (
	"net"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// reader is a Handler that reads what its socket has and reports it on got.
type reader struct {
	l     *Loop
	rc    syscall.RawConn
	got   chan string
	calls atomic.Int64
}

func (r *reader) Readable(t Token) {
	r.calls.Add(1)
	buf := make([]byte, 64)
	var n int
	var rerr error
	if err := r.rc.Read(func(fd uintptr) bool { n, rerr = syscall.Read(int(fd), buf); return true }); err != nil || rerr != nil || n <= 0 {
		r.l.Remove(r.rc, t) // closed or shut down
		r.got <- "EOF"
		return
	}
	r.got <- string(buf[:n])
}

// pairs returns n connected loopback TCP pairs (client, server).
func pairs(t *testing.T, n int) (clients, servers []*net.TCPConn) {
	for range n {
		c, s := testenv.TCPPair(t)
		clients, servers = append(clients, c), append(servers, s)
	}
	return clients, servers
}

func recv(t *testing.T, ch chan string) string {
	t.Helper()
	select {
	case s := <-ch:
		return s
	case <-time.After(5 * time.Second):
		t.Fatal("no read within 5s")
		return ""
	}
}

func TestLoopServesEverySocketAndBatches(t *testing.T) {
	var batches atomic.Int64
	l, err := New(func() { batches.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	clients, servers := pairs(t, 20)
	readers := make([]*reader, len(servers))
	for i, s := range servers {
		rc, _ := s.SyscallConn()
		readers[i] = &reader{l: l, rc: rc, got: make(chan string, 16)}
		if _, err = l.Add(rc, readers[i]); err != nil {
			t.Fatal(err)
		}
	}
	// Twice, so the loop also wakes again after waiting in the poller.
	for round := range 2 {
		for i, c := range clients {
			if _, err := c.Write([]byte{byte('a' + i), byte('0' + round)}); err != nil {
				t.Fatal(err)
			}
		}
		for i, r := range readers {
			if got, want := recv(t, r.got), string([]byte{byte('a' + i), byte('0' + round)}); got != want {
				t.Fatalf("socket %d read %q, want %q", i, got, want)
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	if b := batches.Load(); b < 2 || b > 40 {
		t.Errorf("afterBatch ran %d times for 40 messages in 2 rounds", b)
	}
	// A shut-down socket is readable (EOF); its handler removes it and is not called again.
	clients[0].Close()
	if got := recv(t, readers[0].got); got != "EOF" {
		t.Fatalf("after the peer closed, read %q", got)
	}
	time.Sleep(50 * time.Millisecond)
	if n := readers[0].calls.Load(); n != 3 {
		t.Errorf("handler of a removed socket called %d times, want 3", n)
	}
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
}

func TestLoopRemoveStopsCallsAndCloseEnds(t *testing.T) {
	l, err := New(nil)
	if err != nil {
		t.Fatal(err)
	}
	clients, servers := pairs(t, 1)
	rc, _ := servers[0].SyscallConn()
	r := &reader{l: l, rc: rc, got: make(chan string, 4)}
	token, err := l.Add(rc, r)
	if err != nil {
		t.Fatal(err)
	}
	l.Remove(rc, token)
	if _, err := clients[0].Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond)
	if n := r.calls.Load(); n != 0 {
		t.Errorf("removed socket's handler called %d times", n)
	}
	// The socket is untouched: a plain read still gets the byte.
	b := make([]byte, 1)
	if _, err := servers[0].Read(b); err != nil || b[0] != 'x' {
		t.Fatalf("read after Remove: %q %v", b, err)
	}
	var wg sync.WaitGroup
	wg.Go(func() { _ = l.Close() })
	wg.Wait()
	if _, err := l.Add(rc, r); err == nil {
		t.Error("Add on a closed loop succeeded")
	}
}
