package local

import (
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/flavor"
	"github.com/dinfra/stack/internal/network"
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

// A port another process listens on is a conflict naming the port; the others stay reserved.
func TestReservationConflict(t *testing.T) {
	squatter, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer squatter.Close()
	taken := squatter.Addr().(*net.TCPAddr).Port
	free, err := freePort(map[int]bool{taken: true})
	if err != nil {
		t.Fatal(err)
	}
	res := &reservation{}
	defer res.close()
	err = res.reserve(network.NodePlan{Ports: flavor.Ports{P2P: free, WS: taken}})
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("port %d (ws) is held by another process", taken)) {
		t.Fatalf("reserve with port %d taken: %v", taken, err)
	}
	if _, held := res.take(free); !held {
		t.Errorf("port %d was not reserved", free)
	}
}
