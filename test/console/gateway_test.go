package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/gateway/gatewaytest"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// TestConsoleGatewayAndPrometheus runs a local network of real gossamer nodes behind its RPC
// gateway, monitored by `onf monitor up` (the real Prometheus, scraping every second), and two
// consoles: one polling the nodes and the gateway's metrics, one reading the site from that
// Prometheus (--prometheus local=URL). Calls go through the gateway with the key and without
// one (refused); each console's page plots both series with points, and the Prometheus
// console's plots reach back before it started (query_range, not its own polls).
func TestConsoleGatewayAndPrometheus(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	testenv.Binary(t, "PROMETHEUS_BIN", "prometheus")
	cli := onfcli.Build(t)
	dir := t.TempDir()
	gwAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	keys, key := keyFile(t)
	files := map[string]string{
		"gateway.yaml": fmt.Sprintf("listen: %s\nmetricsListen: %s\nauth:\n  apiKeys:\n    file: %s\n", gwAddr, metricsAddr, keys),
		"spec.yaml":    strings.Replace(localSpec, "devnet", "gwnet", 1) + fmt.Sprintf("  gateway:\n    group: rpc\n    config: %s\n", filepath.Join(dir, "gateway.yaml")),
	}
	for name, content := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(content), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	cli.Must("up", "-f", filepath.Join(dir, "spec.yaml"), "--binary", gossamer, "--until-block", "1", "--timeout", "3m")
	t.Cleanup(func() { _, _ = cli.Run("down", "gwnet", "--purge") })
	cli.Must("monitor", "up", "gwnet", "--scrape-interval", "1s", "--eval-interval", "1s")
	t.Cleanup(func() { _, _ = cli.Run("monitor", "down", "gwnet", "--purge") })
	st, _, err := monitor.Load(cli.Home, "gwnet")
	if err != nil || st == nil {
		t.Fatalf("no monitoring stack: %v", err)
	}

	// Steady traffic: two calls with the key and one without, every 200 ms, until the test ends.
	ctx, stop := context.WithCancel(context.Background())
	done := make(chan struct{})
	t.Cleanup(func() { stop(); <-done })
	go func() {
		defer close(done)
		body := `{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}`
		for ctx.Err() == nil {
			gatewaytest.Post(t, "http://"+gwAddr, key, body)
			gatewaytest.Post(t, "http://"+gwAddr, key, body)
			gatewaytest.Post(t, "http://"+gwAddr, "", body)
			select {
			case <-ctx.Done():
			case <-time.After(200 * time.Millisecond):
			}
		}
	}()

	polled, _ := startConsole(t, cli.Bin, "--home", cli.Home, "--interval", "1s")
	// The Prometheus console starts once Prometheus holds 5 s of block heights, so that its
	// plots can be seen reaching back before it started.
	testenv.Eventually(t, 2*time.Minute, "5 s of block heights in Prometheus", func() (bool, error) {
		var res struct {
			Data struct {
				Result []json.RawMessage `json:"result"`
			} `json:"data"`
		}
		q := url.QueryEscape(`count_over_time(onf:node_best_block{network="gwnet"}[1m]) >= 5`)
		err := getJSON(st.Prometheus.URL()+"/api/v1/query?query="+q, &res)
		return len(res.Data.Result) > 0, err
	})
	started := time.Now()
	promed, _ := startConsole(t, cli.Bin, "--home", cli.Home, "--interval", "1s", "--prometheus", "local="+st.Prometheus.URL())
	b := browser(t)
	for _, tc := range []struct{ name, url string }{{"polled", polled}, {"prometheus", promed}} {
		t.Run(tc.name, func(t *testing.T) {
			var d console.Detail
			testenv.Eventually(t, 2*time.Minute, "gateway calls and refusals in the history", func() (bool, error) {
				if err := getJSON(tc.url+"/api/network?site=local&id=gwnet", &d); err != nil {
					return false, err
				}
				var calls, refused int
				for _, s := range d.History {
					if s.Calls != nil && *s.Calls > 0 {
						calls++
					}
					if s.Refused != nil && *s.Refused > 0 {
						refused++
					}
				}
				return calls >= 3 && refused >= 3 && d.Summary.Best >= 1, nil
			})
			do(t, b, 30*time.Second, chromedp.Navigate(tc.url+"/#/n/local/gwnet"))
			got := waitFor[string](t, b, time.Minute, "the gateway plot's two series with points", `(() => {
  const n = s => { const p = document.querySelector('svg[data-plot=gateway] polyline[data-series=' + s + ']');
    return p ? p.getAttribute('points').trim().split(' ').filter(Boolean).length : 0; };
  return n('calls') >= 3 && n('refused') >= 3 ? n('calls') + ' ' + n('refused') : null;
})()`)
			last := d.History[len(d.History)-1]
			t.Logf("%s: gateway plot points (calls, refused): %s; last sample: best %d, %.2f calls/s, %.2f refused/s",
				tc.name, got, last.Best, *last.Calls, *last.Refused)
			shot(t, b, "console-gateway-"+tc.name+".png")
			if tc.name == "prometheus" && time.UnixMilli(d.History[0].Time).After(started.Add(-2*time.Second)) {
				t.Errorf("the Prometheus console's history starts at %s, the console started at %s: not from query_range",
					time.UnixMilli(d.History[0].Time), started)
			}
		})
	}
}

func getJSON(u string, v any) error {
	res, err := http.Get(u)
	if err != nil {
		return err
	}
	defer res.Body.Close()
	if res.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", u, res.Status)
	}
	return json.NewDecoder(res.Body).Decode(v)
}
