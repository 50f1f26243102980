package flavor

import (
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
)

// FuzzCheckArgs: CheckArgs never panics, refuses every spelling of a refused flag, and lets
// through to gossamer only flags on its allow-list, spelt exactly.
func FuzzCheckArgs(f *testing.F) {
	for _, seed := range []string{
		"--rpc-external", "--RPC_External=1", "-rpc-external", "-d/tmp", "--log\x00sync=debug",
		"--no-bootstrap\x00init", "--max-peers=5", "-ldebug", "--\x00--chain", "--reserved-nodes\x00a\x00b",
		"purge-chain", "--pprof.enabled=true", "--babe-authority=true",
	} {
		f.Add(seed, true)
		f.Add(seed, false)
	}
	f.Fuzz(func(t *testing.T, joined string, gossamer bool) {
		fl := v1alpha1.FlavorSubstrate
		if gossamer {
			fl = v1alpha1.FlavorGossamer
		}
		args := strings.Split(joined, "\x00")
		p := argPolicies[fl]
		refused := map[int]bool{}
		for _, r := range CheckArgs(fl, args) {
			if r.Index < 0 || r.Index >= len(args) || r.Reason == "" {
				t.Fatalf("refusal %+v of %q", r, args)
			}
			refused[r.Index] = true
		}
		for i, a := range args {
			if refused[i] || !strings.HasPrefix(a, "-") {
				continue
			}
			if _, bad := p.refused[normalFlag(a)]; bad {
				t.Fatalf("%s: %q passed though %s is refused", fl, a, normalFlag(a))
			}
			if gossamer {
				if _, ok := p.allowedFlag(a); !ok {
					t.Fatalf("gossamer: %q passed though not on the allow-list", a)
				}
			}
		}
	})
}
