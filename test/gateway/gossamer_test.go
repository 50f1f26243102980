// Package gateway_test runs the RPC gateway in front of a real gossamer node, with the
// project's own client and with polkadot-js as an independent client.
package gateway_test

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/rpc/rpctest"
	"github.com/dinfra/stack/test/polkadotjs"
)

// startGateway runs a gateway in front of g and returns its address and a valid key.
func startGateway(t *testing.T, g *rpctest.Gossamer) (addr, key string) {
	t.Helper()
	key, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	keyFile := filepath.Join(t.TempDir(), "keys.json")
	kf, _ := json.Marshal(auth.KeyFile{Keys: []auth.KeyEntry{{ID: "e2e", SHA256: auth.HashKey(key)}}})
	if err := os.WriteFile(keyFile, kf, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg := &config.Config{
		Upstreams: []config.Upstream{{Name: "gossamer", HTTP: g.HTTPURL, WS: g.WSURL}},
		Auth:      config.Auth{APIKeys: &config.APIKeys{File: keyFile}},
	}
	cfg.Default()
	gw, err := gateway.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- gw.Serve(ctx, ln) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("gateway: %v", err)
		}
	})
	return ln.Addr().String(), key
}

func TestGatewayInFrontOfGossamer(t *testing.T) {
	g := rpctest.StartGossamer(t)
	g.WaitBlock(t, 1, time.Minute)
	addr, key := startGateway(t, g)
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	t.Run("go client", func(t *testing.T) {
		for _, url := range []string{"http://" + addr + "/", "ws://" + addr + "/"} {
			c, err := rpc.Dial(ctx, url, rpc.WithHeader("Authorization", "Bearer "+key))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			st, err := c.Status(ctx)
			if err != nil || st.Name != "Gossamer" || st.Best < 1 {
				t.Fatalf("%s: status %+v, %v", url, st, err)
			}
			var rpcErr *rpc.Error
			if err := c.InsertKey(ctx, "gran", "//Alice", "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"); !errors.As(err, &rpcErr) || rpcErr.Code != gateway.CodeMethodDenied {
				t.Fatalf("%s: author_insertKey through the gateway: %v", url, err)
			}
		}
		c, err := rpc.Dial(ctx, "ws://"+addr+"/", rpc.WithHeader("X-Api-Key", key))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		heads, err := c.SubscribeNewHeads(ctx)
		if err != nil {
			t.Fatal(err)
		}
		a, err := heads.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		b, err := heads.Next(ctx)
		if err != nil || b.Number <= a.Number {
			t.Fatalf("heads %v then %v, %v", a.Number, b.Number, err)
		}
		if err := heads.Unsubscribe(ctx); err != nil {
			t.Fatal(err)
		}
		if _, err := rpc.Dial(ctx, "ws://"+addr+"/"); err == nil || !strings.Contains(err.Error(), "401") {
			t.Fatalf("WebSocket without a key: %v", err)
		}
	})

	t.Run("polkadot-js", func(t *testing.T) {
		polkadotjs.Run(t, ctx, "ws://"+addr+"/", key)
	})

	resp, err := http.Get("http://" + addr + "/healthz")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("healthz: %v %v", resp, err)
	}
}
