package cluster

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/sessionkeys"
)

// keysController is Alice's controller on westend-dev; its stash is the genesis validator.
const keysController = "//Alice"

// keys runs `onf keys VERB ARGS... --kubeconfig K -n NS -o json` and decodes its statuses.
func (o *day2Onf) keys(t *testing.T, args ...string) ([]sessionkeys.Status, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, append(append([]string{"keys"}, args...), "--kubeconfig", o.kubeconfig, "-n", o.namespace, "-o", "json")...)
	cmd.Env = o.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr := cmd.Run()
	var st []sessionkeys.Status
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		t.Fatalf("onf keys %s: %v (%v): %s %s", strings.Join(args, " "), err, runErr, out.String(), errOut.String())
	}
	return st, runErr
}

// testSessionKeys runs `onf keys` against a validator pod: check reports mismatch, rotate
// registers keys made for the pod and inserted through a port-forward to its RPC, and
// session.nextKeys shows them (check: match, with the queued keys and session index); no
// pending annotation is left, the node key file in the pod is readable by the node's group only, and neither the
// controller's secret URI shows in events, pod annotations or the network's status, which
// reports the registered public keys.
func testSessionKeys(t *testing.T, rc *realCluster) {
	ns := rc.namespace(t, "keys")
	ctx := context.Background()
	net := devNetwork(t, ns, rc.image)
	net.Spec.Groups = net.Spec.Groups[:1] // the validator: westend-dev's one authority
	if err := rc.cl.Create(ctx, net); err != nil {
		t.Fatal(err)
	}
	pods := (&env{cluster: rc.cluster, cl: rc.cl, net: net}).waitPods(t, 1, 4*time.Minute)
	onf := day2BuildOnf(t, rc.cluster.Kubeconfig, ns)
	suriFile := filepath.Join(t.TempDir(), "controller.suri")
	if err := os.WriteFile(suriFile, []byte(keysController+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	kubetest.Eventually(t, 2*time.Minute, "validator-0 at block >= 1", func() (bool, error) {
		out, err := onf.run(t, "", "status", "dev", "-o", "json")
		var st netstatus.Network
		if err == nil {
			err = json.Unmarshal([]byte(out), &st)
		}
		return err == nil && len(st.Nodes) == 1 && st.Nodes[0].Best >= 1, err
	})

	before, _ := onf.keys(t, "check", "dev", "validator-0", "--suri-file", suriFile)
	if len(before) != 1 || before[0].Result != "mismatch" || before[0].NextKeys == "" {
		t.Fatalf("before rotation: %+v, want mismatch (gossamer --key alice holds babe and gran, not Alice's other genesis keys)", before)
	}
	// Alice's genesis keys are queued for the next session as well.
	if before[0].QueuedKeys != before[0].NextKeys {
		t.Errorf("queued keys %s, next keys %s: want Alice's genesis keys in both", before[0].QueuedKeys, before[0].NextKeys)
	}
	rotated, err := onf.keys(t, "rotate", "dev", "validator-0", "--suri-file", suriFile)
	if err != nil || len(rotated) != 1 || rotated[0].Result != "match" || rotated[0].NextKeys == before[0].NextKeys || rotated[0].Pending != "" {
		t.Fatalf("rotate: %v %+v", err, rotated)
	}
	after, err := onf.keys(t, "check", "dev", "validator-0", "--suri-file", suriFile)
	if err != nil || after[0].Result != "match" || after[0].NextKeys != rotated[0].NextKeys || !after[0].Holds {
		t.Errorf("check after rotate: %v %+v, want match on %s", err, after, rotated[0].NextKeys)
	}

	t.Run("rotate finishes a rotation stopped between insert and setKeys", func(t *testing.T) {
		// generate is rotate's first half: keys made and inserted, pending on the pod; the
		// next command has no seed, only the node holds them, and registers that very set.
		gen, err := onf.keys(t, "generate", "dev", "validator-0")
		if err != nil || len(gen) != 1 || gen[0].Pending == "" {
			t.Fatalf("generate: %v %+v", err, gen)
		}
		var pod corev1.Pod
		if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: pods[0].Name}, &pod); err != nil {
			t.Fatal(err)
		}
		var pending sessionkeys.Set
		if err := json.Unmarshal([]byte(pod.Annotations["onf.dinfra.dev/pending-session-keys"]), &pending); err != nil || pending.Encoded() != gen[0].Pending {
			t.Fatalf("pending annotation %q (%v), want the public keys %s", pod.Annotations["onf.dinfra.dev/pending-session-keys"], err, gen[0].Pending)
		}
		st, err := onf.keys(t, "rotate", "dev", "validator-0", "--suri-file", suriFile)
		if err != nil || st[0].NextKeys != gen[0].Pending || st[0].Result != "match" {
			t.Fatalf("re-run rotate: %v %+v, want the pending %s registered", err, st, gen[0].Pending)
		}
		rotated = st
	})

	t.Run("operator status shows the registered public keys", func(t *testing.T) {
		kubetest.Eventually(t, time.Minute, "status.nodes[0].sessionKeys", func() (bool, error) {
			var n v1alpha1.SubstrateNetwork
			if err := rc.cl.Get(ctx, client.ObjectKeyFromObject(net), &n); err != nil {
				return false, err
			}
			if len(n.Status.Nodes) != 1 || n.Status.Nodes[0].SessionKeys == nil {
				return false, fmt.Errorf("nodes: %+v", n.Status.Nodes)
			}
			k := n.Status.Nodes[0].SessionKeys
			return k.Keys == rotated[0].NextKeys && k.Validator == rotated[0].Validator, fmt.Errorf("sessionKeys %+v", k)
		})
	})

	t.Run("custody", func(t *testing.T) {
		var pod corev1.Pod
		if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: pods[0].Name}, &pod); err != nil {
			t.Fatal(err)
		}
		if v, ok := pod.Annotations["onf.dinfra.dev/pending-session-keys"]; ok {
			t.Errorf("a confirmed rotation left the pending annotation: %s", v)
		}
		var keyFile string
		for _, m := range pod.Spec.Containers[0].VolumeMounts {
			if m.Name == "node-key" {
				keyFile = m.MountPath
			}
		}
		// The Secret volume's 0400 becomes 0440 root:<fsGroup>: the kubelet gives the pod's
		// fsGroup (the node's own group) read access, which is how the non-root node reads a
		// root-owned file at all. Nobody else can.
		out, err := onf.run(t, "", "exec", "dev", "validator-0", "--", "stat", "-L", "-c", "%a %u:%g", keyFile)
		want := fmt.Sprintf("440 0:%d", *pod.Spec.SecurityContext.FSGroup)
		if err != nil || strings.TrimSpace(out) != want {
			t.Errorf("node key file %s in the pod: %q (%v), want %s", keyFile, out, err, want)
		}
		var events corev1.EventList
		if err := rc.cl.List(ctx, &events, client.InNamespace(ns)); err != nil {
			t.Fatal(err)
		}
		var seen bytes.Buffer
		for _, ev := range events.Items {
			seen.WriteString(ev.Message + "\n" + ev.Reason + "\n")
		}
		for k, v := range pod.Annotations {
			seen.WriteString(k + "=" + v + "\n")
		}
		var n v1alpha1.SubstrateNetwork
		if err := rc.cl.Get(ctx, client.ObjectKeyFromObject(net), &n); err != nil {
			t.Fatal(err)
		}
		status, _ := json.Marshal(n.Status)
		seen.Write(status)
		if strings.Contains(seen.String(), keysController) {
			t.Errorf("the controller's secret URI shows in events, pod annotations or status")
		}
	})
}
