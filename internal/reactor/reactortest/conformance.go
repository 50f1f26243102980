package reactortest

import (
	"context"
	"net/http/httptest"
	"testing"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
)

// Conformance serves driver through the reactor framework (bearer token, persisted state)
// and fails t for every conformance check the reactor does not pass. cfg says how long a
// deployment may take and what fails on driver (conformance.Config.Failing); the helper
// sets its URL and token.
func Conformance(t testing.TB, driver reactor.Driver, cfg conformance.Config) {
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
	cfg.URL, cfg.Token = hs.URL, token
	report, err := conformance.Run(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		switch {
		case r.Err != nil:
			t.Errorf("%s: %v", r.Name, r.Err)
		case r.Skipped != "":
			t.Logf("%s: skipped: %s", r.Name, r.Skipped)
		}
	}
}
