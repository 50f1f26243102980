package gateway

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/wsframe"
	"github.com/dinfra/stack/internal/rpc"
)

// wsPaths opens two WebSockets with key: one sending whole messages, one that sent a
// fragmented message first. On the fast server the first is read by an event loop and the
// second handed to a reader goroutine of its own (the reference server's reader), so a test
// covers both ways a session is read.
func (e *env) wsPaths(key string) map[string]*wsConn {
	e.t.Helper()
	loop, _ := e.dialWS("/", key)
	goroutine, _ := e.dialWS("/", key)
	msg := []byte(req("handoff", "system_name"))
	b := wsframe.AppendMasked(nil, wsframe.OpText, msg[:10], 0x01020304)
	b[0] &^= 0x80 // not final: the loop hands the session to a goroutine
	b = wsframe.AppendMasked(b, wsframe.OpContinuation, msg[10:], 0x05060708)
	if _, err := goroutine.c.UnderlyingConn().Write(b); err != nil {
		e.t.Fatal(err)
	}
	if a := decode(e.t, goroutine.read()); string(a.ID) != `"handoff"` {
		e.t.Fatalf("fragmented call: %+v", a)
	}
	return map[string]*wsConn{"whole messages": loop, "after a fragmented one": goroutine}
}

// TestMethodNamesMustBeExactAndKnown: case, look-alike letters, trailing bytes, empty and
// overlong names, and names the gateway does not know are refused before the policy, on every
// path, and never reach the node.
func TestMethodNamesMustBeExactAndKnown(t *testing.T) {
	eachServer(t, testMethodNamesMustBeExactAndKnown)
}

func testMethodNamesMustBeExactAndKnown(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	tests := []struct {
		method string
		code   int
	}{
		{"Author_rotateKeys", rpc.CodeInvalidRequest},
		{"AUTHOR_ROTATEKEYS", rpc.CodeInvalidRequest},
		{"аuthor_rotateKeys", rpc.CodeInvalidRequest}, // Cyrillic а
		{"author_rоtateKeys", rpc.CodeInvalidRequest}, // Cyrillic о
		{"author_rotateKeys ", rpc.CodeInvalidRequest},
		{"author_rotateKeys\x00", rpc.CodeInvalidRequest},
		{"author_rotateKeys\t", rpc.CodeInvalidRequest},
		{"\u00a0author_rotateKeys", rpc.CodeInvalidRequest},
		{"", rpc.CodeInvalidRequest},
		{strings.Repeat("a", 300) + "_b", rpc.CodeInvalidRequest},
		{"system_nаme", rpc.CodeInvalidRequest}, // look-alike of a safe method
		{"author_rotatekeys", rpc.CodeMethodNotFound},
		{"foo_bar", rpc.CodeMethodNotFound},
		{"author_rotateKeys", CodeMethodDenied},
	}
	ws := e.wsPaths(readerKey)
	for _, tt := range tests {
		body := req(1, tt.method)
		if _, got := e.post("/", readerKey, body); decode(t, got).code() != tt.code {
			t.Errorf("HTTP: %q answered %s, want code %d", tt.method, got, tt.code)
		}
		for path, c := range ws {
			if got := c.roundTrip(body); decode(t, got).code() != tt.code {
				t.Errorf("WebSocket %s: %q answered %s, want code %d", path, tt.method, got, tt.code)
			}
		}
	}
	// An escaped exact name is that name: the policy sees it (and denies it).
	if _, got := e.post("/", readerKey, `{"jsonrpc":"2.0","id":1,"method":"\u0061uthor_rotateKeys"}`); decode(t, got).code() != CodeMethodDenied {
		t.Errorf("escaped name: %s", got)
	}
	if calls := e.forwarded(); len(calls) != 1 { // the fragmented call of wsPaths
		t.Fatalf("refused calls reached the node: %q", calls)
	}
}

// TestUnsubscribeOnlyWhatTheSessionHolds: an unsubscribe for a subscription the session does
// not hold (ended already, never given, of another kind, or the id in another form) is
// answered false by the gateway and never reaches the node (gossamer panics on a second
// unsubscribe: test/security).
func TestUnsubscribeOnlyWhatTheSessionHolds(t *testing.T) {
	eachServer(t, testUnsubscribeOnlyWhatTheSessionHolds)
}

func testUnsubscribeOnlyWhatTheSessionHolds(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	for path, ws := range e.wsPaths(readerKey) {
		t.Run(path, func(t *testing.T) {
			before := count(e.forwarded(), "chain_unsubscribeNewHeads")
			sub := decode(t, ws.roundTrip(req(1, "chain_subscribeNewHeads")))
			var id int
			if err := json.Unmarshal(sub.Result, &id); err != nil {
				t.Fatalf("subscription id %s: %v", sub.Result, err)
			}
			refused := []string{
				req(2, "state_unsubscribeStorage", id),      // another kind
				req(3, "chain_unsubscribeNewHeads", id+100), // never given
				req(4, "chain_unsubscribeNewHeads", float64(id)+0.5),
				`{"jsonrpc":"2.0","id":5,"method":"chain_unsubscribeNewHeads","params":["` + string(sub.Result) + `"]}`,
				`{"jsonrpc":"2.0","id":6,"method":"chain_unsubscribeNewHeads","params":[]}`,
			}
			for _, r := range refused {
				if a := decode(t, ws.roundTrip(r)); a.code() != 0 || string(a.Result) != "false" {
					t.Fatalf("%s: answer %+v", r, a)
				}
			}
			if a := decode(t, ws.roundTrip(req(7, "chain_unsubscribeNewHeads", id))); string(a.Result) != "true" {
				t.Fatalf("unsubscribe: %+v", a)
			}
			as := decodeBatch(t, ws.roundTrip("["+req(8, "chain_unsubscribeNewHeads", id)+","+req(9, "chain_unsubscribeNewHead", id)+"]"))
			if len(as) != 2 || string(as[0].Result) != "false" || string(as[1].Result) != "false" {
				t.Fatalf("repeated unsubscribe in a batch: %+v", as)
			}
			ws.send(`{"jsonrpc":"2.0","method":"chain_subscribeNewHeads","params":[]}`) // no id: never forwarded
			if a := decode(t, ws.roundTrip(req(10, "system_name"))); a.code() != 0 {
				t.Fatalf("after: %+v", a)
			}
			if got := count(e.forwarded(), "chain_unsubscribeNewHeads") - before; got != 1 {
				t.Fatalf("%d unsubscribes reached the node, want 1", got)
			}
		})
	}
	if got := count(e.forwarded(), "state_unsubscribeStorage") + count(e.forwarded(), "chain_unsubscribeNewHead"); got != 0 {
		t.Fatalf("%d refused unsubscribes reached the node", got)
	}
	if got := count(e.forwarded(), "chain_subscribeNewHeads"); got != 2 {
		t.Fatalf("%d subscribes reached the node, want 2 (one per session)", got)
	}
}

// TestSubscribeToAllStorageNeedsAGrant: state_subscribeStorage without keys (every storage
// change; gossamer sends its whole state on every block) needs the method named exactly.
func TestSubscribeToAllStorageNeedsAGrant(t *testing.T) {
	eachServer(t, testSubscribeToAllStorageNeedsAGrant)
}

func testSubscribeToAllStorageNeedsAGrant(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) {
		c.Roles["admin"] = config.Role{Allow: []string{"*", "state_subscribeStorage"}}
	}, srv)
	noKeys := []string{
		`{"jsonrpc":"2.0","id":1,"method":"state_subscribeStorage"}`,
		`{"jsonrpc":"2.0","id":1,"method":"state_subscribeStorage","params":null}`,
		req(1, "state_subscribeStorage"),
		req(1, "state_subscribeStorage", []string{}),
		req(1, "state_subscribeStorage", nil),
		`{"jsonrpc":"2.0","id":1,"method":"state_subscribeStorage","params":{"keys":[]}}`,
	}
	for path, ws := range e.wsPaths(readerKey) {
		for _, msg := range noKeys {
			if a := decode(t, ws.roundTrip(msg)); a.code() != CodeMethodDenied {
				t.Errorf("%s: %s: %+v", path, msg, a)
			}
		}
		for _, msg := range []string{req(2, "state_subscribeStorage", []string{"0x26aa"}), req(3, "state_subscribeStorage", "0x26aa")} {
			if a := decode(t, ws.roundTrip(msg)); a.code() != 0 {
				t.Errorf("%s: %s: %+v", path, msg, a)
			}
		}
	}
	if got := count(e.forwarded(), "state_subscribeStorage"); got != 4 {
		t.Fatalf("%d calls reached the node, want the 4 with keys", got)
	}
	admin, _ := e.dialWS("/", adminKey)
	if a := decode(t, admin.roundTrip(req(1, "state_subscribeStorage"))); a.code() != 0 {
		t.Fatalf("granted role: %+v", a)
	}
}

// TestSubscriptionsNeedAWebSocket: over HTTP, calls would share the node connections of every
// client, so subscribing and unsubscribing there (another client's subscription, twice) is
// refused.
func TestSubscriptionsNeedAWebSocket(t *testing.T) { eachServer(t, testSubscriptionsNeedAWebSocket) }

func testSubscriptionsNeedAWebSocket(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	for _, m := range []string{"chain_subscribeNewHeads", "chain_unsubscribeNewHeads", "chainHead_v1_follow", "author_unwatchExtrinsic"} {
		if _, got := e.post("/", readerKey, req(1, m, 1)); decode(t, got).code() != rpc.CodeInvalidRequest {
			t.Errorf("HTTP: %s answered %s", m, got)
		}
	}
	if calls := e.forwarded(); len(calls) != 0 {
		t.Fatalf("reached the node: %q", calls)
	}
}

// TestResponseSizeCap: an answer over limits.maxResponseBytes becomes an error for its caller
// on every path, and the node connections stay in use.
func TestResponseSizeCap(t *testing.T) { eachServer(t, testResponseSizeCap) }

func testResponseSizeCap(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxResponseBytes = 4096 }, srv)
	big := json.RawMessage(`"0x` + strings.Repeat("ab", 4096) + `"`)
	e.node.SetResult("state_getMetadata", big)   // a stateless call: shared connections
	e.node.SetResult("chainHead_v1_header", big) // connection-scoped: the session's own
	check := func(t *testing.T, what, got string) {
		t.Helper()
		if a := decode(t, got); a.code() != CodeResponseTooLarge {
			t.Errorf("%s: answer %.200s", what, got)
		}
	}
	_, got := e.post("/", readerKey, req(1, "state_getMetadata"))
	check(t, "HTTP", got)
	if _, got := e.post("/", readerKey, req(2, "system_name")); decode(t, got).code() != 0 {
		t.Errorf("HTTP after: %s", got)
	}
	for path, ws := range e.wsPaths(readerKey) {
		for _, m := range []string{"state_getMetadata", "chainHead_v1_header"} {
			check(t, "WebSocket "+path+" "+m, ws.roundTrip(req(1, m)))
		}
		if a := decode(t, ws.roundTrip(req(2, "system_name"))); a.code() != 0 {
			t.Errorf("WebSocket %s after: %+v", path, a)
		}
	}
	if !e.g.pool.Nodes()[0].Healthy() {
		t.Fatal("the node was taken out for a large answer")
	}
}

// TestRevokedKeyClosesWebSockets: once a key is removed from the key file, its open sessions
// (on either reader) are closed with 1008 at the next reload; other keys' sessions go on.
func TestRevokedKeyClosesWebSockets(t *testing.T) { eachServer(t, testRevokedKeyClosesWebSockets) }

func testRevokedKeyClosesWebSockets(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) { c.Auth.APIKeys.ReloadInterval = config.Duration(100 * time.Millisecond) }, srv)
	readers := e.wsPaths(readerKey)
	admin, _ := e.dialWS("/", adminKey)
	writeKeyFile(t, e.keyFile, auth.KeyEntry{ID: "admin", SHA256: auth.HashKey(adminKey), Role: "admin"})
	for path, ws := range readers {
		_ = ws.c.SetReadDeadline(time.Now().Add(5 * time.Second))
		_, _, err := ws.c.ReadMessage()
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
			t.Errorf("%s: read after revocation: %v, want close 1008", path, err)
		}
	}
	if status, _ := e.post("/", readerKey, req(1, "system_name")); status != 401 {
		t.Errorf("HTTP with the revoked key: %d", status)
	}
	if a := decode(t, admin.roundTrip(req(1, "system_name"))); a.code() != 0 {
		t.Fatalf("admin session after another key's revocation: %+v", a)
	}
	// A key moved to another role is revoked too; SIGHUP's ReloadKeys closes at once.
	writeKeyFile(t, e.keyFile, auth.KeyEntry{ID: "admin", SHA256: auth.HashKey(adminKey)})
	if err := e.g.ReloadKeys(); err != nil {
		t.Fatal(err)
	}
	_ = admin.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var ce *websocket.CloseError
	if _, _, err := admin.c.ReadMessage(); !errors.As(err, &ce) || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("admin after its role changed: %v", err)
	}
}
