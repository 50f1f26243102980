package ha_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/ha/hatest/blocks"
	"github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// partitionSpec is spec with the group's nodes listening for peers on their namespace's
// address.
const partitionSpec = spec + `      p2p: {publicHost: %s}
`

// side is one network namespace running the identity's candidates under its own supervisor:
// two sides, each with an authority candidate and a standby, share the lease in etcd.
type side struct {
	ns  *hatest.Netns
	ip  string
	cli *onfcli.CLI
}

// TestPartitionNeverDoubleSigns cuts the authority, its agent and its side's standby off from
// etcd and from the other side's nodes for longer than the lease TTL, then joins them again.
// Three namespaces the test creates form a star over a bridge: etcd in the hub, and in each
// leg a supervisor (onf up inside the namespace) with two candidates of //Alice; the sides
// peer over the bridge. The cut side must stop signing before its lease can expire, the
// other side takes over after expiry and the margin, and after the link is back no two
// blocks share a slot. Rounds alternate: the authority is always on the side cut.
func TestPartitionNeverDoubleSigns(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	rounds := 1 // about two and a half minutes with both sides' start
	if v := os.Getenv("HA_PARTITION_ROUNDS"); v != "" {
		rounds, _ = strconv.Atoi(v)
	}
	hub, a, b := hatest.NewNetns(t, "hub"), hatest.NewNetns(t, "a"), hatest.NewNetns(t, "b")
	star := hatest.NewStar(hub, a, b)
	etcd := hatest.StartEtcdIn(t, hub, hatest.HubIP)
	cli := onfcli.Build(t)
	sides := []*side{newSide(t, cli, a, hatest.StarIP(0)), newSide(t, cli, b, hatest.StarIP(1))}

	// Side A starts alone and takes the lease; B boots from A's nodes once they run.
	sides[0].up(t, gossamer, etcd.Endpoint(), nil)
	c := blocks.New()
	follow(c, sides[0].cli.Status("ha").Nodes, sides[0].dial())
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go c.Run(ctx)
	start := time.Now()
	c.WaitAuthored(t, start, 3*time.Minute)
	sides[1].up(t, gossamer, etcd.Endpoint(), sides[0].bootnodes(t))
	follow(c, sides[1].cli.Status("ha").Nodes, sides[1].dial())
	synced(t, sides)

	var gaps []uint64
	for i := 0; i < rounds; i++ {
		cut := authoritySide(t, sides)
		if cut < 0 {
			t.Fatalf("round %d: no authority on either side", i)
		}
		r := round{fault: "partition", at: time.Now(), from: sides[cut].ns.Name}
		star.Cut(cut)
		// Past the cut side's deadline (T - M after its last renewal) it signs no more.
		time.Sleep(ttl - margin + time.Second) // the fault's length so far: past the cut side's deadline
		if h := sides[cut].cli.Status("ha").HA; len(h) != 1 || h[0].Authority != "" {
			t.Errorf("round %d: the cut side still runs an authority %s after its deadline: %+v", i, time.Since(r.at).Round(time.Millisecond), h)
		}
		c.WaitAuthored(t, r.at, 2*time.Minute)
		time.Sleep(time.Until(r.at.Add(ttl + margin))) // the cut lasts longer than T
		star.Restore(cut)
		r.to = sides[1-cut].ns.Name
		r.recoveredT = time.Since(r.at)
		r.gapSlots = c.GapAround(r.at)
		if got := authoritySide(t, sides); got != 1-cut {
			t.Errorf("round %d: the authority is on side %d after the cut of side %d", i, got, cut)
		}
		t.Logf("round %d partition: %s cut -> %s signs, gap %d slots, cut for %s", i, r.from, r.to, r.gapSlots, r.recoveredT.Round(time.Second))
		gaps = append(gaps, r.gapSlots)
		synced(t, sides) // the cut side follows the new authority's chain again
	}
	c.CaughtUp(t) // the last blocks reach the collector
	if eq := c.Equivocations(); len(eq) > 0 {
		t.Errorf("equivocations (two blocks by one authority in one slot): %v", eq)
	}
	for _, s := range sides {
		if logs := equivocationLogs(t, c, s.cli.Home); len(logs) > 0 {
			t.Errorf("%s: node logs report equivocation: %v", s.ns.Name, logs)
		}
	}
	t.Logf("partition gaps over %d rounds: %v slots; %d blocks by //Alice seen, 0 equivocations", len(gaps), gaps, c.Count())
}

// newSide runs onf inside ns with its own home.
func newSide(t *testing.T, cli *onfcli.CLI, ns *hatest.Netns, ip string) *side {
	t.Helper()
	s := *cli
	s.Home = t.TempDir()
	s.Bin = filepath.Join(t.TempDir(), "onf-"+ns.Name)
	wrapper := "#!/bin/sh\nexec " + strings.Join(ns.Cmd(cli.Bin), " ") + ` "$@"` + "\n"
	if err := os.WriteFile(s.Bin, []byte(wrapper), 0o700); err != nil {
		t.Fatal(err)
	}
	return &side{ns: ns, ip: ip, cli: &s}
}

func (s *side) up(t *testing.T, gossamer, etcd string, bootnodes []string) {
	t.Helper()
	if len(bootnodes) > 0 {
		// onf wires a network's own boot nodes and refuses --bootnodes in args; the other
		// side's nodes are added by a wrapper around the real gossamer (the flag appends).
		wrapper := filepath.Join(t.TempDir(), "gossamer")
		script := fmt.Sprintf("#!/bin/sh\ncase \" $* \" in *\" --port \"*) exec %s \"$@\" --bootnodes %s ;; esac\nexec %[1]s \"$@\"\n", gossamer, strings.Join(bootnodes, ","))
		if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
			t.Fatal(err)
		}
		// onf finds gossamer's built-in chain specs beside its binary.
		if err := os.Symlink(filepath.Join(filepath.Dir(gossamer), "chain"), filepath.Join(filepath.Dir(wrapper), "chain")); err != nil {
			t.Fatal(err)
		}
		gossamer = wrapper
	}
	file := filepath.Join(t.TempDir(), "ha.yaml")
	if err := os.WriteFile(file, fmt.Appendf(nil, partitionSpec, gossamer, ttl, margin, etcd, s.ip), 0o600); err != nil {
		t.Fatal(err)
	}
	s.cli.Must("up", "-f", file, "--until-block", "0", "--timeout", "3m")
	t.Cleanup(func() { _, _ = s.cli.Run("down", "ha", "--purge") })
}

// dial reaches the side's nodes on their namespace's loopback.
func (s *side) dial() rpc.Option {
	return rpc.WithHTTPClient(&http.Client{Transport: &http.Transport{DialContext: s.ns.Dial}})
}

// bootnodes are the side's nodes as peers on the bridge reach them.
func (s *side) bootnodes(t *testing.T) []string {
	t.Helper()
	dir, err := local.NetworkDir(s.cli.Home, "ha")
	if err != nil {
		t.Fatal(err)
	}
	data, err := os.ReadFile(dir.Facts())
	if err != nil {
		t.Fatal(err)
	}
	var facts local.Facts
	if err := json.Unmarshal(data, &facts); err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, n := range s.cli.Status("ha").Nodes {
		if n.PeerID == "" {
			t.Fatalf("%s: no peer ID yet", n.Name)
		}
		out = append(out, fmt.Sprintf("/ip4/%s/tcp/%d/p2p/%s", s.ip, facts.Ports[n.Name].P2P, n.PeerID))
	}
	return out
}

// authoritySide is the index of the side whose supervisor runs the authority (-1: none).
func authoritySide(t *testing.T, sides []*side) int {
	t.Helper()
	for i, s := range sides {
		if h := s.cli.Status("ha").HA; len(h) == 1 && h[0].Authority != "" {
			return i
		}
	}
	return -1
}

// synced waits until each side has a node within two blocks of the best one, so either side
// can take over (a standby that lags behind on a loaded machine is no help, but no risk).
func synced(t *testing.T, sides []*side) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, "both sides on one chain", func() (bool, string) {
		var bests []string
		var hi uint64
		tops := make([]uint64, len(sides))
		for i, s := range sides {
			for _, n := range s.cli.Status("ha").Nodes {
				hi, tops[i] = max(hi, n.Best), max(tops[i], n.Best)
				bests = append(bests, fmt.Sprintf("%s/%s #%d", s.ns.Name, n.Name, n.Best))
			}
		}
		return hi > 0 && hi-slices.Min(tops) <= 2, strings.Join(bests, ", ")
	})
}
