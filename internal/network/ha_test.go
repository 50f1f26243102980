package network

import (
	"errors"
	"slices"
	"testing"

	"github.com/dinfra/stack/internal/problem"
)

// spec.groups[].ha: bad fields are named with path and reason; defaults fill a bare block.
func TestHASpec(t *testing.T) {
	bad := head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - name: validator
    role: validator
    keys: {dev: ["//Alice"]}
    ha: {leaseTTL: 2500ms, safetyMargin: 2s, etcd: {endpoints: ["unix:///x", "http://u:p@127.0.0.1:2379"]}}
  - name: rpc
    role: rpc
    ha: {leaseTTL: 10s, safetyMargin: 5s}
`
	want := problem.List{
		{Field: "spec.groups[0].ha.etcd.endpoints[0]", Reason: `must be an http:// or https:// URL of an etcd client port without credentials, got "unix:///x"`},
		{Field: "spec.groups[0].ha.etcd.endpoints[1]", Reason: `must be an http:// or https:// URL of an etcd client port without credentials, got "http://u:p@127.0.0.1:2379"`},
		{Field: "spec.groups[0].ha.leaseTTL", Reason: "must be whole seconds between 3s and 1h0m0s (etcd and Lease TTLs are seconds), got 2500ms"},
		{Field: "spec.groups[0].ha.safetyMargin", Reason: "must be below half of leaseTTL (2500ms), got 2s"},
		{Field: "spec.groups[1].ha", Reason: "only validator and collator groups fail over (role is rpc)"},
		{Field: "spec.groups[1].ha.safetyMargin", Reason: "must be below half of leaseTTL (10s), got 5s"},
	}
	_, err := Parse([]byte(bad))
	var got problem.List
	if !errors.As(err, &got) || !slices.Equal(got, want) {
		t.Errorf("problems:\n%s\nwant:\n%s", lines(got), lines(want))
	}

	n, err := Parse([]byte(head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {etcd: {endpoints: ["http://127.0.0.1:2379"]}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	h := n.Spec.Groups[0].HA
	if *h.Standbys != 1 || h.LeaseTTL != "10s" || h.SafetyMargin != "3.333333333s" || h.Etcd.Prefix != "/onf/ha/" {
		t.Errorf("defaults: %+v %+v", h, h.Etcd)
	}
}

// An HA identity plans one node per candidate, all seeds of the relay chain; each has the
// authority command line (with the key) and a standby one without, and an init without key.
func TestHAPlan(t *testing.T) {
	n, err := Parse([]byte(head + `spec:
  chain: {builtin: westend-dev}
  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {standbys: 2, etcd: {endpoints: ["http://127.0.0.1:2379"]}}}
  - {name: rpc, role: rpc}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(n, newFixedTarget(n, false))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, np := range p.Nodes {
		names = append(names, np.Name)
	}
	if want := []string{"validator-0-0", "validator-0-1", "validator-0-2", "rpc-0"}; !slices.Equal(names, want) {
		t.Fatalf("nodes %v, want %v", names, want)
	}
	for _, np := range p.Nodes[:3] {
		if np.Identity != "validator-0" || np.Tier != 0 || np.Keys == nil || np.Keys.Dev != "//Alice" {
			t.Errorf("%s: identity %q tier %d keys %+v", np.Name, np.Identity, np.Tier, np.Keys)
		}
		if !slices.Contains(np.Args, "--validator") || !slices.Contains(np.Args, "alice") {
			t.Errorf("%s: authority args %v", np.Name, np.Args)
		}
		sb := np.Standby()
		if slices.Contains(sb.Args, "--validator") || slices.Contains(sb.Args, "--key") || !slices.Contains(sb.Args, "--babe-authority=false") || sb.Keys != nil {
			t.Errorf("%s: standby args %v keys %+v", np.Name, sb.Args, sb.Keys)
		}
		for _, init := range np.Init {
			if slices.Contains(init, "--key") {
				t.Errorf("%s: init sets up a key: %v", np.Name, init)
			}
		}
		if len(np.Bootnodes) != 2 {
			t.Errorf("%s: boot nodes %v, want the other two candidates", np.Name, np.Bootnodes)
		}
	}
}

// A polkadot-sdk candidate fills its keystore only as the authority: the standby plan has no
// key insert commands, no keystore path and no --validator.
func TestHAPlanSubstrate(t *testing.T) {
	n, err := Parse([]byte(relayHead + `  groups:
  - {name: validator, role: validator, keys: {dev: ["//Alice"]}, ha: {etcd: {endpoints: ["http://127.0.0.1:2379"]}}}
`))
	if err != nil {
		t.Fatal(err)
	}
	p, err := Build(n, newFixedTarget(n, false))
	if err != nil {
		t.Fatal(err)
	}
	np := p.Nodes[0]
	if np.Name != "validator-0-0" || len(np.InsertKeys) == 0 || !slices.Contains(np.Args, "--validator") || !slices.Contains(np.Args, "--keystore-path") {
		t.Fatalf("authority plan: %s insert %v args %v", np.Name, np.InsertKeys, np.Args)
	}
	sb := np.Standby()
	if len(sb.InsertKeys) != 0 || sb.KeystorePath != "" || slices.Contains(sb.Args, "--validator") || slices.Contains(sb.Args, "--keystore-path") {
		t.Errorf("standby plan: insert %v keystore %q args %v", sb.InsertKeys, sb.KeystorePath, sb.Args)
	}
}
