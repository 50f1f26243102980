package cluster

import (
	"context"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
)

// manifestLine is what `onf backup create` prints: the backup's ID, genesis and finalized block.
var manifestLine = regexp.MustCompile(`(?s)^backup (\S+) of dev/backup-0\n  chain .*, genesis (0x[0-9a-f]+)\n.*  finalized #(\d+) (0x[0-9a-f]+)\n`)

// testBackup backs up the full node of a running dev network with the built `onf backup
// create --kubeconfig` (the operator's CronJob run once on the real node: its facts step over
// RPC, the source group held, the copy step streaming the stopped node's claim to a
// directory on a claim of its own), lists it from the host, then adds a group with
// restoreFrom that backup: its new node is restored before it starts (the restore step says
// so), answers with the network's genesis and the backup's finalized block N at the
// network's hash, and keeps importing the network's blocks.
func testBackup(t *testing.T, rc *realCluster) {
	// The operator runs the onf image for spec.backup's steps (startOperator).
	testenv.Value(t, "ONF_IMAGE", "run `eval \"$(scripts/images.sh env)\"` after scripts/cluster-host.sh")
	ns := rc.namespace(t, "backup")
	ctx := context.Background()
	cl := rc.cl
	claim := &corev1.PersistentVolumeClaim{
		ObjectMeta: metav1.ObjectMeta{Name: "backups", Namespace: ns},
		Spec: corev1.PersistentVolumeClaimSpec{
			AccessModes: []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
			Resources:   corev1.VolumeResourceRequirements{Requests: corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Gi")}},
		},
	}
	if err := cl.Create(ctx, claim); err != nil {
		t.Fatal(err)
	}
	net := devNetwork(t, ns, rc.image)
	net.Spec.Groups = []v1alpha1.NodeGroup{net.Spec.Groups[0], net.Spec.Groups[1], // validator, boot
		{Name: "backup", Role: v1alpha1.RoleFull}}
	net.Spec.Backup = &v1alpha1.Backup{Source: "backup", Schedule: "0 3 * * *", Destination: "/backups/dev", VolumeClaim: "backups"}
	e := &env{cluster: rc.cluster, cl: cl, net: net}
	if err := cl.Create(ctx, net); err != nil {
		t.Fatal(err)
	}
	e.waitPods(t, 3, 4*time.Minute)
	vpod := mustPod(t, e, kube.PodName("dev", "validator", 0))
	validator := dial(t, podURL(&vpod))
	spod := mustPod(t, e, kube.PodName("dev", "backup", 0))
	source := dial(t, podURL(&spod))
	// A backup worth restoring holds finalized blocks: gossamer finalises about 50 s in, and
	// the source (a full node, started after its restore steps) learns of it a little later.
	testenv.Eventually(t, 4*time.Minute, "the backup source holding finalized block #2", func() (bool, error) {
		_, h, err := source.FinalizedHeader(ctx)
		if err != nil {
			return false, err
		}
		return h.Number >= 2, fmt.Errorf("finalized #%d", h.Number)
	})

	onf := day2BuildOnf(t, rc.cluster.Kubeconfig, ns)
	start := time.Now()
	out, err := onf.run(t, "", "backup", "create", "dev", "backup-0", "--timeout", "4m")
	if err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("onf backup create took %s:\n%s", time.Since(start).Round(time.Second), out)
	m := manifestLine.FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("create printed no manifest:\n%s", out)
	}
	id, genesis, finalizedHash := m[1], m[2], m[4]
	finalized, _ := strconv.ParseUint(m[3], 10, 64)
	if finalized < 2 {
		t.Errorf("backup %s holds finalized #%d, want >= 2 (finalized before the copy)", id, finalized)
	}
	if h, err := validator.BlockHash(ctx, finalized); err != nil || h != finalizedHash {
		t.Errorf("backup's finalized #%d %s; the validator has %s (%v)", finalized, finalizedHash, h, err)
	}

	t.Run("listed from the host", func(t *testing.T) {
		dir := claimDir(t, cl, ns, "backups")
		out, err := onf.run(t, "", "backup", "list", "dev", "--dest", filepath.Join(dir, "dev"))
		if err != nil || !strings.Contains(out, id) {
			t.Fatalf("list of the backup claim's directory: %v\n%s", err, out)
		}
	})

	// A new group restored from the backup before its node first starts.
	e.update(t, func(n *v1alpha1.SubstrateNetwork) {
		n.Spec.Groups = append(n.Spec.Groups, v1alpha1.NodeGroup{Name: "restored", Role: v1alpha1.RoleFull,
			RestoreFrom: &v1alpha1.RestoreFrom{Backup: id}})
	})
	restored := kube.PodName("dev", "restored", 0)
	var pod corev1.Pod
	testenv.Eventually(t, 3*time.Minute, "pod "+restored+" Ready", func() (bool, error) {
		if err := cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: restored}, &pod); err != nil {
			return false, err
		}
		return podReady(&pod), fmt.Errorf("%s", podState(&pod))
	})
	if log := containerLog(t, rc, ns, restored, "restore"); !strings.Contains(log, "restored "+id+": finalized #"+m[3]+" "+finalizedHash) {
		t.Fatalf("the restore step's log does not name the backup:\n%s", log)
	}
	node := dial(t, podURL(&pod))
	best, err := node.BestHeader(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if uint64(best.Number) < finalized {
		t.Errorf("restored node starts at #%d, below the backup's finalized #%d", best.Number, finalized)
	}
	if g, err := node.BlockHash(ctx, 0); err != nil || g != genesis {
		t.Errorf("restored node's genesis %s (%v), the backup's %s", g, err, genesis)
	}
	if h, err := node.BlockHash(ctx, finalized); err != nil || h != finalizedHash {
		t.Errorf("restored node's #%d is %s (%v), the network's %s", finalized, h, err, finalizedHash)
	}
	t.Logf("restored node at #%d right after start (backup finalized #%d)", best.Number, finalized)

	// It keeps importing: two blocks past the validator's best of now, with its hashes.
	target := e.best(t) + 2
	testenv.Eventually(t, 2*time.Minute, fmt.Sprintf("the restored node importing #%d as the validator has it", target), func() (bool, error) {
		return sameBlock(ctx, validator, node, target)
	})
}

// sameBlock: both nodes hold block number with the same hash.
func sameBlock(ctx context.Context, a, b *rpc.Client, number uint64) (bool, error) {
	ha, err := a.BlockHash(ctx, number)
	if err != nil || ha == "" {
		return false, fmt.Errorf("validator: no #%d yet (%v)", number, err)
	}
	hb, err := b.BlockHash(ctx, number)
	if err != nil || hb == "" {
		best, _ := b.BestHeader(ctx)
		return false, fmt.Errorf("restored node: no #%d yet, at %v (%v)", number, best, err)
	}
	return ha == hb, fmt.Errorf("#%d: validator %s, restored node %s", number, ha, hb)
}

// claimDir is the host directory of the hostPath volume bound to a claim.
func claimDir(t *testing.T, cl client.Client, ns, name string) string {
	t.Helper()
	var pv corev1.PersistentVolume
	if err := cl.Get(context.Background(), client.ObjectKey{Name: pvc(t, cl, ns, name).Spec.VolumeName}, &pv); err != nil {
		t.Fatal(err)
	}
	if pv.Spec.HostPath == nil {
		t.Fatalf("volume %s is not a hostPath volume", pv.Name)
	}
	return pv.Spec.HostPath.Path
}

// containerLog is the log of one container (an init step too) of a pod.
func containerLog(t *testing.T, rc *realCluster, ns, pod, container string) string {
	t.Helper()
	cs, err := kubernetes.NewForConfig(rc.cluster.Config)
	if err != nil {
		t.Fatal(err)
	}
	b, err := cs.CoreV1().Pods(ns).GetLogs(pod, &corev1.PodLogOptions{Container: container}).DoRaw(context.Background())
	if err != nil {
		t.Fatalf("log of %s/%s: %v", pod, container, err)
	}
	return string(b)
}
