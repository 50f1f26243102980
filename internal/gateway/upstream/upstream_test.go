package upstream

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc/rpctest"
)

// chanAnswerer collects the answers of a Mux in a channel.
type chanAnswerer chan string

func (c chanAnswerer) Answer(msg []byte, err error) {
	if err != nil {
		c <- "error: " + err.Error()
		return
	}
	c <- string(msg)
}

// testCall calls method and reports the answer to an Answerer.
type testCall struct {
	method string
	Answerer
}

func request(method string, a Answerer) testCall { return testCall{method, a} }

func (c testCall) AppendRequest(dst []byte, id uint64) []byte {
	return fmt.Appendf(dst, `{"jsonrpc":"2.0","id":%d,"method":%q,"params":[]}`, id, c.method)
}

func TestMuxSharesConnectionsAndRecovers(t *testing.T) {
	node := rpctest.NewFakeNode(t, "gossamer")
	m := NewMux(node.WSURL(), 1<<20)
	defer m.Close()
	ctx := context.Background()
	const n = 200
	answers := make(chanAnswerer, n)
	var wg sync.WaitGroup
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := m.Send(ctx, nil, request("system_name", answers)); err != nil {
				answers <- "error: " + err.Error()
			}
		}()
	}
	wg.Wait()
	for range n {
		if a := <-answers; !strings.Contains(a, `"result":"Gossamer"`) {
			t.Fatalf("answer %s", a)
		}
	}
	// A call the node never answers: the caller gives up and cancels it.
	tk, err := m.Send(ctx, nil, request("test_neverAnswers", answers))
	if err != nil || !tk.Cancel() {
		t.Fatalf("cancel of an unanswered call: %v", err)
	}
	// The node drops its connections: waiting calls fail, the next ones redial.
	for range muxConns {
		if _, err := m.Send(ctx, nil, request("test_neverAnswers", answers)); err != nil {
			t.Fatal(err)
		}
	}
	node.DropConnections()
	for range muxConns {
		if a := <-answers; !strings.HasPrefix(a, "error: ") {
			t.Fatalf("pending call after the node dropped the connection: %s", a)
		}
	}
	for range 2 * muxConns {
		if _, err := m.Send(ctx, nil, request("system_chain", answers)); err != nil {
			t.Fatal(err)
		}
		if a := <-answers; !strings.Contains(a, `"Development"`) {
			t.Fatalf("after redial: %s", a)
		}
	}
}

// TestMuxFraming covers what the fake node does not: pings, fragmented and oversized answers.
func TestMuxFraming(t *testing.T) {
	pongs := make(chan string, 1)
	up := websocket.Upgrader{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := up.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer c.Close()
		c.SetPongHandler(func(s string) error {
			select {
			case pongs <- s:
			default:
			}
			return nil
		})
		_ = c.WriteControl(websocket.PingMessage, []byte("hi"), time.Now().Add(time.Second))
		for {
			_, msg, err := c.ReadMessage()
			if err != nil {
				return
			}
			var req struct{ ID uint64 }
			_ = json.Unmarshal(msg, &req)
			// The answer in two fragments, with a ping between them.
			ans := fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"result":"%s"}`, req.ID, strings.Repeat("x", 100*int(req.ID)))
			wr, _ := c.NextWriter(websocket.TextMessage)
			_, _ = wr.Write([]byte(ans[:10]))
			_ = c.WriteControl(websocket.PingMessage, nil, time.Now().Add(time.Second))
			_, _ = wr.Write([]byte(ans[10:]))
			_ = wr.Close()
		}
	}))
	defer srv.Close()
	m := NewMux("ws"+strings.TrimPrefix(srv.URL, "http"), 1000)
	defer m.Close()
	answers := make(chanAnswerer, 1)
	if _, err := m.Send(context.Background(), nil, request("a", answers)); err != nil {
		t.Fatal(err)
	}
	if a := <-answers; a != `{"jsonrpc":"2.0","id":1,"result":"`+strings.Repeat("x", 100)+`"}` {
		t.Fatalf("fragmented answer: %s", a)
	}
	select {
	case p := <-pongs:
		if p != "hi" {
			t.Fatalf("pong %q", p)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no pong")
	}
	// Each connection's ids grow, and with them the answers, until one exceeds the 1000-byte
	// limit and ends its connection.
	for range 12 * muxConns {
		if _, err := m.Send(context.Background(), nil, request("a", answers)); err != nil {
			t.Fatal(err)
		}
		if a := <-answers; strings.HasPrefix(a, "error: ") {
			if !strings.Contains(a, "larger than the limit") {
				t.Fatalf("oversized answer: %s", a)
			}
			return
		}
	}
	t.Fatal("an answer over the limit was accepted")
}

func TestPoolHealthAndSelection(t *testing.T) {
	a := rpctest.NewFakeNode(t, "gossamer")
	b := rpctest.NewFakeNode(t, "gossamer")
	hc := config.HealthCheck{Interval: config.Duration(time.Second), Timeout: config.Duration(time.Second)}
	var changes atomic.Int64
	p, err := New([]config.Upstream{
		{Name: "a", HTTP: a.HTTPURL(), WS: a.WSURL()},
		{Name: "b", HTTP: b.HTTPURL(), WS: b.WSURL()},
		{Name: "down", HTTP: "http://127.0.0.1:1", WS: "ws://127.0.0.1:1"},
	}, hc, slog.New(slog.DiscardHandler), func(string, bool) { changes.Add(1) })
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	if _, ok := p.PickHTTP(); ok {
		t.Fatal("a node was picked before any probe")
	}
	p.CheckAll(context.Background())
	seen := map[string]int{}
	for range 10 {
		n, ok := p.PickHTTP()
		if !ok {
			t.Fatal("no node")
		}
		seen[n.Name]++
	}
	if seen["a"] != 5 || seen["b"] != 5 {
		t.Fatalf("round robin over healthy nodes: %v", seen)
	}
	// WebSocket connections go to the node with the fewest.
	first, _ := p.PickWS()
	second, _ := p.PickWS()
	if first == second {
		t.Fatal("both connections on one node")
	}
	first.Release()
	if third, _ := p.PickWS(); third != first {
		t.Fatal("new connection not on the least loaded node")
	}
	// A syncing node is taken out; MarkDown takes a node out at once.
	b.SetResult("system_health", json.RawMessage(`{"Peers":1,"IsSyncing":true,"ShouldHavePeers":true}`))
	p.CheckAll(context.Background())
	for range 4 {
		if n, _ := p.PickHTTP(); n.Name != "a" {
			t.Fatalf("picked %s, only a is healthy", n.Name)
		}
	}
	n, _ := p.PickHTTP()
	p.MarkDown(n, io.ErrUnexpectedEOF)
	if _, ok := p.PickHTTP(); ok {
		t.Fatal("picked a node after all were down")
	}
	if changes.Load() < 6 {
		t.Fatalf("health changes reported %d times", changes.Load())
	}
}

// Calls sent with a Batch wait for its Flush, and share one connection; a batched call that
// needs a dial does not wait for the batch (nor make its caller wait for the dial).
func TestMuxBatchHoldsCallsUntilFlush(t *testing.T) {
	node := rpctest.NewFakeNode(t, "gossamer")
	m := NewMux(node.WSURL(), 1<<20)
	defer m.Close()
	answers := make(chanAnswerer, 10)
	var b Batch
	// No connection is open yet: the call is sent at once, from a goroutine that dials.
	if _, err := m.Send(context.Background(), &b, request("system_name", answers)); err != nil {
		t.Fatal(err)
	}
	if len(b.conns) != 0 {
		t.Fatal("a call that needs a dial was held in the batch")
	}
	if a := <-answers; !strings.Contains(a, `"result":"Gossamer"`) {
		t.Fatalf("answer %s", a)
	}
	// The answer can arrive before the dialing goroutine has left its write, and a write in
	// progress takes later frames along; wait for it to end so only Flush can send.
	c := m.liveConn()
	for {
		c.mu.Lock()
		writing := c.writing
		c.mu.Unlock()
		if !writing {
			break
		}
		time.Sleep(time.Millisecond)
	}
	for range 10 {
		if _, err := m.Send(context.Background(), &b, request("system_name", answers)); err != nil {
			t.Fatal(err)
		}
	}
	if len(b.conns) != 1 {
		t.Fatalf("a batch of 10 calls to one node used %d connections", len(b.conns))
	}
	select {
	case a := <-answers:
		t.Fatalf("answer before the batch was flushed: %s", a)
	case <-time.After(100 * time.Millisecond):
	}
	b.Flush()
	for range 10 {
		select {
		case a := <-answers:
			if !strings.Contains(a, `"result":"Gossamer"`) {
				t.Fatalf("answer %s", a)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("flushed calls not answered")
		}
	}
	if len(b.conns) != 0 {
		t.Fatalf("batch keeps %d connections after Flush", len(b.conns))
	}
}
