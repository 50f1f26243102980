package monitor

import (
	"bytes"
	"context"
	"encoding/json"
	"log"
	"maps"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/monitoring"
)

// The alerts read exactly the series the exporter serves, and their promtool unit tests
// feed them: renaming one side alone fails here.
func TestExporterMetricsAreTheAlertsInputs(t *testing.T) {
	groups, err := monitoring.RuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	read := map[string][]string{} // metric → alerts reading it
	for _, g := range groups {
		for _, r := range g.(map[string]any)["rules"].([]any) {
			r := r.(map[string]any)
			if r["alert"] == nil {
				continue
			}
			names, err := monitoring.MetricNames(r["expr"].(string))
			if err != nil {
				t.Fatal(err)
			}
			for _, n := range names {
				read[n] = append(read[n], r["alert"].(string))
			}
		}
	}
	tests, err := os.ReadFile(filepath.Join("..", "..", "monitoring", "rules", "onf.rules.long.test.yml"))
	if err != nil {
		t.Fatal(err)
	}
	for metric, alert := range map[string]string{
		MetricSessionKeysRegistered: "SessionKeysNotRegistered",
		MetricBackupLastSuccess:     "BackupTooOld",
		MetricBackupInterval:        "BackupTooOld",
	} {
		if !slices.Contains(read[metric], alert) {
			t.Errorf("%s does not read %s (it reads %v)", alert, metric, read[metric])
		}
		if !strings.Contains(string(tests), "'"+metric+"{") {
			t.Errorf("the promtool tests never feed %s", metric)
		}
	}
}

// exporterConfig refuses a --validator that names no signing node or no address, and finds
// the node spec.backup backs up.
func TestExporterConfig(t *testing.T) {
	status := &local.NetworkStatus{Nodes: []local.NodeInfo{
		{Name: "validator-0", Group: "validator", Role: v1alpha1.RoleValidator},
		{Name: "backup-0", Group: "backup", Role: v1alpha1.RoleFull},
		{Name: "backup-1", Group: "backup", Role: v1alpha1.RoleFull},
	}}
	n := &v1alpha1.SubstrateNetwork{}
	n.Name = "dev"
	alice := "5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY"
	for _, tc := range []struct {
		validators map[string]string
		want       string
	}{
		{map[string]string{"backup-0": alice}, "--validator backup-0=...: backup-0 is not a validator or collator node of network dev"},
		{map[string]string{"validator-9": alice}, "--validator validator-9=...: validator-9 is not a validator"},
		{map[string]string{"validator-0": "5GNJq"}, "--validator validator-0=5GNJq: "},
	} {
		if _, err := exporterConfig(n, status, tc.validators, nil, time.Now()); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: %v, want %q", tc.validators, err, tc.want)
		}
	}
	n.Spec.Backup = &v1alpha1.Backup{Source: "backup", Schedule: "0 3 * * *", Destination: "backups"}
	watched := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	prev := &BackupWatch{Node: "backup-0", Destination: "/elsewhere", Since: watched}
	data, err := exporterConfig(n, status, map[string]string{"validator-0": alice}, prev, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	var cfg ExporterConfig
	if err := json.Unmarshal(data, &cfg); err != nil {
		t.Fatal(err)
	}
	if b := cfg.Backup; b == nil || b.Node != "backup-0" || b.IntervalSeconds != 86400 || !filepath.IsAbs(b.Destination) || cfg.Validators["validator-0"] != alice || b.Since.Equal(watched) {
		t.Errorf("exporter.json: %s", data)
	}
	// Watching the same node and destination again keeps the time watching began.
	prev.Destination = cfg.Backup.Destination
	data, _ = exporterConfig(n, status, nil, prev, time.Now())
	if err := json.Unmarshal(data, &cfg); err != nil || !cfg.Backup.Since.Equal(watched) {
		t.Errorf("exporter.json after an update: %s", data)
	}
	n.Spec.Backup.Schedule = "0 3 * *"
	if _, err := exporterConfig(n, status, nil, nil, time.Now()); err == nil || !strings.HasPrefix(err.Error(), "spec.backup.schedule: ") {
		t.Errorf("a bad schedule: %v", err)
	}
}

// The backup series come from a real backup store's listing: before the first backup, the
// time watching began; then the newest backup of the node. When the destination goes away,
// the last result is still served (so BackupTooOld can fire) and the error is logged.
func TestExporterBackupMetrics(t *testing.T) {
	ctx := context.Background()
	dest := filepath.Join(t.TempDir(), "backups")
	if err := os.Mkdir(dest, 0o700); err != nil {
		t.Fatal(err)
	}
	store, err := backup.Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	config := filepath.Join(t.TempDir(), "exporter.json")
	since := time.Date(2026, 12, 1, 0, 0, 0, 0, time.UTC)
	data, _ := json.Marshal(ExporterConfig{Network: "dev", Backup: &BackupWatch{Node: "backup-0", Destination: "file://" + dest, IntervalSeconds: 86400, Since: since}})
	if err := os.WriteFile(config, data, 0o600); err != nil {
		t.Fatal(err)
	}
	var logs bytes.Buffer
	e := &Exporter{Config: config, Log: log.New(&logs, "", 0)}
	e.Refresh(ctx)
	if got, want := scrape(t, e), map[string]float64{MetricBackupLastSuccess: float64(since.Unix()), MetricBackupInterval: 86400}; !maps.Equal(got, want) {
		t.Fatalf("before the first backup: served %v, want %v", got, want)
	}

	src := t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "db"), []byte("chain data"), 0o600); err != nil {
		t.Fatal(err)
	}
	created := map[string]time.Time{}
	for i, node := range []string{"backup-0", "backup-0", "rpc-0"} { // the last backup is not backup-0's
		at := time.Date(2026, 12, 5, 3, i, 0, 0, time.UTC)
		if _, err := store.Create(ctx, src, backup.Manifest{ID: backup.NewID("dev", at), Network: "dev", Node: node, Created: at}); err != nil {
			t.Fatal(err)
		}
		created[node] = at
	}
	store.Close()
	want := map[string]float64{
		MetricBackupLastSuccess: float64(created["backup-0"].Unix()),
		MetricBackupInterval:    86400,
	}
	e.Refresh(ctx)
	if got := scrape(t, e); !maps.Equal(got, want) {
		t.Fatalf("served %v, want %v", got, want)
	}
	if err := os.Rename(dest, dest+".gone"); err != nil {
		t.Fatal(err)
	}
	e.Refresh(ctx)
	if got := scrape(t, e); !maps.Equal(got, want) {
		t.Errorf("with the destination gone: served %v, want the last result %v", got, want)
	}
	if !strings.Contains(logs.String(), "backups of backup-0: ") {
		t.Errorf("the failed listing was not logged: %q", logs.String())
	}
}

// scrape reads the exporter's /metrics with the Prometheus text parser: value by metric
// name, every series labelled network="dev" and node="backup-0".
func scrape(t *testing.T, e *Exporter) map[string]float64 {
	t.Helper()
	rec := httptest.NewRecorder()
	e.ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(rec.Body)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]float64{}
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			if labels["network"] != "dev" || labels["node"] != "backup-0" {
				t.Errorf("%s labelled %v", name, labels)
			}
			out[name] = m.GetGauge().GetValue()
		}
	}
	return out
}
