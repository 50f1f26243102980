package kube

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// In a cluster an ha group is one identity (the group's first key) whose candidates are the
// group's ha.standbys+1 pods. Each pod's node container runs `onf ha agent`, which runs the
// node as its child, keyless until the pod holds the identity's coordination.k8s.io/v1 Lease
// (docs/ha.md). The onf binary reaches the node image through an init step from the onf image.
const (
	volumeOnfBin = "onf-bin"
	onfBinDir    = "/onf/bin"
	onfInstall   = "onf-install"
)

// HALeaseName is the Lease of an ha group's identity: <network>-<group>-0.
func HALeaseName(network, group string) string { return GroupName(network, group) + "-0" }

// HAAccessName names the ServiceAccount, Role and RoleBinding of an ha group's pods.
func HAAccessName(network, group string) string { return GroupName(network, group) + "-ha" }

// podIndex is the pod ordinal that runs a planned node: an ha group's pods are its one
// identity's candidates.
func podIndex(n network.NodeRef) int {
	if n.Identity != "" {
		return n.Candidate
	}
	return n.Index
}

// checkHA refuses, with the field path, what an ha group cannot run in a cluster.
func checkHA(n *v1alpha1.SubstrateNetwork, opts Options) error {
	for i := range n.Spec.Groups {
		g := &n.Spec.Groups[i]
		if g.HA == nil {
			continue
		}
		at := fmt.Sprintf("spec.groups[%d]", i)
		switch {
		case g.HA.Etcd != nil:
			return fmt.Errorf("%s.ha.etcd: clusters keep the lease in a coordination.k8s.io/v1 Lease, not etcd: remove it", at)
		case g.Autoscaling != nil:
			return fmt.Errorf("%s.autoscaling: an ha group's pods are its identity's candidates, ha.standbys+1 of them: it is not autoscaled", at)
		case network.Replicas(g) != 1:
			return fmt.Errorf("%s.replicas: an ha group runs one identity in a cluster (its pods are the ha.standbys+1 candidates), got %d: make one group per identity", at, network.Replicas(g))
		case network.Software(&n.Spec, g).Flavor == v1alpha1.FlavorGossamer && (g.Keys == nil || len(g.Keys.Dev) != 1):
			return fmt.Errorf("%s.keys.dev: a gossamer ha group signs with one dev key (its identity)", at)
		case g.Keys == nil || len(g.Keys.Files) > 0 || len(g.Keys.Dev) > 1:
			return fmt.Errorf("%s.keys: an ha group signs for one identity: give its secret URI as keys.dev (one) or keys.secret (key 0)", at)
		}
		if _, err := onfImage(opts, at+".ha"); err != nil {
			return err
		}
	}
	return nil
}

// withHA makes the group's pods candidates: the node container runs `onf ha agent` with the
// node's signing and keyless command lines, reads the identity's secret URI (its public key
// for the chain check; for a polkadot-sdk node also the keys the agent writes into the
// keystore before a signing start) and talks to the API server as the group's service
// account, which may touch the identity's Lease only.
func (b *groupBuilder) withHA(pod *corev1.PodSpec) error {
	h := b.group.HA
	if h == nil {
		return nil
	}
	image, err := onfImage(b.opts, b.field("ha"))
	if err != nil {
		return err
	}
	np := b.plan
	t := network.Timing(h)
	bin := corev1.VolumeMount{Name: volumeOnfBin, MountPath: onfBinDir}
	pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeOnfBin, VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}})
	// Every pod reads identity 0's secret URI: the kubelet's per-index mount would look for
	// the pod's own index. No init step needs it: gossamer takes the key by name, and a
	// polkadot-sdk node's keystore is written by the agent, not by key insert.
	for i := range pod.InitContainers {
		pod.InitContainers[i].VolumeMounts = withoutMount(pod.InitContainers[i].VolumeMounts, volumeKeys)
	}
	if err := withoutKeyInserts(pod, np); err != nil {
		return err
	}
	pod.InitContainers = append(pod.InitContainers, corev1.Container{
		Name: onfInstall, Image: image, Args: []string{"ha", "install", onfBinDir + "/onf"},
		VolumeMounts: []corev1.VolumeMount{bin}, SecurityContext: backupSecurity(),
	})
	c := &pod.Containers[0]
	args := []string{"ha", "agent", "--lease", HALeaseName(b.net.Name, b.group.Name), "--namespace", b.net.Namespace,
		"--lease-ttl", t.TTL.String(), "--safety-margin", t.Margin.String(), "--suri-file", suriFile,
		"--rpc", "http://127.0.0.1:" + strconv.Itoa(np.Ports.RPC), "--binary", np.Binary, "--base-path", np.BasePath}
	if np.Flavor == v1alpha1.FlavorGossamer {
		args = append(args, "--gossamer")
	} else {
		// The keystore is memory: keys never reach a disk, and a pod made again starts
		// without them (the agent writes them only once it may sign).
		args = append(args, "--keystore", np.KeystorePath)
		for _, k := range np.Keys.Types {
			args = append(args, "--key-type", k.Type+":"+k.Scheme)
		}
		pod.Volumes = append(pod.Volumes, corev1.Volume{Name: volumeKeystore, VolumeSource: corev1.VolumeSource{
			EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: ptr(resource.MustParse(keystoreSize))}}})
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volumeKeystore, MountPath: np.KeystorePath})
	}
	for _, a := range c.Args {
		args = append(args, "--sign-arg="+a)
	}
	for _, a := range b.standbyArgs() {
		args = append(args, "--standby-arg="+a)
	}
	c.Command, c.Args = []string{onfBinDir + "/onf"}, args
	c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: volumeOnfBin, MountPath: onfBinDir, ReadOnly: true},
		corev1.VolumeMount{Name: volumeKeys, MountPath: suriFile, SubPath: "0", ReadOnly: true})
	pod.ServiceAccountName = HAAccessName(b.net.Name, b.group.Name)
	pod.AutomountServiceAccountToken = ptr(true)
	return nil
}

// withoutKeyInserts drops the plan's key insert commands from the init step: the agent writes
// the keystore itself, only when it may sign, and empties it before every keyless start.
func withoutKeyInserts(pod *corev1.PodSpec, np *network.NodePlan) error {
	if len(np.InsertKeys) == 0 {
		return nil
	}
	for i, c := range pod.InitContainers {
		if c.Name != initName {
			continue
		}
		if len(np.Init) == 0 {
			pod.InitContainers = slices.Delete(pod.InitContainers, i, i+1)
			return nil
		}
		script, err := initScript(np.Binary, np.Init, nil)
		if err != nil {
			return err
		}
		pod.InitContainers[i].Command = []string{"/bin/sh", "-c", script}
		return nil
	}
	return nil
}

func withoutMount(ms []corev1.VolumeMount, volume string) []corev1.VolumeMount {
	var out []corev1.VolumeMount
	for _, m := range ms {
		if m.Name != volume {
			out = append(out, m)
		}
	}
	return out
}

// haAccess is the ha group's ServiceAccount and the Role it is bound to: get and update of
// the identity's Lease, and create of leases (the API server cannot limit create to a name;
// the agent creates only its own).
func (b *groupBuilder) haAccess() []client.Object {
	if b.group.HA == nil {
		return nil
	}
	name := HAAccessName(b.net.Name, b.group.Name)
	labels := b.labels()
	lease := []string{"coordination.k8s.io"}
	return []client.Object{
		&corev1.ServiceAccount{
			TypeMeta:   metav1.TypeMeta{APIVersion: "v1", Kind: "ServiceAccount"},
			ObjectMeta: objectMeta(b.net, name, labels),
		},
		&rbacv1.Role{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "Role"},
			ObjectMeta: objectMeta(b.net, name, labels),
			Rules: []rbacv1.PolicyRule{
				{APIGroups: lease, Resources: []string{"leases"}, ResourceNames: []string{HALeaseName(b.net.Name, b.group.Name)}, Verbs: []string{"get", "update"}},
				{APIGroups: lease, Resources: []string{"leases"}, Verbs: []string{"create"}},
			},
		},
		&rbacv1.RoleBinding{
			TypeMeta:   metav1.TypeMeta{APIVersion: "rbac.authorization.k8s.io/v1", Kind: "RoleBinding"},
			ObjectMeta: objectMeta(b.net, name, labels),
			RoleRef:    rbacv1.RoleRef{APIGroup: rbacv1.GroupName, Kind: "Role", Name: name},
			Subjects:   []rbacv1.Subject{{Kind: rbacv1.ServiceAccountKind, Name: name, Namespace: b.net.Namespace}},
		},
	}
}

// standbyArgs is the template's keyless command line for each pod: the planner names the
// template node; each pod is $(POD_NAME), as in its signing command line.
func (b *groupBuilder) standbyArgs() []string {
	fullName := b.net.Name + "-" + b.plan.Name
	out := make([]string, len(b.plan.StandbyArgs))
	for i, a := range b.plan.StandbyArgs {
		if a == fullName || strings.HasPrefix(a, fullName+".") {
			a = "$(" + envPodName + ")" + a[len(fullName):]
		}
		out[i] = a
	}
	return out
}
