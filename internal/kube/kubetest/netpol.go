package kubetest

import (
	"fmt"
	"os/exec"
	"strconv"
	"testing"

	"github.com/dinfra/stack/internal/testenv"
)

// The real node's NetworkPolicy engine keeps its rules in an nftables table of its own and
// judges packets on a queue of its own, so that teardown can remove exactly what it made.
const (
	netpolTable = "dinfra-kubetest-netpol"
	netpolQueue = 233
)

// startNetworkPolicies runs kube-network-policies (sigs.k8s.io/kube-network-policies, see
// tools/kube-network-policies): NetworkPolicies are enforced for the node's pods. A mangle
// chain of its own sends the first packet of each new connection from or to podCIDR (not
// those of the host's root processes: kubelet probes, the tests) to its queue, where the
// engine accepts or drops it; other traffic of the host passes it by. The chain and the
// engine's nftables table go when it stops, and teardown makes sure they are gone.
func (c *Cluster) startNetworkPolicies(t testing.TB) {
	t.Helper()
	bin := testenv.Binary(t, "KUBE_NETWORK_POLICIES_BIN", "kube-network-policies")
	cleanup := func() error {
		if out, err := exec.Command(bin, "--cleanup", "--nftables-table="+netpolTable, "--nfqueue-id="+strconv.Itoa(netpolQueue)).CombinedOutput(); err != nil {
			return fmt.Errorf("kube-network-policies --cleanup: %v: %s", err, out)
		}
		return nil
	}
	if err := cleanup(); err != nil { // a table left by a killed run
		t.Fatal(err)
	}
	c.run(t, "kube-network-policies", bin,
		"--kubeconfig="+c.Kubeconfig,
		"--hostname-override="+NodeName,
		"--nftables-table="+netpolTable,
		"--nfqueue-id="+strconv.Itoa(netpolQueue),
		// This kind of machine's kernel has no nftables queue expression (CONFIG_NFT_QUEUE):
		// iptables' NFQUEUE target steers the pods' new connections to the engine instead.
		"--steer-cidr="+podCIDR,
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", testenv.FreePort(t)),
	)
	c.afterStop = append(c.afterStop, func() {
		if err := cleanup(); err != nil {
			t.Error(err)
		}
	})
}
