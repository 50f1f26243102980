package upstream

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc/rpctest"
)

func TestPosterReusesAndRecoversConnections(t *testing.T) {
	var conns atomic.Int64
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(append([]byte("echo:"), b...))
	}))
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	p, err := NewHTTPPoster(srv.URL+"/rpc", 4, 1024)
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	ctx := context.Background()
	for i := range 5 {
		out, status, err := p.Post(ctx, []byte(`{"n":1}`))
		if err != nil || status != 200 || string(out) != `echo:{"n":1}` {
			t.Fatalf("post %d: %q %d %v", i, out, status, err)
		}
	}
	if conns.Load() != 1 {
		t.Fatalf("%d connections for 5 sequential posts, want 1", conns.Load())
	}
	// The node closes idle connections: the next post notices and retries on a new one.
	srv.CloseClientConnections()
	if out, _, err := p.Post(ctx, []byte("x")); err != nil || string(out) != "echo:x" {
		t.Fatalf("post after the node closed the connection: %q %v", out, err)
	}
	// Answers over the size limit are refused.
	if _, _, err := p.Post(ctx, make([]byte, 2000)); err == nil {
		t.Fatal("an answer over the limit was accepted")
	}
	if _, err := NewHTTPPoster("ftp://x", 1, 1); err == nil {
		t.Fatal("ftp accepted")
	}
}

func TestPosterHonoursDeadline(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) { <-release }))
	defer srv.Close()
	defer close(release)
	p, _ := NewHTTPPoster(srv.URL, 1, 1024)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	if _, _, err := p.Post(ctx, []byte("x")); err == nil || time.Since(start) > 5*time.Second {
		t.Fatalf("post to a stuck node: %v after %s", err, time.Since(start))
	}
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
