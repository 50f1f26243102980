// Package rpctest holds test helpers for code that talks to Substrate nodes: a fake node that
// answers from responses recorded from a real gossamer node, and a helper that starts a real
// gossamer node for integration tests.
package rpctest

import (
	"embed"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"path"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/rpc"
	"github.com/gorilla/websocket"
)

//go:embed recorded
var recorded embed.FS

// Recorded returns the results recorded from a real node of the given flavor ("gossamer"),
// keyed by method. They were captured with `go test ./internal/rpc -run TestGossamer -record`.
func Recorded(t testing.TB, flavor string) map[string]json.RawMessage {
	t.Helper()
	dir := path.Join("recorded", flavor)
	entries, err := recorded.ReadDir(dir)
	if err != nil || len(entries) == 0 {
		t.Fatalf("no recorded responses for %s: %v", flavor, err)
	}
	out := map[string]json.RawMessage{}
	for _, e := range entries {
		b, err := recorded.ReadFile(path.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		out[strings.TrimSuffix(e.Name(), ".json")] = json.RawMessage(strings.TrimSpace(string(b)))
	}
	return out
}

// FakeNode answers JSON-RPC over HTTP and WebSocket (same URL path) from recorded results,
// and records every call it receives so tests can count what reached it.
type FakeNode struct {
	t   testing.TB
	srv *httptest.Server

	mu      sync.Mutex
	results map[string]json.RawMessage
	// afterSubscribe is sent on the WebSocket right after the answer to a subscribe call, so
	// notifications that race the answer are exercised.
	afterSubscribe []json.RawMessage
	calls          []rpc.Request
	headers        []http.Header
	conns          map[*websocket.Conn]*sync.Mutex // connection -> its write lock
	nextSub        int
}

// NewFakeNode starts a fake node answering with the recorded results of flavor.
func NewFakeNode(t testing.TB, flavor string) *FakeNode {
	t.Helper()
	n := &FakeNode{t: t, results: Recorded(t, flavor), conns: map[*websocket.Conn]*sync.Mutex{}, nextSub: 7}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.srv.Close)
	return n
}

// HTTPURL and WSURL are the node's endpoints.
func (n *FakeNode) HTTPURL() string { return n.srv.URL }
func (n *FakeNode) WSURL() string   { return "ws" + strings.TrimPrefix(n.srv.URL, "http") }

// SetResult changes the result the node gives for method.
func (n *FakeNode) SetResult(method string, result json.RawMessage) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.results[method] = result
}

// Result returns the result the node gives for method.
func (n *FakeNode) Result(method string) json.RawMessage {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.results[method]
}

// AfterSubscribe makes the node send these results as notifications right after it answers
// a subscribe call.
func (n *FakeNode) AfterSubscribe(results ...json.RawMessage) {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.afterSubscribe = results
}

// Calls returns every call received so far.
func (n *FakeNode) Calls() []rpc.Request {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]rpc.Request(nil), n.calls...)
}

// Methods returns the method of every call received so far.
func (n *FakeNode) Methods() []string {
	var out []string
	for _, c := range n.Calls() {
		out = append(out, c.Method)
	}
	return out
}

// LastHeader returns the headers of the last HTTP request or WebSocket handshake.
func (n *FakeNode) LastHeader() http.Header {
	n.mu.Lock()
	defer n.mu.Unlock()
	if len(n.headers) == 0 {
		return nil
	}
	return n.headers[len(n.headers)-1]
}

// Push sends a subscription notification to every open WebSocket.
func (n *FakeNode) Push(method, subID string, result json.RawMessage) {
	n.mu.Lock()
	conns := make([]*websocket.Conn, 0, len(n.conns))
	for c := range n.conns {
		conns = append(conns, c)
	}
	n.mu.Unlock()
	for _, c := range conns {
		n.write(c, notification(method, subID, result))
	}
}

// DropConnections closes every open WebSocket.
func (n *FakeNode) DropConnections() {
	n.mu.Lock()
	defer n.mu.Unlock()
	for c := range n.conns {
		_ = c.Close()
	}
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (n *FakeNode) serve(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	n.headers = append(n.headers, r.Header.Clone())
	n.mu.Unlock()
	if websocket.IsWebSocketUpgrade(r) {
		n.serveWS(w, r)
		return
	}
	body, _ := io.ReadAll(r.Body)
	out, _, later := n.answer(body)
	if later {
		time.Sleep(answerLaterDelay)
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(out)
}

func (n *FakeNode) serveWS(w http.ResponseWriter, r *http.Request) {
	conn, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	n.mu.Lock()
	n.conns[conn] = &sync.Mutex{}
	n.mu.Unlock()
	defer func() {
		n.mu.Lock()
		delete(n.conns, conn)
		n.mu.Unlock()
		_ = conn.Close()
	}()
	for {
		_, msg, err := conn.ReadMessage()
		if err != nil {
			return
		}
		out, subscribed, later := n.answer(msg)
		switch {
		case out != nil && later:
			time.AfterFunc(answerLaterDelay, func() { n.write(conn, out) })
		case out != nil:
			n.write(conn, out)
		}
		if subscribed != "" {
			n.mu.Lock()
			after := n.afterSubscribe
			n.mu.Unlock()
			for _, r := range after {
				n.write(conn, notification("chain_newHead", subscribed, r))
			}
		}
	}
}

func (n *FakeNode) write(conn *websocket.Conn, msg []byte) {
	n.mu.Lock()
	mu := n.conns[conn]
	n.mu.Unlock()
	if mu == nil {
		return
	}
	mu.Lock()
	defer mu.Unlock()
	_ = conn.WriteMessage(websocket.TextMessage, msg)
}

func notification(method, subID string, result json.RawMessage) []byte {
	b, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "method": method,
		"params": map[string]any{"subscription": json.RawMessage(subID), "result": result}})
	return b
}

// answerLaterDelay is how long the fake node takes to answer test_answersLater.
const answerLaterDelay = 300 * time.Millisecond

// answer returns the reply to msg and, for a subscribe call, the subscription id it gave.
// The method test_neverAnswers is recorded but never answered; test_answersLater is answered
// (with true) after answerLaterDelay (later), while other calls go on.
func (n *FakeNode) answer(msg []byte) (out []byte, subscribed string, later bool) {
	elems, batch, err := rpc.SplitBatch(msg)
	if err != nil {
		n.t.Errorf("fake node got malformed message %q", msg)
		return nil, "", false
	}
	var resps []rpc.Response
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, e := range elems {
		var req rpc.Request
		if err := json.Unmarshal(e, &req); err != nil {
			n.t.Errorf("fake node got bad request %q", e)
			continue
		}
		n.calls = append(n.calls, req)
		if req.Method == "test_neverAnswers" || req.IsNotification() {
			continue
		}
		resp := rpc.Response{JSONRPC: rpc.Version, ID: req.ID}
		switch res, ok := n.results[req.Method]; {
		case strings.Contains(req.Method, "_subscribe"):
			subscribed = strconv.Itoa(n.nextSub) // gossamer gives numeric subscription ids
			n.nextSub++
			resp.Result = json.RawMessage(subscribed)
		case strings.Contains(req.Method, "_unsubscribe"):
			resp.Result = json.RawMessage("true")
		case req.Method == "test_answersLater":
			resp.Result, later = json.RawMessage("true"), true
		case ok:
			resp.Result = res
		default:
			resp.Error = &rpc.Error{Code: rpc.CodeMethodNotFound, Message: "Method not found"}
		}
		resps = append(resps, resp)
	}
	if len(resps) == 0 {
		return nil, "", false
	}
	if batch {
		out, _ = json.Marshal(resps)
	} else {
		out, _ = json.Marshal(resps[0])
	}
	return out, subscribed, later
}
