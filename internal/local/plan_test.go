package local

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// rpcNetwork is a network of one rpc node running /bin/true on a chain spec file: enough to
// prepare and plan without a node binary.
func rpcNetwork(t *testing.T) *v1alpha1.SubstrateNetwork {
	t.Helper()
	chain := filepath.Join(t.TempDir(), "chain.json")
	if err := os.WriteFile(chain, []byte(`{"name":"Dev","id":"dev","genesis":{"raw":{}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	n := &v1alpha1.SubstrateNetwork{}
	n.APIVersion, n.Kind, n.Name = v1alpha1.GroupVersion.String(), v1alpha1.Kind, "dev"
	n.Spec.Chain.File = chain
	n.Spec.Node.Binary = "/bin/true"
	n.Spec.Groups = []v1alpha1.NodeGroup{{Name: "rpc", Role: v1alpha1.RoleRPC}}
	return n
}

// westendDev parses a network called dev on the built-in westend-dev chain with groups, a
// YAML list.
func westendDev(t *testing.T, groups string) *v1alpha1.SubstrateNetwork {
	t.Helper()
	n, err := network.Parse([]byte("apiVersion: onf.dinfra.dev/v1alpha1\nkind: SubstrateNetwork\nmetadata: {name: dev}\nspec:\n  chain: {builtin: westend-dev}\n  groups:\n" + groups))
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// tree lists every file under dir with its size and modification time.
func tree(t *testing.T, dir string) string {
	t.Helper()
	var b strings.Builder
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "%s %d %s\n", p, info.Size(), info.ModTime().Format(time.RFC3339Nano))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return b.String()
}

// Prepare plans once and stores the plan; Status reads it and writes nothing, even when the
// stored spec names a node the plan does not have (no port is allocated, no key created).
func TestStatusReadsTheStoredPlan(t *testing.T) {
	r := &Runtime{Home: t.TempDir()}
	n := rpcNetwork(t)
	gen, err := r.Prepare(context.Background(), n)
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := r.Dir("dev")
	p, err := readPlan(dir)
	if err != nil || p.Generation != gen || len(p.Nodes) != 1 || p.Nodes[0].Name != "rpc-0" {
		t.Fatalf("stored plan = %+v, %v; want generation %d with node rpc-0", p, err, gen)
	}
	applied, _, err := readApplied(dir)
	if err != nil {
		t.Fatal(err)
	}
	two := int32(2)
	applied.Spec.Groups[0].Replicas = &two
	if err := writeJSON(dir.Spec(), applied, 0o600); err != nil {
		t.Fatal(err)
	}
	before := tree(t, r.Home)
	st, err := r.Status(context.Background(), "dev")
	if err != nil {
		t.Fatal(err)
	}
	if len(st.Nodes) != 1 || st.Nodes[0].Name != "rpc-0" || st.Nodes[0].PeerID != p.Nodes[0].PeerID {
		t.Errorf("status nodes = %+v, want the stored plan's rpc-0", st.Nodes)
	}
	if after := tree(t, r.Home); after != before {
		t.Errorf("status changed the state home:\nbefore:\n%s\nafter:\n%s", before, after)
	}
}

// A supervisor runs the plan stored with the spec it reads, never one of another generation.
func TestSupervisorRefusesAPlanOfAnotherGeneration(t *testing.T) {
	r := &Runtime{Home: t.TempDir()}
	if _, err := r.Prepare(context.Background(), rpcNetwork(t)); err != nil {
		t.Fatal(err)
	}
	dir, _ := r.Dir("dev")
	p, err := readPlan(dir)
	if err != nil {
		t.Fatal(err)
	}
	p.Generation = 7
	if err := writeJSON(dir.Plan(), p, 0o600); err != nil {
		t.Fatal(err)
	}
	s := &Supervisor{home: r.Home, dir: dir, log: slog.New(slog.NewTextHandler(io.Discard, nil)), procs: map[string]*proc{}}
	s.reconcile(context.Background())
	if want := "the stored plan is of generation 7, the spec of 1"; !strings.Contains(s.err, want) {
		t.Errorf("reconcile error %q, want %q", s.err, want)
	}
	if len(s.procs) != 0 {
		t.Errorf("started %d nodes from a plan of another generation", len(s.procs))
	}
}

// Session key sources that cannot work here are refused before anything is stored or started:
// all of them at once, each with its field path.
func TestKeySourcesCheckedBeforeAnythingIsStored(t *testing.T) {
	empty := filepath.Join(t.TempDir(), "empty.suri")
	if err := os.WriteFile(empty, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(t.TempDir(), "missing.suri")
	n := rpcNetwork(t)
	n.Spec.Node.Flavor = v1alpha1.FlavorSubstrate
	two := int32(2)
	n.Spec.Groups = []v1alpha1.NodeGroup{
		{Name: "val", Role: v1alpha1.RoleValidator, Replicas: &two, Keys: &v1alpha1.Keys{Files: []string{missing, empty}}},
		{Name: "col", Role: v1alpha1.RoleValidator, Keys: &v1alpha1.Keys{Secret: "keys"}},
	}
	r := &Runtime{Home: filepath.Join(t.TempDir(), "home"), Supervisor: []string{"/bin/false"}}
	start := time.Now()
	err := r.Up(context.Background(), n, UpOptions{Timeout: time.Minute})
	took := time.Since(start)
	if err == nil {
		t.Fatal("up accepted key sources that cannot work here")
	}
	for _, want := range []string{
		"spec.groups[0].keys.files[0]: open " + missing,
		"spec.groups[0].keys.files[1]: " + empty + " is empty",
		"spec.groups[1].keys.secret: names a Kubernetes Secret",
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not say %q:\n%v", want, err)
		}
	}
	if took > 5*time.Second {
		t.Errorf("up took %s to refuse the spec", took)
	}
	if _, err := os.Stat(r.Home); !os.IsNotExist(err) {
		t.Errorf("a refused spec left state in the home: %v", err)
	}
}

// A builtin chain resolves to the spec file the flavor's release ships beside its binary, or
// stays a name for a binary that has it compiled in.
func TestBuiltinChainFromTheDialect(t *testing.T) {
	bin := t.TempDir()
	file := filepath.Join(bin, "chain", "westend-dev", "westend-dev-spec-raw.json")
	if err := writeFile(file, []byte("{}"), 0o600); err != nil {
		t.Fatal(err)
	}
	tg := &target{binaryDirs: map[v1alpha1.Flavor]string{v1alpha1.FlavorGossamer: bin}}
	if got, err := tg.ChainSpec(v1alpha1.Chain{Builtin: "westend-dev"}, v1alpha1.FlavorGossamer); err != nil || got != file {
		t.Errorf("gossamer westend-dev = %q, %v; want %s", got, err, file)
	}
	if _, err := tg.ChainSpec(v1alpha1.Chain{Builtin: "westend-local"}, v1alpha1.FlavorGossamer); err == nil || !strings.Contains(err.Error(), `gossamer chain "westend-local"`) {
		t.Errorf("a chain gossamer does not ship: %v", err)
	}
	if got, err := tg.ChainSpec(v1alpha1.Chain{Builtin: "rococo-local"}, v1alpha1.FlavorSubstrate); err != nil || got != "rococo-local" {
		t.Errorf("substrate rococo-local = %q, %v", got, err)
	}
}
