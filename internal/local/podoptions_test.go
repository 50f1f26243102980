package local

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/network"
)

// Locally pod.env is honoured (its literal values reach the node, test/local
// TestPodEnvReachesLocalNode); every other pod option, and env the kubelet would resolve, is
// refused by its field path before anything starts.
func TestPodOptionsRefusedLocally(t *testing.T) {
	cases := map[string]string{
		`pod: {env: [{name: A, value: b}]}`:                                          "",
		`pod: {env: [{name: A, value: b}]}, storageClassName: fast`:                  "spec.groups[1].storageClassName: works in clusters only",
		`pod: {env: [{name: A, value: b}], terminationGracePeriodSeconds: 9}`:        "spec.groups[1].pod.terminationGracePeriodSeconds: works in clusters only",
		`pod: {containers: [{name: s, image: x}], imagePullSecrets: [{name: r}]}`:    "spec.groups[1].pod.containers: works in clusters only",
		`pod: {env: [{name: A, valueFrom: {fieldRef: {fieldPath: status.hostIP}}}]}`: "spec.groups[1].pod.env[0].valueFrom: reads from the pod or cluster",
		`pod: {env: [{name: A, value: b}, {name: B, value: "$(A)/x"}]}`:              "spec.groups[1].pod.env[1].value: $(VAR) is expanded by the kubelet",
	}
	for pod, want := range cases {
		n := westendDev(t, `
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: rpc, role: rpc, `+pod+`}
`)
		err := refuseClusterOnly(n)
		if want == "" && err != nil || want != "" && (err == nil || !strings.HasPrefix(err.Error(), want)) {
			t.Errorf("%s: err = %v, want %q", pod, err, want)
		}
	}
}

// A changed pod.env restarts the node (its command hash changes); a plan without env hashes
// as it did before env existed, so upgrading onf restarts no node.
func TestPodEnvInCommandHash(t *testing.T) {
	np := network.NodePlan{Binary: "gossamer", Args: []string{"--chain", "dev"}}
	data, _ := json.Marshal([]any{np.Binary, np.Init, np.Args, np.StandbyArgs})
	sum := sha256.Sum256(data)
	if commandHash(np) != hex.EncodeToString(sum[:]) {
		t.Error("a plan without env hashes differently than before")
	}
	withEnv := np
	withEnv.Env = []string{"RUST_LOG=info"}
	changed := np
	changed.Env = []string{"RUST_LOG=debug"}
	if commandHash(withEnv) == commandHash(np) || commandHash(withEnv) == commandHash(changed) {
		t.Error("env does not change the command hash")
	}
}
