package kube

import (
	"bytes"
	"crypto/sha256"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

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
			objs, err := Desired(n, testKeys(t, n), Options{ServiceMonitor: true})
			if err != nil {
				t.Fatal(err)
			}
			var got bytes.Buffer
			if err := WriteYAML(&got, objs); err != nil {
				t.Fatal(err)
			}
			golden := strings.TrimSuffix(spec, ".yaml") + ".golden.yaml"
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
				t.Errorf("objects of %s differ from %s (run with -update and review the diff):\n%s", spec, golden, firstDiff(string(want), got.String()))
			}
		})
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
