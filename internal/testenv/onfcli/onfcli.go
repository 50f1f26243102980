// Package onfcli runs the onf command line in end-to-end tests as a user would: a freshly
// built binary, its own --home.
package onfcli

import (
	"bytes"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/local"
)

// CLI is a built onf binary and the state directory its commands use.
type CLI struct {
	t    testing.TB
	Bin  string
	Home string
}

// Build builds onf into a temporary directory; its commands use a fresh temporary home.
func Build(t testing.TB) *CLI {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "onf")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/dinfra/stack/cmd/onf").CombinedOutput(); err != nil {
		t.Fatalf("build onf: %v\n%s", err, out)
	}
	return &CLI{t: t, Bin: bin, Home: t.TempDir()}
}

// Run runs onf with args and returns its combined output.
func (c *CLI) Run(args ...string) (string, error) {
	cmd := exec.Command(c.Bin, append([]string{"--home", c.Home}, args...)...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// Must runs onf with args and fails the test if it fails.
func (c *CLI) Must(args ...string) string {
	c.t.Helper()
	out, err := c.Run(args...)
	if err != nil {
		c.t.Fatalf("onf %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// Status is `onf status NAME -o json`.
func (c *CLI) Status(name string) local.NetworkStatus {
	c.t.Helper()
	var st local.NetworkStatus
	if err := json.Unmarshal([]byte(c.Must("status", name, "-o", "json")), &st); err != nil {
		c.t.Fatal(err)
	}
	return st
}

// Node is node's row in network's status.
func (c *CLI) Node(network, node string) local.NodeInfo {
	c.t.Helper()
	st := c.Status(network)
	for _, n := range st.Nodes {
		if n.Name == node {
			return n
		}
	}
	c.t.Fatalf("no node %s in %+v", node, st.Nodes)
	return local.NodeInfo{}
}
