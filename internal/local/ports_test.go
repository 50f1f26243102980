package local

import (
	"testing"

	"github.com/dinfra/stack/internal/flavor"
)

func TestPortsNeverCollideAcrossNetworks(t *testing.T) {
	home := t.TempDir()
	a := &Facts{Ports: map[string]flavor.Ports{}}
	b := &Facts{Ports: map[string]flavor.Ports{}}
	if err := allocatePorts(home, "a", a, []string{"n-0", "n-1"}); err != nil {
		t.Fatal(err)
	}
	if err := allocatePorts(home, "b", b, []string{"n-0", "n-1"}); err != nil {
		t.Fatal(err)
	}
	seen := map[int]string{}
	for net, facts := range map[string]*Facts{"a": a, "b": b} {
		for node, p := range facts.Ports {
			for _, port := range []int{p.P2P, p.RPC, p.WS, p.Prometheus, p.RelayP2P, p.RelayRPC} {
				if other, dup := seen[port]; dup {
					t.Fatalf("port %d given to %s/%s and %s", port, net, node, other)
				}
				seen[port] = net + "/" + node
			}
		}
	}

	// A node keeps its ports: allocating again changes nothing.
	before := a.Ports["n-0"]
	if err := allocatePorts(home, "a", a, []string{"n-0", "n-1", "n-2"}); err != nil {
		t.Fatal(err)
	}
	if a.Ports["n-0"] != before {
		t.Fatalf("n-0's ports changed: %+v -> %+v", before, a.Ports["n-0"])
	}

	// Released ports leave the registry.
	if err := releasePorts(home, "a"); err != nil {
		t.Fatal(err)
	}
	if err := withPortLock(home, func(reg *portRegistry) error {
		if _, ok := reg.Networks["a"]; ok {
			t.Error("network a still registered after release")
		}
		if len(reg.Networks["b"]) != 12 {
			t.Errorf("network b has %d ports registered, want 12", len(reg.Networks["b"]))
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
}
