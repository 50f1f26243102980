package kube

import (
	"fmt"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/dinfra/stack/api/v1alpha1"
)

// keystoreSize is the keystore volume's request: a few key files of some hundred bytes.
const keystoreSize = "16Mi"

// AnnotationKeystoreRestore on a signing pod names the directory, in its own keystore volume,
// where `onf keys` keeps the keys it inserts into a node whose keystore is in memory
// (gossamer): one 0400 file per key, `<type>-<public hex>.json`, holding the
// author_insertKey request; the node container's start hook sends each to the node's
// loopback RPC once it answers. Nodes that keep their keystore on disk (polkadot-sdk) write
// it to that volume themselves and have no such annotation.
const AnnotationKeystoreRestore = "onf.dinfra.dev/keystore-restore"

// keystoreClaim is the signing node's keystore volume: a claim of its own beside the data
// volume, so chain data backups and snapshots never hold a session key, a pod made again
// finds its keys, and migrating a validator moves (or removes) this volume's contents only.
func (b *groupBuilder) keystoreClaim(labels map[string]string) []corev1.PersistentVolumeClaim {
	if b.plan.KeystorePath == "" || b.group.HA != nil { // an ha pod keeps no keys (withHA)
		return nil
	}
	return []corev1.PersistentVolumeClaim{{
		ObjectMeta: metav1.ObjectMeta{Name: volumeKeystore, Labels: labels},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse(keystoreSize)}},
		},
	}}
}

// keystoreRestore is the start hook of a node that forgets inserted keys when it restarts:
// once its RPC answers (up to three minutes), every key file of the keystore volume is
// posted to it. Only file names reach arguments; the hook never fails the container (a node
// without its keys shows as mismatch in onf keys check and onf_session_keys_registered).
func (b *groupBuilder) keystoreRestore() *corev1.Lifecycle {
	if b.plan.Flavor != v1alpha1.FlavorGossamer || b.plan.KeystorePath == "" || b.group.HA != nil {
		return nil
	}
	script := fmt.Sprintf(`rpc=http://127.0.0.1:%d/
h='Content-Type: application/json'
for i in $(seq 180); do
  wget -q -O /dev/null --header "$h" --post-data '{"jsonrpc":"2.0","id":1,"method":"system_health","params":[]}' "$rpc" && break
  sleep 1
done
for f in %s/*.json; do
  [ -e "$f" ] && wget -q -O /dev/null --header "$h" --post-file "$f" "$rpc"
done
exit 0
`, b.plan.Ports.RPC, shellQuote(b.plan.KeystorePath))
	return &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{Exec: &corev1.ExecAction{Command: []string{"/bin/sh", "-c", script}}}}
}

// podAnnotations marks a pod whose keystore onf keeps for its node (AnnotationKeystoreRestore).
func (b *groupBuilder) podAnnotations() map[string]string {
	if b.keystoreRestore() == nil {
		return nil
	}
	return map[string]string{AnnotationKeystoreRestore: b.plan.KeystorePath}
}

// PodKeystoreDir is where a signing pod's keystore volume is mounted in the node container.
const PodKeystoreDir = keystoreDir
