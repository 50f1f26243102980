package controller

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/kube"
)

// +kubebuilder:rbac:groups=batch,resources=cronjobs,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=serviceaccounts,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups=rbac.authorization.k8s.io,resources=roles;rolebindings,verbs=get;list;watch;create;update;patch;delete
// +kubebuilder:rbac:groups="",resources=pods,verbs=patch

// holdForBackup stops the backup source group while one of the network's backup Job pods
// runs: its facts step has recorded the node's blocks. Once the node's pod is gone, the
// backup pod is annotated kube.AnnotationSourceStopped: its copy step waits for that before
// it reads the volume. When the pod ends (the copy done, or failed), the group starts again.
// A StatefulSet cannot stop one pod, so the source is a group of one (kube refuses more).
func (r *Reconciler) holdForBackup(ctx context.Context, n *v1alpha1.SubstrateNetwork, objs []client.Object) error {
	b := n.Spec.Backup
	if b == nil {
		return nil
	}
	var pods corev1.PodList
	if err := r.Client.List(ctx, &pods, client.InNamespace(n.Namespace), client.MatchingLabels{
		kube.LabelNetwork: n.Name, kube.LabelManagedBy: kube.ManagedBy, kube.LabelBackupOf: b.Source,
	}); err != nil {
		return fmt.Errorf("list backup pods: %w", err)
	}
	var running []*corev1.Pod
	for i, p := range pods.Items {
		if p.Status.Phase == corev1.PodRunning && p.DeletionTimestamp == nil {
			running = append(running, &pods.Items[i])
		}
	}
	if len(running) == 0 {
		return nil
	}
	name := kube.GroupName(n.Name, b.Source)
	for _, o := range objs {
		if sts, ok := o.(*appsv1.StatefulSet); ok && sts.Name == name {
			sts.Spec.Replicas = ptr(int32(0))
		}
	}
	err := r.Client.Get(ctx, client.ObjectKey{Namespace: n.Namespace, Name: kube.PodName(n.Name, b.Source, 0)}, &corev1.Pod{})
	if !apierrors.IsNotFound(err) {
		return client.IgnoreNotFound(err) // still there (or unknown): the copy waits
	}
	for _, p := range running {
		if p.Annotations[kube.AnnotationSourceStopped] == "true" {
			continue
		}
		patch := client.MergeFrom(p.DeepCopy())
		if p.Annotations == nil {
			p.Annotations = map[string]string{}
		}
		p.Annotations[kube.AnnotationSourceStopped] = "true"
		if err := r.Client.Patch(ctx, p, patch); err != nil {
			return fmt.Errorf("tell backup pod %s its source stopped: %w", p.Name, err)
		}
	}
	return nil
}

// backupMetrics serves, for clusters, the series the local exporter serves for spec.backup
// (internal/monitor), with the same names and labels plus namespace, so the BackupTooOld
// alert covers both: when the backup CronJob last succeeded (its creation time until then,
// as the local exporter starts from the time it began watching) and its schedule's longest
// interval.
type backupMetrics struct {
	mu     sync.Mutex
	reader client.Reader
}

var (
	backupMetric   = &backupMetrics{}
	backupLabels   = []string{"namespace", "network", "node"}
	backupLastDesc = prometheus.NewDesc(backup.MetricLastSuccess,
		"When the newest backup Job of spec.backup succeeded (the CronJob's lastSuccessfulTime), Unix seconds.", backupLabels, nil)
	backupIntervalDesc = prometheus.NewDesc(backup.MetricInterval,
		"The longest gap between two runs of spec.backup.schedule, seconds.", backupLabels, nil)
)

func init() { metrics.Registry.MustRegister(backupMetric) }

func (m *backupMetrics) use(r client.Reader) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.reader = r
}

func (m *backupMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- backupLastDesc
	ch <- backupIntervalDesc
}

func (m *backupMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	r := m.reader
	m.mu.Unlock()
	if r == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	var list batchv1.CronJobList
	if err := r.List(ctx, &list, client.HasLabels{kube.LabelBackupOf}, client.MatchingLabels{kube.LabelManagedBy: kube.ManagedBy}); err != nil {
		ch <- prometheus.NewInvalidMetric(backupLastDesc, err)
		return
	}
	now := time.Now()
	for _, cj := range list.Items {
		labels := []string{cj.Namespace, cj.Labels[kube.LabelNetwork], cj.Labels[kube.LabelBackupOf] + "-0"}
		last := cj.CreationTimestamp.Time
		if t := cj.Status.LastSuccessfulTime; t != nil {
			last = t.Time
		}
		ch <- prometheus.MustNewConstMetric(backupLastDesc, prometheus.GaugeValue, float64(last.UnixMilli())/1000, labels...)
		if interval, err := backup.ScheduleInterval(cj.Spec.Schedule, now); err == nil {
			ch <- prometheus.MustNewConstMetric(backupIntervalDesc, prometheus.GaugeValue, interval.Seconds(), labels...)
		}
	}
}
