package console_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/console/consoletest"
	"github.com/dinfra/stack/internal/ha"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// TestConsoleClusterActions: a cluster site (an envtest API server, fake pods: no kubelet)
// with its Alertmanager (--alertmanager dc-1=URL, a real one) shows the network's firing
// alert; a node restarts from the console through `onf restart`'s cluster path (its pod
// deleted; the test plays the StatefulSet and makes it anew, Ready); a backup goes through
// `onf backup create`'s cluster path (BackupNow), which refuses a network without spec.backup
// with the reason.
func TestConsoleClusterActions(t *testing.T) {
	testenv.Short(t)
	ctx := context.Background()
	dc := startSite(t)
	dc.create(t, ctx, fakeNetwork{namespace: "chains", name: "relay", rpc: 1, ready: 1, best: 50, finalized: 48, peers: 2})
	am := consoletest.StartAlertmanager(t, t.TempDir(), "relay")
	am.Fire("relay", "relay-rpc-0", "OnfClusterTestAlert", "critical", "posted by the test")
	cli := onfcli.Build(t)
	keys, key := keyFile(t)
	url, _ := startConsole(t, cli.Bin, "--no-local", "--kubeconfig", kubeconfig(t, map[string]*site{"dc-1": dc}),
		"--context", "dc-1", "--api-keys", keys, "--alertmanager", "dc-1="+am.URL, "--interval", "1s", "--action-timeout", "2m")

	testenv.Eventually(t, 2*time.Minute, "the cluster network with its alert", func() (bool, error) {
		o, err := getOverview(url)
		if err != nil {
			return false, err
		}
		s := summaryOf(siteOf(o, "dc-1"), "chains/relay")
		return s != nil && s.Alerts == 1, nil
	})
	b := browser(t)
	do(t, b, 30*time.Second, chromedp.Navigate(url+"/#/n/dc-1/chains%2Frelay"))
	alert := waitFor[string](t, b, time.Minute, "the alert row and rpc-0's restart button", `(() => {
  const r = document.querySelector('#alerts tr[data-alert]');
  return r && document.querySelector('button[data-restart-button="rpc-0"]') ? r.cells[0].textContent + ' ' + r.cells[1].textContent : null;
})()`)
	if alert != "OnfClusterTestAlert relay-rpc-0" {
		t.Errorf("alert row %q", alert)
	}

	pod := types.NamespacedName{Namespace: "chains", Name: "relay-rpc-0"}
	var before corev1.Pod
	if err := dc.cl.Get(ctx, pod, &before); err != nil {
		t.Fatal(err)
	}
	if code, out := post(t, url+"/api/restart", "", `{"site":"dc-1","network":"chains/relay","node":"rpc-0","confirm":"chains/relay"}`); code != http.StatusUnauthorized {
		t.Errorf("restart without a key: %d %s", code, out)
	}
	// The StatefulSet's part, which no controller plays here: once the console deleted the
	// pod, the test makes it anew (Ready), and the console answers.
	restarted := postAsync(url+"/api/restart", key, `{"site":"dc-1","network":"chains/relay","node":"rpc-0","confirm":"chains/relay"}`)
	testenv.Eventually(t, 2*time.Minute, "rpc-0's pod deleted by the console", func() (bool, error) {
		if a, ok := answered(restarted); ok {
			t.Fatalf("restart answered before its pod was made anew: %+v", a)
		}
		err := dc.cl.Get(ctx, pod, &corev1.Pod{})
		return apierrors.IsNotFound(err), client.IgnoreNotFound(err)
	})
	if err := dc.fakePod(ctx, "chains", "relay", "rpc", pod.Name, true); err != nil {
		t.Fatal(err)
	}
	if a := <-restarted; a.code != http.StatusOK || a.out["result"] != "network chains/relay: rpc-0 restarted, its new pod is Ready" {
		t.Fatalf("restart: %+v", a)
	}
	var after corev1.Pod
	if err := dc.cl.Get(ctx, pod, &after); err != nil || after.UID == before.UID {
		t.Errorf("rpc-0's pod after the restart: uid %s (was %s), %v", after.UID, before.UID, err)
	}

	code, out := post(t, url+"/api/backup", key, `{"site":"dc-1","network":"chains/relay","node":"rpc-0","confirm":"chains/relay"}`)
	if want := "backup chains/relay node rpc-0: network relay has no spec.backup"; code != http.StatusConflict || len(out["error"]) < len(want) || out["error"][:len(want)] != want {
		t.Errorf("backup without spec.backup: %d %v, want 409 %q...", code, out, want)
	}
	var d console.Detail
	if err := getJSON(url+"/api/network?site=dc-1&id=chains/relay", &d); err != nil || len(d.Alerts) != 1 || d.Alerts[0].Severity != "critical" {
		t.Errorf("detail alerts %+v, %v", d.Alerts, err)
	}

	t.Run("scale", func(t *testing.T) { testClusterScale(t, dc, url, key) })
	// Rotating keys is `onf keys rotate --context dc-1 -n chains relay validator-0`: it reaches
	// the node through a port-forward to its pod, which no kubelet serves here (the real
	// rotation in a cluster: TestRealCluster/keys). Its refusal shows the path taken.
	rotate := `{"site":"dc-1","network":"chains/relay","node":"validator-0","suri":"//Alice","confirm":"chains/relay"}`
	if code, out := post(t, url+"/api/rotate-keys", "", rotate); code != http.StatusUnauthorized {
		t.Errorf("rotate keys without a key: %d %v", code, out)
	}
	if code, out := post(t, url+"/api/rotate-keys", key, rotate); code != http.StatusConflict ||
		!strings.HasPrefix(out["error"], "rotate keys of chains/relay node validator-0: port-forward to node validator-0 of network relay: ") {
		t.Errorf("rotate keys of a pod no kubelet runs: %d %v, want 409 from the port-forward", code, out)
	}
	t.Run("backup", func(t *testing.T) { testClusterBackup(t, dc, url, key) })
	t.Run("ha", func(t *testing.T) { testClusterHA(t, dc, url) })
}

// testClusterHA: the network page of an HA network shows its identity's authority and Lease
// holder as `onf status` reads them from the Lease. No kubelet runs an agent here: the test
// plays a candidate's agent (the real one: TestRealCluster/ha), taking the Lease and then
// renewing it as its node signs.
func testClusterHA(t *testing.T, dc *site, url string) {
	ctx := context.Background()
	dc.create(t, ctx, fakeNetwork{namespace: "chains", name: "guard", best: 50, finalized: 48, peers: 2, ha: true})
	cs, err := kubernetes.NewForConfig(dc.Config)
	if err != nil {
		t.Fatal(err)
	}
	lease := ha.NewKubeLease(cs.CoordinationV1(), "chains", kube.HALeaseName("guard", "validator"))
	l, err := lease.Acquire(ctx, "guard-validator-1", time.Minute)
	if err != nil {
		t.Fatal(err)
	}
	b := browser(t)
	do(t, b, 30*time.Second, chromedp.Navigate(url+"/#/n/dc-1/chains%2Fguard"))
	row := `(() => {
  const r = document.querySelector('#ha tr[data-identity="validator-0"]');
  return r ? r.querySelector('[data-field=authority]').textContent + ' ' + r.querySelector('[data-field=holder]').textContent : null;
})()`
	if got := waitFor[string](t, b, time.Minute, "the identity's row", row); got != "none guard-validator-1" {
		t.Errorf("held, not signing yet: %q, want %q", got, "none guard-validator-1")
	}
	l.Signing = true
	if _, err := lease.Renew(ctx, l); err != nil {
		t.Fatal(err)
	}
	signing := strings.Replace(row, "return r ?", "return r && r.querySelector('[data-field=authority]').textContent !== 'none' ?", 1)
	if got := waitFor[string](t, b, time.Minute, "the authority", signing); got != "guard-validator-1 guard-validator-1" {
		t.Errorf("signing: %q, want the holder as the authority", got)
	}
}

// testClusterScale scales a cluster network's group from the console: the same call as `onf
// scale -n chains relay rpc=2` (cluster.Client.Scale), which patches spec.groups[].replicas
// and answers once the operator observed the change and the group's pods are Ready. The test
// plays the operator and the StatefulSet: a Ready pod for rpc-1 and the observed generation.
func testClusterScale(t *testing.T, dc *site, url, key string) {
	ctx := context.Background()
	body := `{"site":"dc-1","network":"chains/relay","group":"rpc","replicas":2,"confirm":"chains/relay"}`
	if code, out := post(t, url+"/api/scale", "", body); code != http.StatusUnauthorized {
		t.Errorf("scale without a key: %d %v", code, out)
	}
	scaled := postAsync(url+"/api/scale", key, body)
	var n v1alpha1.SubstrateNetwork
	testenv.Eventually(t, time.Minute, "spec.groups[1].replicas patched to 2", func() (bool, error) {
		if a, ok := answered(scaled); ok {
			t.Fatalf("scale answered before the operator's part: %+v", a)
		}
		err := dc.cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: "relay"}, &n)
		return err == nil && n.Spec.Groups[1].Replicas != nil && *n.Spec.Groups[1].Replicas == 2, err
	})
	if err := dc.fakePod(ctx, "chains", "relay", "rpc", kube.PodName("relay", "rpc", 1), true); err != nil {
		t.Fatal(err)
	}
	n.Status.ObservedGeneration = n.Generation
	n.Status.Conditions[0].ObservedGeneration = n.Generation
	if err := dc.cl.Status().Update(ctx, &n); err != nil {
		t.Fatal(err)
	}
	if a := <-scaled; a.code != http.StatusOK || a.out["result"] != "network chains/relay: group rpc has 2 nodes" {
		t.Fatalf("scale: %+v", a)
	}
}

// testClusterBackup backs up a cluster network with spec.backup from the console: the same
// call as `onf backup create -n chains arch rpc-0` (BackupNow), which runs the operator's
// backup CronJob once as a Job and answers with the manifest its copy step reported. The
// test plays the operator (the CronJob), the Job controller and the kubelet (the Job's pod
// ending with the manifest as its termination message, the Job complete), none of which
// run here; test/operator's TestBackupCommandsOnCluster runs the CLI against the real
// operator and Job controller.
func testClusterBackup(t *testing.T, dc *site, url, key string) {
	ctx := context.Background()
	dc.create(t, ctx, fakeNetwork{namespace: "chains", name: "arch", rpc: 1, ready: 1, best: 42, finalized: 40, peers: 1,
		backup: &v1alpha1.Backup{Source: "rpc", Schedule: "0 3 * * *", Destination: "s3://chain-backups?region=eu-west-1"}})
	labels := kube.BackupPodLabels("arch", "rpc")
	cj := &batchv1.CronJob{
		ObjectMeta: metav1.ObjectMeta{Namespace: "chains", Name: kube.BackupName("arch")},
		Spec: batchv1.CronJobSpec{Schedule: "0 3 * * *", ConcurrencyPolicy: batchv1.ForbidConcurrent, JobTemplate: batchv1.JobTemplateSpec{
			ObjectMeta: metav1.ObjectMeta{Labels: labels},
			Spec: batchv1.JobSpec{Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{RestartPolicy: corev1.RestartPolicyNever,
					Containers: []corev1.Container{{Name: "copy", Image: "localhost/dinfra/onf:test"}}},
			}},
		}},
	}
	if err := dc.cl.Create(ctx, cj); err != nil {
		t.Fatal(err)
	}
	body := `{"site":"dc-1","network":"chains/arch","node":"rpc-0","confirm":"chains/arch"}`
	testenv.Eventually(t, time.Minute, "chains/arch in the console", func() (bool, error) {
		o, err := getOverview(url)
		return summaryOf(siteOf(o, "dc-1"), "chains/arch") != nil, err
	})
	if code, out := post(t, url+"/api/backup", "", body); code != http.StatusUnauthorized {
		t.Errorf("backup without a key: %d %v", code, out)
	}
	if code, out := post(t, url+"/api/backup", key, strings.Replace(body, "rpc-0", "validator-0", 1)); code != http.StatusConflict ||
		!strings.Contains(out["error"], "network arch backs up node rpc-0 (spec.backup.source \"rpc\"") {
		t.Errorf("backup of validator-0: %d %v, want 409 naming rpc-0", code, out)
	}
	var jobs batchv1.JobList
	if err := dc.cl.List(ctx, &jobs, client.InNamespace("chains")); err != nil || len(jobs.Items) != 0 {
		t.Fatalf("refused backups made Jobs: %d, %v", len(jobs.Items), err)
	}

	backedUp := postAsync(url+"/api/backup", key, body)
	var job batchv1.Job
	testenv.Eventually(t, time.Minute, "a backup Job from the CronJob", func() (bool, error) {
		if a, ok := answered(backedUp); ok {
			t.Fatalf("backup answered before its Job ended: %+v", a)
		}
		err := dc.cl.List(ctx, &jobs, client.InNamespace("chains"))
		if err != nil || len(jobs.Items) == 0 {
			return false, err
		}
		job = jobs.Items[0]
		return true, nil
	})
	if o := metav1.GetControllerOf(&job); len(jobs.Items) != 1 || o == nil || o.Kind != "CronJob" || o.Name != cj.Name ||
		job.Annotations["cronjob.kubernetes.io/instantiate"] != "manual" || job.Labels[kube.LabelBackupOf] != "rpc" {
		t.Errorf("Job %s: owner %+v, annotations %v, labels %v (of %d Jobs): want one manual Job of CronJob %s", job.Name, o, job.Annotations, job.Labels, len(jobs.Items), cj.Name)
	}

	// The kubelet's and the Job controller's part: the copy step ends with its manifest.
	made := backup.Manifest{Format: backup.Format, ID: "arch-20261205t030000.000z", Network: "arch", Node: "rpc-0",
		Best: backup.Block{Number: 42, Hash: "0x42"}, Finalized: backup.Block{Number: 40, Hash: "0x40"}}
	report, err := json.Marshal(made)
	if err != nil {
		t.Fatal(err)
	}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "chains", Name: job.Name + "-copy", Labels: job.Spec.Template.Labels},
		Spec: job.Spec.Template.Spec}
	if err := dc.cl.Create(ctx, pod); err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	pod.Status = corev1.PodStatus{Phase: corev1.PodSucceeded, ContainerStatuses: []corev1.ContainerStatus{{Name: "copy", Image: "localhost/dinfra/onf:test",
		State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Message: string(report), StartedAt: now, FinishedAt: now}}}}}
	if err := dc.cl.Status().Update(ctx, pod); err != nil {
		t.Fatal(err)
	}
	job.Status = batchv1.JobStatus{StartTime: &now, CompletionTime: &now, Succeeded: 1, Conditions: []batchv1.JobCondition{
		{Type: batchv1.JobSuccessCriteriaMet, Status: corev1.ConditionTrue, LastTransitionTime: now},
		{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, LastTransitionTime: now}}}
	if err := dc.cl.Status().Update(ctx, &job); err != nil {
		t.Fatal(err)
	}
	a := <-backedUp
	if want := "network chains/arch: backup " + made.ID + " of rpc-0 at block 42 (finalized 40)"; a.code != http.StatusOK || a.out["result"] != want {
		t.Errorf("backup: %+v, want 200 %q", a, want)
	}
	// The network page's last backup: what the copy step reported, while its pod is kept.
	testenv.Eventually(t, time.Minute, "the backup on the network page", func() (bool, string) {
		var d console.Detail
		if err := getJSON(url+"/api/network?site=dc-1&id=chains/arch", &d); err != nil {
			return false, err.Error()
		}
		for _, g := range d.Groups {
			for _, n := range g.Nodes {
				if n.Name == "rpc-0" && n.LastBackup != nil && n.LastBackup.ID == made.ID && len(d.Backups) == 1 {
					return true, ""
				}
			}
		}
		return false, fmt.Sprintf("backups %+v", d.Backups)
	})
}

// answer is an action's HTTP status and JSON answer, or why there is none.
type answer struct {
	code int
	out  map[string]string
	err  error
}

// send posts an action with the key in X-Api-Key.
func send(url, key, body string) answer {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader([]byte(body)))
	if err != nil {
		return answer{err: err}
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("X-Api-Key", key)
	}
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return answer{err: err}
	}
	defer res.Body.Close()
	a := answer{code: res.StatusCode}
	a.err = json.NewDecoder(res.Body).Decode(&a.out)
	return a
}

// post sends an action and returns the status and the JSON answer.
func post(t *testing.T, url, key, body string) (int, map[string]string) {
	t.Helper()
	a := send(url, key, body)
	if a.err != nil {
		t.Fatal(a.err)
	}
	return a.code, a.out
}

// postAsync sends an action that waits on the test (which plays a controller) and returns
// where its answer will come.
func postAsync(url, key, body string) <-chan answer {
	c := make(chan answer, 1)
	go func() { c <- send(url, key, body) }()
	return c
}

// answered is the action's answer if it came.
func answered(c <-chan answer) (answer, bool) {
	select {
	case a := <-c:
		return a, true
	default:
		return answer{}, false
	}
}
