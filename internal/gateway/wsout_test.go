package gateway

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"io"
	"strconv"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/wsframe"
	"github.com/dinfra/stack/internal/testenv"
)

// readFrame reads one unmasked frame with a 16-bit or shorter length.
func readFrame(t *testing.T, r *bufio.Reader) (byte, []byte) {
	t.Helper()
	var h [2]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	n := int(h[1] & 0x7F)
	if n == 126 {
		var ext [2]byte
		if _, err := io.ReadFull(r, ext[:]); err != nil {
			t.Fatal(err)
		}
		n = int(binary.BigEndian.Uint16(ext[:]))
	}
	payload := make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		t.Fatal(err)
	}
	return h[0] & 0x0F, payload
}

// A client that does not read for a while gets every frame, whole and in order, once it does:
// what the socket does not take at once is written by flushLoop.
func TestWSOutBacklogWrittenInOrder(t *testing.T) {
	client, server := testenv.TCPPair(t)
	o := newWSOut(server, 10*time.Second)
	if o.sock == nil {
		t.Fatal("a plain TCP connection should be written directly")
	}
	go o.flushLoop()
	defer o.stop()
	const frames = 2000 // about 8 MB: far more than loopback socket buffers hold
	payload := bytes.Repeat([]byte{'a'}, 4000)
	for i := range frames {
		o.send(wsframe.OpText, strconv.AppendInt(payload[:0:0], int64(i), 10))
		o.send(wsframe.OpText, payload)
	}
	o.mu.Lock()
	queued := o.writing
	o.mu.Unlock()
	if !queued {
		t.Fatal("expected a backlog for flushLoop while the client does not read")
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	for i := range frames {
		if op, got := readFrame(t, r); op != wsframe.OpText || string(got) != strconv.Itoa(i) {
			t.Fatalf("frame %d: op %d payload %.20q", 2*i, op, got)
		}
		if _, got := readFrame(t, r); !bytes.Equal(got, payload) {
			t.Fatalf("frame %d: wrong payload", 2*i+1)
		}
	}
}

// A close frame is written, then the socket is closed; nothing is sent after it.
func TestWSOutCloseFrameEndsConnection(t *testing.T) {
	client, server := testenv.TCPPair(t)
	o := newWSOut(server, 10*time.Second)
	go o.flushLoop()
	defer o.stop()
	o.send(wsframe.OpText, []byte("last"))
	o.send(wsframe.OpClose, []byte{0x03, 0xE8})
	o.send(wsframe.OpText, []byte("too late"))
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	if op, got := readFrame(t, r); op != wsframe.OpText || string(got) != "last" {
		t.Fatalf("first frame op %d %q", op, got)
	}
	if op, _ := readFrame(t, r); op != wsframe.OpClose {
		t.Fatalf("second frame op %d, want close", op)
	}
	if _, err := r.ReadByte(); err != io.EOF {
		t.Fatalf("after the close frame: %v, want EOF", err)
	}
}

// Bytes already read by net/http and by the fast server come first, in that order, then the
// socket's.
func TestTakeOverKeepsBufferedBytes(t *testing.T) {
	_, server := testenv.TCPPair(t)
	wrapped := &pendingConn{Conn: server, pending: []byte("HEAD|0123456789abcdefghij")} // read by a loop
	hijacked := bufio.NewReaderSize(wrapped, 16)
	if _, err := hijacked.Discard(len("HEAD|")); err != nil { // net/http read the head, and 11 bytes more
		t.Fatal(err)
	}
	direct, pending := takeOver(wrapped, hijacked)
	if direct != server {
		t.Fatal("takeOver did not unwrap the fast server's connection")
	}
	if string(pending) != "0123456789abcdefghij" {
		t.Fatalf("pending %q", pending)
	}
}

// A client that went away is noticed by the inline write: the socket is closed, so the
// session's reader ends.
func TestWSOutDropsAClientThatLeft(t *testing.T) {
	client, server := testenv.TCPPair(t)
	o := newWSOut(server, 10*time.Second)
	go o.flushLoop()
	defer o.stop()
	_ = client.SetLinger(0) // reset, so the next writes fail
	_ = client.Close()
	testenv.Eventually(t, 5*time.Second, "writes to a departed client find it gone", func() bool {
		o.send(wsframe.OpText, []byte("answer"))
		o.mu.Lock()
		defer o.mu.Unlock()
		return o.dead
	})
	if _, err := server.Read(make([]byte, 1)); err == nil {
		t.Fatal("the socket still reads after the client was dropped")
	}
}

// A client that once made flushLoop write (its socket was full) still gets frames written
// inline long after: the deadline of that write does not stay on the socket. (It did, and
// every connection was dropped one write timeout after its first large answer: polkadot-js
// saw 1006 ten seconds after fetching metadata in the real-cluster run.)
func TestWSOutWriteDeadlineDoesNotOutliveTheWrite(t *testing.T) {
	client, server := testenv.TCPPair(t)
	const timeout = 200 * time.Millisecond
	o := newWSOut(server, timeout)
	go o.flushLoop()
	defer o.stop()
	big := bytes.Repeat([]byte{'m'}, 8<<20) // more than loopback socket buffers hold
	o.send(wsframe.OpBinary, big)
	o.mu.Lock()
	backlog := o.writing
	o.mu.Unlock()
	if !backlog {
		t.Fatal("expected flushLoop to write the large frame")
	}
	_ = client.SetReadDeadline(time.Now().Add(10 * time.Second))
	r := bufio.NewReader(client)
	var h [10]byte // 2 bytes and a 64-bit length
	if _, err := io.ReadFull(r, h[:]); err != nil {
		t.Fatal(err)
	}
	if n, err := io.CopyN(io.Discard, r, int64(len(big))); err != nil {
		t.Fatalf("large frame: %d bytes, %v", n, err)
	}
	time.Sleep(3 * timeout)
	o.send(wsframe.OpText, []byte("later"))
	if op, got := readFrame(t, r); op != wsframe.OpText || string(got) != "later" {
		t.Fatalf("frame after the backlog: op %d %q", op, got)
	}
}
