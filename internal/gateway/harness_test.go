package gateway

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/gatewaytest"
	"github.com/dinfra/stack/internal/rpc/rpctest"
)

// Test keys: role "default" (everything safe) and role "admin" (also author_insertKey).
const (
	readerKey = "onf_test-reader-key-0123456789abcdefghijklmnopq"
	adminKey  = "onf_test-admin-key-0123456789abcdefghijklmnopqr"
)

// env is a gateway in front of a fake node, served by Serve on loopback (the fast server,
// or the reference one with withReferenceServer).
type env struct {
	t       *testing.T
	g       *Gateway
	url     string // http://127.0.0.1:port
	node    *rpctest.FakeNode
	keyFile string
	logs    *syncBuffer
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

func writeKeyFile(t *testing.T, file string, entries ...auth.KeyEntry) {
	t.Helper()
	b, err := json.Marshal(auth.KeyFile{Keys: entries})
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(file, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

// eachServer runs a behaviour test on both of the gateway's servers (server.go), as subtests:
// "fast" (the event loops, handing what they do not take on to net/http) and "nethttp" (the
// reference: net/http only). srv is the Option that picks the server, for New or newEnv.
func eachServer(t *testing.T, test func(t *testing.T, srv Option)) {
	t.Run("fast", func(t *testing.T) { test(t, func(*Gateway) {}) })
	t.Run("nethttp", func(t *testing.T) { test(t, withReferenceServer()) })
}

// newEnv starts a gateway; edit adjusts the config before it is defaulted.
func newEnv(t *testing.T, edit func(*config.Config), opts ...Option) *env {
	t.Helper()
	node := rpctest.NewFakeNode(t, "gossamer")
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "keys.yaml")
	writeKeyFile(t, keyFile,
		auth.KeyEntry{ID: "reader", SHA256: auth.HashKey(readerKey)},
		auth.KeyEntry{ID: "admin", SHA256: auth.HashKey(adminKey), Role: "admin"})
	cfg := &config.Config{
		Upstreams: []config.Upstream{{Name: "fake", HTTP: node.HTTPURL(), WS: node.WSURL()}},
		Auth:      config.Auth{APIKeys: &config.APIKeys{File: keyFile}},
		Roles: map[string]config.Role{ // the fake node's test_ methods are named, as a runtime's own RPCs would be
			config.DefaultRole: {Allow: []string{"*", "test_answersLater", "test_neverAnswers"}},
			"admin":            {Allow: []string{"*", "author_insertKey", "test_answersLater", "test_neverAnswers"}},
		},
	}
	if edit != nil {
		edit(cfg)
	}
	cfg.Default()
	logs := &syncBuffer{}
	opts = append([]Option{WithLogger(slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})))}, opts...)
	g, err := New(cfg, opts...)
	if err != nil {
		t.Fatal(err)
	}
	e := &env{t: t, g: g, url: serve(t, g), node: node, keyFile: keyFile, logs: logs}
	t.Cleanup(func() {
		for _, secret := range []string{readerKey, adminKey} {
			if strings.Contains(logs.String(), secret) {
				t.Errorf("a key appears in the logs")
			}
		}
	})
	return e
}

// serve runs g.Serve on a loopback port until the test ends, and returns its URL.
func serve(t testing.TB, g *Gateway) string {
	t.Helper()
	addr, cancel, done := startServe(t, g)
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return "http://" + addr
}

// startServe runs g.Serve on a loopback port; cancel ends it and done gets its result.
func startServe(t testing.TB, g *Gateway) (addr string, cancel context.CancelFunc, done <-chan error) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	result := make(chan error, 1)
	go func() { result <- g.Serve(ctx, ln) }()
	return ln.Addr().String(), cancel, result
}

// waitServed waits for the result of a Serve started by startServe, which must end cleanly.
func waitServed(t testing.TB, done <-chan error) {
	t.Helper()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Serve: %v", err)
		}
	case <-time.After(15 * time.Second):
		t.Fatal("Serve did not return")
	}
}

func (e *env) wsURL(path string) string { return "ws" + strings.TrimPrefix(e.url, "http") + path }

// post sends body with the key (none if empty) and returns status and answer.
func (e *env) post(path, key, body string) (int, string) {
	e.t.Helper()
	return gatewaytest.Post(e.t, e.url+path, key, body)
}

// dialWS opens a raw WebSocket through the gateway; the status is that of a refused handshake.
func (e *env) dialWS(path, key string) (*wsConn, int) {
	e.t.Helper()
	h := http.Header{}
	if key != "" {
		h.Set("X-Api-Key", key)
	}
	c, resp, err := websocket.DefaultDialer.Dial(e.wsURL(path), h)
	if err != nil {
		if resp == nil {
			e.t.Fatalf("dial: %v", err)
		}
		return nil, resp.StatusCode
	}
	e.t.Cleanup(func() { _ = c.Close() })
	return &wsConn{t: e.t, c: c}, http.StatusSwitchingProtocols
}

type wsConn struct {
	t *testing.T
	c *websocket.Conn
}

func (w *wsConn) send(msg string) {
	w.t.Helper()
	if err := w.c.WriteMessage(websocket.TextMessage, []byte(msg)); err != nil {
		w.t.Fatal(err)
	}
}

func (w *wsConn) read() string {
	w.t.Helper()
	_ = w.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	_, b, err := w.c.ReadMessage()
	if err != nil {
		w.t.Fatalf("read: %v", err)
	}
	return string(b)
}

// roundTrip sends msg and returns the next message.
func (w *wsConn) roundTrip(msg string) string {
	w.t.Helper()
	w.send(msg)
	return w.read()
}

// answer is a decoded single answer.
type answer struct {
	ID     json.RawMessage `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

func decode(t *testing.T, s string) answer {
	t.Helper()
	var a answer
	if err := json.Unmarshal([]byte(s), &a); err != nil {
		t.Fatalf("answer %q: %v", s, err)
	}
	return a
}

func decodeBatch(t *testing.T, s string) []answer {
	t.Helper()
	var as []answer
	if err := json.Unmarshal([]byte(s), &as); err != nil {
		t.Fatalf("batch answer %q: %v", s, err)
	}
	return as
}

func (a answer) code() int {
	if a.Error == nil {
		return 0
	}
	return a.Error.Code
}

func req(id any, method string, params ...any) string {
	if params == nil {
		params = []any{}
	}
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": id, "method": method, "params": params})
	return string(b)
}

// forwarded returns the methods of the calls that reached the node, leaving out the
// gateway's own system_health probes (tests never call system_health themselves).
func (e *env) forwarded() []string {
	var out []string
	for _, c := range e.node.Calls() {
		if !(c.Method == "system_health" && !c.IsNotification()) {
			out = append(out, c.Method)
		}
	}
	return out
}

func count(methods []string, m string) int {
	n := 0
	for _, x := range methods {
		if x == m {
			n++
		}
	}
	return n
}
