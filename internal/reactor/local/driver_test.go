package local_test

import (
	"os"
	"testing"
	"time"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/local/localtest"
	"github.com/dinfra/stack/internal/reactor/reactortest"
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
	reactortest.Conformance(t, local.New(rt, local.Binaries{v1alpha1.FlavorGossamer: gossamer}, 2, 90*time.Second), conformance.Config{DeployTimeout: 2 * time.Minute})
	if names, _ := rt.Networks(); len(names) != 0 {
		t.Fatalf("networks left after teardown: %v", names)
	}
}
