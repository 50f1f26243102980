package testenv

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// Prometheus runs the real Prometheus (PROMETHEUS_BIN, or Debian's prometheus on PATH) on
// loopback, scraping itself every second as job "self", until the test ends, and returns its
// URL. It does not wait for it to answer.
func Prometheus(t testing.TB) string {
	t.Helper()
	bin := Binary(t, "PROMETHEUS_BIN", "prometheus")
	dir := t.TempDir()
	addr := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	cfg := filepath.Join(dir, "prometheus.yml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, "global: {scrape_interval: 1s}\nscrape_configs:\n  - job_name: self\n    static_configs: [{targets: [%q]}]\n", addr), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, "--config.file="+cfg, "--storage.tsdb.path="+filepath.Join(dir, "data"), "--web.listen-address="+addr)
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	return "http://" + addr
}
