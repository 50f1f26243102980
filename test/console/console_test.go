package console_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/console/consoletest"
	"github.com/dinfra/stack/internal/sessionkeys"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// localSpec is a local network of two real gossamer nodes: a validator and an RPC node.
const localSpec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata:
  name: devnet
spec:
  chain:
    builtin: westend-dev
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: rpc
      role: rpc
      replicas: 1
`

// TestConsoleMultiSite points one `onf console` at two clusters and a local network of real
// gossamer nodes, checks every network's numbers in the API and in Chromium, plots, scales the
// local network from the page (refused without a key, done with one), and stops one cluster's
// API server: that site turns unreachable while the other two stay live.
func TestConsoleMultiSite(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	ctx := context.Background()

	dc1, dc2 := startSite(t), startSite(t)
	dc1.create(t, ctx, fakeNetwork{namespace: "chains", name: "relay", rpc: 2, ready: 2, best: 120, finalized: 117, peers: 4,
		keys: &v1alpha1.RegisteredKeys{Validator: "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY", Keys: "0x" + strings.Repeat("ab", 192), Session: 7}})
	dc1.create(t, ctx, fakeNetwork{namespace: "team-b", name: "relay", rpc: 3, ready: 1, best: 40, finalized: 30, peers: 2})
	dc2.create(t, ctx, fakeNetwork{namespace: "chains", name: "para", rpc: 1, ready: 1, best: 77, finalized: 75, peers: 1})

	cli := onfcli.Build(t)
	spec := filepath.Join(t.TempDir(), "devnet.yaml")
	if err := os.WriteFile(spec, []byte(localSpec), 0o600); err != nil {
		t.Fatal(err)
	}
	cli.Must("up", "-f", spec, "--binary", gossamer, "--until-block", "1", "--timeout", "3m")
	t.Cleanup(func() { _, _ = cli.Run("down", "devnet", "--purge") })
	// The local network's monitoring: a real Alertmanager with one firing alert.
	consoletest.StartAlertmanager(t, cli.Home, "devnet").Fire("devnet", "rpc-0", "OnfConsoleTestAlert", "warning", "posted by the test")

	keys, key := keyFile(t)
	url, _ := startConsole(t, cli.Bin, "--home", cli.Home, "--kubeconfig", kubeconfig(t, map[string]*site{"dc-1": dc1, "dc-2": dc2}),
		"--context", "dc-1", "--context", "dc-2", "--api-keys", keys, "--interval", "1s")

	// The API: every site live with the numbers the test set (clusters) or gossamer reports (local).
	testenv.Eventually(t, 2*time.Minute, "three live sites", func() (bool, error) {
		o, err := getOverview(url)
		if err != nil || len(o.Sites) != 3 {
			return false, err
		}
		for _, s := range o.Sites {
			if !s.Reachable || len(s.Networks) == 0 {
				return false, nil
			}
		}
		local := summaryOf(siteOf(o, "local"), "devnet")
		return local != nil && local.Ready == 2 && local.Best >= 1 && local.Alerts == 1, nil
	})
	o, _ := getOverview(url)
	for _, tc := range []struct {
		site, id                                    string
		ready, desired, best, finalized, lag, peers int
	}{
		{"dc-1", "chains/relay", 3, 3, 120, 117, 3, 4},
		{"dc-1", "team-b/relay", 2, 4, 40, 30, 10, 2},
		{"dc-2", "chains/para", 2, 2, 77, 75, 2, 1},
	} {
		s := summaryOf(siteOf(o, tc.site), tc.id)
		if s == nil {
			t.Fatalf("%s %s missing from %+v", tc.site, tc.id, o)
		}
		got := [...]int{s.Ready, s.Desired, int(s.Best), int(s.Finalized), int(s.Lag), s.Peers}
		if want := [...]int{tc.ready, tc.desired, tc.best, tc.finalized, tc.lag, tc.peers}; got != want {
			t.Errorf("%s %s: ready, desired, best, finalized, lag, peers = %v, want %v", tc.site, tc.id, got, want)
		}
		if s.Chain != "westend-local" || strings.Join(s.Versions, ",") != "0.9.0-fake" || s.State != "ready" {
			t.Errorf("%s %s: chain %q, versions %v, state %q", tc.site, tc.id, s.Chain, s.Versions, s.State)
		}
	}
	if s := summaryOf(siteOf(o, "local"), "devnet"); s.Chain != "westend-dev" || s.Desired != 2 || len(s.Versions) != 1 {
		t.Errorf("local devnet: %+v", s)
	}

	t.Run("browser", func(t *testing.T) { testBrowser(t, url, key, cli) })

	// One site goes away: it is shown unreachable (with its last networks), the others stay live.
	dc2.Stop(t)
	stopped := time.Now()
	testenv.Eventually(t, 2*time.Minute, "dc-2 unreachable, the others polled since", func() (bool, error) {
		o, err := getOverview(url)
		if err != nil {
			return false, err
		}
		dc2v, dc1v, lv := siteOf(o, "dc-2"), siteOf(o, "dc-1"), siteOf(o, "local")
		return !dc2v.Reachable && dc2v.Error != "" && summaryOf(dc2v, "chains/para") != nil &&
			dc1v.Reachable && dc1v.Polled.After(stopped) && lv.Reachable && lv.Polled.After(stopped), nil
	})
	t.Run("browser shows the site unreachable", func(t *testing.T) {
		b := browser(t)
		do(t, b, 30*time.Second, chromedp.Navigate(url+"/"))
		got := waitFor[string](t, b, 10*time.Second, "site reachability badges", `(() => {
  const s = [...document.querySelectorAll('section[data-site]')];
  return s.length === 3 ? s.map(e => e.dataset.site + '=' + e.dataset.reachable).join(' ') : null;
})()`)
		if got != "local=true dc-1=true dc-2=false" {
			t.Errorf("sites in the page: %s", got)
		}
		shot(t, b, "console.png")
	})
}

// testBrowser checks the page in Chromium: the overview's numbers, a plot with data points,
// and the scale action refused without a key and done with one.
func testBrowser(t *testing.T, url, key string, cli *onfcli.CLI) {
	b := browser(t)
	start := time.Now()
	do(t, b, 30*time.Second, chromedp.Navigate(url+"/"))
	row := waitFor[map[string]string](t, b, 10*time.Second, "the dc-1 chains/relay row", rowScript("dc-1", "chains/relay"))
	t.Logf("overview of 3 sites shown %s after navigating", time.Since(start).Round(time.Millisecond))
	want := map[string]string{"name": "chains/relay", "chain": "westend-local", "state": "ready", "ready": "3/3",
		"best": "120", "finalized": "117", "lag": "3", "peers": "4", "version": "0.9.0-fake"}
	for k, v := range want {
		if row[k] != v {
			t.Errorf("overview row dc-1 chains/relay: %s = %q, want %q (row %v)", k, row[k], v, row)
		}
	}
	if row := waitFor[map[string]string](t, b, 5*time.Second, "team-b row", rowScript("dc-1", "team-b/relay")); row["ready"] != "2/4" || row["lag"] != "10" {
		t.Errorf("overview row dc-1 team-b/relay: %v", row)
	}
	if row := waitFor[map[string]string](t, b, 5*time.Second, "local row", rowScript("local", "devnet")); row["ready"] != "2/2" || row["chain"] != "westend-dev" || row["alerts"] != "1" {
		t.Errorf("overview row local devnet: %v", row)
	}

	// The local network's page: the block height plot gains a point per poll.
	do(t, b, 10*time.Second, chromedp.Navigate(url+"/#/n/local/devnet"))
	points := waitFor[int](t, b, time.Minute, "a height plot with 5 points", `(() => {
  const p = document.querySelector('svg[data-plot=height] polyline[data-series=best]');
  const n = p ? p.getAttribute('points').trim().split(' ').length : 0;
  return n >= 5 ? n : 0;
})()`)
	t.Logf("height plot: %d points", points)
	for _, plot := range []string{"lag", "peers"} {
		waitFor[bool](t, b, 5*time.Second, plot+" plot", fmt.Sprintf(`document.querySelectorAll('svg[data-plot=%s] polyline').length > 0`, plot))
	}

	// Without a key the action is refused and nothing changes.
	scale := func(key string) string {
		return act(t, b, `button[data-scale-button=rpc]`, key, chromedp.SetValue(chromedp.CSS(`#replicas`), "2"))
	}
	if got := scale(""); !strings.HasPrefix(got, "error: refused (401)") {
		t.Errorf("scale without a key: %q", got)
	}
	if n := len(cli.Status("devnet").Nodes); n != 2 {
		t.Fatalf("a refused scale changed the network: %d nodes", n)
	}
	shot(t, b, "console-network.png")

	scaled := time.Now()
	if got := scale(key); got != "ok: network devnet: group rpc has 2 nodes" {
		t.Fatalf("scale with a key: %q", got)
	}
	t.Logf("scaled rpc to 2 from the page in %s", time.Since(scaled).Round(time.Millisecond))
	if rpc1 := cli.Node("devnet", "rpc-1"); !rpc1.Running || rpc1.RPCError != "" {
		t.Errorf("rpc-1 after scaling: %+v", rpc1)
	}
	waitFor[bool](t, b, time.Minute, "rpc-1 on the page", `document.querySelector('tr[data-node="rpc-1"]') !== null`)

	do(t, b, 10*time.Second, chromedp.Navigate(url+"/#/"))
	waitFor[bool](t, b, time.Minute, "the overview", `document.querySelectorAll('tr[data-network]').length === 4`)
	shot(t, b, "console-scaled.png")

	t.Run("panels", func(t *testing.T) { testPanels(t, b, url) })
	t.Run("node actions", func(t *testing.T) { testNodeActions(t, b, url, key, cli) })
}

// testPanels checks the network pages' panels: a cluster validator's registered session keys,
// the local network's firing alert and its block time histogram.
func testPanels(t *testing.T, b context.Context, url string) {
	do(t, b, 10*time.Second, chromedp.Navigate(url+"/#/n/dc-1/chains%2Frelay"))
	keys := waitFor[string](t, b, time.Minute, "validator-0's session keys", `(() => {
  const c = document.querySelector('tr[data-node="validator-0"] td[data-field=keys]');
  return c && c.textContent !== '-' ? c.textContent + ' ' + c.title.length : null;
})()`)
	if want := "session 7: 0xabababab…ababab 386"; keys != want {
		t.Errorf("session keys cell %q, want %q", keys, want)
	}
	do(t, b, 10*time.Second, chromedp.Navigate(url+"/#/n/local/devnet"))
	alert := waitFor[string](t, b, time.Minute, "the firing alert", `(() => {
  const r = document.querySelector('#alerts tr[data-alert]');
  return r ? [...r.cells].map(c => c.textContent).join(' | ') : null;
})()`)
	if !strings.HasPrefix(alert, "OnfConsoleTestAlert | rpc-0 | warning | ") || !strings.HasSuffix(alert, " | posted by the test") {
		t.Errorf("alert row %q", alert)
	}
	// gossamer's westend-dev makes a block every 6 s; the console polls every second.
	blocks := waitFor[int](t, b, 60*time.Second, "block times in the histogram", `(() => {
  const bars = [...document.querySelectorAll('svg[data-plot=blocktime] rect[data-blocks]')];
  const n = bars.reduce((s, r) => s + Number(r.dataset.blocks), 0);
  return bars.length === 15 && n >= 2 ? n : 0;
})()`)
	mode := waitFor[string](t, b, 5*time.Second, "the fullest bucket", `(() => {
  const bars = [...document.querySelectorAll('svg[data-plot=blocktime] rect[data-blocks]')];
  return bars.reduce((a, r) => Number(r.dataset.blocks) > Number(a.dataset.blocks) ? r : a).dataset.le;
})()`)
	t.Logf("block time histogram: %d blocks, most at <= %s s", blocks, mode)
	if mode == "0" || mode == "1" || mode == "2" {
		t.Errorf("most blocks in the bucket <= %s s: gossamer's slots are 6 s", mode)
	}
}

// testNodeActions backs up, restarts and rotates the keys of the local network's nodes from
// the page: each refused without a key (changing nothing), then done, and seen done by onf.
func testNodeActions(t *testing.T, b context.Context, url, key string, cli *onfcli.CLI) {
	do(t, b, 10*time.Second, chromedp.Navigate(url+"/#/n/local/devnet"))
	waitFor[bool](t, b, 10*time.Second, "the rpc-0 row", `document.querySelector('button[data-backup-button="rpc-0"]') !== null`)
	backups := func() []backup.Manifest {
		var list []backup.Manifest
		if err := json.Unmarshal([]byte(cli.Must("backup", "list", "devnet", "-o", "json")), &list); err != nil {
			t.Fatal(err)
		}
		return list
	}
	if got := act(t, b, `button[data-backup-button="rpc-0"]`, ""); !strings.HasPrefix(got, "error: refused (401)") {
		t.Errorf("backup without a key: %q", got)
	}
	if n := len(backups()); n != 0 {
		t.Fatalf("a refused backup made %d backups", n)
	}
	if got := act(t, b, `button[data-backup-button="rpc-0"]`, key); !strings.HasPrefix(got, "ok: network devnet: backup devnet-") {
		t.Fatalf("backup with a key: %q", got)
	}
	list := backups()
	if len(list) != 1 || list[0].Node != "rpc-0" {
		t.Fatalf("onf backup list after the page's backup: %+v", list)
	}
	id := waitFor[string](t, b, time.Minute, "the last backup", `(() => { const p = document.getElementById('last-backup'); return p && p.dataset.id ? p.dataset.id : null; })()`)
	cell := waitFor[string](t, b, time.Minute, "rpc-0's last backup", `(() => { const c = document.querySelector('tr[data-node="rpc-0"] td[data-field=backup]'); return c && c.title ? c.title : null; })()`)
	if id != list[0].ID || cell != list[0].ID {
		t.Errorf("last backup on the page %q (rpc-0's %q), want %q", id, cell, list[0].ID)
	}

	before := cli.Node("devnet", "rpc-0").PID
	if got := act(t, b, `button[data-restart-button="rpc-0"]`, ""); !strings.HasPrefix(got, "error: refused (401)") {
		t.Errorf("restart without a key: %q", got)
	}
	if pid := cli.Node("devnet", "rpc-0").PID; pid != before {
		t.Fatalf("a refused restart changed rpc-0's pid %d to %d", before, pid)
	}
	if got := act(t, b, `button[data-restart-button="rpc-0"]`, key); got != "ok: network devnet: rpc-0 restarted and answers RPC" {
		t.Fatalf("restart with a key: %q", got)
	}
	if n := cli.Node("devnet", "rpc-0"); n.PID == before || !n.Running || n.RPCError != "" {
		t.Errorf("rpc-0 after the restart: pid %d (was %d), %+v", n.PID, before, n)
	}

	// Nothing recorded validator-0's keys yet (gossamer's --key inserts them, onf keys did not check them).
	keysCell := `(() => { const c = document.querySelector('tr[data-node="validator-0"] td[data-field=keys]'); return c ? [c.textContent, c.title] : null; })()`
	if cell := waitFor[[]string](t, b, 10*time.Second, "validator-0's session keys cell", keysCell); cell[0] != "-" {
		t.Errorf("validator-0's session keys before any onf keys: %q", cell)
	}
	suri := chromedp.SendKeys(chromedp.CSS(`#suri`), "//Alice") // Alice's controller: its stash is westend-dev's validator
	if got := act(t, b, `button[data-rotate-button="validator-0"]`, "", suri); !strings.HasPrefix(got, "error: refused (401)") {
		t.Errorf("rotate without a key: %q", got)
	}
	rotated := time.Now()
	got := act(t, b, `button[data-rotate-button="validator-0"]`, key, suri)
	if !strings.HasPrefix(got, "ok: ") || !strings.Contains(got, "match") || strings.Contains(got, "mismatch") {
		t.Fatalf("rotate with a key: %q", got)
	}
	t.Logf("keys rotated from the page in %s: %s", time.Since(rotated).Round(time.Millisecond), got)

	// The rotation recorded the keys it registered: the page shows what the chain has.
	recorded := waitFor[[]string](t, b, time.Minute, "validator-0's registered session keys",
		strings.Replace(keysCell, "return c ?", "return c && c.textContent !== '-' ?", 1))
	var checked []sessionkeys.Status
	if err := json.Unmarshal([]byte(cli.Must("keys", "check", "devnet", "validator-0", "--validator", aliceStash, "-o", "json")), &checked); err != nil {
		t.Fatal(err)
	}
	if len(checked) != 1 || checked[0].Result != "match" || recorded[1] != checked[0].NextKeys ||
		!regexp.MustCompile(`^session \d+: `+regexp.QuoteMeta(checked[0].NextKeys[:10])+`…`+checked[0].NextKeys[len(checked[0].NextKeys)-6:]+`$`).MatchString(recorded[0]) {
		t.Errorf("validator-0's session keys on the page %q, onf keys check %+v", recorded, checked)
	}
	t.Logf("validator-0's registered session keys on the page: %s", recorded[0])
	shot(t, b, "console-actions.png")
}

// aliceStash is the stash of westend-dev's validator Alice (//Alice//stash).
const aliceStash = "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY"

// act opens an action's confirmation with the button, fills it (the extra steps, the key
// unless empty, the network's name), confirms, and returns the outcome shown: "ok: ..." or
// "error: refused (CODE): ...".
func act(t *testing.T, b context.Context, button, key string, fill ...chromedp.Action[chromedp.Void]) string {
	t.Helper()
	do(t, b, 10*time.Second, chromedp.Click(chromedp.CSS(button)), chromedp.WaitVisible(chromedp.CSS(`#confirm-name`)))
	if len(fill) > 0 {
		do(t, b, 10*time.Second, fill...)
	}
	do(t, b, 10*time.Second, chromedp.SendKeys(chromedp.CSS(`#confirm-name`), "devnet"))
	if key != "" {
		do(t, b, 10*time.Second, chromedp.SendKeys(chromedp.CSS(`#apikey`), key))
	}
	do(t, b, 5*time.Second, chromedp.Click(chromedp.CSS(`#confirm-button`)))
	return waitFor[string](t, b, 3*time.Minute, "the action's result",
		`(() => { const r = document.getElementById('result'); return r && (r.dataset.state === 'ok' || r.dataset.state === 'error') ? r.dataset.state + ': ' + r.textContent : null; })()`)
}

// shot saves a screenshot of the page as a test artifact: in t.ArtifactDir (kept under
// ./_artifacts with go test -artifacts), or in $CONSOLE_SCREENSHOTS (docs/images takes them
// from there). Tables scrolled sideways by a click are scrolled back first.
func shot(t *testing.T, b context.Context, name string) {
	t.Helper()
	if _, err := chromedp.Run(b, chromedp.Evaluate[bool](`(() => { document.querySelectorAll('.group').forEach(g => g.scrollLeft = 0); return true; })()`)); err != nil {
		t.Fatalf("scroll back: %v", err)
	}
	png, err := chromedp.Run(b, chromedp.FullScreenshot(100))
	if err != nil {
		t.Fatalf("screenshot: %v", err)
	}
	dir := os.Getenv("CONSOLE_SCREENSHOTS")
	if dir == "" {
		dir = t.ArtifactDir()
	}
	file := filepath.Join(dir, name)
	if err := os.WriteFile(file, png, 0o644); err != nil {
		t.Fatal(err)
	}
	t.Logf("screenshot %s", file)
}
