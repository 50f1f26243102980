// Package monitor runs the local monitoring stack of a network started with `onf up`: a real
// Prometheus scraping every node and the network's RPC gateway with the shipped alert rules
// (monitoring/rules), and a real Alertmanager delivering the alerts to the receivers of a
// configuration the user gives. Both listen on loopback only and run detached, like the
// network's supervisor; their state lives beside the network's, under
// <home>/monitoring/<network>.
package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	gwconfig "github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/monitoring"
)

// Options configure a stack.
type Options struct {
	// Prometheus, Promtool, Alertmanager and Amtool are the binaries (Debian's prometheus and
	// prometheus-alertmanager packages); empty: found on PATH.
	Prometheus, Promtool, Alertmanager, Amtool string
	// AlertmanagerConfig is an Alertmanager configuration file with the receivers; empty:
	// alerts are kept in Alertmanager and shown by `onf monitor status`, sent nowhere.
	AlertmanagerConfig string
	// ScrapeInterval and EvalInterval default to 15s.
	ScrapeInterval, EvalInterval time.Duration
	// TimeScale multiplies the rules' ranges and `for` durations (monitoring.Scope).
	TimeScale float64
	// LokiURL, if set, is a Loki push endpoint the nodes' logs are shipped to by a LogShipper
	// process (`onf monitor ship-logs`).
	LokiURL string
	// Validators maps validator or collator nodes to the validator address (stash or
	// controller, SS58) whose session keys each must hold; the exporter checks them.
	Validators map[string]string
	// Onf is the command that runs the stack's helper processes: the exporter
	// (+ "export-metrics") and the log shipper (+ "ship-logs"), `onf --home H monitor`.
	Onf []string
}

// State is what `onf monitor` keeps of a running stack (stack.json).
type State struct {
	Network      string  `json:"network"`
	Prometheus   Process `json:"prometheus"`
	Alertmanager Process `json:"alertmanager"`
	// Exporter serves the session key and backup metrics (`onf monitor export-metrics`).
	Exporter Process `json:"exporter,omitzero"`
	// LogShipper pushes the node logs to LokiURL.
	LogShipper Process `json:"logShipper,omitzero"`
	LokiURL    string  `json:"lokiURL,omitempty"`
}

// Process is one process of the stack.
type Process struct {
	PID    int    `json:"pid"`
	Listen string `json:"listen"` // host:port on loopback
}

// URL is the process' HTTP address.
func (p Process) URL() string { return "http://" + p.Listen }

// Running reports whether the process still runs.
func (p Process) Running() bool {
	return p.PID > 0 && syscall.Kill(p.PID, 0) == nil
}

// Dir is the stack's state directory of a network.
func Dir(home, name string) (string, error) {
	if err := network.CheckName(name); err != nil {
		return "", fmt.Errorf("network name: %w", err)
	}
	return filepath.Join(home, "monitoring", name), nil
}

// Load reads the state of a network's stack; ok is false when none was started.
func Load(home, name string) (st *State, ok bool, err error) {
	dir, err := Dir(home, name)
	if err != nil {
		return nil, false, err
	}
	data, err := os.ReadFile(filepath.Join(dir, "stack.json"))
	if errors.Is(err, os.ErrNotExist) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	st = &State{}
	if err := json.Unmarshal(data, st); err != nil {
		return nil, false, fmt.Errorf("%s: %w", dir, err)
	}
	return st, true, nil
}

func (o *Options) defaults() error {
	if o.ScrapeInterval == 0 {
		o.ScrapeInterval = 15 * time.Second
	}
	if o.EvalInterval == 0 {
		o.EvalInterval = 15 * time.Second
	}
	if o.ScrapeInterval < time.Second || o.EvalInterval < time.Second {
		return fmt.Errorf("--scrape-interval and --eval-interval: must be at least 1s")
	}
	if o.TimeScale < 0 {
		return fmt.Errorf("--time-scale: must be positive, got %v", o.TimeScale)
	}
	if len(o.Onf) == 0 {
		return fmt.Errorf("monitor: no onf command for the exporter and the log shipper")
	}
	if o.LokiURL != "" {
		u, err := url.Parse(o.LokiURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return fmt.Errorf("--loki-url: must be an http(s) URL of a Loki push API, got %q", o.LokiURL)
		}
	}
	// Debian names the Alertmanager binary prometheus-alertmanager.
	for _, b := range []struct {
		path  *string
		names []string
	}{{&o.Prometheus, []string{"prometheus"}}, {&o.Promtool, []string{"promtool"}},
		{&o.Alertmanager, []string{"prometheus-alertmanager", "alertmanager"}}, {&o.Amtool, []string{"amtool"}}} {
		for _, name := range b.names {
			if *b.path != "" {
				break
			}
			*b.path, _ = exec.LookPath(name)
		}
		if *b.path == "" {
			return fmt.Errorf("%s not found on PATH (Debian: apt-get install prometheus prometheus-alertmanager)", b.names[0])
		}
	}
	return nil
}

// Up starts the stack of a running local network, or brings a running stack up to date with
// the network (nodes added or removed by scaling, a new receivers file): targets and rules are
// rewritten and both processes reload them without a restart. Every input is checked before
// anything starts or changes.
func Up(ctx context.Context, rt *local.Runtime, name string, o Options) (*State, error) {
	if err := o.defaults(); err != nil {
		return nil, err
	}
	dir, err := Dir(rt.Home, name)
	if err != nil {
		return nil, err
	}
	status, err := rt.Status(ctx, name)
	if err != nil {
		return nil, err
	}
	spec, err := appliedSpec(rt, name)
	if err != nil {
		return nil, err
	}
	gwTarget, err := GatewayMetrics(spec)
	if err != nil {
		return nil, err
	}
	var prev ExporterConfig
	if data, err := os.ReadFile(filepath.Join(dir, "exporter.json")); err == nil {
		_ = json.Unmarshal(data, &prev) // a damaged file only loses its Since
	}
	exporter, err := exporterConfig(spec, status, o.Validators, prev.Backup, time.Now())
	if err != nil {
		return nil, err
	}
	amConfig := []byte(defaultAlertmanagerConfig)
	if o.AlertmanagerConfig != "" {
		if amConfig, err = os.ReadFile(o.AlertmanagerConfig); err != nil {
			return nil, fmt.Errorf("--alertmanager-config: %w", err)
		}
	}
	groups, err := monitoring.Groups(monitoring.Scope{Matchers: map[string]string{"network": name}, TimeScale: o.TimeScale})
	if err != nil {
		return nil, err
	}
	rules, err := monitoring.RulesFile(groups)
	if err != nil {
		return nil, err
	}

	st, running, err := Load(rt.Home, name)
	if err != nil {
		return nil, err
	}
	if !running || !st.Prometheus.Running() || !st.Alertmanager.Running() {
		if running {
			stopAll(st)
		}
		st = &State{Network: name}
		if st.Prometheus.Listen, err = freeLoopback(); err != nil {
			return nil, err
		}
		if st.Alertmanager.Listen, err = freeLoopback(); err != nil {
			return nil, err
		}
		running = false
	}
	if !st.Exporter.Running() {
		if st.Exporter.Listen, err = freeLoopback(); err != nil {
			return nil, err
		}
		st.Exporter.PID = 0
	}

	// Everything is written to a staging directory and checked by promtool and amtool first:
	// a bad receivers file changes nothing of a running stack.
	stage := dir + ".new"
	if err := os.RemoveAll(stage); err != nil {
		return nil, err
	}
	defer os.RemoveAll(stage)
	files := map[string][]byte{
		"rules.yml":            rules,
		"alertmanager.yml":     amConfig,
		"targets/nodes.json":   nodeTargets(status),
		"targets/gateway.json": gatewayTargets(name, gwTarget),
		"exporter.json":        exporter,
	}
	files["prometheus.yml"], err = prometheusConfig(o, name, st.Alertmanager.Listen, st.Exporter.Listen)
	if err != nil {
		return nil, err
	}
	for f, data := range files {
		if err := writeFile(filepath.Join(stage, f), data); err != nil {
			return nil, err
		}
	}
	if err := check(ctx, o.Amtool, "check-config", filepath.Join(stage, "alertmanager.yml")); err != nil {
		return nil, fmt.Errorf("--alertmanager-config %s: %w", o.AlertmanagerConfig, err)
	}
	if err := check(ctx, o.Promtool, "check", "config", filepath.Join(stage, "prometheus.yml")); err != nil {
		return nil, fmt.Errorf("prometheus configuration: %w", err)
	}
	for f, data := range files {
		if err := writeFile(filepath.Join(dir, f), data); err != nil {
			return nil, err
		}
	}

	if running {
		// Both reread their configuration on SIGHUP; file_sd picks up the targets by itself.
		for _, p := range []Process{st.Prometheus, st.Alertmanager} {
			if err := syscall.Kill(p.PID, syscall.SIGHUP); err != nil {
				return nil, fmt.Errorf("reload pid %d: %w", p.PID, err)
			}
		}
	} else {
		if st.Alertmanager.PID, err = start(dir, "alertmanager", o.Alertmanager,
			"--config.file="+filepath.Join(dir, "alertmanager.yml"),
			"--storage.path="+filepath.Join(dir, "alertmanager-data"),
			"--web.listen-address="+st.Alertmanager.Listen,
			"--cluster.listen-address="); err != nil {
			return nil, err
		}
		if st.Prometheus.PID, err = start(dir, "prometheus", o.Prometheus,
			"--config.file="+filepath.Join(dir, "prometheus.yml"),
			"--storage.tsdb.path="+filepath.Join(dir, "prometheus-data"),
			"--storage.tsdb.retention.time=7d",
			"--web.listen-address="+st.Prometheus.Listen); err != nil {
			stopAll(st)
			return nil, err
		}
	}
	if st.Exporter.PID == 0 {
		if st.Exporter.PID, err = start(dir, "exporter", o.Onf[0], append(slices.Clone(o.Onf[1:]), "export-metrics", name,
			"--listen", st.Exporter.Listen, "--interval", max(o.ScrapeInterval, 5*time.Second).String())...); err != nil {
			stopAll(st)
			return nil, err
		}
	}
	if err := saveState(dir, st); err != nil {
		stopAll(st)
		return nil, err
	}
	for _, p := range []Process{st.Alertmanager, st.Prometheus, st.Exporter} {
		if err := waitReady(ctx, p); err != nil {
			return nil, err
		}
	}
	if err := shipLogs(dir, st, o); err != nil {
		return nil, err
	}
	return st, nil
}

func saveState(dir string, st *State) error {
	data, _ := json.MarshalIndent(st, "", "  ")
	return writeFile(filepath.Join(dir, "stack.json"), data)
}

// shipLogs starts, restarts (another URL) or stops the log shipper to match o.LokiURL.
func shipLogs(dir string, st *State, o Options) error {
	if st.LogShipper.Running() && st.LokiURL == o.LokiURL {
		return nil
	}
	stop(st.LogShipper)
	st.LogShipper, st.LokiURL = Process{}, o.LokiURL
	if o.LokiURL != "" {
		args := append(slices.Clone(o.Onf[1:]), "ship-logs", st.Network, "--loki-url", o.LokiURL)
		pid, err := start(dir, "log-shipper", o.Onf[0], args...)
		if err != nil {
			return err
		}
		st.LogShipper.PID = pid
	}
	return saveState(dir, st)
}

// defaultAlertmanagerConfig keeps alerts in Alertmanager (its API and `onf monitor status`)
// without sending them anywhere.
const defaultAlertmanagerConfig = `route:
  receiver: none
  group_by: [network, alertname]
receivers:
  - name: none
`

func prometheusConfig(o Options, network, alertmanager, exporter string) ([]byte, error) {
	sd := func(job, file string) map[string]any {
		return map[string]any{"job_name": job, "file_sd_configs": []any{map[string]any{"files": []string{"targets/" + file}}}}
	}
	return yaml.Marshal(map[string]any{
		"global": map[string]any{
			"scrape_interval":     o.ScrapeInterval.String(),
			"evaluation_interval": o.EvalInterval.String(),
		},
		"rule_files": []string{"rules.yml"},
		"alerting": map[string]any{"alertmanagers": []any{map[string]any{
			"static_configs": []any{map[string]any{"targets": []string{alertmanager}}},
		}}},
		"scrape_configs": []any{sd("onf-node", "nodes.json"), sd("onf-gateway", "gateway.json"), map[string]any{
			// The exporter's series carry their own network and node labels; the target's
			// network label is for its `up` (OnfExporterDown).
			"job_name": "onf-exporter", "honor_labels": true,
			"static_configs": []any{map[string]any{"targets": []string{exporter}, "labels": map[string]string{"network": network}}},
		}},
	})
}

type targetGroup struct {
	Targets []string          `json:"targets"`
	Labels  map[string]string `json:"labels"`
}

// nodeTargets is the file_sd list of the network's nodes, labelled as the rules expect.
func nodeTargets(s *local.NetworkStatus) []byte {
	groups := []targetGroup{}
	for _, n := range s.Nodes {
		u := n.Metrics
		host := u[len("http://") : len(u)-len("/metrics")]
		groups = append(groups, targetGroup{Targets: []string{host}, Labels: map[string]string{
			"network": s.Network, "node": n.Name, "group": n.Group, "role": string(n.Role),
		}})
	}
	data, _ := json.MarshalIndent(groups, "", "  ")
	return data
}

func gatewayTargets(name, listen string) []byte {
	groups := []targetGroup{}
	if listen != "" {
		groups = append(groups, targetGroup{Targets: []string{listen}, Labels: map[string]string{"network": name}})
	}
	data, _ := json.MarshalIndent(groups, "", "  ")
	return data
}

// appliedSpec is the network's spec as `onf up` applied it.
func appliedSpec(rt *local.Runtime, name string) (*v1alpha1.SubstrateNetwork, error) {
	dir, err := rt.Dir(name)
	if err != nil {
		return nil, err
	}
	data, err := os.ReadFile(dir.Spec())
	if err != nil {
		return nil, fmt.Errorf("network %q is not up: %w", name, err)
	}
	var n v1alpha1.SubstrateNetwork
	if err := json.Unmarshal(data, &n); err != nil {
		return nil, fmt.Errorf("%s: %w", dir.Spec(), err)
	}
	return &n, nil
}

// exporterConfig is exporter.json: the --validator nodes, checked against the network, and
// spec.backup's node, destination and interval, watched since prev's time if prev watched
// the same.
func exporterConfig(n *v1alpha1.SubstrateNetwork, s *local.NetworkStatus, validators map[string]string, prev *BackupWatch, now time.Time) ([]byte, error) {
	cfg := ExporterConfig{Network: n.Name, Validators: validators}
	for _, node := range slices.Sorted(maps.Keys(validators)) {
		i := slices.IndexFunc(s.Nodes, func(ni local.NodeInfo) bool { return ni.Name == node })
		if i < 0 || !signing(s.Nodes[i].Role) {
			return nil, fmt.Errorf("--validator %s=...: %s is not a validator or collator node of network %s", node, node, n.Name)
		}
		if _, _, err := keyring.DecodeSS58(validators[node]); err != nil {
			return nil, fmt.Errorf("--validator %s=%s: %w", node, validators[node], err)
		}
	}
	if b := n.Spec.Backup; b != nil {
		interval, err := backup.ScheduleInterval(b.Schedule, now)
		if err != nil {
			return nil, fmt.Errorf("spec.backup.schedule: %w", err)
		}
		dest := b.Destination
		if !strings.Contains(dest, "://") {
			if dest, err = filepath.Abs(dest); err != nil {
				return nil, fmt.Errorf("spec.backup.destination: %w", err)
			}
		}
		cfg.Backup = &BackupWatch{Destination: dest, IntervalSeconds: interval.Seconds(), Since: now.UTC()}
		for _, ni := range s.Nodes {
			if ni.Group == b.Source {
				cfg.Backup.Node = ni.Name // the group's first node is the one backed up
				break
			}
		}
		if cfg.Backup.Node == "" {
			return nil, fmt.Errorf("spec.backup.source: group %q has no node", b.Source)
		}
		if prev != nil && prev.Node == cfg.Backup.Node && prev.Destination == dest {
			cfg.Backup.Since = prev.Since
		}
	}
	return json.MarshalIndent(cfg, "", "  ")
}

// GatewayMetrics is the metrics address of the network's gateway (spec.gateway.config's
// metricsListen), or "" when the network has no gateway or its gateway serves no metrics.
func GatewayMetrics(n *v1alpha1.SubstrateNetwork) (string, error) {
	if n.Spec.Gateway == nil || n.Spec.Gateway.Config == "" {
		return "", nil
	}
	cfg, err := gwconfig.LoadFor(n.Spec.Gateway.Config, []gwconfig.Upstream{{Name: "none", HTTP: "http://127.0.0.1:1"}})
	if err != nil {
		return "", fmt.Errorf("spec.gateway.config: %w", err)
	}
	return cfg.MetricsListen, nil
}

func check(ctx context.Context, bin string, args ...string) error {
	out, err := exec.CommandContext(ctx, bin, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %w\n%s", filepath.Base(bin), err, out)
	}
	return nil
}

// start runs a process detached from onf (its own session), with its output in <name>.log.
func start(dir, name, bin string, args ...string) (int, error) {
	logFile, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return 0, err
	}
	defer logFile.Close()
	cmd := exec.Command(bin, args...)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return 0, fmt.Errorf("start %s: %w", name, err)
	}
	pid := cmd.Process.Pid
	go func() { _ = cmd.Wait() }() // reaps it if it exits while onf still runs
	return pid, nil
}

func waitReady(ctx context.Context, p Process) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	for {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, p.URL()+"/-/ready", nil)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if !p.Running() {
			return fmt.Errorf("pid %d on %s exited before it was ready (see its log)", p.PID, p.Listen)
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("%s not ready: %w", p.Listen, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Down stops a network's stack; purge also deletes its data (time series, silences).
func Down(home, name string, purge bool) error {
	st, ok, err := Load(home, name)
	if err != nil {
		return err
	}
	dir, _ := Dir(home, name)
	if ok {
		stopAll(st)
		if err := os.Remove(filepath.Join(dir, "stack.json")); err != nil {
			return err
		}
	}
	if purge {
		return os.RemoveAll(dir)
	}
	return nil
}

// stopAll stops the stack's processes: SIGTERM, then SIGKILL after 10 s.
func stopAll(st *State) { stop(st.Prometheus, st.Alertmanager, st.Exporter, st.LogShipper) }

func stop(procs ...Process) {
	for _, p := range procs {
		if p.Running() {
			_ = syscall.Kill(p.PID, syscall.SIGTERM)
		}
	}
	deadline := time.Now().Add(10 * time.Second)
	for slices.ContainsFunc(procs, Process.Running) && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	for _, p := range procs {
		if p.Running() {
			_ = syscall.Kill(p.PID, syscall.SIGKILL)
		}
	}
}

func freeLoopback() (string, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return "", err
	}
	defer ln.Close()
	return ln.Addr().String(), nil
}

func writeFile(file string, data []byte) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	return os.WriteFile(file, data, 0o600)
}
