package monitor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"
	"net"
	"net/http"
	"os"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/sessionkeys"
)

// The series the exporter serves, labelled network and node. The alert rules read them
// (SessionKeysNotRegistered, BackupTooOld); a test holds the two to the same names.
const (
	MetricSessionKeysRegistered = "onf_session_keys_registered"
	MetricBackupLastSuccess     = backup.MetricLastSuccess
	MetricBackupInterval        = backup.MetricInterval
)

// ExporterConfig is what `onf monitor up` tells the exporter (exporter.json, reread at every
// refresh, so an update needs no restart).
type ExporterConfig struct {
	Network string `json:"network"`
	// Validators maps a validator or collator node to the validator (stash or controller,
	// SS58) whose session keys it must hold: `onf keys check` for each, every refresh.
	Validators map[string]string `json:"validators,omitempty"`
	// Backup is the network's backup schedule (spec.backup), if it has one.
	Backup *BackupWatch `json:"backup,omitempty"`
}

// BackupWatch is the node spec.backup backs up, where to, and how often.
type BackupWatch struct {
	Node        string `json:"node"`
	Destination string `json:"destination"` // absolute, if a directory
	// IntervalSeconds is the longest gap between two runs of the schedule.
	IntervalSeconds float64 `json:"intervalSeconds"`
	// Since is when `onf monitor up` began watching this node and destination. Until the
	// first backup it stands in for the last success, so a schedule that never ran alerts.
	Since time.Time `json:"since"`
}

// Exporter serves, as Prometheus metrics, the facts about a local network that no node
// exposes: whether each validator holds the session keys the chain expects, and when the
// network's scheduled backup last succeeded. It checks them every refresh in the background
// and serves the last results, so a scrape never waits on the chain or the backup
// destination. A check that fails (node down, destination unreachable) keeps its last
// result and is logged: BackupTooOld still fires when backups stop because the destination
// went away.
type Exporter struct {
	Runtime *local.Runtime
	Config  string // exporter.json
	Log     *log.Logger

	mu      sync.Mutex // guards network and values: ServeHTTP reads them while Refresh writes
	network string
	values  map[sample]float64
	lastErr map[string]string
	// chain is kept between refreshes: connecting reads the runtime metadata, which a
	// gossamer node computes by running its runtime (dropped after any failed check).
	chain    *sessionkeys.Chain
	chainURL string
}

type sample struct{ metric, node string }

// Run refreshes every interval until ctx ends.
func (e *Exporter) Run(ctx context.Context, interval time.Duration) {
	defer e.dropChain()
	for {
		e.Refresh(ctx)
		select {
		case <-ctx.Done():
			return
		case <-time.After(interval):
		}
	}
}

// Refresh runs every check once.
func (e *Exporter) Refresh(ctx context.Context) {
	var cfg ExporterConfig
	data, err := os.ReadFile(e.Config)
	if err == nil {
		err = json.Unmarshal(data, &cfg)
	}
	if err != nil {
		e.report("config", err)
		return
	}
	e.report("config", nil)
	e.mu.Lock()
	old := e.values
	e.mu.Unlock()
	next := map[sample]float64{}
	keep := func(s sample, check string, err error) {
		e.report(check, err)
		if v, ok := old[s]; ok && err != nil {
			next[s] = v
		}
	}
	registered, errs := e.sessionKeys(ctx, &cfg)
	for node := range cfg.Validators {
		s := sample{MetricSessionKeysRegistered, node}
		if v, ok := registered[node]; ok {
			next[s] = v
		}
		keep(s, "session keys of "+node, errs[node])
	}
	if b := cfg.Backup; b != nil {
		last, err := lastBackup(ctx, cfg.Network, b)
		s := sample{MetricBackupLastSuccess, b.Node}
		if err == nil {
			if last.IsZero() {
				last = b.Since
			}
			next[s] = float64(last.UnixMilli()) / 1000
		}
		keep(s, "backups of "+b.Node, err)
		next[sample{MetricBackupInterval, b.Node}] = b.IntervalSeconds
	}
	e.mu.Lock()
	e.network, e.values = cfg.Network, next
	e.mu.Unlock()
}

// report logs a check's error once, and once when it passes again.
func (e *Exporter) report(check string, err error) {
	msg := ""
	if err != nil {
		msg = err.Error()
	}
	if e.lastErr == nil {
		e.lastErr = map[string]string{}
	}
	if e.lastErr[check] == msg {
		return
	}
	e.lastErr[check] = msg
	if err != nil {
		e.Log.Printf("%s: %v (serving the last result)", check, err)
	} else {
		e.Log.Printf("%s: ok", check)
	}
}

// sessionKeys is `onf keys check` for every configured node: 1 when the node holds the keys
// session.nextKeys has for its validator, 0 when it does not or none are registered.
func (e *Exporter) sessionKeys(ctx context.Context, cfg *ExporterConfig) (map[string]float64, map[string]error) {
	out, errs := map[string]float64{}, map[string]error{}
	if len(cfg.Validators) == 0 {
		return out, errs
	}
	fail := func(err error) (map[string]float64, map[string]error) {
		for node := range cfg.Validators {
			errs[node] = err
		}
		return out, errs
	}
	st, err := e.Runtime.Status(ctx, cfg.Network)
	if err != nil {
		return fail(err)
	}
	dir, err := e.Runtime.Dir(cfg.Network)
	if err != nil {
		return fail(err)
	}
	nodes := map[string]local.NodeInfo{}
	chainURL := "" // the first running signing node, as onf keys check reads the chain
	for _, n := range st.Nodes {
		nodes[n.Name] = n
		if signing(n.Role) && n.Running && n.RPCError == "" && chainURL == "" {
			chainURL = n.RPC
		}
	}
	if chainURL == "" {
		return fail(fmt.Errorf("no validator or collator of %s answers RPC to read the chain from", cfg.Network))
	}
	if e.chain != nil && e.chainURL != chainURL {
		e.dropChain()
	}
	if e.chain == nil {
		if e.chain, err = sessionkeys.Connect(chainURL); err != nil {
			return fail(err)
		}
		e.chainURL = chainURL
	}
	defer func() {
		if len(errs) > 0 {
			e.dropChain()
		}
	}()
	for node, validator := range cfg.Validators {
		n, ok := nodes[node]
		if !ok || !n.Running || n.RPCError != "" {
			errs[node] = fmt.Errorf("%s is not running or does not answer RPC", node)
			continue
		}
		st, err := checkKeys(ctx, n.RPC, sessionkeys.Keystore(dir.Keystore(node)), e.chain, validator)
		if err != nil {
			errs[node] = err
			continue
		}
		out[node] = 0
		if st.Result == "match" {
			out[node] = 1
		}
	}
	return out, errs
}

func (e *Exporter) dropChain() {
	if e.chain != nil {
		e.chain.Close()
		e.chain = nil
	}
}

func checkKeys(ctx context.Context, nodeRPC string, ks sessionkeys.Keystore, chain *sessionkeys.Chain, validator string) (sessionkeys.Status, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	client, err := rpc.Dial(ctx, nodeRPC)
	if err != nil {
		return sessionkeys.Status{}, err
	}
	defer client.Close()
	cu := &sessionkeys.Custodian{Keystore: ks, Node: client, Chain: chain}
	stash, err := cu.StashOf("", validator)
	if err != nil {
		return sessionkeys.Status{}, err
	}
	return cu.Check(ctx, stash)
}

func signing(r v1alpha1.Role) bool { return r == v1alpha1.RoleValidator || r == v1alpha1.RoleCollator }

// lastBackup is when the newest complete backup of the node was made; zero if none.
func lastBackup(ctx context.Context, network string, b *BackupWatch) (time.Time, error) {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	store, err := backup.Open(ctx, b.Destination)
	if err != nil {
		return time.Time{}, err
	}
	defer store.Close()
	list, err := store.List(ctx, network)
	if err != nil {
		return time.Time{}, err
	}
	var last time.Time
	for _, m := range list {
		if m.Node == b.Node && m.Created.After(last) {
			last = m.Created
		}
	}
	return last, nil
}

// ServeHTTP serves the last results in the Prometheus text format.
func (e *Exporter) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	e.mu.Lock()
	network, values := e.network, e.values // Refresh replaces the map, never changes it
	e.mu.Unlock()
	reg := prometheus.NewRegistry()
	help := map[string]string{
		MetricSessionKeysRegistered: "1 when the node holds the session keys session.nextKeys has for its validator (onf keys check: match), else 0.",
		MetricBackupLastSuccess:     "When the newest complete backup of the node was made (spec.backup), Unix seconds.",
		MetricBackupInterval:        "The longest gap between two runs of spec.backup.schedule, seconds.",
	}
	gauges := map[string]*prometheus.GaugeVec{}
	for name, h := range help {
		gauges[name] = prometheus.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: h}, []string{"network", "node"})
		reg.MustRegister(gauges[name])
	}
	for s, v := range values {
		gauges[s.metric].WithLabelValues(network, s.node).Set(v)
	}
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{}).ServeHTTP(w, r)
}

// Serve runs the checks every interval and serves /metrics (and /-/ready) on a loopback
// address until ctx ends.
func (e *Exporter) Serve(ctx context.Context, listen string, interval time.Duration) error {
	host, _, err := net.SplitHostPort(listen)
	if ip := net.ParseIP(host); err != nil || ip == nil || !ip.IsLoopback() {
		return fmt.Errorf("--listen: want a loopback host:port, got %q", listen)
	}
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", e)
	mux.HandleFunc("GET /-/ready", func(http.ResponseWriter, *http.Request) {})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go e.Run(ctx, interval)
	go func() {
		<-ctx.Done()
		srv.Close()
	}()
	if err := srv.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
