package network

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// Telemetry is off unless a group names endpoints; then polkadot-sdk nodes get one
// --telemetry-url 'URL VERBOSITY' each and no --no-telemetry.
func TestTelemetry(t *testing.T) {
	n, err := Parse([]byte(relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - name: rpc
    role: rpc
    telemetry:
    - {url: "wss://telemetry.polkadot.io/submit/"}
    - {url: "ws://telemetry.example.org:8000/submit", verbosity: 5}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(n, newFixedTarget(n, false))
	if err != nil {
		t.Fatal(err)
	}
	rpc := p.Node("rpc-0").Args
	want := []string{"--telemetry-url", "wss://telemetry.polkadot.io/submit/ 0", "--telemetry-url", "ws://telemetry.example.org:8000/submit 5"}
	if i := slices.Index(rpc, "--telemetry-url"); i < 0 || !slices.Equal(rpc[i:i+4], want) || slices.Contains(rpc, "--no-telemetry") {
		t.Errorf("rpc-0 args %q, want %q and no --no-telemetry", rpc, want)
	}
	if v := p.Node("validator-0").Args; !slices.Contains(v, "--no-telemetry") || slices.Contains(v, "--telemetry-url") {
		t.Errorf("validator-0 args %q: want telemetry off", v)
	}
}

func TestTelemetryRejected(t *testing.T) {
	for _, tc := range []struct {
		name, doc string
		want      problem.List
	}{
		{"gossamer", gossamerDev + `  - {name: rpc, role: rpc, telemetry: [{url: "wss://telemetry.polkadot.io/submit/"}]}
`, problem.List{{Field: "spec.groups[1].telemetry", Reason: "not supported by gossamer (v0.9.0 cannot parse a telemetry URL that has a scheme)"}}},
		{"bad URLs", relayHead + `  groups:
  - name: rpc
    role: rpc
    telemetry:
    - {url: "https://telemetry.example.org/submit"}
    - {url: "wss://user:token@telemetry.example.org/submit"}
    - {url: "wss://telemetry.example.org/submit"}
    - {url: "wss://telemetry.example.org/submit", verbosity: 1}
`, problem.List{
			{Field: "spec.groups[0].telemetry[0].url", Reason: `must be a ws:// or wss:// URL with a host, got "https://telemetry.example.org/submit"`},
			{Field: "spec.groups[0].telemetry[1].url", Reason: "must not carry credentials: the URL is on the node's command line"},
			{Field: "spec.groups[0].telemetry[3].url", Reason: `duplicate telemetry URL "wss://telemetry.example.org/submit"`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(tc.doc))
			var got problem.List
			if !errors.As(err, &got) || !slices.Equal(got, tc.want) {
				t.Errorf("problems (%v):\n%s\nwant:\n%s", err, lines(got), lines(tc.want))
			}
			if strings.Contains(lines(got), "token") {
				t.Error("a problem repeats the URL's credentials")
			}
		})
	}
}
