package cluster

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// testLocalJoinsCluster: a local network and a cluster network form one chain, as a data
// centre joins a cluster. The cluster runs the chain's validator; a local `onf up` network of
// one full node, given that validator as a boot node (spec.groups[].p2p.bootnodes: its pod
// address and peer ID, as an operator would read them from the cluster), imports the
// cluster's blocks with the same hashes. Both run the gossamer built here (the image holds the
// same binary and chain specs), on real pods and a real local process.
func testLocalJoinsCluster(t *testing.T, rc *realCluster) {
	ns := rc.namespace(t, "join")
	ctx := context.Background()
	net := devNetwork(t, ns, rc.image)
	net.Spec.Groups = net.Spec.Groups[:1] // the validator
	if err := rc.cl.Create(ctx, net); err != nil {
		t.Fatal(err)
	}
	e := &env{cluster: rc.cluster, cl: rc.cl, net: net}
	e.waitPods(t, 1, 4*time.Minute)
	var pod corev1.Pod
	if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: kube.PodName("dev", "validator", 0)}, &pod); err != nil {
		t.Fatal(err)
	}
	validator := dial(t, podURL(&pod))
	var peerID string
	testenv.Eventually(t, 2*time.Minute, "the cluster validator's block #1 and peer ID", func() (bool, error) {
		h, err := validator.BestHeader(ctx)
		if err != nil {
			return false, err
		}
		peerID, err = validator.LocalPeerID(ctx)
		return err == nil && h.Number >= 1 && peerID != "", err
	})
	boot := fmt.Sprintf("/ip4/%s/tcp/30333/p2p/%s", pod.Status.PodIP, peerID)

	c := onfcli.Build(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	spec := filepath.Join(t.TempDir(), "west.yaml")
	doc := fmt.Sprintf(`apiVersion: onf.dinfra.dev/v1alpha1
kind: SubstrateNetwork
metadata: {name: west}
spec:
  chain: {builtin: westend-dev}
  node: {flavor: gossamer, binary: %s}
  groups:
  - {name: full, role: full, p2p: {bootnodes: [%q]}}
`, gossamer, boot)
	if err := os.WriteFile(spec, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _, _ = c.Run("down", "west", "--purge") })
	c.Must("up", "-f", spec, "--until-block", "0", "--timeout", "4m")

	full := c.Node("west", "full-0")
	local := dial(t, full.RPC)
	var number uint64
	testenv.Eventually(t, 4*time.Minute, "the local full node importing the cluster's blocks", func() (bool, error) {
		h, err := validator.BestHeader(ctx)
		if err != nil {
			return false, err
		}
		number = max(uint64(h.Number), 2) - 1
		want, err := validator.BlockHash(ctx, number)
		if err != nil {
			return false, err
		}
		got, err := local.BlockHash(ctx, number)
		return err == nil && got == want, fmt.Errorf("block #%d: local %q (%v), cluster %s", number, got, err, want)
	})
	t.Logf("the local node holds the cluster's block #%d; boot node %s", number, boot)
}
