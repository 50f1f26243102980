package controller

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	autoscalingv2 "k8s.io/api/autoscaling/v2"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	policyv1 "k8s.io/api/policy/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	clientgoscheme "k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	ctrl "sigs.k8s.io/controller-runtime"
	"sigs.k8s.io/controller-runtime/pkg/builder"
	"sigs.k8s.io/controller-runtime/pkg/cache"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/controller"
	"sigs.k8s.io/controller-runtime/pkg/handler"
	"sigs.k8s.io/controller-runtime/pkg/healthz"
	"sigs.k8s.io/controller-runtime/pkg/manager"
	metricsserver "sigs.k8s.io/controller-runtime/pkg/metrics/server"
	"sigs.k8s.io/controller-runtime/pkg/predicate"
	"sigs.k8s.io/controller-runtime/pkg/reconcile"
	"sigs.k8s.io/controller-runtime/pkg/source"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/nodestatus"
)

// Config configures an operator process.
type Config struct {
	// Namespace limits the operator to one namespace; empty watches all.
	Namespace string
	// LeaderElection makes replicas elect one active operator.
	LeaderElection bool
	// LeaderElectionNamespace holds the election lease (default: the in-cluster namespace).
	LeaderElectionNamespace string
	// MetricsAddr serves Prometheus metrics ("0" disables).
	MetricsAddr string
	// ProbeAddr serves /healthz and /readyz ("0" disables).
	ProbeAddr string
	// Workers is the number of networks reconciled in parallel.
	Workers int
	// NodeStatusInterval is how often nodes are polled over RPC (0 disables polling).
	NodeStatusInterval time.Duration
	// SyncPeriod re-reconciles every network this often even without changes.
	SyncPeriod time.Duration
	// Builders are the cluster facts for the builders.
	Builders kube.Options
	// Endpoint overrides how a pod's RPC URL is found (tests).
	Endpoint func(*corev1.Pod) string
	// Probe overrides how a node's facts are read from its endpoint (tests: a fake node
	// status source for kwok pods, which run no node).
	Probe nodestatus.Prober
	// StorageGrowthInterval is how often networks with storageGrowth are reconciled to
	// look at their volumes (0: DefaultGrowthInterval).
	StorageGrowthInterval time.Duration
	// VolumeStats overrides where volume stats come from (tests: a fake kubelet summary);
	// nil reads the kubelet's through the API server's node proxy.
	VolumeStats VolumeStats
	Log         *slog.Logger
}

// Operator is a configured manager with its reconciler.
type Operator struct {
	Manager    manager.Manager
	Reconciler *Reconciler
	// Writes counts the operator's writing API requests.
	Writes *WriteCounter
}

// Scheme knows the built-in kinds and SubstrateNetwork.
func Scheme() (*runtime.Scheme, error) {
	s := runtime.NewScheme()
	if err := clientgoscheme.AddToScheme(s); err != nil {
		return nil, err
	}
	if err := v1alpha1.AddToScheme(s); err != nil {
		return nil, err
	}
	return s, nil
}

// New builds the operator on a REST config. Run it with Operator.Manager.Start.
func New(cfg *rest.Config, c Config) (*Operator, error) {
	scheme, err := Scheme()
	if err != nil {
		return nil, err
	}
	// controller-runtime's packages log through its global logger too.
	ctrl.SetLogger(logrFrom(c.Log))
	writes := &WriteCounter{}
	managed := labels.SelectorFromSet(labels.Set{kube.LabelManagedBy: kube.ManagedBy})
	byObject := map[client.Object]cache.ByObject{}
	// Cache only the operator's own objects: never every Secret or Pod of the cluster.
	for _, o := range []client.Object{&appsv1.StatefulSet{}, &appsv1.Deployment{}, &corev1.Service{}, &corev1.Secret{}, &corev1.ConfigMap{}, &corev1.Pod{}, &corev1.PersistentVolumeClaim{},
		&batchv1.CronJob{}, &corev1.ServiceAccount{}, &rbacv1.Role{}, &rbacv1.RoleBinding{},
		&policyv1.PodDisruptionBudget{}, &networkingv1.NetworkPolicy{}, &networkingv1.Ingress{}, &autoscalingv2.HorizontalPodAutoscaler{}} {
		byObject[o] = cache.ByObject{Label: managed}
	}
	cacheOpts := cache.Options{ByObject: byObject, DefaultTransform: cache.TransformStripManagedFields()}
	if c.Namespace != "" {
		cacheOpts.DefaultNamespaces = map[string]cache.Config{c.Namespace: {}}
	}
	if c.SyncPeriod > 0 {
		cacheOpts.SyncPeriod = &c.SyncPeriod
	}
	metricsAddr, probeAddr := c.MetricsAddr, c.ProbeAddr
	if metricsAddr == "" {
		metricsAddr = "0"
	}
	if probeAddr == "" {
		probeAddr = "0"
	}
	restCfg := writes.Wrap(cfg)
	mgr, err := ctrl.NewManager(restCfg, ctrl.Options{
		Scheme:                  scheme,
		Cache:                   cacheOpts,
		Metrics:                 metricsserver.Options{BindAddress: metricsAddr},
		HealthProbeBindAddress:  probeAddr,
		LeaderElection:          c.LeaderElection,
		LeaderElectionID:        "onf-operator.onf.dinfra.dev",
		LeaderElectionNamespace: c.LeaderElectionNamespace,
		// Hand over at once on a clean stop, so a restart does not wait out the lease.
		LeaderElectionReleaseOnCancel: true,
		Logger:                        logrFrom(c.Log),
	})
	if err != nil {
		return nil, fmt.Errorf("create manager: %w", err)
	}
	if probeAddr != "0" {
		if err := mgr.AddHealthzCheck("ping", healthz.Ping); err != nil {
			return nil, err
		}
		if err := mgr.AddReadyzCheck("cache", func(req *http.Request) error {
			if !mgr.GetCache().WaitForCacheSync(req.Context()) {
				return fmt.Errorf("cache not synced")
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	opts := c.Builders
	opts.ServiceMonitor = opts.ServiceMonitor || hasKind(mgr.GetRESTMapper(), kube.ServiceMonitorGVK.Group, kube.ServiceMonitorGVK.Kind)
	opts.PrometheusRule = opts.PrometheusRule || hasKind(mgr.GetRESTMapper(), kube.PrometheusRuleGVK.Group, kube.PrometheusRuleGVK.Kind)
	r := &Reconciler{Client: mgr.GetClient(), APIReader: mgr.GetAPIReader(), Scheme: scheme, Options: opts, Log: c.Log,
		Events: mgr.GetEventRecorder("onf-operator"), Stats: c.VolumeStats, GrowthInterval: c.StorageGrowthInterval}
	if r.Stats == nil {
		if r.Stats, err = NewKubeletStats(restCfg); err != nil {
			return nil, err
		}
	}
	keysMetric.use(mgr.GetClient())
	backupMetric.use(mgr.GetClient())
	var nodeEvents source.Source
	if c.NodeStatusInterval > 0 {
		r.Nodes = &nodestatus.Cache{Reader: mgr.GetClient(), Interval: c.NodeStatusInterval, Endpoint: c.Endpoint, Probe: c.Probe, Log: c.Log}
		if err := mgr.Add(r.Nodes); err != nil {
			return nil, err
		}
		nodeEvents = source.Channel(r.Nodes.Events(), &handler.EnqueueRequestForObject{})
	}
	b := ctrl.NewControllerManagedBy(mgr).
		Named("substratenetwork").
		// Status writes bump no generation: the operator does not wake itself up. Annotations
		// carry requests (`onf rollout abort`).
		For(&v1alpha1.SubstrateNetwork{}, builder.WithPredicates(predicate.Or[client.Object](predicate.GenerationChangedPredicate{}, predicate.AnnotationChangedPredicate{}))).
		Owns(&appsv1.StatefulSet{}).
		Owns(&appsv1.Deployment{}).
		Owns(&corev1.Service{}).
		Owns(&corev1.Secret{}).
		Owns(&corev1.ConfigMap{}).
		Owns(&policyv1.PodDisruptionBudget{}).
		Owns(&networkingv1.NetworkPolicy{}).
		Owns(&networkingv1.Ingress{}).
		Owns(&autoscalingv2.HorizontalPodAutoscaler{}).
		Owns(&batchv1.CronJob{}).
		Owns(&corev1.ServiceAccount{}).
		Owns(&rbacv1.Role{}).
		Owns(&rbacv1.RoleBinding{}).
		// Pods belong to StatefulSets and the gateway's Deployment; their failures still
		// change the network's status.
		Watches(&corev1.Pod{}, handler.EnqueueRequestsFromMapFunc(podToNetwork)).
		// One operator per process in production; tests restart one in the same process.
		WithOptions(controller.Options{MaxConcurrentReconciles: max(c.Workers, 1), SkipNameValidation: ptr(true)})
	if nodeEvents != nil {
		b = b.WatchesRawSource(nodeEvents)
	}
	if err := b.Complete(r); err != nil {
		return nil, fmt.Errorf("create controller: %w", err)
	}
	return &Operator{Manager: mgr, Reconciler: r, Writes: writes}, nil
}

func podToNetwork(_ context.Context, o client.Object) []reconcile.Request {
	name := o.GetLabels()[kube.LabelNetwork]
	if name == "" {
		return nil
	}
	return []reconcile.Request{{NamespacedName: client.ObjectKey{Namespace: o.GetNamespace(), Name: name}}}
}

// hasKind reports whether the API server serves a kind (a CRD is installed).
func hasKind(m meta.RESTMapper, group, kind string) bool {
	_, err := m.RESTMapping(schema.GroupKind{Group: group, Kind: kind})
	return err == nil
}

func ptr[T any](v T) *T { return &v }
