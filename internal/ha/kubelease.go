package ha

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	coordinationv1 "k8s.io/api/coordination/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	coordclient "k8s.io/client-go/kubernetes/typed/coordination/v1"
)

// KubeLease is one identity's lease as a Kubernetes coordination.k8s.io/v1 Lease, for
// cluster networks. The API server only stores the record; as in client-go's leader
// election, a candidate counts another holder's lease as expired only when it has seen the
// same resourceVersion for the whole lease duration on its own monotonic clock (never by
// comparing renewTime with its wall clock), and every write is a compare-and-swap on the
// resourceVersion it read, so two candidates never both take it.
type KubeLease struct {
	client   coordclient.LeasesGetter
	ns, name string

	mu     sync.Mutex
	holder string    // this candidate, once it asked for the lease
	seen   string    // the resourceVersion last observed while another node held it
	seenAt time.Time // when that version was first observed
}

// NewKubeLease is the Lease ns/name.
func NewKubeLease(c coordclient.LeasesGetter, ns, name string) *KubeLease {
	return &KubeLease{client: c, ns: ns, name: name}
}

// gone marks a Lease seen held and then found deleted.
const gone = "gone"

// SigningAnnotation on a Lease says whether its holder's node ran as the authority at the
// holder's last renewal ("true" or "false"), for `onf status`; candidates never decide by it.
const SigningAnnotation = "onf.dinfra.dev/signing"

// setSigning records signing on l's annotations.
func setSigning(l *coordinationv1.Lease, signing bool) {
	if l.Annotations == nil {
		l.Annotations = map[string]string{}
	}
	l.Annotations[SigningAnnotation] = strconv.FormatBool(signing)
}

func (k *KubeLease) leases() coordclient.LeaseInterface { return k.client.Leases(k.ns) }

func (k *KubeLease) Acquire(ctx context.Context, holder string, ttl time.Duration) (Lease, error) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.holder = holder
	sent := time.Now()
	secs := int32(ttl / time.Second)
	now := metav1.NowMicro()
	l, err := k.leases().Get(ctx, k.name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		// A Lease seen held and then deleted may still have a signing holder (it notices at
		// its next renewal): count it held for a TTL from when it was found gone.
		if k.seen != "" {
			if k.seen != gone {
				k.seen, k.seenAt = gone, time.Now()
			}
			if time.Since(k.seenAt) < ttl {
				return Lease{}, ErrHeld
			}
		}
		l = &coordinationv1.Lease{ObjectMeta: metav1.ObjectMeta{Name: k.name, Namespace: k.ns}}
	case err != nil:
		return Lease{}, err
	default:
		// Any holder, this candidate's name included (a restarted agent of the same pod
		// name cannot know whether its old node still signs), holds until its record has
		// stood still for the lease duration.
		if cur := l.Spec.HolderIdentity; cur != nil && *cur != "" {
			if l.ResourceVersion != k.seen {
				k.seen, k.seenAt = l.ResourceVersion, time.Now()
			}
			if time.Since(k.seenAt) < leaseDuration(l, ttl) {
				return Lease{}, ErrHeld
			}
		}
	}
	transitions := int32(0)
	if l.Spec.LeaseTransitions != nil {
		transitions = *l.Spec.LeaseTransitions + 1
	}
	l.Spec = coordinationv1.LeaseSpec{HolderIdentity: &holder, LeaseDurationSeconds: &secs,
		AcquireTime: &now, RenewTime: &now, LeaseTransitions: &transitions}
	setSigning(l, false) // a new holder has not promoted its node yet
	if l.ResourceVersion == "" {
		_, err = k.leases().Create(ctx, l, metav1.CreateOptions{})
	} else {
		_, err = k.leases().Update(ctx, l, metav1.UpdateOptions{}) // fails if it changed since the read
	}
	if apierrors.IsAlreadyExists(err) || apierrors.IsConflict(err) {
		return Lease{}, ErrHeld
	}
	if err != nil {
		return Lease{}, err
	}
	return Lease{ID: sent.UnixNano(), Acquired: time.Now(), Renewed: sent, TTL: time.Duration(secs) * time.Second}, nil
}

// Renew moves renewTime on, but only on a record this candidate still holds: one another
// candidate took (or that was deleted) is lost.
func (k *KubeLease) Renew(ctx context.Context, l Lease) (Lease, error) {
	sent := time.Now()
	cur, err := k.mine(ctx)
	if err != nil {
		return l, err
	}
	now := metav1.NowMicro()
	cur.Spec.RenewTime = &now
	setSigning(cur, l.Signing)
	if _, err := k.leases().Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
		return l, err // a conflict is retried: the next read says whether it is still ours
	}
	l.Renewed = sent
	return l, nil
}

// Release empties the holder of a Lease this candidate still holds, so a standby need not
// wait for it to expire.
func (k *KubeLease) Release(ctx context.Context, _ Lease) error {
	cur, err := k.mine(ctx)
	if err != nil {
		return err
	}
	cur.Spec.HolderIdentity = nil
	setSigning(cur, false)
	_, err = k.leases().Update(ctx, cur, metav1.UpdateOptions{})
	return err
}

// mine reads the Lease: ErrLost when another candidate holds it or it is gone.
func (k *KubeLease) mine(ctx context.Context) (*coordinationv1.Lease, error) {
	k.mu.Lock()
	holder := k.holder
	k.mu.Unlock()
	cur, err := k.leases().Get(ctx, k.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, ErrLost
	}
	if err != nil {
		return nil, err
	}
	if h := cur.Spec.HolderIdentity; h == nil || *h != holder {
		return nil, ErrLost
	}
	return cur, nil
}

// Holder reads the Lease for `onf status`: Left is from renewTime on this machine's wall
// clock, for display only (candidates never decide by it).
func (k *KubeLease) Holder(ctx context.Context) (Holding, error) {
	l, err := k.leases().Get(ctx, k.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return Holding{}, nil
	}
	if err != nil {
		return Holding{}, fmt.Errorf("lease %s/%s: %w", k.ns, k.name, err)
	}
	return HoldingOf(l), nil
}

// HoldingOf is what a Lease read for `onf status` says (see Holder).
func HoldingOf(l *coordinationv1.Lease) Holding {
	var h Holding
	if l.Spec.HolderIdentity != nil {
		h.Holder = *l.Spec.HolderIdentity
	}
	if h.Holder != "" && l.Spec.RenewTime != nil {
		h.Left = max(time.Until(l.Spec.RenewTime.Add(leaseDuration(l, 0))), 0)
	}
	h.Signing = h.Holder != "" && h.Left > 0 && l.Annotations[SigningAnnotation] == "true"
	return h
}

// leaseDuration is the Lease's own duration, or otherwise (a record not written by an agent).
func leaseDuration(l *coordinationv1.Lease, otherwise time.Duration) time.Duration {
	if l.Spec.LeaseDurationSeconds == nil {
		return otherwise
	}
	return time.Duration(*l.Spec.LeaseDurationSeconds) * time.Second
}
