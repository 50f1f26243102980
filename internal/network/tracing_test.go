package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// groups[].tracing renders --jaeger-agent HOST:PORT for the relay chain's polkadot nodes only;
// the same plan serves `onf up` and clusters, so local polkadot-sdk nodes get it too.
func TestTracing(t *testing.T) {
	n, err := Parse([]byte(relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, tracing: {jaegerAgent: "127.0.0.1:6831"}}
  - {name: rpc, role: rpc, tracing: {jaegerAgent: "jaeger-agent.observability:6831"}}
  - {name: full, role: full}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(n, newFixedTarget(n, false))
	if err != nil {
		t.Fatal(err)
	}
	for node, want := range map[string]string{"validator-0": "127.0.0.1:6831", "rpc-0": "jaeger-agent.observability:6831"} {
		a := p.Node(node).Args
		if i := slices.Index(a, "--jaeger-agent"); i < 0 || a[i+1] != want {
			t.Errorf("%s args %q, want --jaeger-agent %s", node, a, want)
		}
	}
	if a := p.Node("full-0").Args; slices.Contains(a, "--jaeger-agent") {
		t.Errorf("full-0 args %q: no tracing asked for", a)
	}
}

func TestTracingRejected(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      problem.List
	}{
		{"gossamer", gossamerDev + `  - {name: rpc, role: rpc, tracing: {jaegerAgent: "127.0.0.1:6831"}}
`, problem.List{{Field: "spec.groups[1].tracing", Reason: "not supported by gossamer (it has no Jaeger tracing)"}}},
		{"parachain node", relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: para, keys: {dev: ["//Bob"]}, tracing: {jaegerAgent: "127.0.0.1:6831"}}
  parachains:
  - {name: para, id: 1000, chain: {builtin: asset-hub-rococo-local}}
`, problem.List{{Field: "spec.groups[1].tracing", Reason: "not supported by parachain nodes (polkadot-parachain has no --jaeger-agent; only the relay chain's polkadot does)"}}},
		{"not host:port", relayHead + `  groups:
  - {name: a, role: rpc, tracing: {jaegerAgent: "jaeger:6831:1"}}
  - {name: b, role: rpc, tracing: {jaegerAgent: "jaeger:0"}}
  - {name: c, role: rpc, tracing: {jaegerAgent: "Jaeger_Agent:6831"}}
  - {name: d, role: rpc, tracing: {jaegerAgent: "[::1]:6831"}}
  - {name: e, role: rpc, tracing: {jaegerAgent: "--pyroscope-server 127.0.0.1:1"}}
`, problem.List{
			{Field: "spec.groups[0].tracing.jaegerAgent", Reason: `must be HOST:PORT (an IP address or DNS name and a UDP port), got "jaeger:6831:1"`},
			{Field: "spec.groups[1].tracing.jaegerAgent", Reason: `port must be 1 to 65535, got "0"`},
			{Field: "spec.groups[2].tracing.jaegerAgent", Reason: `host must be an IP address or a lower-case DNS name, got "Jaeger_Agent"`},
			{Field: "spec.groups[4].tracing.jaegerAgent", Reason: `host must be an IP address or a lower-case DNS name, got "--pyroscope-server 127.0.0.1"`},
		}},
		{"the raw flag stays refused", relayHead + `  groups:
  - {name: rpc, role: rpc, args: ["--jaeger-agent", "127.0.0.1:6831"]}
`, problem.List{{Field: "spec.groups[0].args[0]", Reason: "--jaeger-agent is not allowed: set from the group's tracing.jaegerAgent"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			var got problem.List
			if !errors.As(err, &got) || !slices.Equal(got, tc.want) {
				t.Errorf("problems (%v):\n%s\nwant:\n%s", err, lines(got), lines(tc.want))
			}
		})
	}
}
