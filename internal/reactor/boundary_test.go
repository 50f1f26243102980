package reactor_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/reactortest"
)

func networkReq(t *testing.T, spec string, units int64) api.DeployRequest {
	t.Helper()
	r := deployReq(t, `{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"n"},"spec":`+spec+`}`, units)
	r.Type = descriptor.TypeSubstrateNetwork
	return r
}

const bomb = `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"v","role":"validator","replicas":100000000}]}`

// TestConsumerBoundaryBeforeBooking: provider-only fields and more nodes than the units buy
// are refused with the field path before anything is booked or deployed.
func TestConsumerBoundaryBeforeBooking(t *testing.T) {
	d := reactortest.NewDriver(3)
	_, c, _ := start(t, d, t.TempDir())
	ctx := context.Background()
	tests := []struct{ name, spec, path string }{
		{"gateway config", `{"chain":{"builtin":"westend-dev"},"groups":[{"name":"r","role":"rpc"}],"gateway":{"group":"r","config":"/etc/shadow"}}`, "spec.gateway"},
		{"replicas bomb", bomb, "spec.groups[0].replicas"},
		{"chain url", `{"chain":{"url":"http://127.0.0.1:26657/status"},"groups":[{"name":"v","role":"validator"}]}`, "spec.chain.url"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.DeployWithResponse(ctx, "x", networkReq(t, tt.spec, 1))
			if err != nil {
				t.Fatal(err)
			}
			if r.JSON400 == nil || r.JSON400.Code != api.ErrorCodeInvalidDescriptor || r.JSON400.Problems == nil || (*r.JSON400.Problems)[0].Path != tt.path {
				t.Fatalf("HTTP %d %s, want invalid_descriptor at %s", r.StatusCode(), r.Body, tt.path)
			}
		})
	}
	list, _ := c.ListDeploymentsWithResponse(ctx)
	if deploys, _ := d.Calls(); deploys != 0 || len(list.JSON200.Items) != 0 {
		t.Fatalf("%d deploys, booked %+v", deploys, list.JSON200.Items)
	}
}

// bookDirectly books req as id the way an older reactor (without today's checks) did.
func bookDirectly(t *testing.T, dir, id string, req api.DeployRequest, attempts int) {
	t.Helper()
	c, err := descriptor.ParseCID(req.DescriptorCid)
	if err != nil {
		t.Fatal(err)
	}
	d := reactor.Deployment{ID: id, Type: req.Type, CID: c, Descriptor: req.Descriptor, Units: req.Subscription.Units, Consumer: req.Consumer, Subscription: req.Subscription}
	if err := reactortest.Book(dir, d, api.Pending, attempts); err != nil {
		t.Fatal(err)
	}
}

// TestPoisonedBookIsQuarantined: booked deployments that fail today's checks, that stopped
// the reactor too often, or whose record is unreadable are never deployed again, across
// restarts; the first two stay Failed (the watcher reports them on chain once).
func TestPoisonedBookIsQuarantined(t *testing.T) {
	state := t.TempDir()
	bookDirectly(t, state, "bomb", networkReq(t, bomb, 1), 0)
	bookDirectly(t, state, "crashy", deployReq(t, vm, 1), 3)
	if err := os.WriteFile(filepath.Join(state, "garbage.json"), []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	d := reactortest.NewDriver(3)
	for run := range 2 {
		srv, c, _ := start(t, d, state)
		for id, want := range map[string]string{"bomb": "quarantined: the descriptor fails this provider's checks: invalid_descriptor: spec.groups[0].replicas", "crashy": "quarantined: the reactor stopped 3 times"} {
			got := waitPhase(t, c, id, api.Failed)
			if got.Message == nil || !strings.HasPrefix(*got.Message, want) {
				t.Fatalf("run %d: %s message %v, want %q", run, id, got.Message, want)
			}
		}
		if deploys, _ := d.Calls(); deploys != 0 {
			t.Fatalf("run %d: %d deploys of quarantined deployments", run, deploys)
		}
		srv.Close()
	}
	if _, err := os.Stat(filepath.Join(state, "garbage.json.quarantined")); err != nil {
		t.Fatalf("unreadable record not moved aside: %v", err)
	}
}

// TestCleanRestartsAreNotCrashes: restarting the reactor while a deploy is in progress
// (a clean shutdown) never quarantines the deployment.
func TestCleanRestartsAreNotCrashes(t *testing.T) {
	state := t.TempDir()
	d := reactortest.NewDriver(3)
	d.Hold()
	srv, c, _ := start(t, d, state)
	if r, _ := c.DeployWithResponse(context.Background(), "slow", deployReq(t, vm, 1)); r.StatusCode() != 202 {
		t.Fatalf("deploy: %s", r.Body)
	}
	for range 4 { // more than maxUnfinishedDeploys
		waitPhase(t, c, "slow", api.Pending)
		srv.Close()
		srv, c, _ = start(t, d, state)
	}
	d.Release()
	waitPhase(t, c, "slow", api.Running)
}

// leakyDriver fails with provider-internal text, or panics.
type leakyDriver struct {
	*reactortest.Driver
	panics bool
}

const secret = "root:$6$provider-secret-hash:19000:0:99999:7:::"

func (l leakyDriver) Deploy(ctx context.Context, d reactor.Deployment) ([]api.Endpoint, error) {
	if l.panics {
		panic("nil map in driver: " + secret)
	}
	return nil, errors.New("parse gateway config /etc/shadow: line 1: " + secret)
}

// TestDriverErrorsStayInTheProvidersLog: the API (and so the chain) gets a stable reason and
// a short public message, never the driver's error text; a panicking driver fails the
// deployment instead of the reactor, and the failure is not replayed after a restart.
func TestDriverErrorsStayInTheProvidersLog(t *testing.T) {
	for _, panics := range []bool{false, true} {
		state := t.TempDir()
		d := leakyDriver{reactortest.NewDriver(3), panics}
		srv, c, _ := start(t, d, state)
		if r, _ := c.DeployWithResponse(context.Background(), "leak", deployReq(t, vm, 1)); r.StatusCode() != 202 {
			t.Fatalf("deploy: %s", r.Body)
		}
		got := waitPhase(t, c, "leak", api.Failed)
		if got.Message == nil || *got.Message != reactor.ReasonDeployFailed+": the provider could not deploy this descriptor" {
			t.Fatalf("panics=%v: public message %v", panics, got.Message)
		}
		srv.Close()
		raw, _ := os.ReadFile(filepath.Join(state, "leak.json"))
		if strings.Contains(string(raw), "provider-secret") {
			t.Fatalf("the book keeps the driver's error text: %s", raw)
		}
		_, c, _ = start(t, d, state)
		waitPhase(t, c, "leak", api.Failed)
	}
}
