package gateway

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/gateway/config"
)

// BenchmarkHTTPCall measures one authenticated, limited, checked call through the gateway's
// handler to an upstream on loopback (for profiling: go test -bench HTTPCall -cpuprofile).
func BenchmarkHTTPCall(b *testing.B) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.Copy(io.Discard, r.Body)
		_, _ = w.Write([]byte(`{"jsonrpc":"2.0","id":1,"result":{"peers":0,"isSyncing":false,"shouldHavePeers":false}}`))
	}))
	defer up.Close()
	e := newBenchEnv(b, up.URL)
	body := req(1, "system_health")
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		client := &http.Client{}
		for pb.Next() {
			r, _ := http.NewRequest(http.MethodPost, e.URL, strings.NewReader(body))
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

func newBenchEnv(b *testing.B, upstream string) *httptest.Server {
	cfg := benchConfig(b, upstream)
	g, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	g.Start(b.Context())
	srv := httptest.NewServer(g.Handler())
	b.Cleanup(srv.Close)
	return srv
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
