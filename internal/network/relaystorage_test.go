package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// parachains[].relay.storage moves the embedded relay chain node's data to RelayDataDir (the
// relay-data volume in clusters): --base-path after --, for that node alone.
func TestRelayStorageBasePath(t *testing.T) {
	doc := relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: para, keys: {dev: ["//Bob"]}}
  - {name: other, role: collator, parachain: other, keys: {dev: ["//Charlie"]}}
  parachains:
  - {name: para, id: 1000, chain: {builtin: asset-hub-rococo-local}, relay: {storage: 200Gi}}
  - {name: other, id: 1001, chain: {builtin: asset-hub-rococo-local}}
`
	n, err := Parse([]byte(doc))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(n, newFixedTarget(n, false))
	if err != nil {
		t.Fatal(err)
	}
	a := p.Node("collator-0").Args
	sep := slices.Index(a, "--")
	if i := slices.Index(a, "--base-path"); i < 0 || i > sep {
		t.Errorf("collator-0 args %q: its own --base-path must stay before --", a)
	}
	relay := a[sep:]
	if i := slices.Index(relay, "--base-path"); i < 0 || relay[i+1] != RelayDataDir {
		t.Errorf("collator-0 relay args %q, want --base-path %s", relay, RelayDataDir)
	}
	if o := p.Node("other-0").Args; slices.Contains(o[slices.Index(o, "--"):], "--base-path") {
		t.Errorf("other-0 relay args %q: no relay.storage, so the node's default data directory", o)
	}
}

func TestRelayStorageRejected(t *testing.T) {
	for _, tc := range []struct {
		name, relay string
		want        problem.List
	}{
		{"with rpcUrls", `{rpcUrls: ["wss://rococo-rpc.example.org"], storage: 10Gi}`, problem.List{
			{Field: "spec.parachains[0].relay.storage", Reason: "no embedded relay chain node runs when relay.rpcUrls is set: it keeps no data"}}},
		{"not a quantity", `{storage: lots}`, problem.List{
			{Field: "spec.parachains[0].relay.storage", Reason: `must be a Kubernetes quantity such as 100Gi, got "lots"`}}},
		{"class without size", `{storageClassName: fast}`, problem.List{
			{Field: "spec.parachains[0].relay.storageClassName", Reason: "is the class of the relay chain's own volume: set relay.storage too"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse([]byte(relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  - {name: collator, role: collator, parachain: para, keys: {dev: ["//Bob"]}}
  parachains:
  - {name: para, id: 1000, chain: {builtin: asset-hub-rococo-local}, relay: ` + tc.relay + `}
`))
			var got problem.List
			if !errors.As(err, &got) || !slices.Equal(got, tc.want) {
				t.Errorf("problems (%v):\n%s\nwant:\n%s", err, lines(got), lines(tc.want))
			}
		})
	}
}
