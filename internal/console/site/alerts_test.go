package site

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/testenv"
)

// A local network's firing alerts are its real Alertmanager's, as onf status prints them; a
// network without a stack has none, and an Alertmanager that stopped answering is an error
// naming it (the console notes it on the network).
func TestFiringAlerts(t *testing.T) {
	bin := testenv.Binary(t, "ALERTMANAGER_BIN", "prometheus-alertmanager")
	home, dir := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if got, err := FiringAlerts(ctx, home, "dev"); err != nil || got != nil {
		t.Fatalf("no stack: %v, %v", got, err)
	}

	cfg := filepath.Join(dir, "alertmanager.yml")
	if err := os.WriteFile(cfg, []byte("route:\n  receiver: none\nreceivers:\n  - name: none\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	listen := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	am := exec.Command(bin, "--config.file="+cfg, "--storage.path="+filepath.Join(dir, "data"),
		"--web.listen-address="+listen, "--cluster.listen-address=")
	if err := am.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = am.Process.Kill(); _ = am.Wait() })
	st := monitor.State{Network: "dev", Alertmanager: monitor.Process{PID: am.Process.Pid, Listen: listen}}
	data, _ := json.Marshal(st)
	if err := os.MkdirAll(filepath.Join(home, "monitoring", "dev"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(home, "monitoring", "dev", "stack.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}

	alert := `[{"labels":{"alertname":"NodeDown","network":"dev","node":"rpc-0","severity":"critical"},"annotations":{"summary":"rpc-0 is down"}}]`
	testenv.Eventually(t, 30*time.Second, "the alert posted to the Alertmanager", func() (bool, error) {
		res, err := http.Post("http://"+listen+"/api/v2/alerts", "application/json", bytes.NewBufferString(alert))
		if err != nil {
			return false, nil // not listening yet
		}
		res.Body.Close()
		return res.StatusCode == 200, nil
	})
	testenv.Eventually(t, 30*time.Second, "the alert firing", func() (bool, error) {
		got, err := FiringAlerts(ctx, home, "dev")
		return err == nil && len(got) == 1 && got[0].Name == "NodeDown" && got[0].Node == "rpc-0" &&
			got[0].Severity == "critical" && got[0].Summary == "rpc-0 is down", err
	})

	_ = am.Process.Signal(os.Interrupt)
	_, _ = am.Process.Wait()
	st.Alertmanager.PID = os.Getpid() // a running process that is no Alertmanager: it does not answer
	data, _ = json.Marshal(st)
	if err := os.WriteFile(filepath.Join(home, "monitoring", "dev", "stack.json"), data, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := FiringAlerts(ctx, home, "dev"); err == nil || !strings.Contains(err.Error(), "alertmanager http://"+listen) {
		t.Errorf("an Alertmanager that does not answer: %v", err)
	}
}
