package reactor_test

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/reactortest"
	"github.com/dinfra/stack/internal/testenv"
)

const token = "s3cret-token"

func start(t *testing.T, d reactor.Driver, stateDir string) (*reactor.Server, *api.ClientWithResponses, string) {
	t.Helper()
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := reactor.New(reactor.Config{Driver: d, Registry: reg, Auth: reactor.Auth{Token: token}, StateDir: stateDir, RetryMin: 10 * time.Millisecond, RetryMax: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	c, err := reactor.NewClient(reactor.ClientConfig{URL: hs.URL, Token: token})
	if err != nil {
		t.Fatal(err)
	}
	return srv, c, hs.URL
}

// TestConformanceOfTheFramework: the framework passes every check, the Failed phase
// included (its driver cannot run one descriptor).
func TestConformanceOfTheFramework(t *testing.T) {
	d := reactortest.NewDriver(3)
	failing := []byte(`{"apiVersion":"onf.dinfra.dev/v1alpha1","kind":"SubstrateNetwork","metadata":{"name":"failing"},
"spec":{"chain":{"builtin":"westend-dev"},"groups":[{"name":"validator","role":"validator","replicas":1,"keys":{"dev":["//Alice"]}}]}}`)
	c, _ := descriptor.CID(failing)
	d.FailDeploysOf(c)
	_, _, url := start(t, d, t.TempDir())
	report, err := conformance.Run(context.Background(), conformance.Config{URL: url, Token: token, DeployTimeout: 10 * time.Second,
		Failing: map[string][]byte{descriptor.TypeSubstrateNetwork: failing}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		if r.Err != nil || r.Skipped != "" {
			t.Errorf("%s: %v%s", r.Name, r.Err, r.Skipped)
		}
	}
	if len(report) < 10 {
		t.Fatalf("only %d checks ran", len(report))
	}
}

// TestConformanceCatchesBrokenReactors proves the suite can fail: a reactor without the
// right token check, and one whose deployments never run.
func TestConformanceCatchesBrokenReactors(t *testing.T) {
	_, _, url := start(t, reactortest.NewDriver(3), "")
	report, err := conformance.Run(context.Background(), conformance.Config{URL: url, Token: "not-the-token", DeployTimeout: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	if report.Failed() == 0 {
		t.Fatal("a client with the wrong token passed every check")
	}

	stuck := reactortest.NewDriver(3)
	stuck.Hold()
	_, _, url = start(t, stuck, "")
	report, err = conformance.Run(context.Background(), conformance.Config{URL: url, Token: token, DeployTimeout: 300 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	failed := map[string]bool{}
	for _, r := range report {
		failed[r.Name] = r.Err != nil
	}
	if !failed["deployment reaches Running"] {
		t.Fatalf("a deployment that never runs passed: %+v", report)
	}
}

func deployReq(t *testing.T, doc string, units int64) api.DeployRequest {
	t.Helper()
	c, err := descriptor.CID([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	return api.DeployRequest{Type: descriptor.TypeCloudInit, DescriptorCid: c.String(), Descriptor: []byte(doc),
		Consumer: api.Consumer{Address: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY"}, Subscription: api.Subscription{Units: units}}
}

const vm = `{"name":"vm","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`

func waitPhase(t *testing.T, c *api.ClientWithResponses, id string, want api.Phase) api.Deployment {
	t.Helper()
	var got api.Deployment
	testenv.Eventually(t, 10*time.Second, id+" reaches "+string(want), func() (bool, string) {
		g, err := c.GetDeploymentWithResponse(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if g.JSON200 != nil && g.JSON200.Phase == want {
			got = *g.JSON200
			return true, ""
		}
		return false, string(g.Body)
	})
	return got
}

func waitGone(t *testing.T, c *api.ClientWithResponses, id string) {
	t.Helper()
	testenv.Eventually(t, 10*time.Second, id+" disappears", func() (bool, string) {
		g, err := c.GetDeploymentWithResponse(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		return g.StatusCode() == 404, string(g.Body)
	})
}

func TestDeployRejections(t *testing.T) {
	_, c, _ := start(t, reactortest.NewDriver(3), "")
	ctx := context.Background()
	tests := []struct {
		name   string
		id     string
		req    func() api.DeployRequest
		status int
		code   api.ErrorCode
	}{
		{"bad id", "Bad_ID", func() api.DeployRequest { return deployReq(t, vm, 1) }, 400, api.ErrorCodeBadRequest},
		{"zero units", "a", func() api.DeployRequest { return deployReq(t, vm, 0) }, 400, api.ErrorCodeBadRequest},
		{"no consumer", "a", func() api.DeployRequest { r := deployReq(t, vm, 1); r.Consumer.Address = ""; return r }, 400, api.ErrorCodeBadRequest},
		{"dag-pb CID", "a", func() api.DeployRequest {
			r := deployReq(t, vm, 1)
			r.DescriptorCid = "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"
			return r
		}, 400, api.ErrorCodeBadRequest},
		{"more units than capacity", "a", func() api.DeployRequest { return deployReq(t, vm, 4) }, 507, api.ErrorCodeInsufficientCapacity},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := c.DeployWithResponse(ctx, tt.id, tt.req())
			if err != nil {
				t.Fatal(err)
			}
			if r.StatusCode() != tt.status {
				t.Fatalf("HTTP %d, want %d: %s", r.StatusCode(), tt.status, r.Body)
			}
			for _, e := range []*api.Error{r.JSON400, r.JSON507} {
				if e != nil && e.Code != tt.code {
					t.Fatalf("code %s, want %s", e.Code, tt.code)
				}
			}
		})
	}
}

func TestCapacityIsReserved(t *testing.T) {
	_, c, _ := start(t, reactortest.NewDriver(3), "")
	ctx := context.Background()
	if r, _ := c.DeployWithResponse(ctx, "big", deployReq(t, vm, 3)); r.StatusCode() != 202 {
		t.Fatalf("deploy: %s", r.Body)
	}
	other := `{"name":"vm2","image":"debian-12","cpus":1,"memoryMiB":512,"diskGiB":5}`
	if r, _ := c.DeployWithResponse(ctx, "more", deployReq(t, other, 1)); r.StatusCode() != 507 {
		t.Fatalf("deploy over capacity: HTTP %d %s", r.StatusCode(), r.Body)
	}
	if r, _ := c.TeardownWithResponse(ctx, "big"); r.StatusCode() != 202 {
		t.Fatalf("teardown: %s", r.Body)
	}
	waitGone(t, c, "big")
	if r, _ := c.DeployWithResponse(ctx, "more", deployReq(t, other, 1)); r.StatusCode() != 202 {
		t.Fatalf("deploy after capacity freed: HTTP %d %s", r.StatusCode(), r.Body)
	}
}

func TestTeardownRetriesUntilDriverSucceeds(t *testing.T) {
	d := reactortest.NewDriver(3)
	d.FailTeardowns(3)
	_, c, _ := start(t, d, "")
	ctx := context.Background()
	c.DeployWithResponse(ctx, "x", deployReq(t, vm, 1))
	waitPhase(t, c, "x", api.Running)
	c.TeardownWithResponse(ctx, "x")
	waitGone(t, c, "x")
	if running := d.Running(); len(running) != 0 {
		t.Fatalf("still running: %v", running)
	}
}

func TestTeardownCancelsDeployInProgress(t *testing.T) {
	d := reactortest.NewDriver(3)
	d.Hold() // deploys never finish on their own
	_, c, _ := start(t, d, "")
	ctx := context.Background()
	c.DeployWithResponse(ctx, "slow", deployReq(t, vm, 1))
	waitPhase(t, c, "slow", api.Pending)
	if r, _ := c.TeardownWithResponse(ctx, "slow"); r.StatusCode() != 202 {
		t.Fatalf("teardown: %s", r.Body)
	}
	waitGone(t, c, "slow")
}

func TestRestartResumesWithoutTearingDown(t *testing.T) {
	state := t.TempDir()
	d := reactortest.NewDriver(3)
	srv, c, _ := start(t, d, state)
	ctx := context.Background()
	c.DeployWithResponse(ctx, "keep", deployReq(t, vm, 1))
	waitPhase(t, c, "keep", api.Running)
	srv.Close()

	// A new server over the same state and infrastructure knows the deployment, asks the
	// driver to converge on it (idempotent deploy) and never tears it down.
	_, c2, _ := start(t, d, state)
	got := waitPhase(t, c2, "keep", api.Running)
	if got.Endpoints == nil || len(*got.Endpoints) != 1 {
		t.Fatalf("endpoints after restart: %+v", got)
	}
	running := d.Running()
	deploys, _ := d.Calls()
	if _, ok := running["keep"]; !ok || deploys != 2 {
		t.Fatalf("running %v after %d deploy calls; want keep running, 2 calls", running, deploys)
	}
}

func TestNewRequiresAuthAndKnownTypes(t *testing.T) {
	reg, _ := descriptor.NewRegistry()
	if _, err := reactor.New(reactor.Config{Driver: reactortest.NewDriver(3), Registry: reg}); err == nil {
		t.Fatal("a server without authentication was created")
	}
}
