package reactortest

import (
	"context"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
)

// Conformance serves driver through the reactor framework (bearer token, persisted state)
// and fails t for every conformance check the reactor does not pass.
func Conformance(t testing.TB, driver reactor.Driver, deployTimeout time.Duration) {
	t.Helper()
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	const token = "conformance-token"
	srv, err := reactor.New(reactor.Config{Driver: driver, Registry: reg, Auth: reactor.Auth{Token: token}, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	report, err := conformance.Run(context.Background(), conformance.Config{URL: hs.URL, Token: token, DeployTimeout: deployTimeout})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
	}
}
