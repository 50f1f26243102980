// Package reactortest holds an in-memory reactor Driver for tests of the reactor framework
// and its clients (the watcher). The reference drivers (local, kubernetes) are tested
// against real infrastructure in their own packages.
package reactortest

import (
	"context"
	"errors"
	"maps"
	"sync"
	"time"

	"github.com/ipfs/go-cid"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
)

// Driver records what it runs. Deploy blocks while held (Hold, Release) and fails for the
// descriptors given to FailDeploysOf; Teardown fails FailTeardowns times first.
type Driver struct {
	mu            sync.Mutex
	running       map[string]string // id -> CID
	deploys       int
	teardowns     int
	deployedAt    map[string]time.Time
	gate          chan struct{}
	failTeardowns int
	failing       map[string]bool // descriptor CIDs whose deploys fail
	capacity      int64
}

// NewDriver returns a driver with capacity units whose deploys complete at once.
func NewDriver(capacity int64) *Driver {
	g := make(chan struct{})
	close(g)
	return &Driver{running: map[string]string{}, deployedAt: map[string]time.Time{}, gate: g, failing: map[string]bool{}, capacity: capacity}
}

// Hold makes deploys wait until Release.
func (m *Driver) Hold() { m.mu.Lock(); m.gate = make(chan struct{}); m.mu.Unlock() }

// Release lets held deploys complete.
func (m *Driver) Release() { m.mu.Lock(); close(m.gate); m.mu.Unlock() }

// FailTeardowns makes the next n teardowns fail.
func (m *Driver) FailTeardowns(n int) { m.mu.Lock(); m.failTeardowns = n; m.mu.Unlock() }

// FailDeploysOf makes every deploy of the descriptor with CID c fail.
func (m *Driver) FailDeploysOf(c cid.Cid) { m.mu.Lock(); m.failing[c.String()] = true; m.mu.Unlock() }

func (m *Driver) Name() string { return "memory" }
func (m *Driver) Types() []string {
	return []string{descriptor.TypeCloudInit, descriptor.TypeSubstrateNetwork}
}
func (m *Driver) Capacity() int64 { return m.capacity }

// Deploy records the deployment once the gate opens.
func (m *Driver) Deploy(ctx context.Context, d reactor.Deployment) ([]api.Endpoint, error) {
	m.mu.Lock()
	m.deploys++
	if _, ok := m.deployedAt[d.ID]; !ok {
		m.deployedAt[d.ID] = time.Now()
	}
	gate := m.gate
	m.mu.Unlock()
	select {
	case <-gate:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failing[d.CID.String()] {
		return nil, errors.New("no host has room for it")
	}
	m.running[d.ID] = d.CID.String()
	return []api.Endpoint{{Name: "main", Url: "ssh://" + d.ID + ".example"}}, nil
}

// Teardown forgets the deployment.
func (m *Driver) Teardown(_ context.Context, id string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.failTeardowns > 0 {
		m.failTeardowns--
		return errors.New("infrastructure unavailable")
	}
	m.teardowns++
	delete(m.running, id)
	return nil
}

// Running returns the running deployments (id -> CID).
func (m *Driver) Running() map[string]string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return maps.Clone(m.running)
}

// Calls counts Deploy and successful Teardown calls.
func (m *Driver) Calls() (deploys, teardowns int) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.deploys, m.teardowns
}

// FirstDeployCall is when Deploy was first called for id.
func (m *Driver) FirstDeployCall(id string) (time.Time, bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	t, ok := m.deployedAt[id]
	return t, ok
}
