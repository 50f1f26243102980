package gateway

import (
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/testenv"
)

// TestLoadLimitsHold drives one key at several times its budget for a few seconds over
// WebSocket connections and HTTP at once, and checks that the calls let through match the
// configured rate (burst + rate x elapsed) within 5%, that every other call got the
// rate-limit error, and that exactly the allowed calls reached the node. The bursts hold half
// a second of calls, so a loaded test machine that pauses the clients briefly loses no tokens.
func TestLoadLimitsHold(t *testing.T) { eachServer(t, testLoadLimitsHold) }

func testLoadLimitsHold(t *testing.T, srv Option) {
	testenv.Short(t)
	tests := []struct {
		name   string
		limits func(*config.Config)
		key    string
		rate   float64
		burst  int
	}{
		{"per key", func(c *config.Config) {
			c.Limits.PerKey = config.LimitSet{CallsPerSecond: 300, Burst: 150, MaxConnections: 20}
			c.Limits.PerIP = config.LimitSet{CallsPerSecond: 100000, Burst: 100000} // not the binding limit here
		}, readerKey, 300, 150},
		{"per IP on a public route", func(c *config.Config) {
			c.Public = []config.PublicRoute{{Path: "/public", Role: config.DefaultRole}}
			c.Limits.PerIP = config.LimitSet{CallsPerSecond: 150, Burst: 75, MaxConnections: 20}
		}, "", 150, 75},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.limits, srv)
			path := "/"
			if tt.key == "" {
				path = "/public"
			}
			const duration = 3 * time.Second
			var ok, limited, other atomic.Int64
			tally := func(code int) {
				switch code {
				case 0:
					ok.Add(1)
				case CodeRateLimited:
					limited.Add(1)
				default:
					other.Add(1)
				}
			}
			var wg sync.WaitGroup
			start := time.Now()
			stop := start.Add(duration)
			for w := range 4 { // WebSocket clients, each pipelining calls on its connection
				ws, status := e.dialWS(path, tt.key)
				if status != http.StatusSwitchingProtocols {
					t.Fatalf("dial: %d", status)
				}
				wg.Add(1)
				go func() {
					defer wg.Done()
					for i := 0; time.Now().Before(stop); i++ {
						batch := make([]string, 8)
						for j := range batch {
							batch[j] = req(fmt.Sprintf("w%d-%d-%d", w, i, j), "system_name")
						}
						_ = ws.c.WriteMessage(1, []byte("["+strings.Join(batch, ",")+"]"))
						_, b, err := ws.c.ReadMessage()
						if err != nil {
							other.Add(1)
							return
						}
						for _, a := range decodeBatch(t, string(b)) {
							tally(a.code())
						}
					}
				}()
			}
			for range 2 { // HTTP clients
				wg.Add(1)
				go func() {
					defer wg.Done()
					for time.Now().Before(stop) {
						_, body := e.post(path, tt.key, req(1, "system_name"))
						tally(decode(t, body).code())
					}
				}()
			}
			wg.Wait()
			elapsed := time.Since(start).Seconds()
			want := float64(tt.burst) + tt.rate*elapsed
			got := float64(ok.Load())
			t.Logf("%.2fs: %d allowed (expected %.0f), %d limited, %d other", elapsed, ok.Load(), want, limited.Load(), other.Load())
			if other.Load() != 0 {
				t.Fatalf("%d answers were neither results nor rate-limit errors", other.Load())
			}
			if limited.Load() < ok.Load() {
				t.Fatalf("the load did not exceed the limit (%d limited): the test proves nothing", limited.Load())
			}
			if got < want*0.95 || got > want*1.05 {
				t.Fatalf("allowed %v calls, want %.0f ± 5%%", got, want)
			}
			if n := count(e.forwarded(), "system_name"); int64(n) != ok.Load() {
				t.Fatalf("node saw %d calls, %d were allowed", n, ok.Load())
			}
		})
	}
}
