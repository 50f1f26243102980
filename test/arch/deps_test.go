// Package arch checks the dependency arrows docs/architecture.md draws, with the go tool's
// own import graph, so the page and the code cannot drift apart unseen.
package arch

import (
	"os/exec"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/dinfra/stack/"

// deps lists the module's packages pkg (a path in the module) depends on (itself included), by path in the module.
func deps(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-deps", module+pkg).Output()
	if err != nil {
		t.Fatalf("go list -deps %s: %v", pkg, err)
	}
	var own []string
	for _, p := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(p, module); ok {
			own = append(own, rel)
		}
	}
	return own
}

// imports lists the module's packages pkg imports directly.
func imports(t *testing.T, pkg string) []string {
	t.Helper()
	out, err := exec.Command("go", "list", "-f", `{{join .Imports "\n"}}`, module+pkg).Output()
	if err != nil {
		t.Fatalf("go list %s: %v", pkg, err)
	}
	var own []string
	for _, p := range strings.Fields(string(out)) {
		if rel, ok := strings.CutPrefix(p, module); ok {
			own = append(own, rel)
		}
	}
	return own
}

// The dinfra binary links no RPC gateway: only the gateway's configuration types (through
// the Kubernetes builders, which render a gateway's config), never its servers.
func TestDinfraLinksNoGateway(t *testing.T) {
	for _, p := range deps(t, "cmd/dinfra") {
		if strings.HasPrefix(p, "internal/gateway") && p != "internal/gateway/config" && p != "internal/gateway/policy" {
			t.Errorf("cmd/dinfra depends on %s", p)
		}
		if p == "internal/local/localgateway" {
			t.Errorf("cmd/dinfra depends on %s, the local runtime's gateway wiring", p)
		}
	}
}

// The local runtime starts the gateway through its Gateways interface only.
func TestLocalRuntimeImportsNoGateway(t *testing.T) {
	for _, p := range deps(t, "internal/local") {
		if strings.HasPrefix(p, "internal/gateway") {
			t.Errorf("internal/local depends on %s; only internal/local/localgateway may", p)
		}
	}
}

// The planner is pure and imports only the API types, the flavor table and the problem
// vocabulary (which imports nothing of the module).
func TestPlannerImportsOnlyTheCore(t *testing.T) {
	allowed := map[string][]string{
		"internal/network": {"api/v1alpha1", "internal/flavor", "internal/problem"},
		"internal/flavor":  {"api/v1alpha1"},
		"internal/problem": {},
	}
	for pkg, ok := range allowed {
		for _, p := range imports(t, pkg) {
			if !slices.Contains(ok, p) {
				t.Errorf("%s imports %s; the planner may import only %v", pkg, p, ok)
			}
		}
	}
}

// Nothing imports a command.
func TestNothingImportsACommand(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", `{{.ImportPath}}: {{join .Imports " "}}`, module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, imps, _ := strings.Cut(line, ": ")
		for _, p := range strings.Fields(imps) {
			if strings.HasPrefix(p, module+"cmd/") {
				t.Errorf("%s imports %s", pkg, p)
			}
		}
	}
}

// The dinfra CLI runs the chain through internal/chain and speaks to it in the wire types:
// no command imports the state machine itself.
func TestDinfraCommandsImportNoStateMachine(t *testing.T) {
	for _, p := range imports(t, "cmd/dinfra") {
		if p == "internal/ledger" || p == "internal/ledger/abciapp" {
			t.Errorf("cmd/dinfra imports %s", p)
		}
	}
}

// The chain's clients speak its wire types (internal/ledger/wire) and link none of the
// state machine.
func TestChainClientsLinkNoStateMachine(t *testing.T) {
	for _, pkg := range []string{"internal/chain/client", "internal/reactor/watcher"} {
		for _, p := range deps(t, pkg) {
			if p == "internal/ledger" || p == "internal/ledger/abciapp" || p == "internal/chain" {
				t.Errorf("%s depends on %s", pkg, p)
			}
		}
	}
}
