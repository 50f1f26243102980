package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
)

func TestHTTPAuthentication(t *testing.T) { eachServer(t, testHTTPAuthentication) }

func testHTTPAuthentication(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	tests := []struct {
		name, key  string
		wantStatus int
		wantCode   int
	}{
		{"valid key", readerKey, http.StatusOK, 0},
		{"no key", "", http.StatusUnauthorized, CodeUnauthorized},
		{"bad key", "onf_not-a-key", http.StatusUnauthorized, CodeUnauthorized},
		{"malformed jwt", "a.b.c", http.StatusUnauthorized, CodeUnauthorized},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(e.forwarded())
			status, body := e.post("/", tt.key, req(1, "system_name"))
			a := decode(t, body)
			if status != tt.wantStatus || a.code() != tt.wantCode {
				t.Fatalf("status %d answer %s", status, body)
			}
			forwarded := len(e.forwarded()) - before
			if (tt.wantCode == 0) != (forwarded == 1) {
				t.Fatalf("%d calls reached the node", forwarded)
			}
			if tt.wantCode == 0 && string(a.Result) != `"Gossamer"` {
				t.Fatalf("result %s", a.Result)
			}
		})
	}
}

// TestRefusedCallsNeverReachTheNode covers denied methods, malformed JSON, invalid requests
// and oversized bodies over HTTP and WebSocket; each gets its error and the node sees nothing.
func TestRefusedCallsNeverReachTheNode(t *testing.T) {
	eachServer(t, testRefusedCallsNeverReachTheNode)
}

func testRefusedCallsNeverReachTheNode(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 1024 }, srv)
	big := req(1, "system_name", strings.Repeat("x", 2000))
	tests := []struct {
		name, body string
		wantStatus int
		wantCode   int
	}{
		{"author_insertKey denied", req(1, "author_insertKey", "gran", "//Alice", "0x00"), 200, CodeMethodDenied},
		{"author_rotateKeys denied", req(2, "author_rotateKeys"), 200, CodeMethodDenied},
		{"system_addReservedPeer denied", req(3, "system_addReservedPeer", "/ip4/1.2.3.4/tcp/1/p2p/x"), 200, CodeMethodDenied},
		{"system_removeReservedPeer denied", req(4, "system_removeReservedPeer", "x"), 200, CodeMethodDenied},
		{"malformed JSON", `{"jsonrpc":"2.0","id":1,"method":`, 400, rpc.CodeParseError},
		{"not an object", `42`, 200, rpc.CodeInvalidRequest},
		{"no method", `{"jsonrpc":"2.0","id":1}`, 200, rpc.CodeInvalidRequest},
		{"wrong version", `{"jsonrpc":"1.0","id":1,"method":"system_name"}`, 200, rpc.CodeInvalidRequest},
		{"bad params", `{"jsonrpc":"2.0","id":1,"method":"system_name","params":5}`, 200, rpc.CodeInvalidRequest},
		{"empty batch", `[]`, 400, rpc.CodeInvalidRequest},
		{"oversized", big, 413, rpc.CodeInvalidRequest},
	}
	ws, _ := e.dialWS("/", readerKey)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body := e.post("/", readerKey, tt.body)
			if a := decode(t, body); status != tt.wantStatus || a.code() != tt.wantCode {
				t.Errorf("HTTP: status %d answer %s", status, body)
			}
			if a := decode(t, ws.roundTrip(tt.body)); a.code() != tt.wantCode {
				t.Errorf("WebSocket: answer code %d, want %d", a.code(), tt.wantCode)
			}
		})
	}
	if calls := e.forwarded(); len(calls) != 0 {
		t.Fatalf("refused calls reached the node: %v", calls)
	}
	// The connection survived all of it.
	if a := decode(t, ws.roundTrip(req(9, "system_chain"))); string(a.Result) != `"Development"` {
		t.Fatalf("after refusals: %+v", a)
	}
	// The admin role was granted author_insertKey explicitly.
	if status, body := e.post("/", adminKey, req(1, "author_insertKey", "gran", "0x01", "0x02")); status != 200 || decode(t, body).code() != 0 {
		t.Fatalf("admin insertKey: %d %s", status, body)
	}
}

func TestBatchMixesAnswersInOrder(t *testing.T) { eachServer(t, testBatchMixesAnswersInOrder) }

func testBatchMixesAnswersInOrder(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	batch := "[" + strings.Join([]string{
		req("a", "system_name"),
		req(2, "author_rotateKeys"),
		`{"jsonrpc":"2.0","method":"system_chain"}`, // notification: forwarded, not answered
		`{"bad":true}`,
		req(3.5, "system_chain"),
	}, ",") + "]"
	check := func(t *testing.T, body string) {
		as := decodeBatch(t, body)
		if len(as) != 4 {
			t.Fatalf("%d answers: %s", len(as), body)
		}
		if string(as[0].ID) != `"a"` || string(as[0].Result) != `"Gossamer"` {
			t.Errorf("answer 0: %s", body)
		}
		if string(as[1].ID) != "2" || as[1].code() != CodeMethodDenied {
			t.Errorf("answer 1: %s", body)
		}
		if string(as[2].ID) != "null" || as[2].code() != rpc.CodeInvalidRequest {
			t.Errorf("answer 2: %s", body)
		}
		if string(as[3].ID) != "3.5" || string(as[3].Result) != `"Development"` {
			t.Errorf("answer 3: %s", body)
		}
	}
	t.Run("http", func(t *testing.T) {
		status, body := e.post("/", readerKey, batch)
		if status != 200 {
			t.Fatalf("status %d", status)
		}
		check(t, body)
	})
	t.Run("ws", func(t *testing.T) {
		ws, _ := e.dialWS("/", readerKey)
		check(t, ws.roundTrip(batch))
	})
	// Each transport forwarded the three allowed calls, one by one, with numeric ids.
	// Two calls and the notification per transport.
	testenv.Eventually(t, 5*time.Second, "calls", func() bool { return len(e.forwarded()) == 6 })
	for _, c := range e.node.Calls() {
		if c.Method == "author_rotateKeys" {
			t.Errorf("denied call reached the node")
		}
		if _, err := rpc.IDKey(c.ID); c.ID != nil && (err != nil || c.ID[0] == '"') {
			t.Errorf("node got id %s, want a number", c.ID)
		}
	}
}

// withClock gives the gateway a clock of the test's (the rate limits read it).
func withClock(now func() time.Time) Option { return func(g *Gateway) { g.now = now } }

// TestRateLimitInsideOneWebSocket sends a burst of calls on one connection: the key's budget
// is forwarded, every further call gets the rate-limit error, and the connection survives.
func TestRateLimitInsideOneWebSocket(t *testing.T) { eachServer(t, testRateLimitInsideOneWebSocket) }

func testRateLimitInsideOneWebSocket(t *testing.T, srv Option) {
	clock := testenv.NewClock(time.Now())
	e := newEnv(t, func(c *config.Config) {
		c.Limits.PerKey = config.LimitSet{CallsPerSecond: 1, Burst: 5}
	}, withClock(clock.Now), srv)
	ws, _ := e.dialWS("/", readerKey)
	const n = 20
	for i := range n {
		ws.send(req(i, "system_name"))
	}
	ok, limited := 0, 0
	for range n {
		switch a := decode(t, ws.read()); a.code() {
		case 0:
			ok++
		case CodeRateLimited:
			limited++
		default:
			t.Fatalf("unexpected answer %+v", a)
		}
	}
	// Burst 5: the clock stands still, so nothing is refilled however slow the machine.
	if ok != 5 || ok+limited != n {
		t.Fatalf("%d forwarded, %d limited", ok, limited)
	}
	if got := count(e.forwarded(), "system_name"); got != ok {
		t.Fatalf("node saw %d calls, %d were forwarded", got, ok)
	}
	// A batch: each element counts.
	clock.Advance(time.Second) // refills one token at 1/s
	as := decodeBatch(t, ws.roundTrip("["+req(1, "system_name")+","+req(2, "system_name")+"]"))
	if len(as) != 2 || as[0].code() != 0 || as[1].code() != CodeRateLimited {
		t.Fatalf("batch after refill: %+v", as)
	}
}

func TestSubscriptionsAndLimit(t *testing.T) { eachServer(t, testSubscriptionsAndLimit) }

func testSubscriptionsAndLimit(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) {
		c.Limits.PerKey = config.LimitSet{MaxSubscriptions: 2}
	}, srv)
	ws, _ := e.dialWS("/", readerKey)
	sub1 := decode(t, ws.roundTrip(req(1, "chain_subscribeNewHeads")))
	sub2 := decode(t, ws.roundTrip(req("two", "chain_subscribeFinalizedHeads")))
	if sub1.code() != 0 || sub2.code() != 0 || string(sub2.ID) != `"two"` {
		t.Fatalf("subscribe answers %+v %+v", sub1, sub2)
	}
	if a := decode(t, ws.roundTrip(req(3, "chain_subscribeNewHeads"))); a.code() != CodeTooManySubscriptions {
		t.Fatalf("third subscription: %+v", a)
	}
	// A notification for the first subscription passes through unchanged.
	head := e.node.Result("chain_getHeader")
	e.node.Push("chain_newHead", string(sub1.Result), head)
	var n struct {
		Method string `json:"method"`
		Params struct {
			Subscription json.RawMessage `json:"subscription"`
			Result       rpc.Header      `json:"result"`
		} `json:"params"`
	}
	if err := json.Unmarshal([]byte(ws.read()), &n); err != nil || n.Method != "chain_newHead" ||
		string(n.Params.Subscription) != string(sub1.Result) || n.Params.Result.Number != 3 {
		t.Fatalf("notification %+v, %v", n, err)
	}
	// Unsubscribing frees a slot.
	if a := decode(t, ws.roundTrip(req(4, "chain_unsubscribeNewHeads", json.RawMessage(sub1.Result)))); a.code() != 0 {
		t.Fatalf("unsubscribe: %+v", a)
	}
	if a := decode(t, ws.roundTrip(req(5, "chain_subscribeNewHeads"))); a.code() != 0 {
		t.Fatalf("subscription after unsubscribe: %+v", a)
	}
	if got := count(e.forwarded(), "chain_subscribeNewHeads"); got != 2 {
		t.Fatalf("node saw %d subscribe calls, want 2 (the refused one must not reach it)", got)
	}
	// Closing the connection frees the slots for a new one.
	_ = ws.c.Close()
	testenv.Eventually(t, 5*time.Second, "slots released", func() bool { return e.g.limits.Key("reader", nil).Subs() == 0 })
}

func TestConnectionLimit(t *testing.T) { eachServer(t, testConnectionLimit) }

func testConnectionLimit(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) {
		c.Limits.PerKey = config.LimitSet{MaxConnections: 2}
	}, srv)
	first, _ := e.dialWS("/", readerKey)
	e.dialWS("/", readerKey)
	if _, status := e.dialWS("/", readerKey); status != http.StatusTooManyRequests {
		t.Fatalf("third connection: status %d", status)
	}
	if status, _ := e.post("/", readerKey, req(1, "system_name")); status != http.StatusTooManyRequests {
		t.Fatalf("HTTP request while two connections are open: %d", status)
	}
	_ = first.c.Close()
	testenv.Eventually(t, 5*time.Second, "slot released", func() bool { return e.g.limits.Key("reader", nil).Conns() == 1 })
	if _, status := e.dialWS("/", readerKey); status != http.StatusSwitchingProtocols {
		t.Fatalf("connection after one closed: status %d", status)
	}
}

func TestPublicRoute(t *testing.T) { eachServer(t, testPublicRoute) }

func testPublicRoute(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) {
		c.Public = []config.PublicRoute{{Path: "/public", Role: config.DefaultRole}}
	}, srv)
	if status, body := e.post("/public", "", req(1, "system_name")); status != 200 || decode(t, body).code() != 0 {
		t.Fatalf("public call: %d %s", status, body)
	}
	if _, body := e.post("/public", "", req(1, "author_insertKey", "a", "b", "c")); decode(t, body).code() != CodeMethodDenied {
		t.Fatalf("unsafe call on the public route: %s", body)
	}
	if status, _ := e.post("/", "", req(1, "system_name")); status != http.StatusUnauthorized {
		t.Fatalf("main route without a key: %d", status)
	}
	if status, _ := e.post("/other", readerKey, req(1, "system_name")); status != http.StatusNotFound {
		t.Fatalf("unknown path: %d", status)
	}
}

func TestKeyReload(t *testing.T) { eachServer(t, testKeyReload) }

func testKeyReload(t *testing.T, srv Option) {
	e := newEnv(t, func(c *config.Config) {
		c.Auth.APIKeys.ReloadInterval = config.Duration(100 * time.Millisecond)
	}, srv)
	newKey, err := auth.NewKey()
	if err != nil {
		t.Fatal(err)
	}
	writeKeyFile(t, e.keyFile, auth.KeyEntry{ID: "rotated", SHA256: auth.HashKey(newKey)})
	testenv.Eventually(t, 5*time.Second, "reload", func() bool { s, _ := e.post("/", newKey, req(1, "system_name")); return s == 200 })
	if status, _ := e.post("/", readerKey, req(1, "system_name")); status != http.StatusUnauthorized {
		t.Fatalf("removed key still works: %d", status)
	}
	// A broken file keeps the keys in force.
	if err := writeFile(e.keyFile, "keys: [{id: x, sha256: nothex}]"); err != nil {
		t.Fatal(err)
	}
	if err := e.g.ReloadKeys(); err == nil || !strings.Contains(err.Error(), "keys[0].sha256") {
		t.Fatalf("reload of a broken file: %v", err)
	}
	if status, _ := e.post("/", newKey, req(1, "system_name")); status != 200 {
		t.Fatalf("keys lost after a broken reload: %d", status)
	}
}

func TestUpstreamHealth(t *testing.T) { eachServer(t, testUpstreamHealth) }

func testUpstreamHealth(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	e.node.SetResult("system_health", json.RawMessage(`{"Peers":0,"IsSyncing":true,"ShouldHavePeers":true}`))
	e.g.pool.CheckAll(t.Context())
	before := len(e.forwarded())
	status, body := e.post("/", readerKey, req(1, "system_name"))
	if a := decode(t, body); status != 200 || a.code() != CodeUpstreamUnavailable {
		t.Fatalf("syncing upstream: %d %s", status, body)
	}
	if _, status := e.dialWS("/", readerKey); status != http.StatusServiceUnavailable {
		t.Fatalf("WebSocket to a syncing upstream: %d", status)
	}
	if len(e.forwarded()) != before {
		t.Fatal("a syncing node got traffic")
	}
	resp, err := http.Get(e.url + "/healthz")
	if err != nil || resp.StatusCode != http.StatusServiceUnavailable {
		t.Fatalf("healthz: %v %v", resp, err)
	}
	e.node.SetResult("system_health", json.RawMessage(`{"peers":0,"isSyncing":false,"shouldHavePeers":false}`))
	e.g.pool.CheckAll(t.Context())
	if status, body := e.post("/", readerKey, req(1, "system_name")); status != 200 || decode(t, body).code() != 0 {
		t.Fatalf("recovered upstream: %d %s", status, body)
	}
}

func TestMetricsNameKeysNotSecrets(t *testing.T) { eachServer(t, testMetricsNameKeysNotSecrets) }

func testMetricsNameKeysNotSecrets(t *testing.T, srv Option) {
	e := newEnv(t, nil, srv)
	e.post("/", readerKey, req(1, "system_name"))
	e.post("/", readerKey, req(1, "author_rotateKeys"))
	e.post("/", "wrong", req(1, "system_name"))
	rec := newRecorder()
	e.g.MetricsHandler().ServeHTTP(rec, mustRequest(t, "/metrics"))
	out := rec.Body.String()
	for _, want := range []string{
		`onf_gateway_calls_total{key="reader",method="system_name",outcome="ok"} 1`,
		`onf_gateway_calls_total{key="reader",method="author_rotateKeys",outcome="denied"} 1`,
		`onf_gateway_auth_failures_total{reason="invalid"} 1`,
		`onf_gateway_upstream_up{upstream="fake"} 1`,
		`onf_gateway_upstream_call_duration_seconds_count{method="system_name"} 1`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("metrics lack %s", want)
		}
	}
	if strings.Contains(out, readerKey) || strings.Contains(out, "wrong") {
		t.Error("a credential appears in the metrics")
	}
}

func TestLabelCap(t *testing.T) {
	c := newLabelCap(2)
	got := []string{c.get("a"), c.get("b"), c.get("c"), c.get("a")}
	if !slices.Equal(got, []string{"a", "b", "other", "a"}) {
		t.Fatal(got)
	}
}
