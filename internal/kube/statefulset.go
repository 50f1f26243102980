package kube

import (
	"fmt"
	"strings"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/flavor"
)

const (
	// Environment variables the kubelet resolves per pod, referenced as $(NAME) in arguments
	// and volume sub-paths.
	envPodName  = "POD_NAME"
	envPodIndex = "POD_INDEX"

	volumeData      = "data"
	volumeNodeKey   = "node-key"
	volumeKeys      = "session-keys"
	volumeKeystore  = "keystore"
	containerName   = "node"
	initName        = "init"
	initMarker      = dataDir + "/.onf-initialized"
	podIndexLabel   = "apps.kubernetes.io/pod-index"
	gracefulStopSec = 60
)

// statefulSet runs the group's replicas from its template plan. Per-pod values are left to
// the kubelet: the plan names the node by $(POD_NAME) (target.Self); the node key and the
// secret URI are the pod's own Secret keys, mounted by index with subPathExpr.
func (b *groupBuilder) statefulSet() (*appsv1.StatefulSet, error) {
	if b.plan.Image == "" {
		return nil, fmt.Errorf("%s: a container image is required on Kubernetes (set spec.node.image or the group's node.image)", b.field("node.image"))
	}
	if k := b.group.Keys; k != nil && len(k.Files) > 0 {
		// Nothing would be mounted at the path `key insert --suri` reads, and polkadot-sdk
		// would take the path itself as the secret URI: every replica the same public key.
		return nil, fmt.Errorf("%s: files are read on the machine running `onf up`; a cluster reads session keys from a Secret: set keys.secret (External Secrets and the Secrets Store CSI driver's secretObjects both produce one)", b.field("keys.files"))
	}
	size, err := StorageSize(b.group)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", b.field("storage"), err)
	}
	var replicas *int32
	if !autoscaled(b.group) { // otherwise the HorizontalPodAutoscaler owns the count
		r := int32(replicasOrMax(b.group))
		replicas = &r
	}
	labels := b.labels()
	pod, err := b.podSpec()
	if err != nil {
		return nil, err
	}
	return &appsv1.StatefulSet{
		TypeMeta:   metav1.TypeMeta{APIVersion: "apps/v1", Kind: "StatefulSet"},
		ObjectMeta: objectMeta(b.net, b.name(), labels),
		Spec: appsv1.StatefulSetSpec{
			Replicas:    replicas,
			ServiceName: b.name(),
			Selector:    &metav1.LabelSelector{MatchLabels: Selector(b.net.Name, b.group.Name)},
			// Pods start together; their names, volumes and keys stay tied to their ordinals.
			PodManagementPolicy: appsv1.ParallelPodManagement,
			UpdateStrategy: appsv1.StatefulSetUpdateStrategy{
				Type:          appsv1.RollingUpdateStatefulSetStrategyType,
				RollingUpdate: &appsv1.RollingUpdateStatefulSetStrategy{MaxUnavailable: ptr(intstr.FromInt32(1))},
			},
			PersistentVolumeClaimRetentionPolicy: b.pvcRetention(),
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels, Annotations: b.podAnnotations()},
				Spec:       pod,
			},
			VolumeClaimTemplates: append([]corev1.PersistentVolumeClaim{{
				ObjectMeta: metav1.ObjectMeta{Name: volumeData, Labels: labels},
				Spec: corev1.PersistentVolumeClaimSpec{
					AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
					Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: size}},
				},
			}}, append(b.keystoreClaim(labels), b.relayDataClaim(labels)...)...),
		},
	}, nil
}

func (b *groupBuilder) podSpec() (corev1.PodSpec, error) {
	np := b.plan
	env := []corev1.EnvVar{
		{Name: envPodName, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.name"}}},
		{Name: envPodIndex, ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['" + podIndexLabel + "']"}}},
	}
	readOnly := int32(0o400)
	volumes := []corev1.Volume{{Name: volumeNodeKey, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
		SecretName: NodeKeySecretName(b.net.Name, b.group.Name), DefaultMode: &readOnly,
	}}}}
	chainVols, chainMounts := chainVolumes(b.mounts)
	volumes = append(volumes, chainVols...)
	// The init step prepares the data directory (without the node key in it: an init that
	// resets the directory must not trip over a mounted file).
	initMounts := append([]corev1.VolumeMount{{Name: volumeData, MountPath: dataDir}}, chainMounts...)
	mounts := append([]corev1.VolumeMount{
		{Name: volumeData, MountPath: dataDir},
		{Name: volumeNodeKey, MountPath: np.NodeKeyFile, SubPathExpr: "$(" + envPodIndex + ")", ReadOnly: true},
	}, chainMounts...)
	if secret := b.sessionKeySecret(); secret != "" {
		volumes = append(volumes, corev1.Volume{Name: volumeKeys, VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{
			SecretName: secret, DefaultMode: &readOnly,
		}}})
		// Only the init step that fills the keystore sees the secret URI.
		initMounts = append(initMounts, corev1.VolumeMount{Name: volumeKeys, MountPath: suriFile, SubPathExpr: "$(" + envPodIndex + ")", ReadOnly: true})
	}
	if np.KeystorePath != "" && b.group.HA == nil {
		// The keystore is a claim of its own (keystoreClaim): private session keys never
		// reach the data volume (nor its snapshots or backups) and outlive the pod.
		keystore := corev1.VolumeMount{Name: volumeKeystore, MountPath: np.KeystorePath}
		if len(np.InsertKeys) > 0 {
			initMounts = append(initMounts, keystore)
		}
		mounts = append(mounts, keystore)
	}
	mounts = append(mounts, b.relayDataMounts()...)

	var command []string
	if np.Binary != "" {
		command = []string{np.Binary}
	}
	security := &corev1.SecurityContext{
		AllowPrivilegeEscalation: ptr(false),
		Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
	}
	resources := corev1.ResourceRequirements{}
	if b.group.Resources != nil {
		resources = *b.group.Resources
	}
	container := corev1.Container{
		Name:            containerName,
		Image:           np.Image,
		Command:         command,
		Args:            np.Args,
		Env:             env,
		Ports:           b.containerPorts(),
		VolumeMounts:    mounts,
		Resources:       resources,
		SecurityContext: security,
		Lifecycle:       b.keystoreRestore(),
	}
	container.LivenessProbe, container.ReadinessProbe, container.StartupProbe = probes(np.Flavor)

	var inits []corev1.Container
	if len(np.Init)+len(np.InsertKeys) > 0 {
		if np.Binary == "" {
			return corev1.PodSpec{}, fmt.Errorf("%s: the node binary's name in the image is needed to prepare its data directory", b.field("node.binary"))
		}
		script, err := initScript(np.Binary, np.Init, np.InsertKeys)
		if err != nil {
			return corev1.PodSpec{}, err
		}
		inits = append(inits, corev1.Container{
			Name: initName, Image: np.Image, Command: []string{"/bin/sh", "-c", script},
			Env: env, VolumeMounts: initMounts, Resources: resources, SecurityContext: security,
		})
	}
	return corev1.PodSpec{
		InitContainers:                inits,
		Containers:                    []corev1.Container{container},
		Volumes:                       volumes,
		AutomountServiceAccountToken:  ptr(false),
		EnableServiceLinks:            ptr(false),
		TerminationGracePeriodSeconds: ptr(int64(gracefulStopSec)),
		SecurityContext:               &corev1.PodSecurityContext{FSGroup: ptr(int64(1000))},
	}, nil
}

// initScript runs the plan's init commands once per data volume: a marker in the volume
// records that they ran (gossamer's init, for one, would wipe the database if run again).
// The key inserts run at every start (inserting a key the keystore holds is harmless).
// Arguments are file paths and names, never secrets; each is single-quoted for the shell.
func initScript(binary string, once, every [][]string) (string, error) {
	var b strings.Builder
	b.WriteString("set -eu\n")
	commands := func(cmds [][]string) error {
		for _, argv := range cmds {
			b.WriteString(shellQuote(binary))
			for _, a := range argv {
				if strings.Contains(a, "\n") {
					return fmt.Errorf("init argument %q spans lines", a)
				}
				b.WriteString(" " + shellQuote(a))
			}
			b.WriteString("\n")
		}
		return nil
	}
	if len(once) > 0 {
		fmt.Fprintf(&b, "if [ ! -e %s ]; then\n", shellQuote(initMarker))
		if err := commands(once); err != nil {
			return "", err
		}
		fmt.Fprintf(&b, "touch %s\nfi\n", shellQuote(initMarker))
	}
	if err := commands(every); err != nil {
		return "", err
	}
	return b.String(), nil
}

// shellQuote single-quotes s; $(VAR) references stay intact for the kubelet to expand.
func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// probes are the health checks of a flavor: the HTTP paths its dialect names on the RPC port
// (polkadot-sdk's /health and /health/readiness), or, for a node that serves none (gossamer),
// a check that the RPC server accepts connections.
func probes(f v1alpha1.Flavor) (liveness, readiness, startup *corev1.Probe) {
	live, ready := flavor.MustFor(f).HealthPaths()
	handler := func(path string) corev1.ProbeHandler {
		if path == "" {
			return corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromString(PortRPC)}}
		}
		return corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: path, Port: intstr.FromString(PortRPC)}}
	}
	liveness = &corev1.Probe{ProbeHandler: handler(live), PeriodSeconds: 20, TimeoutSeconds: 5, FailureThreshold: 3}
	readiness = &corev1.Probe{ProbeHandler: handler(ready), PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 3}
	// Opening a large database can take minutes; liveness starts counting after this.
	startup = &corev1.Probe{ProbeHandler: handler(live), PeriodSeconds: 10, TimeoutSeconds: 5, FailureThreshold: 60}
	return liveness, readiness, startup
}

func ptr[T any](v T) *T { return &v }
