package ha

import (
	"context"
	"errors"
	"fmt"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// ErrHeld: another node holds the lease.
var ErrHeld = errors.New("lease held by another node")

// ErrLost: the store no longer has this lease (it expired or was revoked).
var ErrLost = errors.New("lease lost")

// Lease is a lease this node took. Renewed is when the last renewal (or the grant) was sent,
// so the store's own expiry is never earlier than Renewed + TTL; Acquired is when the answer
// that the lease is ours arrived, so any earlier holder's lease had expired by then.
type Lease struct {
	ID       int64
	Acquired time.Time
	Renewed  time.Time
	TTL      time.Duration
	// Signing is whether the holder's node runs as the authority, as of this renewal: a
	// store that others read for status (a Kubernetes Lease) publishes it with the renewal.
	Signing bool
}

// Holding is who holds an identity's lease, as the store says, and how long it has left;
// Signing is whether the holder said at its last renewal that its node runs as the
// authority (stores that publish it: a Kubernetes Lease).
type Holding struct {
	Holder  string
	Left    time.Duration
	Signing bool
}

// Store is a lease store: etcd here, a Kubernetes Lease in clusters.
type Store interface {
	Acquire(ctx context.Context, holder string, ttl time.Duration) (Lease, error)
	Renew(ctx context.Context, l Lease) (Lease, error)
	Release(ctx context.Context, l Lease) error
	Holder(ctx context.Context) (Holding, error)
}

// Etcd is one identity's lease in etcd: a key put with an etcd lease only while the key does
// not exist, so it has one holder until that holder's lease expires or is revoked.
type Etcd struct {
	cli *clientv3.Client
	key string
}

// NewEtcdClient connects to etcd; calls time out on their context, so an etcd that is down
// makes each call fail in time rather than hang.
func NewEtcdClient(endpoints []string) (*clientv3.Client, error) {
	return clientv3.New(clientv3.Config{
		Endpoints: endpoints, DialTimeout: 2 * time.Second,
		DialKeepAliveTime: time.Second, DialKeepAliveTimeout: time.Second,
		Logger: zap.NewNop(),
	})
}

// NewEtcd is the lease of identity under prefix.
func NewEtcd(cli *clientv3.Client, prefix, identity string) *Etcd {
	return &Etcd{cli: cli, key: prefix + identity}
}

func (e *Etcd) Acquire(ctx context.Context, holder string, ttl time.Duration) (Lease, error) {
	sent := time.Now()
	g, err := e.cli.Grant(ctx, int64(ttl/time.Second))
	if err != nil {
		return Lease{}, err
	}
	r, err := e.cli.Txn(ctx).
		If(clientv3.Compare(clientv3.CreateRevision(e.key), "=", 0)).
		Then(clientv3.OpPut(e.key, holder, clientv3.WithLease(g.ID))).
		Commit()
	if err == nil && !r.Succeeded {
		err = ErrHeld
	}
	if err != nil {
		// The granted lease holds nothing; let it go (it expires anyway).
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		_, _ = e.cli.Revoke(rctx, g.ID)
		cancel()
		return Lease{}, err
	}
	return Lease{ID: int64(g.ID), Acquired: time.Now(), Renewed: sent, TTL: time.Duration(g.TTL) * time.Second}, nil
}

func (e *Etcd) Renew(ctx context.Context, l Lease) (Lease, error) {
	sent := time.Now()
	r, err := e.cli.KeepAliveOnce(ctx, clientv3.LeaseID(l.ID))
	if errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return l, ErrLost
	}
	if err != nil {
		return l, err
	}
	if r.TTL <= 0 {
		return l, ErrLost
	}
	l.Renewed, l.TTL = sent, time.Duration(r.TTL)*time.Second
	return l, nil
}

func (e *Etcd) Release(ctx context.Context, l Lease) error {
	_, err := e.cli.Revoke(ctx, clientv3.LeaseID(l.ID))
	return err
}

func (e *Etcd) Holder(ctx context.Context) (Holding, error) {
	r, err := e.cli.Get(ctx, e.key)
	if err != nil || len(r.Kvs) == 0 {
		return Holding{}, err
	}
	kv := r.Kvs[0]
	h := Holding{Holder: string(kv.Value)}
	t, err := e.cli.TimeToLive(ctx, clientv3.LeaseID(kv.Lease))
	if err != nil {
		return h, fmt.Errorf("lease of %s: %w", e.key, err)
	}
	h.Left = time.Duration(t.TTL) * time.Second
	return h, nil
}
