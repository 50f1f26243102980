package console

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/netstatus"
)

func node(name, group string, running bool, rpcErr string, peers int, best, fin uint64, version string) netstatus.Node {
	return netstatus.Node{Name: name, Group: group, Role: "full", Running: running, RPCError: rpcErr,
		Peers: peers, Best: best, Finalized: fin, Version: version}
}

func TestSummarize(t *testing.T) {
	st := &netstatus.Network{Network: "relay", Namespace: "chains", State: "ready", Nodes: []netstatus.Node{
		node("validator-0", "validator", true, "", 3, 10, 7, "v2"),
		node("rpc-0", "rpc", true, "", 1, 9, 7, "v1"),
		node("rpc-1", "rpc", true, "pod not ready", 0, 0, 0, ""), // not ready: no peers minimum, no version
		node("rpc-2", "rpc", false, "no pod yet", 0, 0, 0, ""),
	}}
	got := Summarize("dc-1", Network{Chain: "westend-dev", Status: st})
	want := Summary{Site: "dc-1", ID: "chains/relay", Name: "relay", Namespace: "chains", Chain: "westend-dev", State: "ready",
		Ready: 2, Desired: 4, Best: 10, Finalized: 7, Lag: 3, Peers: 1, Versions: []string{"v1", "v2"}}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Summarize:\n got %+v\nwant %+v", got, want)
	}
	if got := Summarize("dc-1", Network{Status: st, Alerts: []monitor.Alert{{Name: "NodeDown"}, {Name: "FinalityStalled"}}}); got.Alerts != 2 {
		t.Errorf("Summarize: %d alerts, want 2", got.Alerts)
	}
}

func TestGroupsCarryKeysAndLastBackup(t *testing.T) {
	st := &netstatus.Network{Network: "relay", Nodes: []netstatus.Node{
		node("validator-0", "validator", true, "", 3, 10, 7, "v"),
		node("rpc-0", "rpc", true, "", 1, 9, 7, "v"),
		node("rpc-1", "rpc", true, "", 1, 9, 7, "v"),
	}}
	at := func(min int) time.Time { return time.Date(2026, 12, 5, 10, min, 0, 0, time.UTC) }
	list := []backup.Manifest{{ID: "a", Node: "rpc-0", Created: at(1)}, {ID: "b", Node: "rpc-1", Created: at(2)}, {ID: "c", Node: "rpc-0", Created: at(3)}}
	newest := backup.Newest(list)
	if len(newest) != 2 || newest[0].ID != "c" || newest[1].ID != "b" {
		t.Fatalf("Newest: %+v", newest)
	}
	keys := &v1alpha1.RegisteredKeys{Validator: "5Grw", Keys: "0x01", Session: 4}
	groups := Groups(Network{Status: st, Backups: newest, SessionKeys: map[string]*v1alpha1.RegisteredKeys{"validator-0": keys}})
	if len(groups) != 2 || groups[0].Name != "validator" || len(groups[1].Nodes) != 2 {
		t.Fatalf("Groups: %+v", groups)
	}
	if v := groups[0].Nodes[0]; v.SessionKeys != keys || v.LastBackup != nil {
		t.Errorf("validator-0: keys %v, backup %v", v.SessionKeys, v.LastBackup)
	}
	if r0, r1 := groups[1].Nodes[0], groups[1].Nodes[1]; r0.LastBackup == nil || r0.LastBackup.ID != "c" || r1.LastBackup == nil || r1.LastBackup.ID != "b" || r0.SessionKeys != nil {
		t.Errorf("rpc nodes: %+v %+v", r0, r1)
	}
}

func TestBlockTimes(t *testing.T) {
	// Polls every 2 s: the chain moves 1 block in 6 s, then 2 blocks in 4 s, then stalls for 80 s.
	hist := []Sample{{Time: 0, Best: 10}, {Time: 2000, Best: 11}, {Time: 4000, Best: 11}, {Time: 6000, Best: 11},
		{Time: 8000, Best: 12}, {Time: 10000, Best: 12}, {Time: 12000, Best: 14}, {Time: 92000, Best: 15}}
	got := map[float64]int{}
	for _, b := range BlockTimes(hist) {
		if b.Blocks > 0 {
			got[b.Le] = b.Blocks
		}
	}
	// 11 has no start; 12 took 6 s; 13 and 14 took 2 s each; 15 took 80 s (open-ended bucket).
	if want := map[float64]int{6: 1, 2: 2, 0: 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("BlockTimes: %v, want %v", got, want)
	}
	if n := len(BlockTimes(nil)); n != len(blockTimeEdges)+1 {
		t.Errorf("empty history: %d buckets", n)
	}
}

func TestRing(t *testing.T) {
	r := newRing(3)
	for i := range 5 {
		r.add(Sample{Best: uint64(i)})
		if n := len(r.samples()); n != min(i+1, 3) {
			t.Fatalf("after %d adds: %d samples", i+1, n)
		}
	}
	var got []uint64
	for _, s := range r.samples() {
		got = append(got, s.Best)
	}
	if !reflect.DeepEqual(got, []uint64{2, 3, 4}) {
		t.Errorf("samples oldest first: %v", got)
	}
}

// fakeSite is a test double of a site: its networks and failure are set by the test, and it
// records the scale calls it gets.
type fakeSite struct {
	mu        sync.Mutex
	nets      []Network
	err       error
	polls     int
	scaled    []string
	backed    []string
	restarted []string
}

func (f *fakeSite) Poll(context.Context) ([]Network, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.polls++
	return f.nets, f.err
}

func (f *fakeSite) Scale(_ context.Context, ns, name, group string, replicas int) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scaled = append(f.scaled, fmt.Sprint(ns, " ", name, " ", group, " ", replicas))
	return nil
}

// Backup backs up nodes named rpc-*, and refuses others as the local runtime refuses
// validators.
func (f *fakeSite) Backup(_ context.Context, ns, name, node string) (*backup.Manifest, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if !strings.HasPrefix(node, "rpc-") {
		return nil, fmt.Errorf("node %s is a validator node", node)
	}
	f.backed = append(f.backed, fmt.Sprint(ns, " ", name, " ", node))
	return &backup.Manifest{ID: name + "-1", Node: node, Best: backup.Block{Number: 9}, Finalized: backup.Block{Number: 7}}, nil
}

func (f *fakeSite) Restart(_ context.Context, ns, name, node string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.restarted = append(f.restarted, fmt.Sprint(ns, " ", name, " ", node))
	return nil
}

func (f *fakeSite) set(nets []Network, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.nets, f.err = nets, err
}

func overviewOf(t *testing.T, c *Cache) Overview {
	t.Helper()
	data, _ := c.Overview()
	var o Overview
	if err := json.Unmarshal(data, &o); err != nil {
		t.Fatal(err)
	}
	return o
}

func TestCacheUnreachableKeepsLastNetworks(t *testing.T) {
	site := &fakeSite{nets: []Network{{Chain: "dev", Status: &netstatus.Network{Network: "dev", State: "running",
		Nodes: []netstatus.Node{node("rpc-0", "rpc", true, "", 2, 5, 3, "v")}}}}}
	c := NewCache([]NamedSite{{Name: "local", Site: site}}, Options{History: 10})
	ctx := context.Background()
	c.poll(ctx, "local", c.sites["local"])
	c.poll(ctx, "local", c.sites["local"])
	o := overviewOf(t, c)
	if s := o.Sites[0]; !s.Reachable || len(s.Networks) != 1 || s.Networks[0].Best != 5 {
		t.Fatalf("after polls: %+v", s)
	}
	d, ok := c.Detail("local", "dev")
	if !ok || len(d.History) != 2 || d.History[1].Lag != 2 {
		t.Fatalf("detail: %+v", d)
	}

	site.set(nil, errors.New("connection refused"))
	c.poll(ctx, "local", c.sites["local"])
	s := overviewOf(t, c).Sites[0]
	if s.Reachable || s.Error != "connection refused" || len(s.Networks) != 1 {
		t.Errorf("failed poll: want unreachable with the last networks, got %+v", s)
	}

	site.set([]Network{}, nil) // the network is gone
	c.poll(ctx, "local", c.sites["local"])
	if s := overviewOf(t, c).Sites[0]; !s.Reachable || len(s.Networks) != 0 {
		t.Errorf("network removed: %+v", s)
	}
	if _, ok := c.Detail("local", "dev"); ok {
		t.Error("a removed network keeps its page")
	}
}

const testKey = "onf_console-test-key-0123456789abcdefghijk"

func keyStore(t *testing.T) *auth.KeyStore {
	t.Helper()
	file := filepath.Join(t.TempDir(), "keys.yaml")
	doc := "keys:\n- id: alice\n  sha256: " + auth.HashKey(testKey) + "\n- id: bob\n  role: viewer\n  sha256: " + auth.HashKey(testKey+"bob") + "\n"
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	ks, err := auth.NewKeyStore(file, RoleOperator, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	return ks
}

func TestScale(t *testing.T) {
	site := &fakeSite{nets: []Network{{Status: &netstatus.Network{Network: "relay", Namespace: "chains", Nodes: []netstatus.Node{}}}}}
	cache := NewCache([]NamedSite{{Name: "dc-1", Site: site}}, Options{})
	cache.poll(context.Background(), "dc-1", cache.sites["dc-1"])
	body := `{"site":"dc-1","network":"chains/relay","group":"rpc","replicas":3,"confirm":"chains/relay"}`
	for _, tc := range []struct {
		name     string
		readOnly bool
		body     string
		header   map[string]string
		code     int
		msg      string
	}{
		{"read-only console", true, body, map[string]string{"X-Api-Key": testKey}, 403, "read-only"},
		{"no key", false, body, nil, 401, "no API key"},
		{"wrong key", false, body, map[string]string{"X-Api-Key": testKey + "x"}, 401, "invalid"},
		{"viewer key", false, body, map[string]string{"X-Api-Key": testKey + "bob"}, 403, "role \\\"viewer\\\""},
		{"other origin", false, body, map[string]string{"X-Api-Key": testKey, "Origin": "http://evil.example"}, 403, "origin"},
		{"form post", false, body, map[string]string{"X-Api-Key": testKey, "Content-Type": "application/x-www-form-urlencoded"}, 415, "Content-Type"},
		{"not confirmed", false, strings.Replace(body, `"confirm":"chains/relay"`, `"confirm":"relay"`, 1), map[string]string{"X-Api-Key": testKey}, 400, "confirm:"},
		{"bad replicas", false, strings.Replace(body, `3`, `-1`, 1), map[string]string{"X-Api-Key": testKey}, 400, "replicas:"},
		{"unknown field", false, strings.Replace(body, `"group"`, `"grp"`, 1), map[string]string{"X-Api-Key": testKey}, 400, "unknown field"},
		{"unknown network", false, strings.ReplaceAll(body, "chains/relay", "chains/para"), map[string]string{"X-Api-Key": testKey}, 404, "no network"},
		{"operator key", false, body, map[string]string{"Authorization": "Bearer " + testKey}, 200, "group rpc has 3 nodes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := &Server{Cache: cache, ActionTimeout: time.Minute, Log: discard()}
			if !tc.readOnly {
				srv.Keys = keyStore(t)
			}
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/scale", strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			for k, v := range tc.header {
				req.Header.Set(k, v)
			}
			before := len(site.scaled)
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.msg) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tc.code, tc.msg)
			}
			if scaled := len(site.scaled) - before; (tc.code == 200) != (scaled == 1) {
				t.Errorf("%d scale calls", scaled)
			}
		})
	}
	if want := []string{"chains relay rpc 3"}; !reflect.DeepEqual(site.scaled, want) {
		t.Errorf("scale calls %q, want %q", site.scaled, want)
	}
}

// The node actions (backup, restart, key rotation) pass the same checks as scale, call the
// site's (or the rotator's) one call, and never log the controller's secret URI.
func TestNodeActions(t *testing.T) {
	site := &fakeSite{nets: []Network{{Status: &netstatus.Network{Network: "dev", Nodes: []netstatus.Node{}}}}}
	cache := NewCache([]NamedSite{{Name: "local", Site: site}}, Options{})
	cache.poll(context.Background(), "local", cache.sites["local"])
	var logs strings.Builder
	var rotated []string
	srv := &Server{Cache: cache, Keys: keyStore(t), ActionTimeout: time.Minute, Log: slog.New(slog.NewTextHandler(&logs, nil))}
	rotator := func(_ context.Context, site, ns, name, node, suri string) (string, error) {
		rotated = append(rotated, fmt.Sprint(site, " ", ns, " ", name, " ", node, " ", suri))
		return "validator-0 match", nil
	}
	const suri = "//Alice-secret-0123"
	for _, tc := range []struct {
		name, path, key, body string
		rotator               bool
		code                  int
		msg                   string
	}{
		{"backup without a key", "backup", "", `{"site":"local","network":"dev","node":"rpc-0","confirm":"dev"}`, false, 401, "no API key"},
		{"backup without node", "backup", testKey, `{"site":"local","network":"dev","confirm":"dev"}`, false, 400, "node: required"},
		{"backup not confirmed", "backup", testKey, `{"site":"local","network":"dev","node":"rpc-0"}`, false, 400, "confirm:"},
		{"backup of a validator", "backup", testKey, `{"site":"local","network":"dev","node":"validator-0","confirm":"dev"}`, false, 409, "validator node"},
		{"backup", "backup", testKey, `{"site":"local","network":"dev","node":"rpc-0","confirm":"dev"}`, false, 200, "backup dev-1 of rpc-0 at block 9 (finalized 7)"},
		{"restart without a key", "restart", "", `{"site":"local","network":"dev","node":"rpc-0","confirm":"dev"}`, false, 401, "no API key"},
		{"restart", "restart", testKey, `{"site":"local","network":"dev","node":"rpc-0","confirm":"dev"}`, false, 200, "rpc-0 restarted"},
		{"rotate without a key", "rotate-keys", "", `{"site":"local","network":"dev","node":"validator-0","suri":"` + suri + `","confirm":"dev"}`, true, 401, "no API key"},
		{"rotate without suri", "rotate-keys", testKey, `{"site":"local","network":"dev","node":"validator-0","confirm":"dev"}`, true, 400, "suri: required"},
		{"rotate without rotator", "rotate-keys", testKey, `{"site":"local","network":"dev","node":"validator-0","suri":"` + suri + `","confirm":"dev"}`, false, 501, "not supported"},
		{"rotate", "rotate-keys", testKey, `{"site":"local","network":"dev","node":"validator-0","suri":"` + suri + `","confirm":"dev"}`, true, 200, "validator-0 match"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv.RotateKeys = nil
			if tc.rotator {
				srv.RotateKeys = rotator
			}
			req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/"+tc.path, strings.NewReader(tc.body))
			req.Header.Set("Content-Type", "application/json")
			if tc.key != "" {
				req.Header.Set("X-Api-Key", tc.key)
			}
			rec := httptest.NewRecorder()
			srv.Handler().ServeHTTP(rec, req)
			if rec.Code != tc.code || !strings.Contains(rec.Body.String(), tc.msg) {
				t.Errorf("got %d %s, want %d with %q", rec.Code, rec.Body, tc.code, tc.msg)
			}
		})
	}
	if want := []string{" dev rpc-0"}; !reflect.DeepEqual(site.backed, want) {
		t.Errorf("backup calls %q, want %q", site.backed, want)
	}
	if want := []string{" dev rpc-0"}; !reflect.DeepEqual(site.restarted, want) {
		t.Errorf("restart calls %q, want %q", site.restarted, want)
	}
	if want := []string{"local  dev validator-0 " + suri}; !reflect.DeepEqual(rotated, want) {
		t.Errorf("rotations %q, want %q", rotated, want)
	}
	if strings.Contains(logs.String(), suri) || !strings.Contains(logs.String(), "rotate-keys") {
		t.Errorf("the log has the secret URI, or no rotation:\n%s", logs.String())
	}
}

func TestEventsFollowPolls(t *testing.T) {
	site := &fakeSite{nets: []Network{}}
	cache := NewCache([]NamedSite{{Name: "local", Site: site}}, Options{Interval: 20 * time.Millisecond})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go cache.Run(ctx)
	hs := httptest.NewServer((&Server{Cache: cache, Log: discard()}).Handler())
	defer hs.Close()
	res, err := http.Get(hs.URL + "/api/events")
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("Content-Type %q", ct)
	}
	sc := bufio.NewScanner(res.Body)
	sc.Buffer(nil, 1<<20)
	events := 0
	for events < 3 && sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var o Overview
			if err := json.Unmarshal([]byte(data), &o); err != nil || len(o.Sites) != 1 {
				t.Fatalf("event %q: %v", data, err)
			}
			events++
		}
	}
	if events < 3 {
		t.Fatalf("%d events: %v", events, sc.Err())
	}
}

func TestPageAndHeaders(t *testing.T) {
	hs := httptest.NewServer((&Server{Cache: NewCache(nil, Options{}), Log: discard()}).Handler())
	defer hs.Close()
	for path, want := range map[string]string{"/": "<title>onf console</title>", "/app.js": "EventSource", "/api/info": `"actions":false`} {
		res, err := http.Get(hs.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var b strings.Builder
		_, _ = bufio.NewReader(res.Body).WriteTo(&b)
		res.Body.Close()
		if res.StatusCode != 200 || !strings.Contains(b.String(), want) {
			t.Errorf("GET %s: %d, want %q in %.200s", path, res.StatusCode, want, b.String())
		}
		if csp := res.Header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'self'") {
			t.Errorf("GET %s: CSP %q", path, csp)
		}
	}
}

func discard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// A bearer JWT as the gateway checks it (here HS256 with an issuer) may act when its role
// claim is operator; a token without it, expired or from another issuer may not.
func TestActionWithJWT(t *testing.T) {
	secret := filepath.Join(t.TempDir(), "jwt.secret")
	if err := os.WriteFile(secret, []byte(strings.Repeat("s", 32)), 0o600); err != nil {
		t.Fatal(err)
	}
	v, err := auth.NewJWTVerifier(&config.JWT{HS256SecretFile: secret, Issuer: "https://idp.example"}, func(string) bool { return true })
	if err != nil {
		t.Fatal(err)
	}
	site := &fakeSite{nets: []Network{{Status: &netstatus.Network{Network: "dev", Nodes: []netstatus.Node{}}}}}
	cache := NewCache([]NamedSite{{Name: "local", Site: site}}, Options{})
	cache.poll(context.Background(), "local", cache.sites["local"])
	srv := &Server{Cache: cache, JWT: v, ActionTimeout: time.Minute, Log: discard()}
	token := func(iss, role string, exp time.Duration) string {
		claims := jwt.MapClaims{"iss": iss, "sub": "alice", "exp": time.Now().Add(exp).Unix()}
		if role != "" {
			claims["role"] = role
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(strings.Repeat("s", 32)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	for _, tc := range []struct {
		name, token string
		code        int
	}{
		{"operator", token("https://idp.example", RoleOperator, time.Minute), 200},
		{"no role", token("https://idp.example", "", time.Minute), 403},
		{"expired", token("https://idp.example", RoleOperator, -time.Minute), 401},
		{"other issuer", token("https://other.example", RoleOperator, time.Minute), 401},
	} {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:8080/api/restart",
			strings.NewReader(`{"site":"local","network":"dev","node":"rpc-0","confirm":"dev"}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+tc.token)
		rec := httptest.NewRecorder()
		srv.Handler().ServeHTTP(rec, req)
		if rec.Code != tc.code {
			t.Errorf("%s: %d %s, want %d", tc.name, rec.Code, rec.Body, tc.code)
		}
	}
	if len(site.restarted) != 1 {
		t.Errorf("%d restarts, want the operator's one", len(site.restarted))
	}
}
