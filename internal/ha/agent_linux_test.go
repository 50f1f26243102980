package ha

import (
	"context"
	"log/slog"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/testenv"
)

// fakeNode is a fake of a candidate node (the real ones run in test/ha): it records when it
// signed, from promotion to fence.
type fakeNode struct {
	mu        sync.Mutex
	authority bool
	since     time.Time
	spans     *[]span
	name      string
}

type span struct {
	node       string
	start, end time.Time
}

func (n *fakeNode) Fence(string) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.authority {
		*n.spans = append(*n.spans, span{n.name, n.since, time.Now()})
	}
	n.authority = false
}

func (n *fakeNode) Promote() {
	n.mu.Lock()
	defer n.mu.Unlock()
	n.authority, n.since = true, time.Now()
}

func (n *fakeNode) Authority() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.authority
}

func (n *fakeNode) Unhealthy() time.Time { return time.Time{} }

// Two agents of one identity against a real etcd: one signs; with etcd killed it stops
// signing before its lease could expire and nobody signs until etcd is back; the signing
// spans never overlap and are at least 2M apart.
func TestAgentsAgainstEtcd(t *testing.T) {
	testenv.Short(t)
	e := hatest.StartEtcd(t)
	cli, err := NewEtcdClient([]string{e.Endpoint()})
	if err != nil {
		t.Fatal(err)
	}
	defer cli.Close()
	store := NewEtcd(cli, "/test/", "v-0")
	storeDown(t, func() Store { return store }, e.Stop, e.Start)
}

// storeDown runs two agents whose stores come from newStore through an outage of the store
// (down, later up): the active fences within TTL - M of the outage, nobody signs during it,
// one signs again after it, and the signing spans are at least 2M apart.
func storeDown(t *testing.T, newStore func() Store, down, up func()) {
	t.Helper()
	tm := Timing{TTL: 3 * time.Second, Margin: time.Second}
	var mu sync.Mutex
	var spans []span
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	nodes := map[string]*fakeNode{}
	for _, name := range []string{"a", "b"} {
		n := &fakeNode{spans: &spans, name: name}
		nodes[name] = n
		w := &Watch{}
		w.since = time.Now().Add(-time.Hour) // a quiet chain, watched for long
		a := &Agent{Name: name, Store: newStore(), Timing: tm, Node: &lockedNode{n, &mu}, Watch: w, Log: log}
		wg.Add(1)
		go func() { defer wg.Done(); a.Run(ctx) }()
	}
	active := func() string {
		for name, n := range nodes {
			if n.Authority() {
				return name
			}
		}
		return ""
	}
	testenv.Eventually(t, 10*time.Second, "one node signs", func() bool { return active() != "" })
	first := active()

	down()
	stopped := time.Now()
	testenv.Eventually(t, tm.TTL, "the active fences without its store", func() bool { return active() == "" })
	if took := time.Since(stopped); took > tm.TTL-tm.Margin+200*time.Millisecond {
		t.Errorf("fenced %s after the store went down, want <= TTL-M", took)
	}
	time.Sleep(2 * tm.TTL) // the thing under test: nobody signs through an outage longer than the TTL
	if a := active(); a != "" {
		t.Fatalf("%s signs while the store is down", a)
	}
	up()
	testenv.Eventually(t, 4*tm.TTL, "a node signs again once the store is back", func() bool { return active() != "" })
	t.Logf("first %s, then %s", first, active())
	cancel()
	wg.Wait()

	mu.Lock()
	defer mu.Unlock()
	for i := 1; i < len(spans); i++ {
		if gap := spans[i].start.Sub(spans[i-1].end); gap < 2*tm.Margin {
			t.Errorf("span %d (%s) starts %s after span %d (%s) ended, want >= 2M", i, spans[i].node, gap, i-1, spans[i-1].node)
		}
	}
	if len(spans) < 2 {
		t.Errorf("spans %v: want one before and one after the outage", spans)
	}
}

// lockedNode serialises the fake nodes' span records.
type lockedNode struct {
	*fakeNode
	mu *sync.Mutex
}

func (l *lockedNode) Fence(r string) { l.mu.Lock(); defer l.mu.Unlock(); l.fakeNode.Fence(r) }
func (l *lockedNode) Promote()       { l.mu.Lock(); defer l.mu.Unlock(); l.fakeNode.Promote() }
