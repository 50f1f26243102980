package operator

import (
	"context"
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

// backupCLISpec is backupNetSpec with a directory destination on a claim, which this
// machine cannot reach, and a retention of 2.
var backupCLISpec = strings.NewReplacer(
	"destination: s3://chain-backups?region=eu-west-1\n    credentialsSecret: s3-credentials", "destination: /backups/bk\n    volumeClaim: chain-backups",
	"keep: 7", "keep: 2",
).Replace(backupNetSpec)

// TestBackupCommandsOnCluster runs the built `onf backup` verbs with the cluster flags
// against a SubstrateNetwork on a real control plane with the operator and the real Job
// controller. No pod runs here: the fake kubelet below (fakeBackupPod) moves each backup
// Job's pod through its phases and writes the copy step's termination message, the manifest
// `onf backup job create --report` writes in a real pod (test/cluster runs the real one).
func TestBackupCommandsOnCluster(t *testing.T) {
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "backups")
	ctx := context.Background()
	// kwok would complete a Job's pod at once, with no termination message: no pod goes to
	// its node, the fake kubelet below runs them.
	var nodes corev1.NodeList
	if err := cl.List(ctx, &nodes); err != nil {
		t.Fatal(err)
	}
	for i := range nodes.Items {
		nodes.Items[i].Spec.Unschedulable = true
		if err := cl.Update(ctx, &nodes.Items[i]); err != nil {
			t.Fatal(err)
		}
	}
	startOperator(t, cluster, controller.Config{Workers: 2, Builders: kube.Options{GatewayImage: "onf:test"}})
	createNetwork(t, cl, backupCLISpec)
	testenv.Eventually(t, 30*time.Second, "the backup CronJob", func() (bool, error) {
		err := cl.Get(ctx, types.NamespacedName{Namespace: "backups", Name: "bk-backup"}, &batchv1.CronJob{})
		return err == nil, err
	})

	onf := buildOnf(t)
	kc := "--kubeconfig=" + cluster.Kubeconfig
	made := backup.Manifest{Format: backup.Format, ID: "bk-20261205t030000.000z", Network: "bk", Node: "backup-0",
		Chain: "Rococo Local", GenesisHash: "0xabc", Best: backup.Block{Number: 42, Hash: "0x42"},
		Finalized: backup.Block{Number: 40, Hash: "0x40"}, NodeVersion: "1.0", ArchiveSize: 3 << 20, SHA256: "00ff"}

	t.Run("create runs the CronJob once and prints the backup", func(t *testing.T) {
		report, err := json.Marshal(made)
		if err != nil {
			t.Fatal(err)
		}
		defer fakeBackupPod(t, cl, corev1.ContainerStateTerminated{ExitCode: 0, Message: string(report)})()
		out, err := onf.run(t, nil, "backup", "create", kc, "-n", "backups", "bk", "backup-0", "--timeout", "90s")
		if err != nil {
			t.Fatal(err)
		}
		for _, want := range []string{"backup bk-20261205t030000.000z of bk/backup-0", "best #42 0x42", "finalized #40 0x40", "(archive 3.0 MiB)"} {
			if !strings.Contains(out, want) {
				t.Errorf("create printed\n%s\nwithout %q (the local command's output)", out, want)
			}
		}
		var jobs batchv1.JobList
		if err := cl.List(ctx, &jobs, client.InNamespace("backups")); err != nil {
			t.Fatal(err)
		}
		if len(jobs.Items) != 1 {
			t.Fatalf("%d Jobs, want the one create made", len(jobs.Items))
		}
		j := jobs.Items[0]
		if o := metav1.GetControllerOf(&j); o == nil || o.Kind != "CronJob" || o.Name != "bk-backup" || j.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" {
			t.Errorf("Job %s owner %+v, annotations %v: want a manual Job owned by CronJob bk-backup", j.Name, o, j.Annotations)
		}
		if j.Labels[kube.LabelBackupOf] != "backup" {
			t.Errorf("Job labels %v: want the CronJob's jobTemplate labels", j.Labels)
		}
	})

	t.Run("a failed Job fails create with the copy step's message", func(t *testing.T) {
		defer fakeBackupPod(t, cl, corev1.ContainerStateTerminated{ExitCode: 1, Message: "backup bk-x: upload: no space left on device"})()
		_, err := onf.run(t, nil, "backup", "create", kc, "-n", "backups", "bk", "backup-0", "--timeout", "90s")
		if err == nil || !strings.Contains(err.Error(), "failed: backup bk-x: upload: no space left on device") {
			t.Fatalf("create with a failing copy step: %v", err)
		}
	})

	t.Run("refusals", func(t *testing.T) {
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"create", "bk", "validator-0"}, "network bk backs up node backup-0 (spec.backup.source \"backup\""},
			{[]string{"list", "bk"}, "spec.backup.destination of network bk is /backups/bk, a directory on claim \"chain-backups\" inside the cluster's backup pods: give --dest"},
			{[]string{"verify", "nosuch-20261205t030000.000z"}, `no SubstrateNetwork "nosuch" in namespace backups`},
		} {
			_, err := onf.run(t, nil, append([]string{"backup", c.args[0], kc, "-n", "backups"}, c.args[1:]...)...)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("onf backup %v: %v, want %q", c.args, err, c.want)
			}
		}
	})

	t.Run("list, verify and prune read the destination", func(t *testing.T) {
		dest, ids := backupsAt(t, made, -3*time.Hour, -2*time.Hour, -time.Hour)
		out, err := onf.run(t, nil, "backup", "list", kc, "-n", "backups", "--dest", dest)
		if err != nil || strings.Count(out, "bk-") != 3 || !strings.Contains(out, ids[0]) {
			t.Fatalf("list of the only network: %v\n%s", err, out)
		}
		if out, err := onf.run(t, nil, "backup", "verify", kc, "-n", "backups", "--dest", dest, ids[1]); err != nil || !strings.Contains(out, "backup "+ids[1]+" is intact") {
			t.Fatalf("verify: %v\n%s", err, out)
		}
		// Without flags prune applies the SubstrateNetwork's spec.backup.retention (keep 2).
		out, err = onf.run(t, nil, "backup", "prune", kc, "-n", "backups", "bk", "--dest", dest)
		if err != nil || out != "deleted "+ids[0]+"\n" {
			t.Fatalf("prune by the network's retention: %v\n%s", err, out)
		}
	})

	// restore: a backup at a directory this machine reads (--dest), of node backup-0.
	dest, restoreIDs := backupsAt(t, made, 0)
	restoreID := restoreIDs[0]
	restore := func(args ...string) (string, error) {
		return onf.run(t, nil, append([]string{"backup", "restore", kc, "-n", "backups", "--dest", dest, "--timeout", "90s"}, args...)...)
	}
	key := func(name string) types.NamespacedName { return types.NamespacedName{Namespace: "backups", Name: name} }
	var pod corev1.Pod
	var claim corev1.PersistentVolumeClaim
	testenv.Eventually(t, 60*time.Second, "node backup-0's pod and data claim", func() (bool, error) {
		return cl.Get(ctx, key("bk-backup-0"), &pod) == nil && cl.Get(ctx, key("data-bk-backup-0"), &claim) == nil, nil
	})

	t.Run("restore refusals change nothing", func(t *testing.T) {
		createNetwork(t, cl, polkadotNetwork("plain", "backups", polkadotImage, "  groups:\n    - {name: rpc, role: rpc}\n"))
		createNetwork(t, cl, polkadotNetwork("seeded", "backups", polkadotImage, "  groups:\n    - {name: rpc, role: rpc, storageSource: {volumeSnapshot: synced}}\n  backup: {source: rpc, schedule: \"@daily\", destination: /backups/seeded, volumeClaim: chain-backups}\n"))
		for _, c := range []struct {
			args []string
			want string
		}{
			{[]string{"bk", "validator-0", restoreID}, "node validator-0 is a validator node: restore a full, archive or rpc node"},
			{[]string{"bk", "backup-0", "bk-20261205t030000.000z"}, "no backup bk-20261205t030000.000z of network bk at the destination"},
			{[]string{"bk", "rpc-7", restoreID}, `network bk has no node "rpc-7"`},
			{[]string{"plain", "rpc-0", restoreID}, "network plain has no spec.backup"},
			{[]string{"seeded", "rpc-0", restoreID}, "node rpc-0: group rpc's new data volumes start from its storageSource"},
		} {
			if _, err := restore(c.args...); err == nil || !strings.Contains(err.Error(), c.want) {
				t.Errorf("onf backup restore %v: %v, want %q", c.args, err, c.want)
			}
		}
		// Without --dest, the directory destination on a claim is refused as list refuses it.
		if _, err := onf.run(t, nil, "backup", "restore", kc, "-n", "backups", "bk", "backup-0", restoreID); err == nil || !strings.Contains(err.Error(), "give --dest") {
			t.Errorf("restore without --dest: %v", err)
		}
		var p corev1.Pod
		var c corev1.PersistentVolumeClaim
		if cl.Get(ctx, key("bk-backup-0"), &p) != nil || p.UID != pod.UID || cl.Get(ctx, key("data-bk-backup-0"), &c) != nil || c.UID != claim.UID || c.DeletionTimestamp != nil {
			t.Errorf("a refused restore touched pod or claim of backup-0")
		}
		if err := cl.Get(ctx, key(kube.RestoreRequestsName("bk")), &corev1.ConfigMap{}); !apierrors.IsNotFound(err) {
			t.Errorf("a refused restore left a request: %v", err)
		}
	})

	t.Run("restore wipes the node's claim and pod; the new pod's restore step restores the backup", func(t *testing.T) {
		keys := claimUIDs(t, cl, "data-bk-backup-0")
		wait := fakeNodeRestart(t, cl, &pod, &claim, restoreID, nil)
		out, err := restore("bk", "backup-0", restoreID)
		wait()
		if err != nil {
			t.Fatal(err)
		}
		if want := "restored " + restoreID + " into bk/backup-0: finalized #40 0x40\n"; out != want {
			t.Errorf("restore printed %q, want %q (the local command's line)", out, want)
		}
		var cm corev1.ConfigMap
		if err := cl.Get(ctx, key(kube.RestoreRequestsName("bk")), &cm); err != nil || cm.Data["bk-backup-0"] != "" {
			t.Errorf("the request after the restore: %v %v, want it cleared", err, cm.Data)
		}
		if got := claimUIDs(t, cl, "data-bk-backup-0"); !maps.Equal(got, keys) {
			t.Errorf("other claims %v, before %v: only the data claim is wiped", got, keys)
		}
	})

	t.Run("a corrupt archive fails restore with the restore step's message", func(t *testing.T) {
		corrupt := "archive is corrupt: sha256 0f0f, the manifest says 00ff"
		wait := fakeNodeRestart(t, cl, &pod, &claim, restoreID, &corev1.ContainerStateTerminated{ExitCode: 1, Message: corrupt})
		_, err := restore("bk", "backup-0", restoreID)
		wait()
		if err == nil || !strings.Contains(err.Error(), "the restore step of pod bk-backup-0 failed: "+corrupt) || !strings.Contains(err.Error(), "the node stays down") {
			t.Fatalf("restore of a corrupt archive: %v", err)
		}
		var cm corev1.ConfigMap
		if err := cl.Get(ctx, key(kube.RestoreRequestsName("bk")), &cm); err != nil || cm.Data["bk-backup-0"] != restoreID {
			t.Errorf("the request after a failed restore: %v %v, want it kept (the kubelet retries the step)", err, cm.Data)
		}
		// The node stays down, and the network says why.
		n := waitCondition(t, cl, key("bk"), kube.ConditionDegraded, metav1.ConditionTrue, "", 60*time.Second)
		if msg := condition(n, kube.ConditionDegraded).Message; !strings.Contains(msg, "pod bk-backup-0 container restore exited with code 1") {
			t.Errorf("Degraded: %q, want the failed restore step named", msg)
		}
	})
}

// backupsAt makes a directory destination holding backups like made, taken at now plus
// each of ages, and returns it and their IDs.
func backupsAt(t *testing.T, made backup.Manifest, ages ...time.Duration) (dest string, ids []string) {
	ctx := context.Background()
	dest, src := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(src, "000001.sst"), []byte("chain data"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := backup.Open(ctx, dest)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	for _, age := range ages {
		m := made
		m.ID = backup.NewID("bk", time.Now().Add(age))
		if _, err := st.Create(ctx, src, m); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, m.ID)
	}
	return dest, ids
}

// claimUIDs are the UIDs of the claims of network bk, but the one named except.
func claimUIDs(t *testing.T, cl client.Client, except string) map[string]types.UID {
	var claims corev1.PersistentVolumeClaimList
	if err := cl.List(context.Background(), &claims, client.InNamespace("backups")); err != nil {
		t.Fatal(err)
	}
	out := map[string]types.UID{}
	for _, c := range claims.Items {
		if c.Name != except && strings.Contains(c.Name, "bk-") {
			out[c.Name] = c.UID
		}
	}
	return out
}

// fakeNodeRestart stands in for what a real cluster does while `onf backup restore` wipes a
// node: the PVC protection controller (not run here) lets the deleted claim go once its old
// pod is gone; a fake kubelet checks that the new pod's restore step reads the request (the
// pod's key in the restore-requests ConfigMap names the backup) and then makes the pod
// Ready, or, with fail, ends its restore step with that failure as a real one would. On
// return *pod and *claim are the new ones.
func fakeNodeRestart(t *testing.T, cl client.Client, pod *corev1.Pod, claim *corev1.PersistentVolumeClaim, id string, fail *corev1.ContainerStateTerminated) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		ctx := context.Background()
		oldPod, oldClaim := pod.UID, claim.UID
		var np corev1.Pod
		var nc corev1.PersistentVolumeClaim
		// This runs beside the test's goroutine, which alone may end the test: Poll, not Eventually.
		if err := testenv.Poll(60*time.Second, "the claim deleted and the old pod gone", func() (bool, error) {
			var c corev1.PersistentVolumeClaim
			err := cl.Get(ctx, client.ObjectKeyFromObject(claim), &c)
			if err == nil && c.UID == oldClaim && c.DeletionTimestamp != nil && len(c.Finalizers) > 0 {
				if err := cl.Get(ctx, client.ObjectKeyFromObject(pod), &np); apierrors.IsNotFound(err) || err == nil && np.UID != oldPod {
					c.Finalizers = nil // the fake PVC protection controller: the old pod is gone
					return false, client.IgnoreNotFound(cl.Update(ctx, &c))
				}
				return false, nil
			}
			return apierrors.IsNotFound(err) || err == nil && c.UID != oldClaim, client.IgnoreNotFound(err)
		}); err != nil {
			t.Error(err)
			return
		}
		if err := testenv.Poll(60*time.Second, "a new pod on a new claim", func() (bool, error) {
			if err := cl.Get(ctx, client.ObjectKeyFromObject(pod), &np); err != nil || np.UID == oldPod {
				return false, client.IgnoreNotFound(err)
			}
			// The StatefulSet controller makes the claim before the pod.
			err := cl.Get(ctx, client.ObjectKeyFromObject(claim), &nc)
			return err == nil && nc.UID != oldClaim, err
		}); err != nil {
			t.Error(err)
			return
		}
		var cm corev1.ConfigMap
		if err := cl.Get(ctx, types.NamespacedName{Namespace: np.Namespace, Name: kube.RestoreRequestsName("bk")}, &cm); err != nil || cm.Data[np.Name] != id {
			t.Errorf("the new pod's request: %v %v, want %s", err, cm.Data, id)
		}
		i := slices.IndexFunc(np.Spec.InitContainers, func(c corev1.Container) bool { return c.Name == "restore" })
		if i < 0 || !slices.Contains(np.Spec.InitContainers[i].Args, "--requests") || !slices.ContainsFunc(np.Spec.Volumes, func(v corev1.Volume) bool {
			return v.ConfigMap != nil && v.ConfigMap.Name == kube.RestoreRequestsName("bk")
		}) {
			t.Errorf("the new pod's init steps %+v and volumes %+v: want a restore step reading the requests ConfigMap", np.Spec.InitContainers, np.Spec.Volumes)
		}
		now := metav1.Now()
		if fail != nil {
			fail.StartedAt, fail.FinishedAt = now, now
			np.Status.Phase = corev1.PodPending
			np.Status.InitContainerStatuses = []corev1.ContainerStatus{{Name: "restore", Image: "onf:test", State: corev1.ContainerState{Terminated: fail}}}
		} else {
			np.Status.Phase = corev1.PodRunning
			np.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue, LastTransitionTime: now}}
		}
		if err := cl.Status().Update(ctx, &np); err != nil {
			t.Error(err)
		}
		*pod, *claim = np, nc
	}()
	return func() { <-done }
}

// fakeBackupPod stands in for the Job controller's pod and its kubelet: it waits for the
// pod of a backup Job that has not ended, marks it running, waits for the operator to say
// the source pod is gone (the annotation the copy step waits for: the group is held), then
// ends it as the copy step would, with its termination message. It runs in the
// background until the returned wait, which the test defers.
func fakeBackupPod(t *testing.T, cl client.Client, end corev1.ContainerStateTerminated) (wait func()) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		runBackupPod(t, cl, end)
	}()
	return func() { <-done }
}

func runBackupPod(t *testing.T, cl client.Client, end corev1.ContainerStateTerminated) {
	ctx := context.Background()
	var p corev1.Pod
	// This runs beside the test's goroutine, which alone may end the test: Poll, not Eventually.
	if err := testenv.Poll(60*time.Second, "a backup pod to run", func() (bool, error) {
		var pods corev1.PodList
		if err := cl.List(ctx, &pods, client.InNamespace("backups"), client.MatchingLabels{kube.LabelBackupOf: "backup"}); err != nil {
			return false, err
		}
		for _, q := range pods.Items {
			if q.Status.Phase == corev1.PodPending || q.Status.Phase == "" {
				p = q
				return true, nil
			}
		}
		return false, nil
	}); err != nil {
		t.Error(err)
		return
	}
	p.Status.Phase = corev1.PodRunning
	if err := cl.Status().Update(ctx, &p); err != nil {
		t.Error(err)
		return
	}
	if err := testenv.Poll(60*time.Second, "the backup pod told its source stopped (the group held, its pod gone)", func() (bool, error) {
		err := cl.Get(ctx, client.ObjectKeyFromObject(&p), &p)
		return err == nil && p.Annotations[kube.AnnotationSourceStopped] == "true", err
	}); err != nil {
		t.Error(err)
	}
	now := metav1.Now()
	end.StartedAt, end.FinishedAt = now, now
	p.Status.Phase = corev1.PodSucceeded
	if end.ExitCode != 0 {
		p.Status.Phase = corev1.PodFailed
	}
	p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "copy", Image: "onf:test", State: corev1.ContainerState{Terminated: &end}}}
	if err := cl.Status().Update(ctx, &p); err != nil {
		t.Error(err)
	}
}
