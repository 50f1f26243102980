package cluster

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/kube"
)

// BackupSpec is spec.backup of the network: where its backups go, and their retention.
func (c *Client) BackupSpec(ctx context.Context, name string) (*v1alpha1.Backup, error) {
	n, err := c.network(ctx, name)
	if err != nil {
		return nil, err
	}
	return backupOf(n)
}

func backupOf(n *v1alpha1.SubstrateNetwork) (*v1alpha1.Backup, error) {
	if n.Spec.Backup == nil {
		return nil, fmt.Errorf("network %s has no spec.backup: in a cluster, backups are made by the operator's CronJob of spec.backup (docs/backup.md)", n.Name)
	}
	return n.Spec.Backup, nil
}

// BackupNow runs the network's backup CronJob once, as `kubectl create job
// --from=cronjob/NET-backup` does (a Job from its jobTemplate, owned by the CronJob), and
// waits until the Job ends. node must be the one the CronJob copies (spec.backup.source's
// first). It returns what the Job's copy step reported in its termination message: the
// manifest (JSON) of the backup made. A Job that failed is an error with the step's message
// (its log's tail).
func (c *Client) BackupNow(ctx context.Context, name, node string, timeout time.Duration) (string, error) {
	n, err := c.network(ctx, name)
	if err != nil {
		return "", err
	}
	b, err := backupOf(n)
	if err != nil {
		return "", err
	}
	if want := b.Source + "-0"; node != want {
		return "", fmt.Errorf("network %s backs up node %s (spec.backup.source %q, its first node): the operator stops that group for the copy; %s is not backed up in a cluster", name, want, b.Source, node)
	}
	var cj batchv1.CronJob
	if err := c.kube.Get(ctx, types.NamespacedName{Namespace: c.Namespace, Name: kube.BackupName(name)}, &cj); err != nil {
		if apierrors.IsNotFound(err) {
			return "", fmt.Errorf("network %s has no backup CronJob %s yet: is the operator running? (onf status %s)", name, kube.BackupName(name), name)
		}
		return "", err
	}
	// One copy at a time, as the CronJob's Forbid policy keeps its own: two Jobs would
	// hold the group together and the first to end would start it under the second's copy.
	var jobs batchv1.JobList
	if err := c.kube.List(ctx, &jobs, client.InNamespace(c.Namespace), client.MatchingLabels(cj.Spec.JobTemplate.Labels)); err != nil {
		return "", err
	}
	for _, j := range jobs.Items {
		if ended(&j) == "" && j.DeletionTimestamp == nil {
			return "", fmt.Errorf("backup Job %s of network %s is still running: wait for it (kubectl get job %s)", j.Name, name, j.Name)
		}
	}
	job := &batchv1.Job{
		ObjectMeta: metav1.ObjectMeta{
			GenerateName: cj.Name + "-now-",
			Namespace:    c.Namespace,
			Labels:       cj.Spec.JobTemplate.Labels,
			Annotations:  map[string]string{"cronjob.kubernetes.io/instantiate": "manual"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "batch/v1", Kind: "CronJob", Name: cj.Name, UID: cj.UID, Controller: ptrTo(true),
			}},
		},
		Spec: *cj.Spec.JobTemplate.Spec.DeepCopy(),
	}
	if err := c.kube.Create(ctx, job); err != nil {
		return "", fmt.Errorf("create a backup Job from CronJob %s: %w", cj.Name, err)
	}
	return c.waitBackupJob(ctx, job, timeout)
}

// waitBackupJob waits until the Job completed or failed and returns its copy step's
// termination message.
func (c *Client) waitBackupJob(ctx context.Context, job *batchv1.Job, timeout time.Duration) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	key := client.ObjectKeyFromObject(job)
	for {
		if err := c.kube.Get(ctx, key, job); err != nil {
			return "", fmt.Errorf("backup Job %s: %w", job.Name, err)
		}
		if state := ended(job); state != "" {
			msg, err := c.copyMessage(ctx, job)
			switch {
			case err != nil:
				return "", err
			case state == batchv1.JobFailed:
				return "", fmt.Errorf("backup Job %s failed: %s", job.Name, msg)
			case msg == "":
				return "", fmt.Errorf("backup Job %s completed but its copy step reported no manifest", job.Name)
			}
			return msg, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("backup Job %s has not ended (kubectl describe job %s): %w", job.Name, job.Name, ctx.Err())
		case <-time.After(time.Second):
		}
	}
}

// ended is JobComplete or JobFailed once the Job has ended, "" while it runs.
func ended(j *batchv1.Job) batchv1.JobConditionType {
	for _, cond := range j.Status.Conditions {
		if (cond.Type == batchv1.JobComplete || cond.Type == batchv1.JobFailed) && cond.Status == corev1.ConditionTrue {
			return cond.Type
		}
	}
	return ""
}

// copyMessage is the termination message of the Job's last pod's copy step (the step's
// container; the first container of the template).
func (c *Client) copyMessage(ctx context.Context, job *batchv1.Job) (string, error) {
	if job.Spec.Selector == nil || len(job.Spec.Template.Spec.Containers) == 0 {
		return "", fmt.Errorf("backup Job %s has no pod selector or container", job.Name)
	}
	sel, err := metav1.LabelSelectorAsSelector(job.Spec.Selector)
	if err != nil {
		return "", err
	}
	var pods corev1.PodList
	if err := c.kube.List(ctx, &pods, client.InNamespace(job.Namespace), client.MatchingLabelsSelector{Selector: sel}); err != nil {
		return "", err
	}
	step := job.Spec.Template.Spec.Containers[0].Name
	var last *corev1.ContainerStateTerminated
	for _, p := range pods.Items {
		for _, cs := range append(p.Status.InitContainerStatuses, p.Status.ContainerStatuses...) {
			if t := cs.State.Terminated; t != nil && (cs.Name == step || t.ExitCode != 0) &&
				(last == nil || t.FinishedAt.After(last.FinishedAt.Time)) {
				last = t
			}
		}
	}
	if last == nil {
		return "", errors.New("backup Job " + job.Name + " ended without a pod that ran (kubectl describe job " + job.Name + ")")
	}
	return strings.TrimSpace(last.Message), nil
}

func ptrTo[T any](v T) *T { return &v }

// backupsOf are the backups a network's backup Job pods report: the manifest each copy step
// that succeeded left as its termination message, the newest of each node first.
func backupsOf(network string, pods []corev1.Pod) []backup.Manifest {
	var made []backup.Manifest
	for _, p := range pods {
		if p.Labels[kube.LabelComponent] != "backup" {
			continue
		}
		for _, cs := range p.Status.ContainerStatuses {
			t := cs.State.Terminated
			var m backup.Manifest
			if t == nil || t.ExitCode != 0 || json.Unmarshal([]byte(t.Message), &m) != nil || m.ID == "" || m.Network != network {
				continue
			}
			made = append(made, m)
		}
	}
	slices.SortFunc(made, func(a, b backup.Manifest) int { return strings.Compare(a.ID, b.ID) }) // IDs of a network sort by time
	return backup.Newest(made)
}
