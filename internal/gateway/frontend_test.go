package gateway

import (
	"bufio"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
)

// TestFrontEndRawHTTP sends raw HTTP/1.1 on one connection: pipelined requests, refusals
// that keep the connection, and what the fast server hands to net/http (chunked bodies,
// Expect, queries, bad syntax) must all be answered alike by both servers.
func TestFrontEndRawHTTP(t *testing.T) { eachServer(t, testFrontEndRawHTTP) }

func testFrontEndRawHTTP(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 1024 }, srv)
	post := func(key, body string, extra ...string) string {
		h := "POST / HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		if key != "" {
			h += "Authorization: Bearer " + key + "\r\n"
		}
		for _, x := range extra {
			h += x + "\r\n"
		}
		return h + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	call := req(1, "system_name")
	chunked := "POST / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + readerKey +
		"\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(call)), 16) + "\r\n" + call + "\r\n0\r\n\r\n"
	tests := []struct {
		name   string
		send   string
		wants  []int // statuses, in order
		closes bool  // the gateway ends the connection after them
	}{
		{"pipelined", post(readerKey, call) + post(readerKey, call) + post(readerKey, call), []int{200, 200, 200}, false},
		{"refusals keep the connection", post("bad", call) + post(readerKey, "{") + post(readerKey, call), []int{401, 400, 200}, false},
		{"too large, then more", post(readerKey, strings.Repeat(" ", 2000)) + post(readerKey, call), []int{413, 200}, false},
		{"chunked goes to net/http", chunked + post(readerKey, call), []int{200, 200}, false},
		{"expect goes to net/http", post(readerKey, call, "Expect: 100-continue"), []int{100, 200}, false},
		{"query goes to net/http", strings.Replace(post(readerKey, call), "POST / ", "POST /?x=1 ", 1), []int{200}, false},
		{"no host", strings.Replace(post(readerKey, call), "Host: gw\r\n", "", 1), []int{400}, true},
		{"notification", post(readerKey, `{"jsonrpc":"2.0","method":"system_name"}`), []int{204}, false},
		{"connection close", post(readerKey, call, "Connection: close") + post(readerKey, call), []int{200}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tt.send)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			for i, want := range tt.wants {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				b := make([]byte, max(resp.ContentLength, 0))
				_, _ = io.ReadFull(resp.Body, b)
				if resp.StatusCode != want {
					t.Fatalf("answer %d: %s %s, want %d", i, resp.Status, b, want)
				}
				if want == 200 && decode(t, string(b)).code() != 0 {
					t.Fatalf("answer %d: %s", i, b)
				}
			}
			// Then either the connection ends, or it stays open with nothing more to read.
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := io.Copy(io.Discard, br)
			if tt.closes != (err == nil) || (!tt.closes && n > 0) {
				t.Fatalf("after the answers: %d more bytes, %v", n, err)
			}
		})
	}
}

// rawPost is a plain JSON-RPC POST with the reader's key.
func rawPost(body string) string {
	return "POST / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + readerKey + "\r\nContent-Length: " +
		strconv.Itoa(len(body)) + "\r\n\r\n" + body
}

// dialRaw opens a TCP connection to the gateway.
func dialRaw(t *testing.T, e *env) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	return c, bufio.NewReader(c)
}

// readAnswer reads one response and returns its status and body.
func readAnswer(t *testing.T, br *bufio.Reader) (int, string) {
	t.Helper()
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, string(b)
}

// A request that arrives in pieces (as a slow client sends it) is answered once whole, and the
// connection then serves the next one.
func TestFrontEndRequestInPieces(t *testing.T) { eachServer(t, testFrontEndRequestInPieces) }

func testFrontEndRequestInPieces(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	c, br := dialRaw(t, e)
	for round := range 2 {
		msg := rawPost(req(round, "system_name"))
		prev := 0
		for _, cut := range []int{7, len(msg) - 20, len(msg) - 1, len(msg)} { // head, head end, body
			time.Sleep(30 * time.Millisecond)
			sendRaw(t, c, br, msg[prev:cut])
			prev = cut
		}
		if status, body := readAnswer(t, br); status != 200 || decode(t, body).code() != 0 {
			t.Fatalf("round %d: %d %s", round, status, body)
		}
	}
}

// A request sent while the one before it is still being answered gets its answer after it,
// in order, on the same connection.
func TestFrontEndRequestWhileBusy(t *testing.T) { eachServer(t, testFrontEndRequestWhileBusy) }

func testFrontEndRequestWhileBusy(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	c, br := dialRaw(t, e)
	if _, err := c.Write([]byte(rawPost(req(1, "test_answersLater")))); err != nil {
		t.Fatal(err)
	}
	time.Sleep(50 * time.Millisecond) // the first is with the node
	if _, err := c.Write([]byte(rawPost(req(2, "system_name")) + rawPost(req(3, "system_name")))); err != nil {
		t.Fatal(err)
	}
	for id := 1; id <= 3; id++ {
		status, body := readAnswer(t, br)
		if status != 200 || !strings.Contains(body, `"id":`+strconv.Itoa(id)+`,`) {
			t.Fatalf("answer %d: %d %s", id, status, body)
		}
	}
	if status, _ := readAnswer(t, sendRaw(t, c, br, rawPost(req(4, "system_name")))); status != 200 {
		t.Fatalf("after: %d", status)
	}
}

func sendRaw(t *testing.T, c net.Conn, br *bufio.Reader, msg string) *bufio.Reader {
	t.Helper()
	if _, err := c.Write([]byte(msg)); err != nil {
		t.Fatal(err)
	}
	return br
}

// withClientTimeouts shortens how long a connection may idle and take over a request head.
func withClientTimeouts(idle, header time.Duration) Option {
	return func(g *Gateway) { g.timeouts.idle, g.timeouts.header = idle, header }
}

// withWriteTimeout shortens how long a write to a client may wait.
func withWriteTimeout(d time.Duration) Option {
	return func(g *Gateway) { g.timeouts.write = d }
}

// Connections that sit idle, or take too long to send a request, are closed; a busy one is
// not.
func TestFrontEndTimeouts(t *testing.T) { eachServer(t, testFrontEndTimeouts) }

func testFrontEndTimeouts(t *testing.T, srv Option) {
	e := newEnv(t, nil, withClientTimeouts(600*time.Millisecond, 400*time.Millisecond), srv)
	closedWithin := func(c net.Conn, br *bufio.Reader, min, max time.Duration) {
		t.Helper()
		start := time.Now()
		_ = c.SetReadDeadline(start.Add(max))
		n, err := io.Copy(io.Discard, br)
		if took := time.Since(start); err != nil || n > 0 || took < min {
			t.Fatalf("after %s: %d bytes, %v; want the connection closed after %s to %s", took, n, err, min, max)
		}
	}
	t.Run("idle", func(t *testing.T) {
		c, br := dialRaw(t, e)
		if status, _ := readAnswer(t, sendRaw(t, c, br, rawPost(req(1, "system_name")))); status != 200 {
			t.Fatalf("status %d", status)
		}
		closedWithin(c, br, 400*time.Millisecond, 3*time.Second)
	})
	t.Run("slow head", func(t *testing.T) {
		c, br := dialRaw(t, e)
		sendRaw(t, c, br, "POST / HTTP/1.1\r\nHost: gw\r\n")
		closedWithin(c, br, 200*time.Millisecond, 3*time.Second)
	})
	t.Run("busy", func(t *testing.T) {
		c, br := dialRaw(t, e)
		for range 3 { // each call keeps the connection busy past the timeouts' check
			if status, body := readAnswer(t, sendRaw(t, c, br, rawPost(req(1, "test_answersLater")))); status != 200 {
				t.Fatalf("status %d %s", status, body)
			}
		}
	})
}

// On shutdown, idle connections are closed at once and a request being answered gets its
// answer (with the connection closed after it), whichever reader serves the connection.
func TestFrontEndShutdown(t *testing.T) { eachServer(t, testFrontEndShutdown) }

func testFrontEndShutdown(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv) // for its fake node and key file
	g, err := New(e.g.cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	addr, cancel, done := startServe(t, g)
	dial := func() (net.Conn, *bufio.Reader) { return dialRaw(t, &env{url: "http://" + addr}) }
	idle, idleBR := dial()
	if status, _ := readAnswer(t, sendRaw(t, idle, idleBR, rawPost(req(1, "system_name")))); status != 200 {
		t.Fatalf("status %d", status)
	}
	busy, busyBR := dial() // on the fast server: answered by its event loop
	sendRaw(t, busy, busyBR, rawPost(req(2, "test_answersLater")))
	piped, pipedBR := dial() // pipelined: answered by net/http
	sendRaw(t, piped, pipedBR, rawPost(req(3, "test_answersLater"))+rawPost(req(4, "test_answersLater")))
	time.Sleep(100 * time.Millisecond)
	cancel()
	for name, br := range map[string]*bufio.Reader{"busy": busyBR, "pipelined": pipedBR} {
		if status, body := readAnswer(t, br); status != 200 || decode(t, body).code() != 0 {
			t.Fatalf("%s: %d %s", name, status, body)
		}
	}
	for name, br := range map[string]*bufio.Reader{"idle": idleBR, "busy": busyBR} {
		if n, err := io.Copy(io.Discard, br); n != 0 || err != nil {
			t.Fatalf("%s connection: %d more bytes, %v; want it closed", name, n, err)
		}
	}
	waitServed(t, done)
}

// A connection whose large answer was finished by a blocking write keeps being served, over
// HTTP and over WebSocket, after that write's timeout has passed.
func TestConnectionOutlivesItsWriteTimeout(t *testing.T) {
	eachServer(t, testConnectionOutlivesItsWriteTimeout)
}

func testConnectionOutlivesItsWriteTimeout(t *testing.T, srv Option) {
	// The reader must drain the answer within the write timeout, or the gateway rightly drops
	// it as too slow: a second leaves a loaded machine room (200 ms did not, at load 40).
	const timeout = time.Second
	const size = 24 << 20 // more than loopback socket buffers take at once
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxResponseBytes = 2 * size }, withWriteTimeout(timeout), srv)
	metadata, _ := json.Marshal("0x" + strings.Repeat("6d", size/2))
	e.node.SetResult("state_getMetadata", metadata)
	t.Run("http", func(t *testing.T) {
		c, br := dialRaw(t, e)
		sendRaw(t, c, br, rawPost(req(1, "state_getMetadata")))
		time.Sleep(timeout / 2) // the answer does not fit: the rest is written by a goroutine
		if status, body := readAnswer(t, br); status != 200 || len(body) < size {
			t.Fatalf("metadata: %d, %d bytes", status, len(body))
		}
		time.Sleep(3 * timeout)
		if status, body := readAnswer(t, sendRaw(t, c, br, rawPost(req(2, "system_name")))); status != 200 {
			t.Fatalf("after the write timeout: %d %s", status, body)
		}
	})
	t.Run("websocket", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		ws.send(req(1, "state_getMetadata"))
		time.Sleep(timeout / 2)
		if got := decode(t, ws.read()); len(got.Result) < size {
			t.Fatalf("metadata: %d bytes", len(got.Result))
		}
		time.Sleep(3 * timeout)
		if got := decode(t, ws.roundTrip(req(2, "system_name"))); got.code() != 0 {
			t.Fatalf("after the write timeout: %+v", got)
		}
	})
}
