package local

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// Every entry point that takes a network name refuses a path before touching anything.
func TestNamesArePathSafe(t *testing.T) {
	home := t.TempDir()
	r := &Runtime{Home: filepath.Join(home, "home")}
	ctx := context.Background()
	for _, name := range []string{"..", ".", "../x", "/tmp", "a/b", "", "Dev", "x-"} {
		calls := map[string]error{
			"Status":    func() error { _, err := r.Status(ctx, name); return err }(),
			"Down":      r.Down(ctx, name, true),
			"Scale":     r.Scale(ctx, name, "rpc", 1, UpOptions{}),
			"WaitReady": r.WaitReady(ctx, name, 1, UpOptions{}),
			"Supervise": Supervise(ctx, r.Home, name, nil),
			"LogFile":   func() error { _, err := r.LogFile(name, "rpc-0"); return err }(),
			"Dir":       func() error { _, err := r.Dir(name); return err }(),
		}
		for what, err := range calls {
			if err == nil || !strings.Contains(err.Error(), "network name: must be a name") {
				t.Errorf("%s(%q) = %v, want the name rule", what, name, err)
			}
		}
	}
	if _, err := r.LogFile("dev", "../spec"); err == nil || !strings.Contains(err.Error(), "node name: must be a name") {
		t.Errorf("LogFile(dev, ../spec) = %v", err)
	}
	if entries, _ := os.ReadDir(home); len(entries) != 0 {
		t.Errorf("refused names left files: %v", entries)
	}
}

func TestSupervisorLockNamesItsHolder(t *testing.T) {
	home := t.TempDir()
	if pid := lockHolder(home, "dev"); pid != 0 {
		t.Fatalf("lockHolder before any lock = %d", pid)
	}
	unlock, err := lockSupervisor(home, "dev")
	if err != nil {
		t.Fatal(err)
	}
	if pid := lockHolder(home, "dev"); pid != os.Getpid() {
		t.Errorf("lockHolder = %d, want this process %d", pid, os.Getpid())
	}
	if _, err := lockSupervisor(home, "dev"); err == nil {
		t.Error("a second lock of the same network was granted")
	}
	unlock()
	if pid := lockHolder(home, "dev"); pid != 0 {
		t.Errorf("lockHolder after unlock = %d", pid)
	}
}

func TestWatchStateDir(t *testing.T) {
	for what, change := range map[string]func(Dir) error{
		"removed":      func(d Dir) error { return os.RemoveAll(string(d)) },
		"spec removed": func(d Dir) error { return os.Remove(d.Spec()) },
		"replaced": func(d Dir) error {
			if err := os.RemoveAll(string(d)); err != nil {
				return err
			}
			return writeFile(d.Spec(), []byte("{}"), 0o600)
		},
	} {
		t.Run(what, func(t *testing.T) {
			dir, _ := NetworkDir(t.TempDir(), "dev")
			if err := watchStateDir(context.Background(), dir, nil); err == nil {
				t.Fatal("watching a missing state directory")
			}
			if err := writeFile(dir.Spec(), []byte("{}"), 0o600); err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithCancelCause(context.Background())
			defer cancel(nil)
			if err := watchStateDir(ctx, dir, cancel); err != nil {
				t.Fatal(err)
			}
			time.Sleep(stateDirPoll + time.Second) // the thing under test: a poll passes and finds the directory there
			if ctx.Err() != nil {
				t.Fatal("cancelled while the state directory is there")
			}
			if err := change(dir); err != nil {
				t.Fatal(err)
			}
			select {
			case <-ctx.Done():
				if !errors.Is(context.Cause(ctx), errStateDirGone) {
					t.Errorf("cause %v", context.Cause(ctx))
				}
			case <-time.After(2*stateDirPoll + time.Second):
				t.Error("not noticed")
			}
		})
	}
}

// A new network whose apply fails after ports and keys were allocated leaves nothing, and an
// existing one keeps exactly what it had; every apply that succeeds is a generation of its own.
func TestPrepareLeavesNothingOnFailure(t *testing.T) {
	dir := t.TempDir()
	n := rpcNetwork(t)
	n.Spec.Gateway = &v1alpha1.Gateway{Group: "rpc", Config: filepath.Join(dir, "missing-gateway.yaml")}
	if err := network.Validate(withDefaults(n)); err != nil {
		t.Fatal(err)
	}
	r := &Runtime{Home: filepath.Join(dir, "home")}
	ctx := context.Background()
	// A runtime with no Gateways (as in dinfra) refuses a gateway once the plan is made;
	// localgateway's TestCheck has the config file's own problems.
	if _, err := r.Prepare(ctx, n); err == nil || !strings.Contains(err.Error(), "spec.gateway: this program serves no RPC gateway") {
		t.Fatalf("Prepare with a gateway and no Gateways = %v", err)
	}
	if _, err := os.Stat(filepath.Join(r.Home, "networks", "dev")); !os.IsNotExist(err) {
		t.Errorf("state left: %v", err)
	}
	var reg portRegistry
	if _, err := readJSON(filepath.Join(r.Home, "ports.json"), &reg); err != nil || len(reg.Networks["dev"]) != 0 {
		t.Errorf("ports left: %v %v", reg.Networks, err)
	}

	gateway := n.Spec.Gateway
	n.Spec.Gateway = nil
	for want := int64(1); want <= 2; want++ {
		if gen, err := r.Prepare(ctx, n); err != nil || gen != want {
			t.Fatalf("Prepare = %d, %v; want generation %d", gen, err, want)
		}
	}
	state, _ := r.Dir("dev")
	files := func() (facts, registry, spec string) {
		f, _ := os.ReadFile(state.Facts())
		p, _ := os.ReadFile(filepath.Join(r.Home, "ports.json"))
		s, _ := os.ReadFile(state.Spec())
		return string(f), string(p), string(s)
	}
	f1, p1, s1 := files()
	n.Spec.Groups = append(n.Spec.Groups, v1alpha1.NodeGroup{Name: "extra", Role: v1alpha1.RoleFull})
	n.Spec.Gateway = gateway
	if _, err := r.Prepare(ctx, n); err == nil {
		t.Fatal("Prepare with a gateway and no Gateways succeeded")
	}
	if f2, p2, s2 := files(); f2 != f1 || p2 != p1 || s2 != s1 {
		t.Errorf("a failed apply changed the network's facts, ports or spec:\n%s\n%s", f2, p2)
	}
	if _, err := os.Stat(state.NodeKey("extra-0")); !os.IsNotExist(err) {
		t.Errorf("node key of the refused node left: %v", err)
	}
}

func withDefaults(n *v1alpha1.SubstrateNetwork) *v1alpha1.SubstrateNetwork {
	n = n.DeepCopy()
	network.Default(n)
	return n
}

// A chain spec URL is fetched once per network, checked, and kept for the nodes.
func TestPrepareFetchesChainURLOnce(t *testing.T) {
	const spec = `{"name":"Dev","id":"dev","genesis":{"raw":{}}}`
	var fetches atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fetches.Add(1)
		w.Write([]byte(spec))
	}))
	defer srv.Close()
	n := &v1alpha1.SubstrateNetwork{}
	n.APIVersion, n.Kind, n.Name = v1alpha1.GroupVersion.String(), v1alpha1.Kind, "dev"
	n.Spec.Chain.URL = srv.URL + "/chain.json"
	n.Spec.Node.Binary = "/bin/true"
	n.Spec.Groups = []v1alpha1.NodeGroup{{Name: "rpc", Role: v1alpha1.RoleRPC}}
	r := &Runtime{Home: t.TempDir()}
	for range 2 {
		if _, err := r.Prepare(context.Background(), n); err != nil {
			t.Fatal(err)
		}
	}
	dir, _ := r.Dir("dev")
	if data, err := os.ReadFile(dir.FetchedChain(n.Spec.Chain.URL)); err != nil || string(data) != spec {
		t.Errorf("kept chain spec = %q, %v", data, err)
	}
	if got := fetches.Load(); got != 1 {
		t.Errorf("fetched %d times, want once", got)
	}
}
