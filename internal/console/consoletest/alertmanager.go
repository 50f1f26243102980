// Package consoletest attaches to a local network what the console's tests need from a
// monitoring stack: a real Alertmanager recorded as the network's `onf monitor up` stack
// (monitoring/NETWORK/stack.json), without the Prometheus that would fire alerts into it: the
// test posts them.
package consoletest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/testenv"
)

// Alertmanager is a running Alertmanager attached to a local network.
type Alertmanager struct {
	URL string
	cmd *exec.Cmd
	t   testing.TB
}

// StartAlertmanager starts prometheus-alertmanager on loopback (no cluster port) and records
// it as the Alertmanager of network's stack under home. It stops with the test.
func StartAlertmanager(t testing.TB, home, network string) *Alertmanager {
	t.Helper()
	bin := testenv.Binary(t, "ALERTMANAGER_BIN", "prometheus-alertmanager")
	dir := t.TempDir()
	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: none\nreceivers:\n  - name: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--cluster.listen-address=")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	a := &Alertmanager{URL: "http://" + listen, cmd: cmd, t: t}
	a.Record(home, network, cmd.Process.Pid)
	return a
}

// Record writes the network's stack.json naming this Alertmanager's address and pid.
func (a *Alertmanager) Record(home, network string, pid int) {
	a.t.Helper()
	st := monitor.State{Network: network, Alertmanager: monitor.Process{PID: pid, Listen: a.URL[len("http://"):]}}
	dir, err := monitor.Dir(home, network)
	if err != nil {
		a.t.Fatal(err)
	}
	data, _ := json.Marshal(st)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		a.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "stack.json"), data, 0o600); err != nil {
		a.t.Fatal(err)
	}
}

// Fire posts a firing alert of the network's node (as Prometheus would), once the
// Alertmanager listens.
func (a *Alertmanager) Fire(network, node, name, severity, summary string) {
	a.t.Helper()
	// endsAt an hour away: firing for the whole test (without it the Alertmanager resolves
	// an alert nobody re-sends after its resolve_timeout, 5 minutes).
	body, _ := json.Marshal([]map[string]any{{
		"labels":      map[string]string{"alertname": name, "network": network, "node": node, "severity": severity},
		"annotations": map[string]string{"summary": summary},
		"endsAt":      time.Now().Add(time.Hour).UTC().Format(time.RFC3339),
	}})
	testenv.Eventually(a.t, 30*time.Second, "alert "+name+" posted", func() (bool, error) {
		res, err := http.Post(a.URL+"/api/v2/alerts", "application/json", bytes.NewReader(body))
		if err != nil {
			return false, nil // not listening yet
		}
		res.Body.Close()
		return res.StatusCode == 200, nil
	})
}

// Stop stops the Alertmanager (its stack.json stays).
func (a *Alertmanager) Stop() {
	_ = a.cmd.Process.Signal(os.Interrupt)
	_ = a.cmd.Wait()
}
