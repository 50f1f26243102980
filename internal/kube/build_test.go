package kube

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// testKeys gives every node a node key derived from its name, so golden files are stable.
func testKeys(t *testing.T, n *v1alpha1.SubstrateNetwork) NodeKeys {
	t.Helper()
	keys := NodeKeys{}
	for _, name := range KeyNames(n) {
		seed := sha256.Sum256([]byte("golden node key " + name))
		k, err := nodekey.FromSeed(seed[:])
		if err != nil {
			t.Fatal(err)
		}
		keys[name] = k
	}
	return keys
}

func loadSpec(t *testing.T, file string) *v1alpha1.SubstrateNetwork {
	t.Helper()
	n, err := network.Load(file)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

func TestDesiredGolden(t *testing.T) {
	specs, err := filepath.Glob("testdata/*.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for _, spec := range specs {
		if strings.HasSuffix(spec, ".golden.yaml") {
			continue
		}
		t.Run(filepath.Base(spec), func(t *testing.T) {
			n := loadSpec(t, spec)
			objs, err := Desired(n, testKeys(t, n), Options{ServiceMonitor: true, PrometheusRule: true})
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, strings.TrimSuffix(spec, ".yaml")+".golden.yaml", objs)
		})
	}
}

// checkGolden compares objs as YAML with the golden file (rewritten with -update).
func checkGolden(t *testing.T, golden string, objs []client.Object) {
	t.Helper()
	var got bytes.Buffer
	if err := WriteYAML(&got, objs); err != nil {
		t.Fatal(err)
	}
	if *update {
		if err := os.WriteFile(golden, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatalf("%v (run go test ./internal/kube -update)", err)
	}
	if got.String() != string(want) {
		t.Errorf("objects differ from %s (run with -update and review the diff):\n%s", golden, firstDiff(string(want), got.String()))
	}
}

// firstDiff shows the first differing line of two texts.
func firstDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return "line " + itoa(i+1) + ":\n  want: " + wl + "\n  got:  " + gl
		}
	}
	return ""
}

func TestDesiredRejects(t *testing.T) {
	base := func() *v1alpha1.SubstrateNetwork { return loadSpec(t, "testdata/rococo.yaml") }
	tests := []struct {
		name   string
		change func(*v1alpha1.SubstrateNetwork)
		want   string
	}{
		{"no image", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Node.Image = "" },
			"spec.groups[0].node.image: a container image is required on Kubernetes"},
		{"one IP for many load balancers", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Groups[1].P2P.PublicHost = "203.0.113.7" },
			"spec.groups[1].p2p.publicHost: 203.0.113.7 is one address for 2 load-balanced nodes"},
		{"gossamer behind node ports", func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Groups[1].Node = &v1alpha1.NodeSoftware{Flavor: v1alpha1.FlavorGossamer, Binary: "gossamer", Image: "docker.io/chainsafe/gossamer:v0.9.0"}
			n.Spec.Groups[1].P2P = &v1alpha1.P2P{Expose: v1alpha1.ExposeNodePort, PublicHost: "203.0.113.7"}
		},
			"spec.groups[1].p2p.expose: gossamer announces only the port it listens on"},
		{"local chain file", func(n *v1alpha1.SubstrateNetwork) { n.Spec.Chain = v1alpha1.Chain{File: "/specs/relay.json"} },
			"spec.chain.file: a local file cannot be read in the cluster"},
		{"chain URL without its checksum", func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Parachains[0].Chain = v1alpha1.Chain{URL: "https://example.org/spec.json"}
		},
			"spec.parachains[0].chain.sha256: required in clusters with spec.parachains[0].chain.url"},
		{"chain URL without the onf image", func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Parachains[0].Chain = v1alpha1.Chain{URL: "https://example.org/spec.json", SHA256: strings.Repeat("a", 64)}
		},
			"spec.parachains[0].chain: runs the onf image on Kubernetes"},
		{"runtime override without the onf image", func(n *v1alpha1.SubstrateNetwork) {
			n.Spec.Groups[2].RuntimeOverride = &v1alpha1.RuntimeOverride{URL: "https://example.org/r.wasm", SHA256: strings.Repeat("a", 64)}
		},
			"spec.groups[2].runtimeOverride: runs the onf image on Kubernetes"},
		{"names too long", func(n *v1alpha1.SubstrateNetwork) {
			n.Name = strings.Repeat("r", 40)
			n.Spec.Groups[0].Name = "validators-of-the-relay"
		},
			"spec.groups[0].name: \"validators-of-the-relay\" with network name"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			n := base()
			tc.change(n)
			_, err := Desired(n, testKeys(t, n), Options{})
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("Desired: %v\nwant an error containing %q", err, tc.want)
			}
		})
	}
}
