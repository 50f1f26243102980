package gateway

import (
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc/rpctest"
)

// BenchmarkHTTPCall measures one authenticated, limited, checked call through the gateway's
// front end to a fake node on loopback (for profiling: go test -bench HTTPCall -cpuprofile).
func BenchmarkHTTPCall(b *testing.B) {
	node := rpctest.NewFakeNode(b, "gossamer")
	url := serve(b, newBenchGateway(b, node.HTTPURL()))
	body := req(1, "system_name")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{}
		for pb.Next() {
			r, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
			r.Header.Set("Authorization", "Bearer "+readerKey)
			resp, err := client.Do(r)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode != 200 {
				b.Fatal(resp.Status)
			}
		}
	})
}

// BenchmarkWSCall measures one call through the gateway's WebSocket front end, each parallel
// client keeping one call outstanding on its own connection (the calls share the node's
// multiplexed connections): go test -bench WSCall -benchmem -memprofile for what a call
// allocates.
func BenchmarkWSCall(b *testing.B) {
	node := rpctest.NewFakeNode(b, "gossamer")
	cfg := benchConfigT(b, node.HTTPURL())
	cfg.Upstreams[0].WS = node.WSURL()
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	url := "ws" + strings.TrimPrefix(serve(b, g), "http") + "/"
	msg := []byte(req(1, "system_name"))
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		c, _, err := websocket.DefaultDialer.Dial(url, http.Header{"X-Api-Key": {readerKey}})
		if err != nil {
			b.Fatal(err)
		}
		defer c.Close()
		for pb.Next() {
			if err := c.WriteMessage(websocket.TextMessage, msg); err != nil {
				b.Fatal(err)
			}
			if _, answer, err := c.ReadMessage(); err != nil || !strings.Contains(string(answer), `"result"`) {
				b.Fatalf("answer %s: %v", answer, err)
			}
		}
	})
}

func newBenchGateway(b *testing.B, upstream string) *Gateway {
	g, err := New(benchConfig(b, upstream))
	if err != nil {
		b.Fatal(err)
	}
	return g
}

func benchConfig(b *testing.B, upstream string) *config.Config { return benchConfigT(b, upstream) }

func benchConfigT(b testing.TB, upstream string) *config.Config {
	dir := b.TempDir()
	keyFile := dir + "/keys.yaml"
	if err := writeFile(keyFile, "keys: [{id: reader, sha256: "+hashOf(readerKey)+"}]"); err != nil {
		b.Fatal(err)
	}
	high := config.LimitSet{CallsPerSecond: 1e9, Burst: 1e9, MaxConnections: 1e6, MaxSubscriptions: 10}
	cfg := &config.Config{
		Upstreams: []config.Upstream{{Name: "up", HTTP: upstream}},
		Auth:      config.Auth{APIKeys: &config.APIKeys{File: keyFile}},
		Limits:    config.Limits{PerKey: high, PerIP: high},
	}
	cfg.Default()
	return cfg
}
