package security

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/gatewaytest"
	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/rpc/rpctest"
)

// gatewayUnderAttack is a gateway, configured from a file as `onf gateway run` is, in front of
// a real gossamer node, on loopback.
type gatewayUnderAttack struct {
	t       *testing.T
	addr    string
	node    *rpctest.Gossamer
	keyFile string
	keys    map[string]string // id -> key
	gw      *gateway.Gateway
}

// gatewayKeyEntries are the test's keys: "reader" (role default: every safe method),
// "ops" (also the heavy syncstate_genSyncSpec), "flooder" (a low rate), "victim".
var gatewayKeyEntries = []auth.KeyEntry{
	{ID: "reader"}, {ID: "ops", Role: "ops"},
	{ID: "flooder", Limits: &config.LimitSet{CallsPerSecond: 20, Burst: 20}}, {ID: "victim"},
}

func gatewayStart(t *testing.T, node *rpctest.Gossamer) *gatewayUnderAttack {
	t.Helper()
	dir := t.TempDir()
	g := &gatewayUnderAttack{t: t, node: node, keyFile: filepath.Join(dir, "keys.json"), keys: map[string]string{}}
	var entries []auth.KeyEntry
	for _, e := range gatewayKeyEntries {
		key, err := auth.NewKey()
		if err != nil {
			t.Fatal(err)
		}
		g.keys[e.ID] = key
		e.SHA256 = auth.HashKey(key)
		entries = append(entries, e)
	}
	g.writeKeys(entries...)
	secret := filepath.Join(dir, "jwt-secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	cfgFile := filepath.Join(dir, "gateway.yaml")
	cfg := fmt.Sprintf(`upstreams: [{name: gossamer, http: %q, ws: %q}]
auth:
  apiKeys: {file: %q, reloadInterval: 200ms}
  jwt: {hs256SecretFile: %q}
roles:
  default: {allow: ["*"]}
  ops: {allow: ["*", "syncstate_genSyncSpec", "state_trie"]}
limits:
  maxRequestBytes: 65536
`, node.HTTPURL, node.WSURL, g.keyFile, secret)
	if err := os.WriteFile(cfgFile, []byte(cfg), 0o600); err != nil {
		t.Fatal(err)
	}
	c, err := config.Load(cfgFile)
	if err != nil {
		t.Fatal(err)
	}
	if g.gw, err = gateway.New(c); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- g.gw.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	return g
}

func (g *gatewayUnderAttack) writeKeys(entries ...auth.KeyEntry) {
	b, _ := json.Marshal(auth.KeyFile{Keys: entries})
	if err := os.WriteFile(g.keyFile, b, 0o600); err != nil {
		g.t.Fatal(err)
	}
}

// post sends body over HTTP with the key of id ("" for none) and returns status and answer.
func (g *gatewayUnderAttack) post(id, body string) (int, string) {
	g.t.Helper()
	return gatewaytest.Post(g.t, "http://"+g.addr+"/", g.keys[id], body)
}

// ws opens a WebSocket with the key of id.
func (g *gatewayUnderAttack) ws(id string) *websocket.Conn {
	g.t.Helper()
	c, _, err := websocket.DefaultDialer.Dial("ws://"+g.addr+"/", http.Header{"X-Api-Key": {g.keys[id]}})
	if err != nil {
		g.t.Fatal(err)
	}
	g.t.Cleanup(func() { _ = c.Close() })
	return c
}

// nodeAlive fails the test if gossamer no longer answers directly.
func (g *gatewayUnderAttack) nodeAlive() {
	g.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, err := rpc.Dial(ctx, g.node.HTTPURL)
	if err == nil {
		defer c.Close()
		_, err = c.Status(ctx)
	}
	if err != nil {
		log, _ := os.ReadFile(g.node.Log)
		g.t.Fatalf("gossamer no longer answers: %v\n%s", err, gatewayTail(log))
	}
}

func gatewayTail(b []byte) string {
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

type gatewayAnswer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *rpc.Error      `json:"error"`
}

func (a gatewayAnswer) code() int {
	if a.Error == nil {
		return 0
	}
	return a.Error.Code
}

func gatewayDecode(t *testing.T, s []byte) gatewayAnswer {
	t.Helper()
	var a gatewayAnswer
	if err := json.Unmarshal(s, &a); err != nil {
		t.Fatalf("answer %.300q: %v", s, err)
	}
	return a
}

func gatewayReq(id any, method string, params ...any) string {
	if params == nil {
		params = []any{}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return string(b)
}

// gatewayCall sends msg on c and returns the next answer (skipping notifications).
func gatewayCall(t *testing.T, c *websocket.Conn, msg string) gatewayAnswer {
	t.Helper()
	if err := c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		t.Fatal(err)
	}
	for {
		_ = c.SetReadDeadline(time.Now().Add(20 * time.Second))
		_, b, err := c.ReadMessage()
		if err != nil {
			t.Fatalf("read: %v", err)
		}
		if !bytes.Contains(b, []byte(`"params"`)) {
			return gatewayDecode(t, b)
		}
	}
}

// gatewayClosedWith reads c until it is closed and checks the close code.
func gatewayClosedWith(t *testing.T, c *websocket.Conn, code int) {
	t.Helper()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	for {
		_, _, err := c.ReadMessage()
		if err == nil {
			continue
		}
		var ce *websocket.CloseError
		if !errors.As(err, &ce) || ce.Code != code {
			t.Fatalf("connection ended with %v, want close code %d", err, code)
		}
		return
	}
}

// TestGatewayAttacks plays attackers against the gateway in front of one real gossamer node.
func TestGatewayAttacks(t *testing.T) {
	node := rpctest.StartGossamer(t)
	g := gatewayStart(t, node)

	// Issue 11.3: gossamer panics ("close of closed channel") on a second unsubscribe for the
	// same subscription, and every client is then refused until it restarts.
	t.Run("repeated unsubscribe never reaches the node", func(t *testing.T) {
		c := g.ws("reader")
		for range 4 {
			sub := gatewayCall(t, c, gatewayReq(1, "chain_subscribeNewHeads"))
			if sub.code() != 0 {
				t.Fatalf("subscribe: %+v", sub)
			}
			var id any
			_ = json.Unmarshal(sub.Result, &id)
			if a := gatewayCall(t, c, gatewayReq(2, "chain_unsubscribeNewHeads", id)); string(a.Result) != "true" {
				t.Fatalf("unsubscribe: %+v", a)
			}
			for _, again := range []string{
				gatewayReq(3, "chain_unsubscribeNewHeads", id),
				gatewayReq(4, "state_unsubscribeStorage", id),
				gatewayReq(5, "chain_unsubscribeFinalizedHeads", id),
				`{"jsonrpc":"2.0","id":6,"method":"chain_unsubscribeNewHeads","params":["` + string(sub.Result) + `"]}`,
			} {
				if a := gatewayCall(t, c, again); string(a.Result) != "false" {
					t.Fatalf("%s: %+v", again, a)
				}
			}
		}
		// Over HTTP a call shares the node's connections with every client: no subscriptions.
		for _, m := range []string{"chain_subscribeNewHeads", "chain_unsubscribeNewHeads"} {
			if _, body := g.post("reader", gatewayReq(1, m, 1)); gatewayDecode(t, []byte(body)).code() != rpc.CodeInvalidRequest {
				t.Fatalf("HTTP %s: %s", m, body)
			}
		}
		g.nodeAlive()
		if a := gatewayCall(t, g.ws("reader"), gatewayReq(9, "system_health")); a.code() != 0 {
			t.Fatalf("after: %+v", a)
		}
	})

	// Issue 11.6: every method the node lists is classified, and a wildcard reaches none of
	// the unsafe or heavy ones, under any spelling.
	t.Run("method policy", func(t *testing.T) {
		_, body := g.post("reader", gatewayReq(1, "rpc_methods"))
		var methods struct {
			Methods []string `json:"methods"`
		}
		if err := json.Unmarshal(gatewayDecode(t, []byte(body)).Result, &methods); err != nil || len(methods.Methods) < 40 {
			t.Fatalf("rpc_methods: %v %.300s", err, body)
		}
		for _, m := range methods.Methods {
			if policy.Classify(m) == policy.Unknown {
				t.Errorf("gossamer's %s is not classified in internal/gateway/policy/methods.go", m)
			}
		}
		c := g.ws("reader")
		for _, tt := range []struct {
			method string
			code   int
		}{
			{"state_trie", gateway.CodeMethodDenied},
			{"state_queryStorage", gateway.CodeMethodDenied},
			{"syncstate_genSyncSpec", gateway.CodeMethodDenied},
			{"state_getKeysPaged", gateway.CodeMethodDenied},
			{"state_getPairs", gateway.CodeMethodDenied},
			{"author_rotateKeys", gateway.CodeMethodDenied},
			{"author_insertKey", gateway.CodeMethodDenied},
			{"system_addReservedPeer", gateway.CodeMethodDenied},
			{"Author_rotateKeys", rpc.CodeInvalidRequest},
			{"аuthor_rotateKeys", rpc.CodeInvalidRequest}, // Cyrillic а
			{"author_rotateKeys ", rpc.CodeInvalidRequest},
			{"author_rotateKeys\x00", rpc.CodeInvalidRequest},
			{"author_rotateKeys\t", rpc.CodeInvalidRequest},
			{"", rpc.CodeInvalidRequest},
			{strings.Repeat("a", 4000) + "_x", rpc.CodeInvalidRequest},
			{"author_rotatekeys", rpc.CodeMethodNotFound},
		} {
			msg := gatewayReq(1, tt.method, []string{"0x00"})
			if _, body := g.post("reader", msg); gatewayDecode(t, []byte(body)).code() != tt.code {
				t.Errorf("HTTP %.40q: %s", tt.method, body)
			}
			if a := gatewayCall(t, c, msg); a.code() != tt.code {
				t.Errorf("WebSocket %.40q: %+v", tt.method, a)
			}
		}
		// Without keys, gossamer would send its whole state (2.3 MB) on every block.
		if a := gatewayCall(t, c, gatewayReq(2, "state_subscribeStorage")); a.code() != gateway.CodeMethodDenied {
			t.Errorf("state_subscribeStorage without keys: %+v", a)
		}
	})

	// Issue 11.6: syncstate_genSyncSpec answers 4.5 MB to a 100-byte call; even a role
	// granted it gets an error over limits.maxResponseBytes, and the node connection goes on.
	t.Run("response size cap", func(t *testing.T) {
		c := g.ws("ops")
		if a := gatewayCall(t, c, gatewayReq(1, "state_getMetadata")); a.code() != 0 || len(a.Result) < 100<<10 {
			t.Fatalf("metadata (must fit the default cap): code %d, %d bytes", a.code(), len(a.Result))
		}
		if a := gatewayCall(t, c, gatewayReq(2, "syncstate_genSyncSpec", true)); a.code() != gateway.CodeResponseTooLarge {
			t.Fatalf("genSyncSpec: %+v", a.Error)
		}
		if _, body := g.post("ops", gatewayReq(3, "syncstate_genSyncSpec", true)); gatewayDecode(t, []byte(body)).code() != gateway.CodeResponseTooLarge {
			t.Fatalf("HTTP genSyncSpec: %.300s", body)
		}
		if a := gatewayCall(t, c, gatewayReq(4, "system_health")); a.code() != 0 {
			t.Fatalf("after: %+v", a)
		}
	})

	t.Run("authentication", func(t *testing.T) {
		none := "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4IiwiZXhwIjo0MTAyNDQ0ODAwfQ." // alg none
		for _, h := range []http.Header{{}, {"X-Api-Key": {"onf_bogus"}}, {"Authorization": {"Bearer " + none}}} {
			_, resp, err := websocket.DefaultDialer.Dial("ws://"+g.addr+"/", h)
			if err == nil || resp == nil || resp.StatusCode != http.StatusUnauthorized {
				t.Errorf("WebSocket with %v: %v", h, err)
			}
		}
		if _, resp, err := websocket.DefaultDialer.Dial("ws://"+g.addr+"/?apikey="+g.keys["reader"], nil); err == nil || resp.StatusCode != http.StatusUnauthorized {
			t.Errorf("key in the URL (allowQueryKey off): %v", err)
		}
		if status, _ := g.post("", gatewayReq(1, "system_name")); status != http.StatusUnauthorized {
			t.Errorf("HTTP without a key: %d", status)
		}
	})

	t.Run("oversized and malformed input", func(t *testing.T) {
		if status, _ := g.post("reader", gatewayReq(1, "system_name", strings.Repeat("x", 70000))); status != http.StatusRequestEntityTooLarge {
			t.Errorf("oversized body: %d", status)
		}
		if status, body := g.post("reader", `{"jsonrpc":"2.0","id":1,"method":`); status != http.StatusBadRequest || gatewayDecode(t, []byte(body)).code() != rpc.CodeParseError {
			t.Errorf("malformed JSON: %d %s", status, body)
		}
		c := g.ws("reader")
		if a := gatewayCall(t, c, gatewayReq(1, "system_name", strings.Repeat("x", 70000))); a.code() != rpc.CodeInvalidRequest {
			t.Errorf("oversized message: %+v", a)
		}
		if a := gatewayCall(t, c, `[`+strings.Repeat(`{"jsonrpc":"2.0","id":1,"method":"system_name"},`, 150)+`1]`); a.code() != rpc.CodeInvalidRequest {
			t.Errorf("batch over maxBatch: %+v", a)
		}
		if a := gatewayCall(t, c, gatewayReq(2, "system_name")); a.code() != 0 {
			t.Errorf("connection after refusals: %+v", a)
		}
		// Far over the limit closes with 1009; an unmasked frame breaks the protocol: 1002.
		big := g.ws("reader")
		_ = big.WriteMessage(websocket.TextMessage, bytes.Repeat([]byte("x"), 17<<20))
		gatewayClosedWith(t, big, websocket.CloseMessageTooBig)
		bad := g.ws("reader")
		if _, err := bad.UnderlyingConn().Write([]byte{0x81, 0x02, '{', '}'}); err != nil {
			t.Fatal(err)
		}
		gatewayClosedWith(t, bad, websocket.CloseProtocolError)
		// Garbage instead of HTTP gets a 400 from net/http.
		raw, err := net.Dial("tcp", g.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		_, _ = raw.Write([]byte("\x00\xff GARBAGE\r\n\r\n"))
		_ = raw.SetReadDeadline(time.Now().Add(5 * time.Second))
		if line, _ := bufio.NewReader(raw).ReadString('\n'); !strings.HasPrefix(line, "HTTP/1.1 400") {
			t.Errorf("garbage request: %q", line)
		}
	})

	// Issue 11.5: a removed key's open WebSocket is closed at the next reload.
	t.Run("revoked key", func(t *testing.T) {
		c := g.ws("victim")
		if a := gatewayCall(t, c, gatewayReq(1, "chain_subscribeNewHeads")); a.code() != 0 {
			t.Fatalf("subscribe: %+v", a)
		}
		var kept []auth.KeyEntry
		for _, e := range gatewayKeyEntries {
			if e.ID != "victim" {
				e.SHA256 = auth.HashKey(g.keys[e.ID])
				kept = append(kept, e)
			}
		}
		g.writeKeys(kept...)
		gatewayClosedWith(t, c, websocket.ClosePolicyViolation)
		if status, _ := g.post("victim", gatewayReq(1, "system_name")); status != http.StatusUnauthorized {
			t.Errorf("HTTP with the revoked key: %d", status)
		}
	})

	// Slow clients holding connections open with half a request head cannot starve others,
	// and are dropped once the head timeout (10 s) passes.
	t.Run("slowloris", func(t *testing.T) {
		const n = 100
		var slow []net.Conn
		for range n {
			c, err := net.Dial("tcp", g.addr)
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			if _, err := c.Write([]byte("POST / HTTP/1.1\r\nHost: gw\r\nX-Slow: ")); err != nil {
				t.Fatal(err)
			}
			slow = append(slow, c)
		}
		start := time.Now()
		if status, body := g.post("reader", gatewayReq(1, "system_name")); status != 200 || time.Since(start) > 2*time.Second {
			t.Fatalf("legitimate call among %d slow clients: %d %s after %v", n, status, body, time.Since(start))
		}
		for _, c := range slow {
			_, _ = c.Write([]byte("a")) // trickle: a byte now and then does not extend the head timeout
		}
		for i, c := range slow {
			_ = c.SetReadDeadline(start.Add(20 * time.Second))
			if _, err := io.Copy(io.Discard, c); err != nil {
				t.Fatalf("slow client %d not dropped: %v", i, err)
			}
		}
		if waited := time.Since(start); waited > 15*time.Second {
			t.Fatalf("slow clients dropped after %v", waited)
		}
	})

	// A key flooding the gateway far over its rate is refused call by call, and another
	// key's client is still served promptly.
	t.Run("flood with a legitimate client served", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
		defer cancel()
		var sent, limited atomic.Int64
		var wg sync.WaitGroup
		for range 4 {
			c := g.ws("flooder")
			wg.Go(func() { // reader: count the answers
				for {
					_, b, err := c.ReadMessage()
					if err != nil {
						return
					}
					if bytes.Contains(b, []byte("rate limit")) {
						limited.Add(1)
					}
				}
			})
			wg.Go(func() { // 2000 calls a second each, 100 times the key's rate
				msg := []byte(gatewayReq(1, "system_name"))
				for tick := time.NewTicker(10 * time.Millisecond); ctx.Err() == nil; <-tick.C {
					for range 20 {
						if c.WriteMessage(websocket.TextMessage, msg) != nil {
							return
						}
						sent.Add(1)
					}
				}
				_ = c.SetReadDeadline(time.Now().Add(2 * time.Second))
			})
		}
		victim := g.ws("reader")
		var worst time.Duration
		calls := 0
		for ctx.Err() == nil {
			start := time.Now()
			if a := gatewayCall(t, victim, gatewayReq(calls, "system_health")); a.code() != 0 {
				t.Fatalf("legitimate call %d during the flood: %+v", calls, a)
			}
			worst = max(worst, time.Since(start))
			calls++
			time.Sleep(20 * time.Millisecond) // paces the legitimate client: about 50 calls a second
		}
		wg.Wait()
		t.Logf("flood: %d calls sent, %d rate-limited; legitimate client: %d calls, slowest %v", sent.Load(), limited.Load(), calls, worst)
		if limited.Load() < sent.Load()/2 || worst > 500*time.Millisecond || calls < 50 {
			t.Fatalf("flood: %d sent, %d limited; legitimate: %d calls, slowest %v", sent.Load(), limited.Load(), calls, worst)
		}
		g.nodeAlive()
	})
}
