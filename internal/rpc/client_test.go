package rpc_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/rpc/rpctest"
	"github.com/dinfra/stack/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func dial(t *testing.T, url string, opts ...rpc.Option) *rpc.Client {
	t.Helper()
	c, err := rpc.Dial(testCtx(t), url, opts...)
	if err != nil {
		t.Fatalf("dial %s: %v", url, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// bothTransports runs f against the fake node over HTTP and over WebSocket.
func bothTransports(t *testing.T, flavor string, f func(t *testing.T, n *rpctest.FakeNode, c *rpc.Client), opts ...rpc.Option) {
	for _, tr := range []string{"http", "ws"} {
		t.Run(tr, func(t *testing.T) {
			n := rpctest.NewFakeNode(t, flavor)
			url := n.HTTPURL()
			if tr == "ws" {
				url = n.WSURL()
			}
			f(t, n, dial(t, url, opts...))
		})
	}
}

// TestTypedHelpers checks every typed helper against responses recorded from gossamer v0.9.0.
func TestTypedHelpers(t *testing.T) {
	bothTransports(t, "gossamer", func(t *testing.T, n *rpctest.FakeNode, c *rpc.Client) {
		ctx := testCtx(t)
		strs := []struct {
			call func(context.Context) (string, error)
			want string
		}{
			{c.SystemName, "Gossamer"},
			{c.SystemVersion, "0.9.0-unstable"},
			{c.SystemChain, "Development"},
			{c.LocalPeerID, "12D3KooWDzL82E2c1JCZ55b7epaAMaxueHxHGvk89eVd9W7tuVj6"}, // gossamer answers it base58-encoded once more
			{c.FinalizedHead, "0x276bfa91f70859348285599321ea96afd3ae681f0be47d36196bac8075ea32e8"},
		}
		for _, s := range strs {
			got, err := s.call(ctx)
			if err != nil || got != s.want {
				t.Errorf("got %q, %v; want %q", got, err, s.want)
			}
		}
		h, err := c.SystemHealth(ctx)
		if want := (rpc.Health{Peers: 0, IsSyncing: false, ShouldHavePeers: true}); err != nil || h != want {
			t.Errorf("SystemHealth = %+v, %v; want %+v", h, err, want)
		}
		best, err := c.BestHeader(ctx)
		if err != nil || best.Number != 3 || best.ParentHash == "" {
			t.Errorf("BestHeader = %+v, %v; want number 3", best, err)
		}
		hash, err := c.BlockHash(ctx, 1)
		if err != nil || hash != "0x21503ac265b011c12c8939f6a3dcba19058e0f0c878c776445aa585c55dca971" {
			t.Errorf("BlockHash(1) = %q, %v", hash, err)
		}
		_, err = c.RotateKeys(ctx)
		if !errors.Is(err, rpc.ErrNotSupported) {
			t.Errorf("RotateKeys on gossamer: err = %v, want rpc.ErrNotSupported", err)
		}
		if err := c.InsertKey(ctx, "gran", "0xabad1dea", "0x88dc3417d5058ec4b4503e0c12ea1a0a89be200fe98922423d4334014fa6b0ee"); err != nil {
			t.Errorf("InsertKey: %v", err)
		}
		ok, err := c.HasSessionKeys(ctx, "0x00")
		if err != nil || ok {
			t.Errorf("HasSessionKeys = %v, %v; want false", ok, err)
		}
		// The request carried the hex-free positional params a node expects.
		if got := n.Methods(); !slices.Contains(got, "author_insertKey") {
			t.Errorf("node saw %v", got)
		}
	})
}

func TestSystemHealthShapes(t *testing.T) {
	tests := []struct {
		name, body string
		want       rpc.Health
	}{
		{"gossamer", `{"Peers":3,"IsSyncing":true,"ShouldHavePeers":true}`, rpc.Health{3, true, true}},
		{"polkadot-sdk", `{"peers":5,"isSyncing":false,"shouldHavePeers":false}`, rpc.Health{5, false, false}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var h rpc.Health
			if err := json.Unmarshal([]byte(tt.body), &h); err != nil || h != tt.want {
				t.Fatalf("got %+v, %v; want %+v", h, err, tt.want)
			}
		})
	}
}

func TestBlockNumber(t *testing.T) {
	tests := []struct {
		in      string
		want    rpc.BlockNumber
		wantErr bool
	}{
		{`"0x0"`, 0, false},
		{`"0x1b"`, 27, false},
		{`"0xFFFFFFFF"`, 0xffffffff, false},
		{`12`, 12, false},
		{`"1b"`, 0, true},
		{`"0x"`, 0, true},
		{`"0xzz"`, 0, true},
		{`-1`, 0, true},
	}
	for _, tt := range tests {
		var n rpc.BlockNumber
		err := json.Unmarshal([]byte(tt.in), &n)
		if (err != nil) != tt.wantErr || (!tt.wantErr && n != tt.want) {
			t.Errorf("%s: got %d, %v; want %d (error %v)", tt.in, n, err, tt.want, tt.wantErr)
		}
	}
	if b, _ := json.Marshal(rpc.BlockNumber(27)); string(b) != `"0x1b"` {
		t.Errorf("marshal 27 = %s", b)
	}
}

func TestRotateKeys(t *testing.T) {
	tests := []struct {
		name, result string
		want         string
		unsupported  bool
	}{
		{"gossamer null", `null`, "", true},
		{"empty bytes", `"0x"`, "", true},
		{"polkadot-sdk", `"0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d"`, "0xd43593c715fdd31c61141abd04a99fd6822c8558854ccde39a5684e7a56da27d", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			n := rpctest.NewFakeNode(t, "gossamer")
			n.SetResult("author_rotateKeys", json.RawMessage(tt.result))
			got, err := dial(t, n.HTTPURL()).RotateKeys(testCtx(t))
			if tt.unsupported != errors.Is(err, rpc.ErrNotSupported) || got != tt.want {
				t.Fatalf("got %q, %v", got, err)
			}
			if tt.unsupported && err.Error() == "" {
				t.Fatal("empty error")
			}
		})
	}
}

func TestBatchCall(t *testing.T) {
	bothTransports(t, "gossamer", func(t *testing.T, n *rpctest.FakeNode, c *rpc.Client) {
		var name string
		var health rpc.Health
		batch := []rpc.BatchElem{
			{Method: "system_name", Result: &name},
			{Method: "no_suchMethod"},
			{Method: "system_health", Result: &health},
		}
		if err := c.BatchCall(testCtx(t), batch); err != nil {
			t.Fatal(err)
		}
		var rpcErr *rpc.Error
		if name != "Gossamer" || batch[0].Error != nil || batch[2].Error != nil || !health.ShouldHavePeers {
			t.Errorf("batch results: %q %+v, errors %v %v", name, health, batch[0].Error, batch[2].Error)
		}
		if !errors.As(batch[1].Error, &rpcErr) || rpcErr.Code != rpc.CodeMethodNotFound {
			t.Errorf("batch[1].Error = %v, want method not found", batch[1].Error)
		}
		if got := len(n.Methods()); got != 3 {
			t.Errorf("node saw %d calls, want 3", got)
		}
	})
}

func TestStatus(t *testing.T) {
	n := rpctest.NewFakeNode(t, "gossamer")
	st, err := dial(t, n.WSURL()).Status(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	if st.Name != "Gossamer" || st.Chain != "Development" || st.Best != 3 || st.Finalized != 3 || st.BestHash == "" {
		t.Fatalf("status = %+v", st)
	}
}

func TestSubscription(t *testing.T) {
	n := rpctest.NewFakeNode(t, "gossamer")
	head := n.Result("chain_getHeader")
	// Two notifications follow the subscribe answer immediately: none may be lost.
	n.AfterSubscribe(head, head)
	c := dial(t, n.WSURL())
	ctx := testCtx(t)
	sub, err := c.SubscribeNewHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(sub.ID()) != "7" {
		t.Errorf("subscription id %s", sub.ID())
	}
	n.Push("chain_newHead", "7", head)
	n.Push("chain_newHead", "8", head) // another subscription's: must not arrive here
	for i := range 3 {
		h, err := sub.Next(ctx)
		if err != nil || h.Number != 3 {
			t.Fatalf("notification %d: %+v, %v", i, h, err)
		}
	}
	if err := sub.Unsubscribe(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := sub.Next(ctx); !errors.Is(err, rpc.ErrUnsubscribed) {
		t.Fatalf("Next after unsubscribe: %v", err)
	}
	if got := n.Methods(); !slices.Equal(got, []string{"chain_subscribeNewHeads", "chain_unsubscribeNewHeads"}) {
		t.Fatalf("node saw %v", got)
	}
	params := string(n.Calls()[1].Params)
	if params != "[7]" {
		t.Errorf("unsubscribe params %s, want [7]", params)
	}
}

func TestSubscriptionNeedsWebSocket(t *testing.T) {
	n := rpctest.NewFakeNode(t, "gossamer")
	if _, err := dial(t, n.HTTPURL()).SubscribeNewHeads(testCtx(t)); err == nil {
		t.Fatal("subscribing over HTTP succeeded")
	}
}

func TestSubscriptionOverflow(t *testing.T) {
	n := rpctest.NewFakeNode(t, "gossamer")
	head := n.Result("chain_getHeader")
	n.AfterSubscribe(head, head, head)
	c := dial(t, n.WSURL(), rpc.WithSubscriptionBuffer(2))
	ctx := testCtx(t)
	sub, err := c.SubscribeFinalizedHeads(ctx)
	if err != nil {
		t.Fatal(err)
	}
	// Nothing is read until the overflow made the client tell the node to stop.
	testenv.Eventually(t, 5*time.Second, "the client's unsubscribe", func() (bool, string) {
		return slices.Contains(n.Methods(), "chain_unsubscribeFinalizedHeads"), fmt.Sprint(n.Methods())
	})
	var got int
	for {
		_, err := sub.Next(ctx)
		if err != nil {
			if !errors.Is(err, rpc.ErrSubscriptionOverflow) {
				t.Fatalf("end: %v", err)
			}
			break
		}
		got++
	}
	if got != 2 {
		t.Errorf("read %d buffered notifications, want 2", got)
	}
}

func TestContextAndConnectionLoss(t *testing.T) {
	n := rpctest.NewFakeNode(t, "gossamer")
	c := dial(t, n.WSURL())
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if err := c.Call(ctx, nil, "test_neverAnswers"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("call past deadline: %v", err)
	}
	sub, err := c.SubscribeNewHeads(testCtx(t))
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { errc <- c.Call(testCtx(t), nil, "test_neverAnswers") }()
	testenv.Eventually(t, 5*time.Second, "the node has the third call", func() bool { return len(n.Methods()) >= 3 })
	n.DropConnections()
	if err := <-errc; !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("pending call after connection loss: %v", err)
	}
	if _, err := sub.Next(testCtx(t)); !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("subscription after connection loss: %v", err)
	}
	if err := c.Call(testCtx(t), nil, "system_name"); !errors.Is(err, rpc.ErrClosed) {
		t.Fatalf("call on a closed connection: %v", err)
	}
}

func TestHeadersAndErrors(t *testing.T) {
	bothTransports(t, "gossamer", func(t *testing.T, n *rpctest.FakeNode, c *rpc.Client) {
		if _, err := c.SystemName(testCtx(t)); err != nil {
			t.Fatal(err)
		}
		if last := n.LastHeader(); last.Get("Authorization") != "Bearer s3cret" {
			t.Errorf("header not sent: %v", last)
		}
		var rpcErr *rpc.Error
		if err := c.Call(testCtx(t), nil, "no_such"); !errors.As(err, &rpcErr) || rpcErr.Code != rpc.CodeMethodNotFound {
			t.Errorf("unknown method: %v", err)
		}
	}, rpc.WithHeader("Authorization", "Bearer s3cret"))
	if _, err := rpc.Dial(testCtx(t), "ftp://x"); err == nil {
		t.Error("ftp scheme accepted")
	}
}
