// Package machinetest gives tests a machine driver over real podman: the machine image from
// scripts/images.sh (MACHINE_IMAGE) and a podman network of the test's own, created with
// --internal so that no machine reaches anything beyond this host.
package machinetest

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/reactor/cloudinit"
	"github.com/dinfra/stack/internal/reactor/machine"
	"github.com/dinfra/stack/internal/testenv"
)

// Podman is the podman command line on this kind of machine (runc: crun is refused here).
var Podman = []string{"podman", "--runtime", "/usr/sbin/runc"}

// MissingImage is an image the driver offers that podman does not have: machines of it
// fail to deploy (the conformance suite's Failed check).
const MissingImage = "debian-gone"

// Env is a driver and its network.
type Env struct {
	Driver *machine.Driver
	// Image is the machine image (MACHINE_IMAGE), offered as debian-12.
	Image string
	// Gateway is the host's address on the machines' network.
	Gateway string
}

// Start returns a driver offering capacity units of cloudinit.DefaultUnit, publishing SSH on
// 127.0.0.1, whose machines join a new internal network removed when the test ends. It
// skips in -short mode, and without podman or MACHINE_IMAGE (failing in CI).
func Start(t testing.TB, capacity int64) *Env {
	t.Helper()
	testenv.Short(t)
	image := testenv.Value(t, "MACHINE_IMAGE", "run `eval \"$(scripts/images.sh env)\"` or scripts/images.sh build machine")
	testenv.Binary(t, "PODMAN", "podman")
	name := "dinfra-t-" + RandHex(t)
	Run(t, "network", "create", "--internal", name)
	t.Cleanup(func() { _, _ = Output("network", "rm", "--force", name) })
	var nets []struct {
		Subnets []struct{ Gateway string } `json:"subnets"`
	}
	if err := json.Unmarshal(Run(t, "network", "inspect", name), &nets); err != nil || len(nets) != 1 || len(nets[0].Subnets) == 0 {
		t.Fatalf("podman network inspect %s: %v", name, err)
	}
	d, err := machine.New(machine.Config{Podman: Podman, Images: map[string]string{"debian-12": image, MissingImage: "localhost/dinfra/machine:missing"}, Capacity: capacity,
		Unit: cloudinit.DefaultUnit(), Network: name, PublishAddress: "127.0.0.1", ReadyTimeout: 4 * time.Minute}) // cloud-init boots in 20-90 s, slower on a loaded host
	if err != nil {
		t.Fatal(err)
	}
	return &Env{Driver: d, Image: image, Gateway: nets[0].Subnets[0].Gateway}
}

// Exists reports whether the machine of deployment id has a container.
func Exists(t testing.TB, id string) bool {
	t.Helper()
	out := Run(t, "ps", "--all", "--quiet", "--filter", "name=^"+machine.ContainerName(id)+"$")
	return len(bytes.TrimSpace(out)) != 0
}

// RandHex is 8 random hex digits, for names of the test's own.
func RandHex(t testing.TB) string {
	b := make([]byte, 4)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b)
}

// Output runs podman and returns its standard output.
func Output(args ...string) ([]byte, error) {
	var stderr bytes.Buffer
	cmd := exec.Command(Podman[0], append(Podman[1:], args...)...)
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return out, fmt.Errorf("podman %s: %v: %s", strings.Join(args, " "), err, stderr.String())
	}
	return out, nil
}

// Run runs podman and fails the test when it fails.
func Run(t testing.TB, args ...string) []byte {
	t.Helper()
	out, err := Output(args...)
	if err != nil {
		t.Fatal(err)
	}
	return out
}
