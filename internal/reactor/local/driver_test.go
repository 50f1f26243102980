package local_test

import (
	"context"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/local/localtest"
	"github.com/dinfra/stack/internal/testenv"
)

func TestMain(m *testing.M) {
	localtest.MaybeSupervise()
	os.Exit(m.Run())
}

func TestLocalReactorConformance(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN", "gossamer")
	rt := localtest.Runtime(t)
	drv := local.New(rt, local.Binaries{v1alpha1.FlavorGossamer: gossamer}, 2, 90*time.Second)
	reg, err := descriptor.NewRegistry()
	if err != nil {
		t.Fatal(err)
	}
	srv, err := reactor.New(reactor.Config{Driver: drv, Registry: reg, Auth: reactor.Auth{Token: "local-token"}, StateDir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(func() { hs.Close(); srv.Close() })
	report, err := conformance.Run(context.Background(), conformance.Config{URL: hs.URL, Token: "local-token", DeployTimeout: 2 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
	}
	if names, _ := rt.Networks(); len(names) != 0 {
		t.Fatalf("networks left after teardown: %v", names)
	}
}
