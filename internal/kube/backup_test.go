package kube

import (
	"slices"
	"strings"
	"testing"

	appsv1 "k8s.io/api/apps/v1"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

const backupSpec = `apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: dev, namespace: chains}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer, image: gossamer:test, binary: gossamer}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: backup, role: full}
  - {name: rpc, role: rpc, restoreFrom: {backup: dev-20261205t101500.000z}}
  backup:
    source: backup
    schedule: "0 3 * * *"
    destination: file:///backups/dev
    volumeClaim: chain-backups
    credentialsSecret: backup-creds
    retention: {keep: 3, maxAge: 720h}
`

func parseSpec(t *testing.T, doc string) *v1alpha1.SubstrateNetwork {
	t.Helper()
	n, err := network.Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func find[T client.Object](objs []client.Object, name string) T {
	var zero T
	for _, o := range objs {
		if v, ok := o.(T); ok && o.GetName() == name {
			return v
		}
	}
	return zero
}

// spec.backup renders a CronJob that runs the onf image's backup steps against the source
// node's claim, with the destination's claim and the credentials Secret mounted as files
// (never in the environment or arguments), the retention, no API credentials, and the
// operator's "source stopped" annotation as a downward API file.
func TestBackupCronJob(t *testing.T) {
	n := parseSpec(t, backupSpec)
	objs, err := Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	cj := find[*batchv1.CronJob](objs, "dev-backup")
	if cj == nil {
		t.Fatal("no CronJob dev-backup")
	}
	if cj.Spec.Schedule != "0 3 * * *" || cj.Spec.ConcurrencyPolicy != batchv1.ForbidConcurrent {
		t.Errorf("schedule %q, concurrency %s", cj.Spec.Schedule, cj.Spec.ConcurrencyPolicy)
	}
	tmpl := cj.Spec.JobTemplate.Spec.Template
	if tmpl.Labels[LabelBackupOf] != "backup" || tmpl.Labels[LabelNetwork] != "dev" || tmpl.Labels[LabelManagedBy] != ManagedBy {
		t.Errorf("pod labels %v: the operator finds its backup pods by them", tmpl.Labels)
	}
	pod := tmpl.Spec
	if *pod.AutomountServiceAccountToken || len(pod.InitContainers) != 1 || len(pod.Containers) != 1 {
		t.Fatalf("pod: API token mounted %v, %d init, %d containers: want no API credentials, one of each", *pod.AutomountServiceAccountToken, len(pod.InitContainers), len(pod.Containers))
	}
	facts, copyStep := pod.InitContainers[0], pod.Containers[0]
	wantFacts := []string{"backup", "job", "facts", "--rpc", "http://dev-backup-0.dev-backup.chains.svc.cluster.local:9944", "--out", factsFile}
	if facts.Image != "onf:test" || !slices.Equal(facts.Args, wantFacts) {
		t.Errorf("facts step %s %v, want onf:test %v", facts.Image, facts.Args, wantFacts)
	}
	wantCopy := []string{"backup", "job", "create", "--network", "dev", "--node", "backup-0", "--facts", factsFile, "--data", "/data",
		"--wait-stopped", "/var/run/onf/hold/source-stopped", "--dest", "/backups/dev", "--report", "/dev/termination-log", "--keep", "3", "--max-age", "720h"}
	if !slices.Equal(copyStep.Args, wantCopy) {
		t.Errorf("copy step args %v, want %v", copyStep.Args, wantCopy)
	}
	if copyStep.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("copy step termination message policy %q: its log's tail must say why a copy failed", copyStep.TerminationMessagePolicy)
	}
	for _, c := range []corev1.Container{facts, copyStep} {
		if sc := c.SecurityContext; sc == nil || *sc.RunAsUser != backupUID || !*sc.ReadOnlyRootFilesystem || *sc.AllowPrivilegeEscalation {
			t.Errorf("%s: security context %+v", c.Name, sc)
		}
		for _, e := range c.Env {
			if e.ValueFrom != nil || e.Name != "AWS_SHARED_CREDENTIALS_FILE" || e.Value != credentialsDir+"/credentials" {
				t.Errorf("%s: env %+v: credentials are files, the environment only names their path", c.Name, e)
			}
		}
		if strings.Contains(strings.Join(c.Args, " "), "backup-creds") {
			t.Errorf("%s: the Secret reaches the arguments", c.Name)
		}
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if c := vols[volumeData].PersistentVolumeClaim; c == nil || c.ClaimName != "data-dev-backup-0" || !c.ReadOnly {
		t.Errorf("data volume %+v: want the source node's claim, read-only", vols[volumeData])
	}
	if c := vols[volumeBackups].PersistentVolumeClaim; c == nil || c.ClaimName != "chain-backups" {
		t.Errorf("backups volume %+v", vols[volumeBackups])
	}
	if s := vols[volumeCredentials].Secret; s == nil || s.SecretName != "backup-creds" {
		t.Errorf("credentials volume %+v", vols[volumeCredentials])
	}
	mounts := map[string]corev1.VolumeMount{}
	for _, m := range copyStep.VolumeMounts {
		mounts[m.Name] = m
	}
	if m := mounts[volumeCredentials]; m.MountPath != credentialsDir || !m.ReadOnly {
		t.Errorf("credentials mount %+v", m)
	}
	if m := mounts[volumeData]; !m.ReadOnly {
		t.Errorf("data mount %+v: the copy never writes the node's volume", m)
	}
	// The operator's "source stopped" annotation reaches the copy step as a file.
	if d := vols[volumeHold].DownwardAPI; d == nil || len(d.Items) != 1 || d.Items[0].Path != "source-stopped" ||
		d.Items[0].FieldRef.FieldPath != "metadata.annotations['"+AnnotationSourceStopped+"']" || mounts[volumeHold].MountPath != "/var/run/onf/hold" {
		t.Errorf("hold volume %+v mounted %+v", vols[volumeHold], mounts[volumeHold])
	}
}

// restoreFrom adds a mark step before the node's init and a restore step after it, with
// the destination mounted; the snapshot form passes the URL and checksum. On a network with
// spec.backup, every full, archive and rpc group gets them too, reading the per-node
// requests of `onf backup restore` from an optional ConfigMap by the pod's name; signing
// groups never do.
func TestRestoreInitSteps(t *testing.T) {
	n := parseSpec(t, backupSpec)
	objs, err := Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	names := func(cs []corev1.Container) (out []string) {
		for _, c := range cs {
			out = append(out, c.Name)
		}
		return out
	}
	sts := find[*appsv1.StatefulSet](objs, "dev-rpc")
	inits := sts.Spec.Template.Spec.InitContainers
	if got := names(inits); !slices.Equal(got, []string{"restore-mark", initName, RestoreStep}) {
		t.Fatalf("init steps %v: want the mark before the node's init and the restore after it", got)
	}
	requests := []string{"backup", "job", "restore", "--data", "/data", "--dest", "/backups/dev", "--requests", restoreRequestsDir, "--pod", "$(POD_NAME)"}
	wantRestore := append(slices.Clone(requests), "--id", "dev-20261205t101500.000z")
	if r := inits[2]; r.Image != "onf:test" || !slices.Equal(r.Args, wantRestore) {
		t.Errorf("restore step %s %v, want %v", r.Image, r.Args, wantRestore)
	}
	backupPod := find[*appsv1.StatefulSet](objs, "dev-backup").Spec.Template.Spec
	if got := names(backupPod.InitContainers); !slices.Equal(got, []string{"restore-mark", initName, RestoreStep}) {
		t.Fatalf("a full group without restoreFrom has init steps %v: want the restore steps for `onf backup restore`", got)
	}
	r := backupPod.InitContainers[2]
	if !slices.Equal(r.Args, requests) || !slices.ContainsFunc(r.Env, func(e corev1.EnvVar) bool {
		return e.Name == "POD_NAME" && e.ValueFrom != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.name"
	}) || !slices.ContainsFunc(r.VolumeMounts, func(m corev1.VolumeMount) bool { return m.MountPath == restoreRequestsDir && m.ReadOnly }) {
		t.Errorf("restore step of a full group: args %v, env %v, mounts %v", r.Args, r.Env, r.VolumeMounts)
	}
	if !ReadsRestoreRequests(&backupPod) || ReadsRestoreRequests(&find[*appsv1.StatefulSet](objs, "dev-validator").Spec.Template.Spec) {
		t.Errorf("ReadsRestoreRequests: true for the full group's pods only")
	}
	if !slices.ContainsFunc(backupPod.Volumes, func(v corev1.Volume) bool {
		cm := v.ConfigMap
		return cm != nil && cm.Name == RestoreRequestsName("dev") && cm.Optional != nil && *cm.Optional
	}) {
		t.Errorf("volumes %v: want the optional ConfigMap %s", backupPod.Volumes, RestoreRequestsName("dev"))
	}
	if r.TerminationMessagePolicy != corev1.TerminationMessageFallbackToLogsOnError {
		t.Errorf("restore step's termination message policy %q: its failure must show in the pod's status", r.TerminationMessagePolicy)
	}
	for _, g := range n.Spec.Groups {
		if g.Role == "validator" && slices.Contains(names(find[*appsv1.StatefulSet](objs, "dev-"+g.Name).Spec.Template.Spec.InitContainers), RestoreStep) {
			t.Errorf("validator group %s has the restore steps", g.Name)
		}
	}

	sum := strings.Repeat("ab", 32)
	n = parseSpec(t, strings.Replace(backupSpec, "restoreFrom: {backup: dev-20261205t101500.000z}", "restoreFrom: {url: \"https://snap.example/dev.tar.zst\", sha256: "+sum+"}", 1))
	objs, err = Desired(n, testKeys(t, n), Options{GatewayImage: "onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	r = find[*appsv1.StatefulSet](objs, "dev-rpc").Spec.Template.Spec.InitContainers[2]
	if want := []string{"backup", "job", "restore", "--data", "/data", "--dest", "/backups/dev", "--requests", restoreRequestsDir, "--pod", "$(POD_NAME)", "--url", "https://snap.example/dev.tar.zst", "--sha256", sum}; !slices.Equal(r.Args, want) {
		t.Errorf("snapshot restore args %v, want %v", r.Args, want)
	}
}

// What a cluster cannot run as written is refused with the field path.
func TestBackupRejects(t *testing.T) {
	for name, tc := range map[string]struct {
		old, new, field string
		opts            Options
	}{
		"no onf image":          {", restoreFrom: {backup: dev-20261205t101500.000z}", "", "spec.backup: ", Options{}},
		"no onf image, restore": {"", "", "spec.backup: ", Options{}}, // the full group's restore steps, before the rpc group's
		"source of two":         {"{name: backup, role: full}", "{name: backup, role: full, replicas: 2}", "spec.backup.source: ", Options{GatewayImage: "i"}},
		"directory, no claim":   {"    volumeClaim: chain-backups\n", "", "spec.backup.destination: ", Options{GatewayImage: "i"}},
		"outside the claim":     {"file:///backups/dev", "/var/backups", "spec.backup.destination: ", Options{GatewayImage: "i"}},
		"claim with s3":         {"file:///backups/dev", "s3://bucket?region=x", "spec.backup.volumeClaim: ", Options{GatewayImage: "i"}},
	} {
		t.Run(name, func(t *testing.T) {
			n := parseSpec(t, strings.Replace(backupSpec, tc.old, tc.new, 1))
			_, err := Desired(n, testKeys(t, n), tc.opts)
			if err == nil || !strings.HasPrefix(err.Error(), tc.field) {
				t.Errorf("err = %v, want one at %s", err, tc.field)
			}
		})
	}
}
