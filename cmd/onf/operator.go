package main

import (
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/go-logr/logr"
	"github.com/spf13/cobra"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	ctrl "sigs.k8s.io/controller-runtime"

	"github.com/dinfra/stack/internal/kube/controller"
)

func init() { rootCmd.AddCommand(newOperatorCmd()) }

func newOperatorCmd() *cobra.Command {
	var kubeconfig, logLevel string
	var qps float32
	var burst int
	var cfg controller.Config
	c := &cobra.Command{
		Use:   "operator",
		Short: "Run the Kubernetes operator that reconciles SubstrateNetworks",
		Long: `operator runs the controller that turns SubstrateNetwork objects into running node networks
(StatefulSets, Services, node key Secrets, PodDisruptionBudgets, NetworkPolicies, autoscalers,
ServiceMonitors, and the RPC gateway's Deployment) and reports their status: ready nodes per
group, Ready/Progressing/Degraded conditions, each node's best and finalized block, peers and
sync state, polled over RPC in the background, and the gateway's URL. Groups with
storageGrowth have their data volumes grown when the kubelet reports them past the threshold.

It serves Prometheus metrics (including onf_operator_api_writes_total) and /healthz and /readyz
probes, and elects a leader among its replicas. Inside a cluster it uses its service account;
outside, --kubeconfig or $KUBECONFIG. Install it with the Helm chart (charts/onf-operator) or
the kustomize base (config/default); see docs/operator.md.`,
		Example: `  onf operator --leader-elect
  onf operator --kubeconfig ~/.kube/config --namespace chains --metrics-bind-address :8080`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			var level slog.Level
			if err := level.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("--log-level: %w", err)
			}
			log := slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
			ctrl.SetLogger(logr.FromSlogHandler(log.Handler()))
			cfg.Log = log
			rc, err := restConfig(kubeconfig)
			if err != nil {
				return err
			}
			rc.QPS, rc.Burst = qps, burst
			op, err := controller.New(rc, cfg)
			if err != nil {
				return err
			}
			ctx, stop := signal.NotifyContext(c.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			log.Info("operator starting", "namespace", cfg.Namespace, "leaderElection", cfg.LeaderElection)
			return op.Manager.Start(ctx)
		},
	}
	f := c.Flags()
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file (default: in-cluster, then $KUBECONFIG, then ~/.kube/config)")
	f.StringVar(&cfg.Namespace, "namespace", "", "watch only this namespace (default: all)")
	f.BoolVar(&cfg.LeaderElection, "leader-elect", false, "elect one active operator among replicas")
	f.StringVar(&cfg.LeaderElectionNamespace, "leader-election-namespace", "", "namespace of the leader election lease (default: the operator's own)")
	f.StringVar(&cfg.MetricsAddr, "metrics-bind-address", ":8080", `address of the Prometheus metrics endpoint ("0" disables it)`)
	f.StringVar(&cfg.ProbeAddr, "health-probe-bind-address", ":8081", `address of /healthz and /readyz ("0" disables them)`)
	f.IntVar(&cfg.Workers, "workers", 4, "networks reconciled in parallel")
	f.Float32Var(&qps, "kube-api-qps", 50, "sustained requests per second to the API server")
	f.IntVar(&burst, "kube-api-burst", 100, "burst of requests to the API server")
	f.DurationVar(&cfg.NodeStatusInterval, "node-status-interval", 15*time.Second, "how often nodes are polled over RPC for chain facts (0 disables)")
	f.DurationVar(&cfg.SyncPeriod, "sync-period", 10*time.Minute, "re-reconcile every network this often even when nothing changed")
	f.DurationVar(&cfg.StorageGrowthInterval, "storage-growth-interval", controller.DefaultGrowthInterval, "how often the data volumes of groups with storageGrowth are checked against the kubelet's volume stats")
	f.StringVar(&cfg.Builders.ClusterDomain, "cluster-domain", "cluster.local", "the cluster's DNS domain")
	f.StringVar(&cfg.Builders.GatewayImage, "gateway-image", "", "the onf image that runs spec.gateway when a network names none (the operator's own)")
	f.StringVar(&logLevel, "log-level", "info", "debug, info, warn or error")
	return c
}

func restConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := ctrl.GetConfig()
		if err != nil {
			return nil, fmt.Errorf("find the cluster (set --kubeconfig): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("--kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}
