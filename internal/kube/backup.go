package kube

import (
	"fmt"
	"net/url"
	"path"
	"slices"
	"strings"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

const (
	// LabelBackupOf marks the pods of a network's backup Jobs with the group they copy. While
	// such a pod runs (its facts step done), the operator stops that group: the hold.
	LabelBackupOf = "onf.dinfra.dev/backup-of"
	// AnnotationSourceStopped is set ("true") by the operator on a running backup pod once
	// the source node's pod is gone: the copy step reads it through a downward API file and
	// only then reads the volume. The pod needs no access to the API.
	AnnotationSourceStopped = "onf.dinfra.dev/backup-source-stopped"
	backupAppName           = "onf-backup"

	// Paths in the backup and restore containers.
	backupsDir     = "/backups" // spec.backup.volumeClaim
	credentialsDir = "/var/run/onf/backup-credentials"
	credentialsKey = "credentials" // an AWS shared credentials file
	workDir        = "/work"
	holdDir        = "/var/run/onf/hold"
	stoppedFile    = holdDir + "/source-stopped"
	factsFile      = workDir + "/facts.json"

	volumeBackups     = "backups"
	volumeCredentials = "backup-credentials"
	volumeWork        = "work"
	volumeHold        = "hold"
	// volumeRestoreRequests is the restore-requests ConfigMap (optional: most of the time
	// there is none).
	volumeRestoreRequests = "restore-requests"

	// backupUID is the user of the node images (gossamer's here, parity's polkadot) and the
	// data volumes' fsGroup: the backup and restore steps read and write the node's files.
	backupUID = 1000
	// backupDeadlineSec bounds a backup Job, and so how long the source group can be held.
	backupDeadlineSec = 6 * 3600
)

// BackupName names a network's backup CronJob.
func BackupName(network string) string { return network + "-backup" }

// BackupPodLabels are the labels of a network's backup Job pods.
func BackupPodLabels(network, group string) map[string]string {
	l := NetworkLabels(network)
	l[LabelName] = backupAppName
	l[LabelComponent] = "backup"
	l[LabelBackupOf] = group
	return l
}

// backupAccess is how the backup and restore steps reach spec.backup.destination: the
// destination as the onf binary in the pod takes it, and the volumes, mounts and environment
// it needs. Credentials are files from a Secret; the environment only names their path.
type backupAccess struct {
	dest    string
	volumes []corev1.Volume
	mounts  []corev1.VolumeMount
	env     []corev1.EnvVar
}

func newBackupAccess(b *v1alpha1.Backup) (*backupAccess, error) {
	a := &backupAccess{dest: b.Destination}
	if strings.HasPrefix(b.Destination, "s3://") {
		if b.VolumeClaim != "" {
			return nil, fmt.Errorf("spec.backup.volumeClaim: only for a file:///backups destination, not %s", b.Destination)
		}
	} else {
		dir := b.Destination
		if u, err := url.Parse(b.Destination); err == nil && u.Scheme == "file" {
			dir = u.Path
		}
		if b.VolumeClaim == "" || path.Clean(dir) != backupsDir && !strings.HasPrefix(path.Clean(dir), backupsDir+"/") {
			return nil, fmt.Errorf("spec.backup.destination: %q is a directory inside the backup pods on Kubernetes: set spec.backup.volumeClaim (a PersistentVolumeClaim, mounted at %s) and a destination under it, or use s3://", b.Destination, backupsDir)
		}
		a.dest = path.Clean(dir)
		a.volumes = append(a.volumes, corev1.Volume{Name: volumeBackups, VolumeSource: corev1.VolumeSource{
			PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: b.VolumeClaim},
		}})
		a.mounts = append(a.mounts, corev1.VolumeMount{Name: volumeBackups, MountPath: backupsDir})
	}
	if b.CredentialsSecret != "" {
		a.volumes = append(a.volumes, corev1.Volume{Name: volumeCredentials, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: b.CredentialsSecret, DefaultMode: ptr(int32(0o440)),
		}}})
		a.mounts = append(a.mounts, corev1.VolumeMount{Name: volumeCredentials, MountPath: credentialsDir, ReadOnly: true})
		a.env = append(a.env, corev1.EnvVar{Name: "AWS_SHARED_CREDENTIALS_FILE", Value: path.Join(credentialsDir, credentialsKey)})
	}
	return a, nil
}

// backupSecurity runs the backup and restore steps as the node's user, with nothing more.
func backupSecurity() *corev1.SecurityContext {
	return &corev1.SecurityContext{
		RunAsNonRoot:             ptr(true),
		RunAsUser:                ptr(int64(backupUID)),
		RunAsGroup:               ptr(int64(backupUID)),
		ReadOnlyRootFilesystem:   ptr(true),
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
		SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
	}
}

func onfImage(opts Options, field string) (string, error) {
	if opts.GatewayImage == "" {
		return "", fmt.Errorf("%s: runs the onf image on Kubernetes: start the operator with --gateway-image (the onf image)", field)
	}
	return opts.GatewayImage, nil
}

// backupObjects run spec.backup: a CronJob whose Jobs copy the source group's first node. A
// Job runs in two steps. The facts step (an init container) records what the node holds
// over RPC. Then the pod is running, which is the operator's signal to stop the group
// (StatefulSet replicas 0: a StatefulSet cannot stop one pod, hence a group of one); once
// the node's pod is gone the operator annotates the backup pod (AnnotationSourceStopped),
// and the copy step, which waits for that annotation in a downward API file, knows that no
// process writes the database: it streams the data volume to the destination, writes the
// manifest, applies the retention and exits, and the operator starts the group again. The
// pod has no API credentials.
func backupObjects(n *v1alpha1.SubstrateNetwork, templates map[string]*network.NodePlan, opts Options) ([]client.Object, error) {
	b := n.Spec.Backup
	if b == nil {
		return nil, nil
	}
	image, err := onfImage(opts, "spec.backup")
	if err != nil {
		return nil, err
	}
	g := network.FindGroup(&n.Spec, b.Source)
	if g == nil { // network.Validate refuses this first
		return nil, fmt.Errorf("spec.backup.source: no group named %q", b.Source)
	}
	if r := replicasOrMax(g); r != 1 {
		return nil, fmt.Errorf("spec.backup.source: group %q may run %d nodes; the operator stops the whole group for a consistent copy (a StatefulSet cannot stop one pod): back up a dedicated group of one replica", b.Source, r)
	}
	access, err := newBackupAccess(b)
	if err != nil {
		return nil, err
	}
	name := BackupName(n.Name)
	pod := PodName(n.Name, b.Source, 0)
	labels := NetworkLabels(n.Name)
	labels[LabelName], labels[LabelComponent], labels[LabelBackupOf] = backupAppName, "backup", b.Source
	t := &target{net: n, clusterDomain: opts.ClusterDomain}
	rpcURL := fmt.Sprintf("http://%s:%d", t.Host(network.NodeRef{Group: b.Source, Index: 0}), templates[b.Source].Ports.RPC)

	create := []string{"backup", "job", "create", "--network", n.Name, "--node", b.Source + "-0",
		"--facts", factsFile, "--data", dataDir, "--wait-stopped", stoppedFile, "--dest", access.dest, "--report", corev1.TerminationMessagePathDefault}
	if r := b.Retention; r != nil {
		if r.Keep != nil {
			create = append(create, "--keep", fmt.Sprint(*r.Keep))
		}
		if r.MaxAge != "" {
			create = append(create, "--max-age", r.MaxAge)
		}
	}
	work := corev1.VolumeMount{Name: volumeWork, MountPath: workDir}
	podSpec := corev1.PodSpec{
		RestartPolicy:                corev1.RestartPolicyNever,
		AutomountServiceAccountToken: ptr(false),
		EnableServiceLinks:           ptr(false),
		SecurityContext: &corev1.PodSecurityContext{
			FSGroup: ptr(int64(backupUID)), FSGroupChangePolicy: ptr(corev1.FSGroupChangeOnRootMismatch),
		},
		InitContainers: []corev1.Container{{
			Name: "facts", Image: image, Args: []string{"backup", "job", "facts", "--rpc", rpcURL, "--out", factsFile},
			VolumeMounts: []corev1.VolumeMount{work}, SecurityContext: backupSecurity(),
		}},
		Containers: []corev1.Container{{
			Name: "copy", Image: image, Args: create, Env: access.env,
			// The manifest (or, on a failure, the log's tail) is the Job's result in the
			// pod's status: what `onf backup create` on a cluster prints.
			TerminationMessagePath: corev1.TerminationMessagePathDefault, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
			VolumeMounts: append([]corev1.VolumeMount{work, {Name: volumeData, MountPath: dataDir, ReadOnly: true},
				{Name: volumeHold, MountPath: holdDir, ReadOnly: true}}, access.mounts...),
			SecurityContext: backupSecurity(),
		}},
		Volumes: append([]corev1.Volume{
			{Name: volumeWork, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{SizeLimit: ptr(resource.MustParse("1Mi"))}}},
			{Name: volumeHold, VolumeSource: corev1.VolumeSource{DownwardAPI: &corev1.DownwardAPIVolumeSource{Items: []corev1.DownwardAPIVolumeFile{{
				Path: path.Base(stoppedFile), FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.annotations['" + AnnotationSourceStopped + "']"},
			}}}}},
			{Name: volumeData, VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{
				ClaimName: volumeData + "-" + pod, ReadOnly: true,
			}}},
		}, access.volumes...),
	}
	cron := &batchv1.CronJob{
		TypeMeta:   metav1.TypeMeta{APIVersion: "batch/v1", Kind: "CronJob"},
		ObjectMeta: objectMeta(n, name, labels),
		Spec: batchv1.CronJobSpec{
			Schedule: b.Schedule,
			// One copy at a time: a second Job would hold a group the first is copying.
			ConcurrencyPolicy:          batchv1.ForbidConcurrent,
			StartingDeadlineSeconds:    ptr(int64(600)),
			SuccessfulJobsHistoryLimit: ptr(int32(3)),
			FailedJobsHistoryLimit:     ptr(int32(3)),
			JobTemplate: batchv1.JobTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: batchv1.JobSpec{
					// A failed copy is retried at the next schedule, not at once: each
					// attempt stops the group.
					BackoffLimit:          ptr(int32(0)),
					ActiveDeadlineSeconds: ptr(int64(backupDeadlineSec)),
					Template: corev1.PodTemplateSpec{
						ObjectMeta: metav1.ObjectMeta{Labels: BackupPodLabels(n.Name, b.Source)},
						Spec:       podSpec,
					},
				},
			},
		},
	}
	return []client.Object{cron}, nil
}

// RestoreRequestsName names the ConfigMap of a network's per-node restore requests, written by
// `onf backup restore` on a cluster: key the pod's name, value a backup ID. The restore step
// of that pod restores the ID into its volume when the volume is new or wiped (empty), once;
// the command removes the key when the node is Ready again. A ConfigMap volume lets the step
// read it without API credentials, and the group's pod template (so its other nodes) stays
// as it is.
func RestoreRequestsName(network string) string { return network + "-restore-requests" }

// RestoreStep names the init step that restores a new or wiped data volume.
const RestoreStep = "restore"

// ReadsRestoreRequests says whether a pod's restore step reads the per-node restore requests
// (an operator that rendered it before these existed did not).
func ReadsRestoreRequests(p *corev1.PodSpec) bool {
	return slices.ContainsFunc(p.InitContainers, func(c corev1.Container) bool {
		return c.Name == RestoreStep && slices.Contains(c.Args, "--requests")
	})
}

// restoreRequestsDir is where the restore step sees the restore requests, one file per pod.
const restoreRequestsDir = "/var/run/onf/restore-requests"

// restorable says whether a group's pods carry the restore steps: a group with restoreFrom,
// and, on a network with spec.backup, every group that can pause (full, archive, rpc), so
// `onf backup restore` can restore one of its nodes. Signing and boot nodes get keys and
// peers, never a backup's data.
func restorable(n *v1alpha1.SubstrateNetwork, g *v1alpha1.NodeGroup) bool {
	if g.RestoreFrom != nil {
		return true
	}
	switch g.Role {
	case v1alpha1.RoleFull, v1alpha1.RoleArchive, v1alpha1.RoleRPC:
		return n.Spec.Backup != nil
	}
	return false
}

// withRestore adds the restore steps to a restorable group's pods: a mark step before the
// node's own init step, which marks a new or wiped (empty) volume as waiting for a restore,
// and the restore step after it, which restores into a marked volume only, then clears the
// mark. What it restores: the pod's request in the restore-requests ConfigMap if there is
// one, else the group's restoreFrom; with neither, a marked volume starts from the node's
// own init (genesis). The node's init thus prepares the volume as usual (gossamer writes its
// config, kept by the restore) and never runs on the restored data; a volume that already
// held a database is never touched. A corrupt archive fails the restore step: the node does
// not start, and the next attempt starts over (the mark stays until a restore completed).
func (b *groupBuilder) withRestore(pod *corev1.PodSpec) error {
	if !restorable(b.net, b.group) {
		return nil
	}
	r, field := b.group.RestoreFrom, "spec.backup"
	if r != nil {
		field = b.field("restoreFrom")
	}
	image, err := onfImage(b.opts, field)
	if err != nil {
		return err
	}
	args := []string{"backup", "job", "restore", "--data", dataDir}
	access := &backupAccess{}
	switch {
	case b.net.Spec.Backup != nil:
		if access, err = newBackupAccess(b.net.Spec.Backup); err != nil {
			return err
		}
		args = append(args, "--dest", access.dest, "--requests", restoreRequestsDir, "--pod", "$(POD_NAME)")
	case r.Backup != "": // network.Validate refuses this first
		return fmt.Errorf("%s: a backup ID needs spec.backup.destination", b.field("restoreFrom.backup"))
	}
	if r != nil && r.Backup != "" {
		args = append(args, "--id", r.Backup)
	} else if r != nil {
		args = append(args, "--url", r.URL, "--sha256", r.SHA256)
	}
	data := corev1.VolumeMount{Name: volumeData, MountPath: dataDir}
	mark := corev1.Container{
		Name: RestoreStep + "-mark", Image: image, Args: []string{"backup", "job", "mark", "--data", dataDir},
		VolumeMounts: []corev1.VolumeMount{data}, SecurityContext: backupSecurity(),
	}
	restore := corev1.Container{
		Name: RestoreStep, Image: image, Args: args, Env: access.env,
		VolumeMounts: append([]corev1.VolumeMount{data}, access.mounts...), SecurityContext: backupSecurity(),
		// A failed restore's reason (a corrupt archive) shows in the pod's status, where
		// `onf backup restore` reads it.
		TerminationMessagePath: corev1.TerminationMessagePathDefault, TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if b.net.Spec.Backup != nil {
		restore.Env = append(restore.Env, corev1.EnvVar{Name: "POD_NAME", ValueFrom: &corev1.EnvVarSource{
			FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"},
		}})
		restore.VolumeMounts = append(restore.VolumeMounts, corev1.VolumeMount{Name: volumeRestoreRequests, MountPath: restoreRequestsDir, ReadOnly: true})
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeRestoreRequests, VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{
			LocalObjectReference: corev1.LocalObjectReference{Name: RestoreRequestsName(b.net.Name)}, Optional: ptr(true),
		}}})
	}
	pod.InitContainers = append(append([]corev1.Container{mark}, pod.InitContainers...), restore)
	pod.Volumes = append(pod.Volumes, access.volumes...)
	return nil
}
