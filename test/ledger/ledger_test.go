// Package ledger_test runs the DINFRA chain as separate `dinfra chain start` processes:
// crash recovery after kill -9 and a 4-validator network on loopback.
package ledger_test

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain/client"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
	"github.com/dinfra/stack/internal/testenv"
)

var dinfraBin string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "dinfra-bin-")
	if err != nil {
		panic(err)
	}
	defer os.RemoveAll(dir)
	dinfraBin = filepath.Join(dir, "dinfra")
	_, file, _, _ := runtime.Caller(0)
	root := filepath.Join(filepath.Dir(file), "..", "..")
	cmd := exec.Command("go", "build", "-o", dinfraBin, "./cmd/dinfra")
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "build dinfra: %v\n%s", err, out)
		return 1
	}
	return m.Run()
}

func dinfra(t *testing.T, args ...string) string {
	t.Helper()
	out, err := exec.Command(dinfraBin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("dinfra %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// proc is a running `dinfra chain start`.
type proc struct {
	cmd *exec.Cmd
	log *bytes.Buffer
}

func startNode(t *testing.T, home string) *proc {
	t.Helper()
	p := &proc{log: &bytes.Buffer{}}
	p.cmd = exec.Command(dinfraBin, "chain", "start", "--home", home)
	p.cmd.Stdout, p.cmd.Stderr = p.log, p.log
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { p.kill() })
	return p
}

func (p *proc) kill() {
	if p.cmd.ProcessState == nil {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		_, _ = p.cmd.Process.Wait()
	}
}

func (p *proc) stop(t *testing.T) {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { _ = p.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(15 * time.Second):
		t.Errorf("node did not stop on SIGTERM:\n%s", p.log)
		p.kill()
	}
}

// freeBase finds a port base with `n` free ports at base+10*i and base+10*i+1.
func freeBase(t *testing.T, n int) int {
	t.Helper()
	for base := 30000 + os.Getpid()%2000*10; base < 60000; base += 997 {
		ok := true
		for i := 0; i < n && ok; i++ {
			for _, port := range []int{base + 10*i, base + 10*i + 1} {
				l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
				if err != nil {
					ok = false
					break
				}
				l.Close()
			}
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free ports")
	return 0
}

func waitHeight(t *testing.T, c *client.Client, h int64, within time.Duration) int64 {
	t.Helper()
	var got int64
	testenv.Eventually(t, within, fmt.Sprintf("%s at height %d", c.Address(), h), func() (bool, string) {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		var err error
		got, err = c.LatestHeight(ctx)
		return err == nil && got >= h, fmt.Sprintf("at %d, %v", got, err)
	})
	return got
}

// appHashAfter is the app hash of the state after block h, as recorded in block h+1.
func appHashAfter(t *testing.T, c *client.Client, h int64) string {
	t.Helper()
	next := h + 1
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	b, err := c.RPC().Block(ctx, &next)
	if err != nil {
		t.Fatalf("block %d from %s: %v", next, c.Address(), err)
	}
	return b.Block.Header.AppHash.String()
}

func dev(name string) *keyring.Pair {
	p, err := keyring.Dev(keyring.Sr25519, name)
	if err != nil {
		panic(err)
	}
	return p
}

// TestKill9AndRestart kills a node with SIGKILL while it commits a stream of txs, restarts
// it, and checks it resumes at the same height and app hash with every committed tx kept.
func TestKill9AndRestart(t *testing.T) {
	testenv.Short(t)
	base := freeBase(t, 1)
	home := filepath.Join(t.TempDir(), "home")
	dinfra(t, "chain", "init", "--home", home, "--p2p-addr", fmt.Sprintf("tcp://127.0.0.1:%d", base),
		"--rpc-addr", fmt.Sprintf("tcp://127.0.0.1:%d", base+1))
	node := startNode(t, home)
	c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", base+1))
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, c, 1, 30*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()

	bob, alice := c.Signer(dev("bob")), c.Signer(dev("alice"))
	if _, err := bob.Send(ctx, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: "https://bob.example",
		Types: []string{"substrate-network/v1alpha1"}, Capacity: 1000, PricePerUnit: 1}}); err != nil {
		t.Fatal(err)
	}
	cid := "bafkreifjjcie6lypi6ny7amxnfftagclbuxndqonfipmb64f2km2devei4"
	res, err := alice.Send(ctx, wire.Msg{Subscribe: &wire.MsgSubscribe{DescriptorCID: cid,
		DescriptorType: "substrate-network/v1alpha1", Units: 1, Deposit: 100000, MaxPricePerUnit: 1}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bob.Send(ctx, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"wss://x"}}}); err != nil {
		t.Fatal(err)
	}
	// A stream of transfers, in flight while the node dies.
	charlie := c.Signer(dev("charlie"))
	var hashes []string
	for i := 0; i < 40; i++ {
		h, err := charlie.SendAsync(ctx, wire.Msg{Transfer: &wire.MsgTransfer{To: dev("dave").Address(42), Amount: 1}})
		if err != nil {
			t.Fatal(err)
		}
		hashes = append(hashes, h)
		if i == 20 {
			if _, err := c.WaitTx(ctx, h); err != nil {
				t.Fatal(err)
			}
		}
	}
	before, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	node.kill() // SIGKILL
	t.Logf("killed at ledger height %d, app hash %s; award was in block %d", before.Height, before.AppHash, res.Height)

	node = startNode(t, home)
	waitHeight(t, c, before.Height+2, 30*time.Second)
	if got := appHashAfter(t, c, before.Height); got != before.AppHash {
		t.Fatalf("after restart the app hash of height %d is %s, was %s\n%s", before.Height, got, before.AppHash, node.log)
	}
	after, err := c.Status(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if after.TotalIssuance != before.TotalIssuance || after.LiveSubscriptions != 1 {
		t.Fatalf("status after restart %+v, before %+v", after, before)
	}
	sub, err := c.Subscription(ctx, 1)
	if err != nil || sub.State != wire.StateActive || sub.Remaining >= 100000 {
		t.Fatalf("subscription after restart %+v %v", sub, err)
	}
	// Every transfer that made it into a block before the crash is still there.
	committed := 0
	for _, h := range hashes[:21] {
		if _, err := c.WaitTx(ctx, h); err != nil {
			t.Fatalf("tx %s lost: %v", h, err)
		}
		committed++
	}
	// The chain goes on: nonces continue where the ledger left them.
	if err := charlie.Resync(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := charlie.Send(ctx, wire.Msg{Transfer: &wire.MsgTransfer{To: dev("dave").Address(42), Amount: 1}}); err != nil {
		t.Fatal(err)
	}
	node.stop(t)
}

// TestFourValidators runs a 4-validator network of separate processes on loopback: all
// nodes agree on heights and app hashes, and the chain keeps going with one stopped.
func TestFourValidators(t *testing.T) {
	testenv.Short(t)
	base := freeBase(t, 4)
	dir := filepath.Join(t.TempDir(), "net")
	dinfra(t, "chain", "testnet", "--validators", "4", "--output", dir, "--base-port", fmt.Sprint(base), "--block-time", "300ms")
	var nodes []*proc
	var clients []*client.Client
	for i := 0; i < 4; i++ {
		nodes = append(nodes, startNode(t, filepath.Join(dir, fmt.Sprintf("node%d", i))))
		c, err := client.New(fmt.Sprintf("http://127.0.0.1:%d", base+10*i+1))
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	for _, c := range clients {
		waitHeight(t, c, 3, 60*time.Second)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	// A tx sent to node 1 is seen by node 3.
	res, err := clients[1].Signer(dev("alice")).Send(ctx, wire.Msg{Transfer: &wire.MsgTransfer{To: dev("bob").Address(42), Amount: 7}})
	if err != nil {
		t.Fatal(err)
	}
	waitHeight(t, clients[3], res.Height+1, 30*time.Second)
	if _, err := clients[3].WaitTx(ctx, res.Hash); err != nil {
		t.Fatal(err)
	}
	// Same app hash everywhere at a common height.
	h := waitHeight(t, clients[0], res.Height+2, 30*time.Second) - 1
	want := appHashAfter(t, clients[0], h)
	for i, c := range clients {
		waitHeight(t, c, h+1, 30*time.Second)
		if got := appHashAfter(t, c, h); got != want {
			t.Fatalf("node%d app hash after %d is %s, node0 says %s", i, h, got, want)
		}
	}
	// Stop one validator: 3 of 4 (75% of the power) keep committing.
	nodes[3].stop(t)
	stoppedAt := waitHeight(t, clients[0], 1, time.Second)
	res2, err := clients[0].Signer(dev("bob")).Send(ctx, wire.Msg{Transfer: &wire.MsgTransfer{To: dev("alice").Address(42), Amount: 3}})
	if err != nil {
		t.Fatal(err)
	}
	h2 := waitHeight(t, clients[2], stoppedAt+5, 60*time.Second) - 1
	want2 := appHashAfter(t, clients[2], h2)
	for i, c := range clients[:3] {
		waitHeight(t, c, h2+1, 30*time.Second)
		if got := appHashAfter(t, c, h2); got != want2 {
			t.Fatalf("node%d app hash after %d is %s, node2 says %s", i, h2, got, want2)
		}
	}
	t.Logf("stopped node3 at height %d; transfer committed in block %d; all three at height %d with app hash %s", stoppedAt, res2.Height, h2+1, want2)
	for _, n := range nodes[:3] {
		n.stop(t)
	}
}
