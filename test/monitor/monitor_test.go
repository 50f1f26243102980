// Package monitor_test runs `onf monitor` against a real gossamer network, a real Prometheus
// and a real Alertmanager: the block-production alert reaches a webhook receiver when the
// validator stops and resolves when it is back.
package monitor_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
	"github.com/dinfra/stack/monitoring"
)

// The stack's timings in this test: rules at a tenth of their durations, so
// BlockProductionStalled needs 12 s without a block, then 6 s pending.
const (
	scrape, eval = time.Second, time.Second
	timeScale    = 0.1
	stallWindow  = 12 * time.Second
	stallFor     = 6 * time.Second
	groupWait    = time.Second
	slot         = 6 * time.Second
)

// notification is one Alertmanager webhook call, as received.
type notification struct {
	at     time.Time
	Status string `json:"status"`
	Alerts []struct {
		Status string            `json:"status"`
		Labels map[string]string `json:"labels"`
	} `json:"alerts"`
}

// webhook is the receiver: an HTTP server on loopback recording every notification.
type webhook struct {
	mu  sync.Mutex
	got []notification
	url string
}

func newWebhook(t *testing.T) *webhook {
	w := &webhook{}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(rw http.ResponseWriter, r *http.Request) {
		n := notification{at: time.Now()}
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			t.Errorf("webhook: %v", err)
		}
		w.mu.Lock()
		w.got = append(w.got, n)
		w.mu.Unlock()
	})}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	w.url = "http://" + ln.Addr().String() + "/hook"
	return w
}

// wait returns the time the first notification with status arrived for alertname after since.
func (w *webhook) wait(t *testing.T, alertname, status string, since time.Time, timeout time.Duration) time.Time {
	t.Helper()
	var at time.Time
	testenv.Eventually(t, timeout, fmt.Sprintf("a %s notification of %s", status, alertname), func() bool {
		w.mu.Lock()
		defer w.mu.Unlock()
		for _, n := range w.got {
			for _, a := range n.Alerts {
				if a.Labels["alertname"] == alertname && a.Status == status && n.at.After(since) {
					at = n.at
					return true
				}
			}
		}
		return false
	})
	return at
}

// log reports the notifications received so far, at their times since start.
func (w *webhook) log(t *testing.T, start time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	for _, n := range w.got {
		for _, a := range n.Alerts {
			t.Logf("notification at +%.1fs: %s %s", n.at.Sub(start).Seconds(), a.Labels["alertname"], a.Status)
		}
	}
}

func TestBlockProductionAlertReachesReceiver(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	prometheus := testenv.Binary(t, "PROMETHEUS_BIN", "prometheus")
	alertmanager := testenv.Binary(t, "ALERTMANAGER_BIN", "prometheus-alertmanager")
	testenv.Binary(t, "AMTOOL_BIN", "amtool")
	testenv.Binary(t, "PROMTOOL_BIN", "promtool")
	victoriaLogs := testenv.Binary(t, "VICTORIALOGS_BIN")
	c := onfcli.Build(t)
	spec, gwURL, key, backups := specWithGateway(t)
	t.Cleanup(func() {
		c.Run("monitor", "down", "dev", "--purge")
		c.Run("down", "dev", "--purge")
	})
	c.Must("up", "-f", spec, "--binary", gossamer, "--until-block", "2")

	hook := newWebhook(t)
	dir := t.TempDir()
	amConfig := filepath.Join(dir, "alertmanager.yml")
	write(t, amConfig, fmt.Sprintf(`route:
  receiver: none
  group_by: [network, alertname]
  group_wait: %s
  group_interval: 1s
  repeat_interval: 1h
  routes:
    - receiver: hook
      matchers: ['alertname = "BlockProductionStalled"']
receivers:
  - name: none
  - name: hook
    webhook_configs:
      - url: %s
        send_resolved: true
`, groupWait, hook.url))
	bad := filepath.Join(dir, "bad.yml")
	write(t, bad, "route:\n  receiver: nobody\nreceivers:\n  - name: none\n")
	upArgs := []string{"monitor", "up", "dev", "--prometheus", prometheus, "--alertmanager", alertmanager,
		"--scrape-interval", scrape.String(), "--eval-interval", eval.String(), "--time-scale", fmt.Sprint(timeScale),
		"--validator", "validator-0=" + aliceStash}

	// A receivers file amtool refuses starts nothing.
	out, err := c.Run(append(upArgs, "--alertmanager-config", bad)...)
	if err == nil || !strings.Contains(out, "--alertmanager-config "+bad) || !strings.Contains(out, "nobody") {
		t.Fatalf("monitor up with an undefined receiver: err %v, output:\n%s", err, out)
	}
	if _, ok, _ := monitor.Load(c.Home, "dev"); ok {
		t.Fatal("a refused receivers file left a stack behind")
	}

	logs := startVictoriaLogs(t, victoriaLogs)
	monitored := time.Now()
	c.Must(append(upArgs, "--alertmanager-config", amConfig, "--loki-url", logs+"/insert/loki/api/v1/push")...)
	st, _, err := monitor.Load(c.Home, "dev")
	if err != nil || st == nil {
		t.Fatalf("no stack state: %v", err)
	}
	for _, addr := range []string{st.Prometheus.Listen, st.Alertmanager.Listen} {
		if !strings.HasPrefix(addr, "127.0.0.1:") {
			t.Fatalf("stack listens on %s, not loopback", addr)
		}
	}
	// The same bad file on a running stack changes nothing either.
	if out, err := c.Run(append(upArgs, "--alertmanager-config", bad)...); err == nil {
		t.Fatalf("monitor up with a bad file on a running stack succeeded:\n%s", out)
	}
	if again, _, _ := monitor.Load(c.Home, "dev"); *again != *st || !st.Prometheus.Running() || !st.Alertmanager.Running() {
		t.Fatalf("a refused update changed the stack: %+v, then %+v", st, again)
	}
	if data, _ := os.ReadFile(filepath.Join(c.Home, "monitoring", "dev", "alertmanager.yml")); !strings.Contains(string(data), hook.url) {
		t.Fatal("a refused update replaced the receivers")
	}

	// Every node, the gateway and the exporter are scraped; a call through the gateway and
	// one refused call give its series.
	gatewayCalls(t, gwURL, key)
	testenv.Eventually(t, 30*time.Second, "every target up", func() bool {
		r, err := monitor.Status(t.Context(), c.Home, "dev")
		return err == nil && r.Targets == 5 && r.TargetsUp == 5
	})
	checkDashboardMetrics(t, st.Prometheus.URL())
	checkExporter(t, c, st.Prometheus.URL(), backups)

	// The validator stops: no node imports a block any more.
	status := func() local.NetworkStatus {
		var s local.NetworkStatus
		if err := json.Unmarshal([]byte(c.Must("status", "dev", "-o", "json")), &s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	pid := 0
	for _, n := range status().Nodes {
		if n.Name == "validator-0" {
			pid = n.PID
		}
	}
	if pid == 0 {
		t.Fatal("validator-0 has no pid")
	}
	exited := make(chan time.Time, 1)
	go func() {
		for syscall.Kill(pid, 0) == nil {
			time.Sleep(20 * time.Millisecond) // the moment of the exit, to 20 ms: the figure measured from
		}
		exited <- time.Now()
	}()
	// A slow machine can stall the single gossamer validator for a window before this: the
	// notifications that came earlier are logged, and only later ones count.
	hook.log(t, monitored)
	sigterm := time.Now() // onf scale stops the node with SIGTERM; it exits seconds later
	c.Must("scale", "dev", "validator=0")
	stopped := <-exited
	fired := hook.wait(t, "BlockProductionStalled", "firing", sigterm, 90*time.Second)
	// The last block came at most a slot before the exit; the alert then needs the window
	// without a change, its `for`, a scrape, an evaluation and Alertmanager's group_wait.
	bound := slot + stallWindow + stallFor + scrape + eval + groupWait + 3*time.Second
	fireLatency := fired.Sub(stopped)
	t.Logf("BlockProductionStalled firing notification %.1fs after the validator exited (bound %s), %.1fs after it was told to stop",
		fireLatency.Seconds(), bound, fired.Sub(sigterm).Seconds())
	if fireLatency > bound {
		t.Errorf("firing notification after %s, more than %s", fireLatency, bound)
	}
	r, err := monitor.Status(t.Context(), c.Home, "dev")
	if err != nil {
		t.Fatal(err)
	}
	firing := false
	for _, a := range r.Alerts {
		firing = firing || a.Name == "BlockProductionStalled" && a.State == "firing"
	}
	if !firing {
		t.Errorf("onf monitor status does not show BlockProductionStalled firing: %+v", r.Alerts)
	}
	if out := c.Must("monitor", "status", "dev"); !strings.Contains(out, "BlockProductionStalled") {
		t.Errorf("onf monitor status:\n%s", out)
	}
	// onf status -w shows it at every refresh, from Alertmanager.
	if out := watchStatus(t, c, 3500*time.Millisecond); strings.Count(out, "alert: (network) BlockProductionStalled (critical)") < 2 {
		t.Errorf("onf status -w 1s does not show the firing alert at each refresh:\n%s", out)
	}

	// The validator is back: the resolved notification arrives.
	restart := time.Now()
	c.Must("scale", "dev", "validator=1")
	resolved := hook.wait(t, "BlockProductionStalled", "resolved", restart, 120*time.Second)
	t.Logf("BlockProductionStalled resolved notification %.1fs after the validator was started again", resolved.Sub(restart).Seconds())

	// The nodes' logs went to VictoriaLogs through its Loki push API, queryable by network,
	// group, node and level.
	for _, q := range []struct{ stream, want string }{
		{`{network="dev",node="validator-0",level="info"}`, "initialising node"},
		{`{network="dev",group="rpc",node="rpc-0",level="info"}`, "Starting HTTP Server"},
		{`{network="dev",node="validator-0",level="unknown"}`, "WAL file"},
	} {
		testenv.Eventually(t, 30*time.Second, "logs of "+q.stream, func() bool {
			return strings.Contains(queryLogs(t, logs, "_stream:"+q.stream), q.want)
		})
	}
	if out := queryLogs(t, logs, `_stream:{network="dev",level="info"} AND "initialising node"`); strings.Count(out, "\n") < 3 {
		t.Errorf("expected the start line of each of the 3 nodes once, got:\n%s", out)
	}

	st, _, _ = monitor.Load(c.Home, "dev")
	c.Must("monitor", "down", "dev")
	for _, p := range []monitor.Process{st.Prometheus, st.Alertmanager, st.Exporter, st.LogShipper} {
		if p.Running() {
			t.Errorf("pid %d still runs after monitor down", p.PID)
		}
	}
}

// Alice's stash on westend-dev (//Alice//stash), the genesis validator; //Alice controls it.
const aliceStash = "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY"

// checkExporter: the exporter's series in Prometheus have the values the chain and the
// backup destination give. validator-0 (gossamer --key alice) does not hold all of Alice's
// genesis session keys (onf keys check: mismatch) until `onf keys rotate` registers keys it
// holds; rpc-0, spec.backup's node, has no backup until `onf backup create`.
func checkExporter(t *testing.T, c *onfcli.CLI, prometheus, backups string) {
	t.Helper()
	keys := `onf_session_keys_registered{network="dev",node="validator-0",job="onf-exporter"}`
	last := `onf_backup_last_success_timestamp_seconds{network="dev",node="rpc-0"}`
	// The exporter target carries the network (for OnfExporterDown); its series keep their own.
	waitValue(t, prometheus, `up{job="onf-exporter",network="dev"}`, func(v float64) bool { return v == 1 })
	waitValue(t, prometheus, keys, func(v float64) bool { return v == 0 })
	waitValue(t, prometheus, `onf_backup_interval_seconds{network="dev",node="rpc-0"}`, func(v float64) bool { return v == 86400 })
	started := time.Now()
	waitValue(t, prometheus, last, func(v float64) bool { // before the first backup: when watching began
		return time.Since(time.Unix(int64(v), 0)) < 10*time.Minute
	})

	suri := filepath.Join(t.TempDir(), "controller.suri")
	write(t, suri, "//Alice\n")
	c.Must("keys", "rotate", "dev", "validator-0", "--suri-file", suri)
	c.Must("backup", "create", "dev", "rpc-0", "--dest", backups)
	var list []struct {
		Node    string    `json:"node"`
		Created time.Time `json:"created"`
	}
	if err := json.Unmarshal([]byte(c.Must("backup", "list", "dev", "--dest", backups, "-o", "json")), &list); err != nil || len(list) != 1 {
		t.Fatalf("backup list: %v %+v", err, list)
	}
	waitValue(t, prometheus, keys, func(v float64) bool { return v == 1 })
	waitValue(t, prometheus, last, func(v float64) bool { return math.Abs(v-float64(list[0].Created.UnixMilli())/1000) < 0.002 })
	t.Logf("exporter: session keys and backup time in Prometheus %.1fs after the rotation began", time.Since(started).Seconds())
}

// waitValue waits until a Prometheus instant query returns one sample for which ok holds.
func waitValue(t *testing.T, prometheus, query string, ok func(float64) bool) {
	t.Helper()
	testenv.Eventually(t, 60*time.Second, query, func() (bool, string) {
		resp, err := http.PostForm(prometheus+"/api/v1/query", map[string][]string{"query": {query}})
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var res struct {
			Data struct {
				Result []struct {
					Value [2]any `json:"value"`
				} `json:"result"`
			} `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return false, err.Error()
		}
		if len(res.Data.Result) != 1 {
			return false, fmt.Sprintf("%d series", len(res.Data.Result))
		}
		v, err := strconv.ParseFloat(fmt.Sprint(res.Data.Result[0].Value[1]), 64)
		return err == nil && ok(v), fmt.Sprintf("value %v", res.Data.Result[0].Value[1])
	})
}

// watchStatus runs `onf status dev -w 1s` for d and returns what it printed.
func watchStatus(t *testing.T, c *onfcli.CLI, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.Bin, "--home", c.Home, "status", "dev", "-w", "1s")
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	_ = cmd.Run() // ends killed by the timeout
	return out.String()
}

// checkDashboardMetrics: every series a dashboard reads exists in the Prometheus scraping
// the real network and gateway, except those only polkadot-sdk nodes give.
func checkDashboardMetrics(t *testing.T, prometheus string) {
	t.Helper()
	polkadotSDKOnly := map[string]bool{"onf:node_finalized_block": true, "onf:node_finality_lag_blocks": true}
	panels, err := monitoring.DashboardPanels()
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "every series the dashboards read", func() (bool, string) {
		var names []string
		resp, err := http.Get(prometheus + "/api/v1/label/__name__/values")
		if err != nil {
			return false, err.Error()
		}
		defer resp.Body.Close()
		var res struct {
			Data []string `json:"data"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&res); err != nil {
			return false, err.Error()
		}
		have := map[string]bool{}
		for _, n := range res.Data {
			have[n] = true
		}
		for _, p := range panels {
			used, err := monitoring.MetricNames(p.Expr)
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range used {
				if !have[n] && !polkadotSDKOnly[n] {
					names = append(names, p.Dashboard+": "+p.Title+": "+n)
				}
			}
		}
		return len(names) == 0, "missing: " + strings.Join(names, ", ")
	})
}

// specWithGateway is the example dev network with an RPC gateway (one API key, metrics on
// loopback) in front of its rpc group, whose node spec.backup backs up daily to backups.
func specWithGateway(t *testing.T) (spec, url, key, backups string) {
	dir := t.TempDir()
	example, err := os.ReadFile(filepath.Join("..", "..", "examples", "dev-network.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	listen, metrics := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t)), fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	key = "onf_monitor-test-key-0123456789abcdefghijklmnopqr"
	write(t, filepath.Join(dir, "keys.yaml"), fmt.Sprintf("keys:\n  - id: test\n    sha256: %x\n", sha256.Sum256([]byte(key))))
	write(t, filepath.Join(dir, "gateway.yaml"), fmt.Sprintf("listen: %s\nmetricsListen: %s\nauth:\n  apiKeys:\n    file: %s\n", listen, metrics, filepath.Join(dir, "keys.yaml")))
	spec = filepath.Join(dir, "spec.yaml")
	backups = filepath.Join(dir, "backups")
	write(t, spec, string(example)+fmt.Sprintf("  gateway:\n    group: rpc\n    config: %s\n", filepath.Join(dir, "gateway.yaml"))+
		fmt.Sprintf("  backup:\n    source: rpc\n    schedule: \"0 3 * * *\"\n    destination: %s\n", backups))
	return spec, "http://" + listen, key, backups
}

func gatewayCalls(t *testing.T, url, key string) {
	for _, k := range []string{key, ""} {
		req, _ := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"chain_getHeader","params":[]}`))
		req.Header.Set("Content-Type", "application/json")
		if k != "" {
			req.Header.Set("Authorization", "Bearer "+k)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
}

func write(t *testing.T, file, content string) {
	if err := os.WriteFile(file, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// startVictoriaLogs runs a real VictoriaLogs on loopback and returns its URL.
func startVictoriaLogs(t *testing.T, bin string) string {
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin, "-storageDataPath="+t.TempDir(), "-httpListenAddr="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	url := "http://" + addr
	testenv.Eventually(t, 20*time.Second, "VictoriaLogs", func() bool {
		resp, err := http.Get(url + "/health")
		if err == nil {
			resp.Body.Close()
		}
		return err == nil && resp.StatusCode == http.StatusOK
	})
	return url
}

// queryLogs runs a LogsQL query and returns the matching lines (JSON, one per line).
func queryLogs(t *testing.T, url, query string) string {
	resp, err := http.PostForm(url+"/select/logsql/query", map[string][]string{"query": {query}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out bytes.Buffer
	out.ReadFrom(resp.Body)
	return out.String()
}
