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

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/netstatus"
	"github.com/dinfra/stack/internal/sessionkeys"
	"github.com/dinfra/stack/internal/testenv"
)

// keysController is Alice's controller on westend-dev; its stash is the genesis validator.
const keysController = "//Alice"

// keys runs `onf keys VERB ARGS... --kubeconfig K -n NS -o json` and decodes its statuses.
func (o *day2Onf) keys(t *testing.T, args ...string) ([]sessionkeys.Status, error) {
	t.Helper()
	st, runErr, err := o.tryKeys(args...)
	if err != nil {
		t.Fatal(err)
	}
	return st, runErr
}

// tryKeys is keys for a command that may print no statuses yet: err says why.
func (o *day2Onf) tryKeys(args ...string) (st []sessionkeys.Status, runErr, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, o.bin, append(append([]string{"keys"}, args...), "--kubeconfig", o.kubeconfig, "-n", o.namespace, "-o", "json")...)
	cmd.Env = o.env
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	runErr = cmd.Run()
	if err := json.Unmarshal(out.Bytes(), &st); err != nil {
		return nil, runErr, fmt.Errorf("onf keys %s: %v (%v): %s %s", strings.Join(args, " "), err, runErr, out.String(), errOut.String())
	}
	return st, runErr, nil
}

// testSessionKeys runs `onf keys` against a validator pod: check reports mismatch, rotate
// registers keys made for the pod and inserted through a port-forward to its RPC, and
// session.nextKeys shows them (check: match, with the queued keys and session index), while
// a scan inside the pod reads every process's /proc/*/cmdline and environ; no pending
// annotation is left, the node key file in the pod is readable by the node's group only, the
// keystore volume's files are 0400 and the node's own, and neither the controller's secret
// URI nor any generated seed shows in the scan, the pod's log, events, pod annotations,
// the rendered StatefulSet or the network's status, which reports the registered public
// keys. The pod made again finds its keys in its keystore volume (check: match), and a
// migration to the standby pod empties the validator's keystore while blocks keep coming.
func testSessionKeys(t *testing.T, rc *realCluster) {
	ns := rc.namespace(t, "keys")
	ctx := context.Background()
	net := devNetwork(t, ns, rc.image)
	// The validator (westend-dev's one authority) and a full node to migrate to.
	net.Spec.Groups = append(net.Spec.Groups[:1], v1alpha1.NodeGroup{Name: "standby", Role: v1alpha1.RoleFull})
	if err := rc.cl.Create(ctx, net); err != nil {
		t.Fatal(err)
	}
	(&env{cluster: rc.cluster, cl: rc.cl, net: net}).waitPods(t, 2, 4*time.Minute)
	const validatorPod = "dev-validator-0"
	onf := day2BuildOnf(t, rc.cluster.Kubeconfig, ns)
	suriFile := filepath.Join(t.TempDir(), "controller.suri")
	if err := os.WriteFile(suriFile, []byte(keysController+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	best := func(node string) (uint64, error) {
		out, err := onf.run(t, "", "status", "dev", "-o", "json")
		var st netstatus.Network
		if err == nil {
			err = json.Unmarshal([]byte(out), &st)
		}
		for _, n := range st.Nodes {
			if n.Name == node && err == nil {
				return n.Best, nil
			}
		}
		return 0, fmt.Errorf("%s not in status (%v): %+v", node, err, st.Nodes)
	}
	testenv.Eventually(t, 2*time.Minute, "validator-0 at block >= 1", func() (bool, error) {
		b, err := best("validator-0")
		return b >= 1, err
	})

	before, _ := onf.keys(t, "check", "dev", "validator-0", "--suri-file", suriFile)
	if len(before) != 1 || before[0].Result != "mismatch" || before[0].NextKeys == "" {
		t.Fatalf("before rotation: %+v, want mismatch (gossamer --key alice holds babe and gran, not Alice's other genesis keys)", before)
	}
	// Alice's genesis keys are queued for the next session as well.
	if before[0].QueuedKeys != before[0].NextKeys {
		t.Errorf("queued keys %s, next keys %s: want Alice's genesis keys in both", before[0].QueuedKeys, before[0].NextKeys)
	}
	scan := onf.scanPod(t, "validator-0")
	rotated, err := onf.keys(t, "rotate", "dev", "validator-0", "--suri-file", suriFile)
	procs := scan()
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
		if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: validatorPod}, &pod); err != nil {
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
		testenv.Eventually(t, time.Minute, "status.nodes[0].sessionKeys", func() (bool, error) {
			var n v1alpha1.SubstrateNetwork
			if err := rc.cl.Get(ctx, client.ObjectKeyFromObject(net), &n); err != nil {
				return false, err
			}
			if len(n.Status.Nodes) != 2 || n.Status.Nodes[1].SessionKeys == nil {
				return false, fmt.Errorf("nodes: %+v", n.Status.Nodes)
			}
			k := n.Status.Nodes[1].SessionKeys // the nodes sorted: dev-standby-0, dev-validator-0
			return k.Keys == rotated[0].NextKeys && k.Validator == rotated[0].Validator, fmt.Errorf("sessionKeys %+v", k)
		})
	})

	t.Run("custody", func(t *testing.T) {
		var pod corev1.Pod
		if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: validatorPod}, &pod); err != nil {
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
		var sts appsv1.StatefulSet
		if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: "dev-validator"}, &sts); err != nil {
			t.Fatal(err)
		}
		rendered, _ := json.Marshal(sts)
		seen.Write(rendered)
		logs, err := onf.run(t, "", "logs", "dev", "validator-0")
		if err != nil {
			t.Fatal(err)
		}
		seen.WriteString(logs)
		if strings.Contains(seen.String(), keysController) {
			t.Errorf("the controller's secret URI shows in events, pod annotations, status, the StatefulSet or the pod's log")
		}
		if strings.Contains(procs, keysController) {
			t.Errorf("the controller's secret URI shows in a process's arguments or environment in the pod")
		}
		seeds := keystoreSeeds(t, onf, "validator-0", 2*len(rotated[0].Keys))
		for _, seed := range seeds {
			if strings.Contains(seen.String(), seed) || strings.Contains(procs, seed) {
				t.Errorf("a generated seed shows in the pod's processes, its log, events, annotations, status or the StatefulSet")
			}
		}
	})

	t.Run("the keystore outlives the pod", func(t *testing.T) {
		var old corev1.Pod
		if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: validatorPod}, &old); err != nil {
			t.Fatal(err)
		}
		if err := rc.cl.Delete(ctx, &old); err != nil {
			t.Fatal(err)
		}
		// The node made again holds the keys registered last (author_hasSessionKeys): the
		// start hook posted them from the keystore claim before the pod became Ready. (What
		// the chain expects is not asked here: gossamer v0.9.0 restarted on its database
		// may resume from an earlier state than the one it stopped at.)
		testenv.Eventually(t, 3*time.Minute, "validator-0 made again, holding its keys", func() (bool, error) {
			var p corev1.Pod
			if err := rc.cl.Get(ctx, client.ObjectKey{Namespace: ns, Name: validatorPod}, &p); err != nil || p.UID == old.UID || !podReady(&p) {
				return false, fmt.Errorf("pod %s not made again and ready yet (%v)", validatorPod, err)
			}
			out, err := onf.run(t, "", "rpc", "dev", "validator-0", "author_hasSessionKeys", `["`+rotated[0].NextKeys+`"]`)
			return err == nil && strings.TrimSpace(out) == "true", fmt.Errorf("author_hasSessionKeys: %q %v", out, err)
		})
	})

	t.Run("migrate to another pod", func(t *testing.T) {
		before, err := best("validator-0")
		if err != nil {
			t.Fatal(err)
		}
		st, err := onf.keys(t, "migrate", "dev", "validator-0", "standby-0", "--suri-file", suriFile)
		if err != nil || len(st) != 1 || st[0].Node != "standby-0" || st[0].Result != "match" || st[0].NextKeys == rotated[0].NextKeys {
			t.Fatalf("migrate: %v %+v", err, st)
		}
		old, _ := onf.keys(t, "check", "dev", "validator-0", "--suri-file", suriFile)
		if len(old) != 1 || old[0].Result != "mismatch" || old[0].NextKeys != st[0].NextKeys {
			t.Errorf("validator-0 after the migration: %+v, want mismatch on %s", old, st[0].NextKeys)
		}
		if left, err := onf.run(t, "", "exec", "dev", "validator-0", "--", "sh", "-c", `for f in /keystore/*; do [ -f "$f" ] && echo "$f"; done; true`); err != nil || strings.TrimSpace(left) != "" {
			t.Errorf("validator-0's keystore volume after the migration: %q (%v), want no key file", left, err)
		}
		testenv.Eventually(t, time.Minute, "blocks after the migration", func() (bool, error) {
			b, err := best("validator-0")
			return b >= before+2, fmt.Errorf("best %d, was %d (%v)", b, before, err)
		})
	})
}

// scanPod starts reading, inside the node's pod and until the returned function is called,
// every process's /proc/PID/cmdline and /proc/PID/environ over and over, and returns what it
// read (one line per argument and variable, each once). It fails the test unless the scan
// saw the node's own command line and environment.
func (o *day2Onf) scanPod(t *testing.T, node string) (stop func() string) {
	t.Helper()
	const script = `rm -f /tmp/onf-scan-stop /tmp/onf-scan /tmp/onf-scan.new
touch /tmp/onf-scan
while [ ! -e /tmp/onf-scan-stop ]; do
  for p in /proc/[0-9]*; do tr '\0' '\n' < "$p/cmdline"; tr '\0' '\n' < "$p/environ"; done 2>/dev/null > /tmp/onf-scan.new
  sort -u /tmp/onf-scan.new /tmp/onf-scan -o /tmp/onf-scan
done
cat /tmp/onf-scan
rm -f /tmp/onf-scan /tmp/onf-scan.new /tmp/onf-scan-stop`
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	cmd := o.command(ctx, "exec", "dev", node, "--", "sh", "-c", script)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	testenv.Eventually(t, 30*time.Second, "the scan running in the pod", func() (bool, error) {
		_, err := o.run(t, "", "exec", "dev", node, "--", "test", "-e", "/tmp/onf-scan")
		return err == nil, err
	})
	return func() string {
		defer cancel()
		if _, err := o.run(t, "", "exec", "dev", node, "--", "touch", "/tmp/onf-scan-stop"); err != nil {
			t.Fatal(err)
		}
		if err := cmd.Wait(); err != nil {
			t.Fatalf("scan in the pod: %v: %s", err, errOut.String())
		}
		seen := out.String()
		for _, want := range []string{"/usr/local/bin/gossamer", "POD_NAME=dev-" + node} {
			if !strings.Contains(seen, want) {
				t.Fatalf("the scan in the pod did not read %q (%d bytes read): it proves nothing", want, len(seen))
			}
		}
		return seen
	}
}

// keystoreSeeds reads the key files of the node's keystore volume (author_insertKey requests),
// checks that there are at least want of them, each 0400 and the node user's, and returns
// their seeds.
func keystoreSeeds(t *testing.T, o *day2Onf, node string, want int) []string {
	t.Helper()
	modes, err := o.run(t, "", "exec", "dev", node, "--", "sh", "-c", `for f in /keystore/*.json; do stat -c '%a %u' "$f"; done`)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Fields(strings.ReplaceAll(modes, " ", "/"))
	if len(lines) < want {
		t.Fatalf("%d key files in the keystore volume, want at least %d (two rotations)", len(lines), want)
	}
	for _, l := range lines {
		if l != "400/1000" {
			t.Errorf("key file mode/owner %s, want 400/1000", l)
		}
	}
	files, err := o.run(t, "", "exec", "dev", node, "--", "sh", "-c", `for f in /keystore/*.json; do cat "$f"; echo; done`)
	if err != nil {
		t.Fatal(err)
	}
	var seeds []string
	for _, line := range strings.Split(strings.TrimSpace(files), "\n") {
		var req struct {
			Method string   `json:"method"`
			Params []string `json:"params"`
		}
		if err := json.Unmarshal([]byte(line), &req); err != nil || req.Method != "author_insertKey" || len(req.Params) != 3 || len(req.Params[1]) < 66 {
			t.Fatalf("key file %q: %v", line, err)
		}
		seeds = append(seeds, req.Params[1])
	}
	return seeds
}
