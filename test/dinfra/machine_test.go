package dinfra_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/chain"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/machine/machinetest"
	"github.com/dinfra/stack/internal/reactor/watcher"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/test/dinfra/dinfratest"
)

// machineRunway is how long the machine in TestRentAMachine is paid for after it deploys.
const machineRunway = 15 * time.Second

// TestRentAMachine: on real components (the CometBFT chain in process, Bob's reactor over
// the machine driver and his watcher, a podman container with sshd), Alice registers the
// SSH key of her ed25519 account, subscribes to examples/descriptors/vm.json, the watcher
// deploys it and reports its ssh:// endpoint with the host key fingerprint, and the built
// `dinfra ssh` runs commands in the machine as Alice (key derived in memory, or from a key
// file); Bob's account key is refused. When the deposit runs out the chain ends the
// subscription in the computed block and the watcher removes the container.
func TestRentAMachine(t *testing.T) {
	env := machinetest.Start(t, 2)
	bin := filepath.Join(t.TempDir(), "dinfra")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dinfra/stack/cmd/dinfra").CombinedOutput(); err != nil {
		t.Fatalf("build dinfra: %v\n%s", err, out)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	reg, store := dinfratest.Descriptors(t)
	doc, err := os.ReadFile(filepath.Join("..", "..", "examples", "descriptors", "vm.json"))
	if err != nil {
		t.Fatal(err)
	}
	docCID, err := store.Put(ctx, doc)
	if err != nil {
		t.Fatal(err)
	}
	cc := dinfratest.StartChain(t, reg, chain.DefaultBlockTime)
	p := dinfratest.StartProvider(t, cc, reg, store, reactor.Config{Driver: env.Driver})
	p.StartWatcher(t)

	// Alice's account is sr25519; she logs in with her ed25519 account's key, registered on chain.
	sshPair, err := keyring.Dev(keyring.Ed25519, "alice")
	if err != nil {
		t.Fatal(err)
	}
	sshKey, err := sshPair.SSHAuthorizedKey()
	if err != nil {
		t.Fatal(err)
	}
	if _, err := cc.Signer(dinfratest.Consumer(t)).Send(ctx, wire.Msg{SetSSHKey: &wire.MsgSetSSHKey{SSHKey: sshKey}}); err != nil {
		t.Fatal(err)
	}
	provider, err := cc.Provider(ctx, p.Address)
	if err != nil {
		t.Fatal(err)
	}
	price := provider.PricePerUnit
	paidBlocks := int64(machineRunway / chain.DefaultBlockTime)
	subID, _ := dinfratest.SubscribeWithDeposit(t, cc, descriptor.TypeCloudInit, docCID.String(), price*wire.Amount(paidBlocks)+price-1)

	var sub *wire.SubscriptionView
	testenv.Eventually(t, 4*time.Minute, "subscription active with an ssh endpoint", func() (bool, string) {
		if sub, err = cc.Subscription(ctx, subID); err != nil {
			return false, err.Error()
		}
		return sub.State == wire.StateActive && len(sub.Endpoints) == 1, sub.State + " " + sub.EndReason
	})
	if !strings.HasPrefix(sub.Endpoints[0], "ssh://127.0.0.1:") || !strings.Contains(sub.Endpoints[0], "?fingerprint=SHA256%3A") {
		t.Fatalf("endpoint on chain: %s", sub.Endpoints[0])
	}
	wantEnd := sub.DeployedAt + paidBlocks
	if sub.ExpiresAt != wantEnd {
		t.Fatalf("expires at %d, want deployed %d + %d", sub.ExpiresAt, sub.DeployedAt, paidBlocks)
	}

	sub1 := strconv.FormatUint(subID, 10)
	dinfraSSH := func(args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, bin, append([]string{"ssh", "--node", cc.Address()}, args...)...)
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		err := cmd.Run()
		return strings.TrimSpace(out.String()), err
	}
	start := time.Now()
	out, err := dinfraSSH(sub1, "--from", "alice", "--", "sh", "-c", "id -un; cat /var/tmp/first-boot /etc/motd")
	if err != nil || !strings.HasPrefix(out, "dinfra\nfirst boot at ") || !strings.HasSuffix(out, "A DINFRA machine") {
		t.Fatalf("dinfra ssh --from alice: %v\n%s", err, out)
	}
	t.Logf("dinfra ssh ran a command in %.2fs", time.Since(start).Seconds())
	// The remote status is the command's status.
	var exit *exec.ExitError
	if _, err := dinfraSSH(sub1, "--from", "alice", "--", "exit", "7"); !errors.As(err, &exit) || exit.ExitCode() != 7 {
		t.Errorf("exit status: %v, want 7", err)
	}
	// The same key from an OpenSSH key file (0600).
	keyFile := filepath.Join(t.TempDir(), "id_ed25519")
	pemBytes, err := sshPair.SSHPrivateKeyPEM("")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pemBytes, 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := dinfraSSH(sub1, "--identity", keyFile, "--", "id", "-un"); err != nil || out != "dinfra" {
		t.Errorf("dinfra ssh --identity: %v %s", err, out)
	}
	// Another account's key is refused by the machine.
	if out, err := dinfraSSH(sub1, "--from", "bob", "--", "id", "-un"); err == nil || !strings.Contains(out, "unable to authenticate") {
		t.Errorf("bob logged in: %v %s", err, out)
	}

	// The deposit runs out: the chain ends the subscription in the computed block and the
	// watcher removes the machine.
	testenv.Eventually(t, machineRunway+30*time.Second, "subscription expired", func() (bool, string) {
		if sub, err = cc.Subscription(ctx, subID); err != nil {
			return false, err.Error()
		}
		return sub.State == wire.StateEnded, sub.State
	})
	if sub.EndReason != wire.ReasonExpired || sub.EndedAt != wantEnd {
		t.Errorf("ended %s in block %d, want expired in block %d", sub.EndReason, sub.EndedAt, wantEnd)
	}
	ended := time.Now()
	id := watcher.DeploymentID(subID)
	testenv.Eventually(t, 30*time.Second, "machine container removed", func() (bool, string) { return !machinetest.Exists(t, id), id })
	t.Logf("container %s removed %.1fs after the subscription ended in block %d", id, time.Since(ended).Seconds(), sub.EndedAt)
	if out, err := dinfraSSH(sub1, "--from", "alice", "--", "true"); err == nil {
		t.Errorf("dinfra ssh still works on an ended subscription: %s", out)
	}
}
