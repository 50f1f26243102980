package flavor

import (
	"maps"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/testenv"
)

func TestCheckArgs(t *testing.T) {
	for _, c := range []struct {
		flavor  v1alpha1.Flavor
		args    []string
		refused []int
	}{
		{v1alpha1.FlavorGossamer, []string{"--log", "sync=debug", "-l", "core=trace", "-ldebug", "--max-peers=5", "--no-bootstrap", "--persistent-peers", "/ip4/127.0.0.1/tcp/1/p2p/x"}, nil},
		{v1alpha1.FlavorGossamer, []string{"--no-bootstrap", "init"}, []int{1}}, // a boolean takes no value: init is a subcommand
		{v1alpha1.FlavorGossamer, []string{"--max-peers=5", "prune-state"}, []int{1}},
		{v1alpha1.FlavorGossamer, []string{"-h", "--HELP", "--Max-Peers=5", "-x"}, []int{0, 1, 2, 3}},
		{v1alpha1.FlavorGossamer, []string{"--babe-authority=true", "--grandpa-authority", "true", "--role=authority"}, []int{0, 1, 3}},
		{v1alpha1.FlavorSubstrate, []string{"--log", "a", "b", "--reserved-nodes", "/ip4/1.2.3.4/tcp/1/p2p/x", "/ip4/1.2.3.5/tcp/1/p2p/y", "--in-peers=5", "--my-solochain-flag", "--sync", "warp"}, nil},
		{v1alpha1.FlavorSubstrate, []string{"build-spec"}, []int{0}},
		{v1alpha1.FlavorSubstrate, []string{"--no-mdns", "purge-chain", "-V", "--version", "-drelay", "--"}, []int{1, 2, 3, 4, 5}},
		{v1alpha1.FlavorSubstrate, []string{"--Unsafe_RPC_External", "-unsafe-rpc-external", "--workers-path=/tmp/w", "--pruning", "1000"}, []int{0, 1, 2, 3}},
	} {
		var got []int
		for _, r := range CheckArgs(c.flavor, c.args) {
			got = append(got, r.Index)
		}
		if !slices.Equal(got, c.refused) {
			t.Errorf("%s %q: refused %v, want %v (%v)", c.flavor, c.args, got, c.refused, CheckArgs(c.flavor, c.args))
		}
	}
}

// Every flag a dialect renders is refused as an extra argument, derived from the dialect
// itself, so a flag it starts rendering is covered without being listed.
func TestRenderedFlagsAreRefused(t *testing.T) {
	for f, p := range argPolicies {
		rendered := RenderedFlags(MustFor(f))
		if len(rendered) < 10 {
			t.Fatalf("%s renders only %v", f, rendered)
		}
		for _, flag := range rendered {
			if _, refused := p.refusal(flag); !refused {
				t.Errorf("%s renders %s but lets it through as an extra argument", f, flag)
			}
		}
	}
}

// The gossamer policy against the real binary's --help: every flag it names exists, the
// allow-list agrees on which flags take a value, and every flag gossamer has is classified
// (allowed or refused), so a new gossamer version cannot add an exposing flag unnoticed.
func TestGossamerArgPolicyMatchesHelp(t *testing.T) {
	bin := testenv.Binary(t, "GOSSAMER_BIN", "gossamer")
	out, err := exec.Command(bin, "--help").CombinedOutput()
	if err != nil {
		t.Fatalf("gossamer --help: %v\n%s", err, out)
	}
	checkPolicyAgainstHelp(t, v1alpha1.FlavorGossamer, helpFlags(string(out)), gossamerRefused, nil)
	// gossamer's parser (pflag) takes neither single-dash long flags nor other cases; the
	// policy refuses those spellings all the same, in case a version ever does.
	for arg, want := range map[string]string{"-rpc-external": "unknown shorthand flag", "--RPC-EXTERNAL": "unknown flag"} {
		out, err := exec.Command(bin, arg, "--help").CombinedOutput()
		if err == nil || !strings.Contains(string(out), want) {
			t.Errorf("gossamer %s: %v, want %q in\n%s", arg, err, want, out)
		}
	}
}

// The polkadot-sdk policy against polkadot's flags as recorded from its sources
// (testdata/polkadot-flags.txt): no polkadot binary runs here. Flags not refused were
// reviewed as harmless to pass on and are listed here, so a newly recorded flag must be
// classified.
func TestSubstrateArgPolicyMatchesRecordedHelp(t *testing.T) {
	data, err := os.ReadFile("testdata/polkadot-flags.txt")
	if err != nil {
		t.Fatal(err)
	}
	reviewed := []string{
		"--no-grandpa", "--rpc-rate-limit", "--rpc-rate-limit-whitelisted-ips", "--rpc-max-request-size",
		"--rpc-max-response-size", "--rpc-max-subscriptions-per-connection",
		"--rpc-message-buffer-capacity-per-connection", "--rpc-disable-batch-requests",
		"--rpc-max-batch-request-len", "--force-authoring", "-l", "--log", "--detailed-log-output",
		"--disable-log-color", "--enable-log-reloading", "--tracing-targets", "--tracing-receiver",
		"--reserved-nodes", "--reserved-only", "--no-mdns", "--force-enable-webrtc", "--no-private-ip",
		"--no-private-ipv4", "--out-peers", "--in-peers", "--in-peers-light", "--max-parallel-downloads",
		"--discover-local", "--kademlia-disjoint-query-paths", "--kademlia-replication-factor",
		"--ipfs-bootnodes", "--sync", "--max-blocks-per-request", "--network-backend", "--force-kusama",
		"--force-westend", "--force-rococo", "--grandpa-pause", "--no-beefy", "--no-hardware-benchmarks",
		"--overseer-channel-capacity-override", "--disable-worker-version-check", "--relay-chain-light-client",
	}
	checkPolicyAgainstHelp(t, v1alpha1.FlavorSubstrate, helpFlags(string(data)), substrateRefused, reviewed)
}

// checkPolicyAgainstHelp checks a flavor's policy against the flags of its node's --help
// (normalised name -> takes a value). passed lists the flags reviewed as harmless for a
// policy without an allow-list.
func checkPolicyAgainstHelp(t *testing.T, f v1alpha1.Flavor, help map[string]bool, own map[string]string, passed []string) {
	t.Helper()
	if len(help) < 30 {
		t.Fatalf("only %d flags found in the help text", len(help))
	}
	p := argPolicies[f]
	listed := slices.Concat(slices.Collect(maps.Keys(commonRefused)), slices.Collect(maps.Keys(own)), RenderedFlags(MustFor(f)))
	for _, flag := range listed {
		if _, ok := help[flag]; !ok {
			t.Errorf("%s: the policy names %s, which the node does not have", f, flag)
		}
	}
	for flag, takesValue := range p.allowed {
		if v, ok := help[flag]; !ok || v != takesValue {
			t.Errorf("%s: allowed flag %s: in help %v, takes a value %v; the policy says %v", f, flag, ok, v, takesValue)
		}
	}
	for flag := range help {
		_, refused := p.refusal(flag)
		_, allowed := p.allowed[flag]
		allowed = allowed || slices.Contains(passed, flag)
		switch {
		case refused && allowed:
			t.Errorf("%s: %s is both refused and allowed", f, flag)
		case !refused && !allowed:
			t.Errorf("%s: %s is neither refused nor reviewed as allowed: classify it", f, flag)
		}
	}
}

// helpLine is a flag line of a --help text, pflag (gossamer) or clap (polkadot) style:
// "  -l, --log string   ...", "      --rpc-port <PORT>".
var helpLine = regexp.MustCompile(`^\s+(?:(-[a-zA-Z]), )?(--[a-z0-9][a-z0-9.-]*)( \S+)?`)

// helpFlags reads a --help text into normalised flag names (short forms too) and whether
// each takes a value.
func helpFlags(text string) map[string]bool {
	flags := map[string]bool{}
	for _, line := range strings.Split(text, "\n") {
		m := helpLine.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		takesValue := m[3] != ""
		flags[normalFlag(m[2])] = takesValue
		if m[1] != "" {
			flags[normalFlag(m[1])] = takesValue
		}
	}
	return flags
}
