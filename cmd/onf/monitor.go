package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/monitor"
)

func init() { rootCmd.AddCommand(newMonitorCmd()) }

func newMonitorCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "monitor",
		Short: "Run Prometheus and Alertmanager for a local network (alert rules, receivers)",
		Long: `monitor runs a local network's monitoring stack: a real Prometheus that scrapes every node
and the network's RPC gateway (spec.gateway's metricsListen) and evaluates the alert rules of
monitoring/rules, and a real Alertmanager that routes the alerts to the receivers of
--alertmanager-config. Both listen on loopback only and run in the background until
'onf monitor down'. They come from Debian's prometheus and prometheus-alertmanager packages.
What each alert means: docs/monitoring.md.`,
		Example: `  onf monitor up dev --alertmanager-config receivers.yml
  onf monitor status dev
  onf monitor down dev`,
	}
	c.AddCommand(newMonitorUpCmd(), newMonitorDownCmd(), newMonitorStatusCmd(), newShipLogsCmd(), newExportMetricsCmd())
	return c
}

func newMonitorUpCmd() *cobra.Command {
	var file string
	var o monitor.Options
	c := &cobra.Command{
		Use:   "up [NAME]",
		Short: "Start (or update) the monitoring stack of a running local network",
		Long: `up checks the receivers file (amtool) and the generated Prometheus configuration (promtool),
then starts Prometheus and Alertmanager on free loopback ports, and an exporter Prometheus
scrapes for what no node exposes: onf_session_keys_registered for each --validator node
(onf keys check, every scrape interval, at least 5s apart) and, when the spec has
spec.backup, onf_backup_last_success_timestamp_seconds and onf_backup_interval_seconds of the
node it backs up (from the destination's listing). Run it again after scaling the network or
changing the receivers or validators: the targets, rules and receivers are rewritten and the
processes reload them without losing their data. A bad receivers file changes nothing.`,
		Example: `  onf monitor up dev --alertmanager-config monitoring/alertmanager/alertmanager.example.yml
  onf monitor up dev --loki-url http://127.0.0.1:9428/insert/loki/api/v1/push   # VictoriaLogs
  onf monitor up dev --validator validator-0=5GNJqTPyNqANBkUVMN1LPPrxXnFouWXoe2wNSmmEoLctxiZY   # its stash
  onf monitor up dev --scrape-interval 5s --eval-interval 5s --time-scale 0.1   # alerts in seconds, for trying them out`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args, file)
			if err != nil {
				return err
			}
			self, err := os.Executable()
			if err != nil {
				return err
			}
			o.Onf = []string{self, "--home", rt.Home, "monitor"}
			st, err := monitor.Up(c.Context(), rt, name, o)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "monitoring %s: prometheus %s, alertmanager %s\n", name, st.Prometheus.URL(), st.Alertmanager.URL())
			if st.LokiURL != "" {
				fmt.Fprintf(c.OutOrStdout(), "node logs shipped to %s\n", st.LokiURL)
			}
			return nil
		},
	}
	addSpecFlag(c, &file, false)
	c.Flags().StringVar(&o.LokiURL, "loki-url", "", "ship the nodes' logs to this Loki push API (labels network, group, node, level)")
	c.Flags().StringToStringVar(&o.Validators, "validator", nil, "NODE=ADDRESS: the node must hold the session keys of this validator (stash or controller, SS58); repeatable")
	c.Flags().StringVar(&o.AlertmanagerConfig, "alertmanager-config", "", "Alertmanager configuration with the receivers (default: alerts are kept, sent nowhere)")
	c.Flags().DurationVar(&o.ScrapeInterval, "scrape-interval", 15*time.Second, "how often every node and the gateway are scraped")
	c.Flags().DurationVar(&o.EvalInterval, "eval-interval", 15*time.Second, "how often the rules are evaluated")
	c.Flags().Float64Var(&o.TimeScale, "time-scale", 1, "multiply every range and 'for' of the rules (0.1: alerts ten times sooner)")
	c.Flags().StringVar(&o.Prometheus, "prometheus", "", "prometheus binary (default: on PATH)")
	c.Flags().StringVar(&o.Alertmanager, "alertmanager", "", "alertmanager binary (default: on PATH)")
	return c
}

func newMonitorDownCmd() *cobra.Command {
	var file string
	var purge bool
	c := &cobra.Command{
		Use:   "down [NAME]",
		Short: "Stop the monitoring stack of a local network",
		Long:  `down stops Prometheus and Alertmanager (SIGTERM, then SIGKILL after 10s); --purge also deletes their data.`,
		Example: `  onf monitor down dev
  onf monitor down dev --purge`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args, file)
			if err != nil {
				return err
			}
			if err := monitor.Down(rt.Home, name, purge); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "monitoring %s stopped\n", name)
			return nil
		},
	}
	addSpecFlag(c, &file, false)
	c.Flags().BoolVar(&purge, "purge", false, "also delete the time series and Alertmanager's data")
	return c
}

func newMonitorStatusCmd() *cobra.Command {
	var file, output string
	c := &cobra.Command{
		Use:   "status [NAME]",
		Short: "Show the monitoring stack of a local network and its pending and firing alerts",
		Example: `  onf monitor status dev
  onf monitor status dev -o json`,
		Args: cobra.MaximumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if output != "" && output != "json" {
				return fmt.Errorf("--output: must be json or empty, got %q", output)
			}
			rt, name, err := localNetwork(args, file)
			if err != nil {
				return err
			}
			r, err := monitor.Status(c.Context(), rt.Home, name)
			if err != nil {
				return err
			}
			out := c.OutOrStdout()
			if output == "json" {
				enc := json.NewEncoder(out)
				enc.SetIndent("", "  ")
				return enc.Encode(r)
			}
			if r.Prometheus == "" {
				fmt.Fprintf(out, "monitoring %s: not running ('onf monitor up %s')\n", name, name)
				return nil
			}
			fmt.Fprintf(out, "monitoring %s: prometheus %s, alertmanager %s, %d/%d targets up\n", name, r.Prometheus, r.Alertmanager, r.TargetsUp, r.Targets)
			if len(r.Alerts) == 0 {
				fmt.Fprintln(out, "no alerts")
				return nil
			}
			w := tabwriter.NewWriter(out, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "NODE\tALERT\tSEVERITY\tSTATE\tSINCE\tSUMMARY")
			for _, a := range r.Alerts {
				node := a.Node
				if node == "" {
					node = "(network)"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", node, a.Name, a.Severity, a.State, a.Since.UTC().Format(time.TimeOnly), a.Summary)
			}
			return w.Flush()
		},
	}
	addSpecFlag(c, &file, false)
	c.Flags().StringVarP(&output, "output", "o", "", "json for scripts")
	return c
}

// newShipLogsCmd is the log shipper process `onf monitor up --loki-url` starts.
func newShipLogsCmd() *cobra.Command {
	var lokiURL string
	c := stackHelperCmd("ship-logs NAME --loki-url URL", "Push a local network's node logs to a Loki push API until stopped",
		func(ctx context.Context, rt *local.Runtime, name, mon string) error {
			dir, err := rt.Dir(name)
			if err != nil {
				return err
			}
			s := &monitor.LogShipper{URL: lokiURL, Network: name, Logs: filepath.Dir(dir.Log("node")), State: filepath.Join(mon, "log-shipper.json"), Spec: dir.Spec()}
			return s.Run(ctx, time.Second)
		})
	c.Flags().StringVar(&lokiURL, "loki-url", "", "Loki push API URL")
	return c
}

// newExportMetricsCmd is the exporter process `onf monitor up` starts.
func newExportMetricsCmd() *cobra.Command {
	var listen string
	var interval time.Duration
	c := stackHelperCmd("export-metrics NAME --listen ADDR", "Serve a local network's session key and backup metrics to Prometheus until stopped",
		func(ctx context.Context, rt *local.Runtime, name, mon string) error {
			e := &monitor.Exporter{Runtime: rt, Config: filepath.Join(mon, "exporter.json"), Log: log.New(os.Stderr, "", log.LstdFlags)}
			return e.Serve(ctx, listen, interval)
		})
	c.Flags().StringVar(&listen, "listen", "", "loopback address to serve /metrics on")
	c.Flags().DurationVar(&interval, "interval", 15*time.Second, "how often to run the checks")
	return c
}

// stackHelperCmd is a hidden command for a background process of the stack that `onf monitor
// up` starts: run gets the network, its stack directory and a context SIGTERM ends.
func stackHelperCmd(use, short string, run func(ctx context.Context, rt *local.Runtime, name, mon string) error) *cobra.Command {
	return &cobra.Command{
		Use: use, Short: short,
		Hidden: true, // started by 'onf monitor up'
		Args:   cobra.ExactArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			rt, name, err := localNetwork(args, "")
			if err != nil {
				return err
			}
			mon, err := monitor.Dir(rt.Home, name)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), syscall.SIGTERM, os.Interrupt)
			defer stop()
			return run(ctx, rt, name, mon)
		},
	}
}

// printFiringAlerts adds the firing alerts of a local network's monitoring stack, per node, to
// `onf status`: those its Alertmanager holds active (not silenced, not inhibited), what the
// receivers were told. A network without a running stack prints nothing more.
func printFiringAlerts(c *cobra.Command, b backend, name string) error {
	lb, ok := b.(localBackend)
	if !ok {
		return nil
	}
	st, ok, err := monitor.Load(lb.rt.Home, name)
	if err != nil || !ok || !st.Alertmanager.Running() {
		return err
	}
	alerts, err := monitor.Notified(c.Context(), st.Alertmanager.URL())
	if err != nil {
		return fmt.Errorf("monitoring: %w", err)
	}
	for _, a := range alerts {
		node := a.Node
		if node == "" {
			node = "(network)"
		}
		fmt.Fprintf(c.OutOrStdout(), "alert: %s %s (%s) since %s: %s\n", node, a.Name, a.Severity, a.Since.UTC().Format(time.TimeOnly), a.Summary)
	}
	return nil
}
