package operator

import (
	"context"
	"fmt"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/metrics"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

var backupNetSpec = polkadotNetwork("bk", "backups", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        dev: ["//Alice"]
    - name: backup
      role: full
  backup:
    source: backup
    schedule: "0 3 * * *"
    destination: s3://chain-backups?region=eu-west-1
    credentialsSecret: s3-credentials
    retention: {keep: 7}
`)

// The operator owns spec.backup's CronJob; while a Job's pod runs, the source group is
// stopped (replicas 0), the pod is told once the source pod is gone (the annotation its copy
// step waits for), and the group starts again when the pod is gone; the operator's metrics endpoint serves the backup series with the labels the
// local exporter uses (plus namespace); removing spec.backup deletes the objects.
func TestBackupCronJobAndHold(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "backups")
	ctx := context.Background()
	startOperator(t, cluster, controller.Config{Workers: 2, Builders: kube.Options{GatewayImage: "onf:test"}})
	n := createNetwork(t, cl, backupNetSpec)
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "backups", Name: name} }
	var cj batchv1.CronJob
	testenv.Eventually(t, 30*time.Second, "the backup CronJob, owned by the network", func() (bool, error) {
		for _, o := range []client.Object{&cj} {
			if err := cl.Get(ctx, key("bk-backup"), o); err != nil {
				return false, err
			}
			if len(o.GetOwnerReferences()) != 1 || o.GetOwnerReferences()[0].Name != "bk" {
				return false, fmt.Errorf("%T owners %+v", o, o.GetOwnerReferences())
			}
		}
		return true, nil
	})
	replicas := func(want int32) func() (bool, error) {
		return func() (bool, error) {
			var sts appsv1.StatefulSet
			if err := cl.Get(ctx, key("bk-backup"), &sts); err != nil {
				return false, err
			}
			if got := *sts.Spec.Replicas; got != want {
				return false, fmt.Errorf("group backup has %d replicas", got)
			}
			return true, nil
		}
	}
	testenv.Eventually(t, 30*time.Second, "the backup group running", replicas(1))

	// A pod of the Job holds the group while it runs. kwok completes Job pods at once, so
	// this pod is placed on no node and the test moves it through its phases.
	tmpl := cj.Spec.JobTemplate.Spec.Template
	held := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "bk-backup-held", Namespace: "backups", Labels: tmpl.Labels}, Spec: *tmpl.Spec.DeepCopy()}
	held.Spec.NodeName = "no-such-node"
	if err := cl.Create(ctx, held); err != nil {
		t.Fatal(err)
	}
	phase := func(p corev1.PodPhase) {
		held.Status.Phase = p
		if err := cl.Status().Update(ctx, held); err != nil {
			t.Fatal(err)
		}
	}
	testenv.Eventually(t, 10*time.Second, "the group still running while the pod is pending (its facts step)", replicas(1))
	phase(corev1.PodRunning)
	testenv.Eventually(t, 30*time.Second, "the source group held (replicas 0) while the backup pod runs", replicas(0))
	testenv.Eventually(t, 30*time.Second, "the backup pod told its source stopped once the source pod is gone", func() (bool, error) {
		if err := cl.Get(ctx, key("bk-backup-0"), &corev1.Pod{}); client.IgnoreNotFound(err) != nil || err == nil {
			return false, fmt.Errorf("source pod: %v", err)
		}
		if err := cl.Get(ctx, key(held.Name), held); err != nil {
			return false, err
		}
		return held.Annotations[kube.AnnotationSourceStopped] == "true", fmt.Errorf("annotations %v", held.Annotations)
	})
	phase(corev1.PodSucceeded)
	testenv.Eventually(t, 30*time.Second, "the source group running again once the backup pod ended", replicas(1))

	// What `kubectl create job --from=cronjob/bk-backup` makes: a Job the CronJob owns; its
	// success (kwok completes the pod) becomes the CronJob's lastSuccessfulTime.
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{Name: "bk-backup-manual", Namespace: "backups", Labels: cj.Spec.JobTemplate.Labels,
			OwnerReferences: []metav1.OwnerReference{{APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptr(true)}}},
		Spec: cj.Spec.JobTemplate.Spec,
	}
	if err := cl.Create(ctx, job); err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 60*time.Second, "the CronJob's last success recorded", func() (bool, error) {
		if err := cl.Get(ctx, key("bk-backup"), &cj); err != nil {
			return false, err
		}
		return cj.Status.LastSuccessfulTime != nil, nil
	})

	// The metrics: the Job's success and the schedule's interval (a day), labelled as the
	// local exporter labels them, plus namespace.
	series := gatherBackup(t)
	wantLabels := map[string]string{"namespace": "backups", "network": "bk", "node": "backup-0"}
	for _, name := range []string{backup.MetricLastSuccess, backup.MetricInterval} {
		m, ok := series[name]
		if !ok {
			t.Fatalf("no %s in %v", name, series)
		}
		got := map[string]string{}
		for _, l := range m.Label {
			got[l.GetName()] = l.GetValue()
		}
		if fmt.Sprint(got) != fmt.Sprint(wantLabels) {
			t.Errorf("%s labels %v, want %v", name, got, wantLabels)
		}
	}
	if v := series[backup.MetricInterval].GetGauge().GetValue(); v != 86400 {
		t.Errorf("interval %v, want 86400", v)
	}
	if v := series[backup.MetricLastSuccess].GetGauge().GetValue(); v != float64(cj.Status.LastSuccessfulTime.Unix()) {
		t.Errorf("last success %v, want the Job's success at %d", v, cj.Status.LastSuccessfulTime.Unix())
	}

	// Without spec.backup the objects go.
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if err := cl.Get(ctx, key("bk"), n); err != nil {
			return err
		}
		n.Spec.Backup = nil
		return cl.Update(ctx, n)
	})
	if err != nil {
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the backup objects deleted", func() (bool, error) {
		for _, o := range []client.Object{&batchv1.CronJob{}} {
			err := cl.Get(ctx, key("bk-backup"), o)
			if err == nil {
				return false, fmt.Errorf("%T still there", o)
			}
			if client.IgnoreNotFound(err) != nil {
				return false, err
			}
		}
		return true, nil
	})
}

// gatherBackup reads the operator's backup series for network bk from its metrics registry.
func gatherBackup(t *testing.T) map[string]*dto.Metric {
	t.Helper()
	families, err := metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.Metric{}
	for _, f := range families {
		if f.GetName() != backup.MetricLastSuccess && f.GetName() != backup.MetricInterval {
			continue
		}
		for _, m := range f.Metric {
			for _, l := range m.Label {
				if l.GetName() == "network" && l.GetValue() == "bk" {
					out[f.GetName()] = m
				}
			}
		}
	}
	return out
}
