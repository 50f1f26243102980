package local_test

import (
	"context"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/descriptor"
	onflocal "github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/testenv"
)

// supervisorEnv makes this test binary act as the local runtime's supervisor process
// (`... --home HOME NAME`), the role `onf`/`dinfra` play outside tests.
const supervisorEnv = "DINFRA_REACTOR_LOCAL_TEST_SUPERVISOR"

func TestMain(m *testing.M) {
	if os.Getenv(supervisorEnv) == "1" {
		args := os.Args
		home, name := args[len(args)-2], args[len(args)-1]
		if err := onflocal.Supervise(context.Background(), home, onflocal.NetworkDir(home, name), slog.Default()); err != nil {
			slog.Error("supervisor", "err", err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

func TestLocalReactorConformance(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN", "gossamer")
	t.Setenv(supervisorEnv, "1")
	home := filepath.Join(t.TempDir(), "onf")
	rt := &onflocal.Runtime{Home: home, Supervisor: []string{os.Args[0]}}
	drv := local.New(rt, local.Binaries{v1alpha1.FlavorGossamer: gossamer}, 2, 90*time.Second)
	t.Cleanup(func() {
		// Whatever a failed check left running goes down with the test.
		names, _ := rt.Networks()
		for _, n := range names {
			_ = rt.Down(context.Background(), n, true)
		}
	})
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
