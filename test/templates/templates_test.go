// Package templates_test writes every `onf init` template with the CLI, validates it, renders
// the Kubernetes ones against goldens, prepares the local ones as `onf up` would (every check,
// port and key, nothing started), and runs one template end to end on real gossamer with the
// load generator (`onf simulate`).
package templates_test

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/loadgen"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/local/localgateway"
	"github.com/dinfra/stack/internal/network"
	"github.com/dinfra/stack/internal/nodekey"
	"github.com/dinfra/stack/internal/templates"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

var update = flag.Bool("update", false, "rewrite the golden files")

// TestTemplates builds onf once for both parts.
func TestTemplates(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	c := onfcli.Build(t)
	t.Run("init", func(t *testing.T) { initTemplates(t, c, gossamer) })
	t.Run("end-to-end", func(t *testing.T) { endToEnd(t, c, gossamer) })
}

// initTemplates: `onf init` writes each template for both targets; `onf validate` accepts
// it; the Kubernetes spec renders (polkadot-sdk images) to its golden manifests; the local
// spec passes every check `onf up` makes before starting (binaries, chain specs, gateway
// config), with gossamer, except parachain, which is refused for the polkadot binaries
// gossamer cannot stand in for.
func initTemplates(t *testing.T, c *onfcli.CLI, gossamer string) {
	dir := t.TempDir()
	for _, name := range templates.Names {
		t.Run(name, func(t *testing.T) {
			k8s := filepath.Join(dir, name+"-kubernetes.yaml")
			c.Must("init", "--template", name, "--target", "kubernetes", "-o", k8s)
			c.Must("validate", "-f", k8s)
			golden(t, name, k8s)

			spec := filepath.Join(dir, name+"-local.yaml")
			out := c.Must("init", "--template", name, "--name", "t-"+name, "-o", spec)
			if name == "api" && !strings.Contains(out, `API key "admin" (shown once): onf_`) {
				t.Errorf("api: no key shown:\n%s", out)
			}
			c.Must("validate", "-f", spec)
			n, err := network.Load(spec)
			if err != nil {
				t.Fatal(err)
			}
			if name != "parachain" {
				n.Spec.Node.Binary = gossamer
			}
			rt := &local.Runtime{Home: t.TempDir(), Gateways: localgateway.Gateways{}}
			_, err = rt.Prepare(context.Background(), n)
			switch {
			case name == "parachain":
				if err == nil || !strings.Contains(err.Error(), `node binary "polkadot" not found`) {
					t.Fatalf("parachain locally without polkadot: %v", err)
				}
			case err != nil:
				t.Fatal(err)
			}
		})
	}
	if out, err := c.Run("init", "--template", "boot", "-o", filepath.Join(dir, "boot-local.yaml")); err == nil || !strings.Contains(out, "never overwrites") {
		t.Errorf("init overwrote a file: %v\n%s", err, out)
	}
	if out := c.Must("init", "--list"); strings.Count(out, "\n") != len(templates.Names) {
		t.Errorf("--list:\n%s", out)
	}
}

// golden renders a Kubernetes spec as `onf render` does, with node keys derived from their
// names so the output is stable, and compares it with testdata/NAME.golden.yaml.
func golden(t *testing.T, name, spec string) {
	t.Helper()
	n, err := network.Load(spec)
	if err != nil {
		t.Fatal(err)
	}
	n.Namespace = "chains"
	keys := kube.NodeKeys{}
	for _, k := range kube.KeyNames(n) {
		seed := sha256.Sum256([]byte(k))
		if keys[k], err = nodekey.FromSeed(seed[:]); err != nil {
			t.Fatal(err)
		}
	}
	objs, err := kube.Desired(n, keys, kube.Options{GatewayImage: "localhost/dinfra/onf:test"})
	if err != nil {
		t.Fatal(err)
	}
	var got bytes.Buffer
	if err := kube.WriteYAML(&got, objs); err != nil {
		t.Fatal(err)
	}
	file := filepath.Join("testdata", name+".golden.yaml")
	if *update {
		if err := os.WriteFile(file, got.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(got.Bytes(), want) {
		t.Errorf("%s renders differently from %s (go test -update rewrites it):\n%s", name, file, got.String())
	}
}

// endToEnd runs the validator template on real gossamer with `onf up` and loads it with
// `onf simulate` through its full node: every transfer is sent and accepted, transfers are
// included, and the summary has block times and a finality lag.
func endToEnd(t *testing.T, c *onfcli.CLI, gossamer string) {
	spec := filepath.Join(t.TempDir(), "val.yaml")
	c.Must("init", "--template", "validator", "--name", "val", "-o", spec)
	t.Cleanup(func() { c.Run("down", "val", "--purge") })
	c.Must("up", "-f", spec, "--binary", gossamer, "--until-block", "1", "--timeout", "4m")

	out := c.Must("simulate", "val", "--node", "full-0", "--transfers-per-block", "2", "--blocks", "2", "--grace", "10", "-o", "json")
	var sum loadgen.Summary
	if err := json.Unmarshal([]byte(out[strings.Index(out, "{"):]), &sum); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	t.Logf("%s", sum)
	// gossamer v0.9.0 now and then never includes a transfer it accepted (3 of 4 in one CI
	// run, 18 of 24 by hand at 8 a block): want every transfer sent and accepted, and some of
	// them included, counted no higher than sent.
	if sum.Blocks != 2 || sum.Sent != 4 || sum.Rejected != 0 || sum.Included < 1 || sum.Included > sum.Sent {
		t.Errorf("want 2 blocks, 4 transfers sent, none rejected, 1 to 4 included:\n%s", out)
	}
	if sum.BlockTimeMedian <= 0 || sum.BlockTimeP95 < sum.BlockTimeMedian || sum.FinalityLagMax < sum.FinalityLagMedian {
		t.Errorf("summary out of order: %+v", sum)
	}
}
