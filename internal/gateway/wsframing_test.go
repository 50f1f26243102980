package gateway

import (
	"errors"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// TestWebSocketFraming covers the gateway's own WebSocket server side: the handshake, control
// frames, fragmented and pipelined calls, and a message far over the limit.
func TestWebSocketFraming(t *testing.T) { eachServer(t, testWebSocketFraming) }

func testWebSocketFraming(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 1024 }, srv)

	t.Run("unsupported version refused", func(t *testing.T) {
		r, _ := http.NewRequest(http.MethodGet, e.url+"/", nil)
		r.Header.Set("X-Api-Key", readerKey)
		r.Header.Set("Connection", "Upgrade")
		r.Header.Set("Upgrade", "websocket")
		r.Header.Set("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ==")
		r.Header.Set("Sec-WebSocket-Version", "8")
		resp, err := http.DefaultClient.Do(r)
		if err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		if resp.StatusCode != http.StatusUpgradeRequired || resp.Header.Get("Sec-WebSocket-Version") != "13" {
			t.Fatalf("status %d, version header %q", resp.StatusCode, resp.Header.Get("Sec-WebSocket-Version"))
		}
	})

	t.Run("ping answered with pong", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		pong := make(chan string, 1)
		ws.c.SetPongHandler(func(data string) error { pong <- data; return nil })
		if err := ws.c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		// The pong handler runs inside a read; the call's answer ends that read.
		if a := decode(t, ws.roundTrip(req(1, "system_name"))); string(a.Result) != `"Gossamer"` {
			t.Fatalf("answer %+v", a)
		}
		select {
		case got := <-pong:
			if got != "hi" {
				t.Fatalf("pong %q", got)
			}
		default:
			t.Fatal("no pong before the answer")
		}
	})

	t.Run("pipelined calls all answered", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		for i := range 20 {
			ws.send(req(i, "system_name"))
		}
		seen := map[string]bool{}
		for range 20 {
			seen[string(decode(t, ws.read()).ID)] = true
		}
		if len(seen) != 20 {
			t.Fatalf("%d distinct answers", len(seen))
		}
	})

	// Frames written in pieces: the gateway's event loop must wait for the rest of a frame
	// (header or payload) without losing what it already read.
	t.Run("a frame split anywhere is read whole", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		raw := ws.c.UnderlyingConn()
		f := wsframe.AppendMasked(nil, wsframe.OpText, []byte(req(7, "system_name")), 0x1234ABCD)
		for _, split := range []int{1, 2, 5, len(f) - 1} {
			if _, err := raw.Write(f[:split]); err != nil {
				t.Fatal(err)
			}
			time.Sleep(20 * time.Millisecond)
			if _, err := raw.Write(f[split:]); err != nil {
				t.Fatal(err)
			}
			if a := decode(t, ws.read()); string(a.ID) != "7" || string(a.Result) != `"Gossamer"` {
				t.Fatalf("split at %d: answer %+v", split, a)
			}
		}
	})

	// A fragmented message is read by a goroutine of the session's own, with the bytes the
	// event loop had already read; calls after it go on as before.
	t.Run("fragmented message, then plain ones", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		msg := []byte(req(8, "system_name"))
		var b []byte
		b = wsframe.AppendMasked(b, wsframe.OpText, msg[:10], 0x01020304)
		b[0] &^= 0x80 // not final
		b = wsframe.AppendMasked(b, wsframe.OpContinuation, msg[10:], 0x05060708)
		b = wsframe.AppendMasked(b, wsframe.OpText, []byte(req(9, "system_name")), 0x090A0B0C)
		if _, err := ws.c.UnderlyingConn().Write(b); err != nil {
			t.Fatal(err)
		}
		// Stateless calls travel on shared node connections: answers may come in any order.
		seen := map[string]bool{}
		for range 2 {
			a := decode(t, ws.read())
			if string(a.Result) != `"Gossamer"` {
				t.Fatalf("answer %+v", a)
			}
			seen[string(a.ID)] = true
		}
		if !seen["8"] || !seen["9"] {
			t.Fatalf("answered ids %v, want 8 and 9", seen)
		}
		if a := decode(t, ws.roundTrip(req(10, "system_name"))); string(a.ID) != "10" {
			t.Fatalf("after the fragmented message: %+v", a)
		}
	})

	t.Run("far over the limit closes the connection", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		// The gateway stops reading after the frame header, so this write may fail midway.
		_ = ws.c.WriteMessage(websocket.TextMessage, []byte(req(1, "system_name", strings.Repeat("x", 17<<20))))
		_ = ws.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := ws.c.ReadMessage()
		var ce *websocket.CloseError
		var ne net.Error
		switch {
		case errors.As(err, &ce) && ce.Code != websocket.CloseMessageTooBig:
			t.Fatalf("close code %d, want 1009", ce.Code)
		case err == nil, errors.As(err, &ne) && ne.Timeout():
			t.Fatalf("read: %v, want the connection closed", err)
		}
	})
}
