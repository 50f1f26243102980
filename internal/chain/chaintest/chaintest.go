// Package chaintest runs the DINFRA chain in process for tests: the one way a test starts a
// chain node (internal/chain's own tests, test/dinfra, test/security).
package chaintest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/ledger/wire"
	"github.com/dinfra/stack/internal/testenv"
)

// Start initialises a single-validator chain with genesis g and blockTime (0: the default)
// in a temporary home on loopback ports, starts it and returns the node and a client once it
// has produced its first block. Both stop when the test ends; the logs are discarded.
func Start(t testing.TB, g wire.Genesis, blockTime time.Duration) (*chain.Node, *client.Client) {
	t.Helper()
	home := t.TempDir()
	ports := testenv.FreePorts(t, 2)
	if err := chain.Init(chain.InitOptions{Home: home, Genesis: g, BlockTime: blockTime,
		P2PAddr: fmt.Sprintf("tcp://127.0.0.1:%d", ports[0]), RPCAddr: fmt.Sprintf("tcp://127.0.0.1:%d", ports[1])}); err != nil {
		t.Fatal(err)
	}
	n, err := chain.Start(home, chain.StartOptions{LogOutput: io.Discard, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = n.Stop() })
	c, err := client.New(n.RPCAddress())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	testenv.Eventually(t, 20*time.Second, "the chain's first block", func() (bool, error) {
		h, err := c.LatestHeight(context.Background())
		return err == nil && h >= 1, err
	})
	return n, c
}
