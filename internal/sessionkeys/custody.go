package sessionkeys

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/dinfra/stack/internal/keyring"
)

// Node is the node's own RPC (loopback, never a gateway): what custody asks of it.
type Node interface {
	InsertKey(ctx context.Context, keyType, suri, publicKey string) error
	HasSessionKeys(ctx context.Context, sessionKeys string) (bool, error)
}

// Custodian acts on one node's session keys: its keystore, its RPC and the chain.
type Custodian struct {
	Keystore Store
	Node     Node
	Chain    *Chain
	// Wait is how long Set waits for session.nextKeys to show the keys. Default: 2 minutes.
	Wait time.Duration
}

// Status is what custody knows about one node's keys; it holds public keys only.
type Status struct {
	Node      string `json:"node"`
	Validator string `json:"validator,omitempty"` // the stash account, SS58
	// NextKeys are the keys the chain expects from the next session on (session.nextKeys).
	NextKeys string `json:"nextKeys,omitempty"`
	// Holds: the node's keystore has every private key of NextKeys (author_hasSessionKeys).
	Holds bool `json:"holds"`
	// QueuedKeys are the keys queued at the last session change for the next session
	// (session.queuedKeys); HoldsQueued says whether the node holds them.
	QueuedKeys  string `json:"queuedKeys,omitempty"`
	HoldsQueued bool   `json:"holdsQueued,omitempty"`
	// Session is the chain's current session index when the keys were read: keys in NextKeys
	// are queued at the end of this session and used from the one after that.
	Session uint32 `json:"session"`
	// Pending are generated keys not yet confirmed on chain.
	Pending string `json:"pending,omitempty"`
	Result  string `json:"result"` // match, mismatch, unregistered
	Keys    Set    `json:"keys,omitempty"`
}

// Generate makes fresh keys for every session key type of the runtime, keeps them in the
// keystore as pending and inserts them into the node.
func (c *Custodian) Generate(ctx context.Context) (Set, error) {
	types, err := c.Chain.KeyTypes()
	if err != nil {
		return nil, err
	}
	set, err := c.Keystore.Generate(types)
	if err != nil {
		return nil, err
	}
	return set, c.Insert(ctx, set)
}

// Insert puts a set from the keystore into the node (again: inserting is idempotent) and
// checks that the node then holds all of it. A set the node holds already is left alone:
// its seeds may be the node's only.
func (c *Custodian) Insert(ctx context.Context, set Set) error {
	if ok, err := c.Node.HasSessionKeys(ctx, set.Encoded()); err == nil && ok {
		return nil
	}
	for _, k := range set {
		seed, err := c.Keystore.Seed(k)
		if err != nil {
			return err
		}
		if err := c.Node.InsertKey(ctx, k.Type, seed, k.Public); err != nil {
			return fmt.Errorf("author_insertKey %s %s: %w", k.Type, k.Public, err)
		}
	}
	return c.mustHold(ctx, set)
}

func (c *Custodian) mustHold(ctx context.Context, set Set) error {
	ok, err := c.Node.HasSessionKeys(ctx, set.Encoded())
	if err != nil {
		return fmt.Errorf("author_hasSessionKeys: %w", err)
	}
	if !ok {
		return fmt.Errorf("the node does not hold the keys %s: refusing to register them", set.Encoded())
	}
	return nil
}

// Set registers the set on chain for the controller's validator, unless session.nextKeys
// has it already, and waits until it does. It never registers keys the node does not hold.
func (c *Custodian) Set(ctx context.Context, controllerSURI string, set Set) error {
	if err := c.mustHold(ctx, set); err != nil {
		return err
	}
	stash, err := c.stashOf(controllerSURI)
	if err != nil {
		return err
	}
	want, _ := hex.DecodeString(strings.TrimPrefix(set.Encoded(), "0x"))
	if next, err := c.Chain.NextKeys(stash); err != nil {
		return err
	} else if bytes.Equal(next, want) {
		return c.Keystore.Confirm()
	}
	hash, err := c.Chain.SetKeys(ctx, controllerSURI, set)
	if err != nil {
		return err
	}
	wait := c.Wait
	if wait == 0 {
		wait = 2 * time.Minute
	}
	deadline := time.Now().Add(wait)
	for {
		next, err := c.Chain.NextKeys(stash)
		if err != nil {
			return err
		}
		if bytes.Equal(next, want) {
			return c.Keystore.Confirm()
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("session.nextKeys of %s does not show the keys %s %s after submitting %s: was the extrinsic applied (is the controller right)?",
				keyring.EncodeSS58(stash, keyring.SubstratePrefix), set.Encoded(), wait, hash)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// Rotate is Generate then Set, and finishes an earlier rotation that stopped half way: a
// pending set (generated, maybe inserted, not confirmed on chain) is inserted again and
// registered instead of generating another.
func (c *Custodian) Rotate(ctx context.Context, controllerSURI string) (Set, error) {
	set, err := c.Keystore.Pending()
	if err != nil {
		return nil, err
	}
	if set != nil {
		err = c.Insert(ctx, set)
		if errors.Is(err, ErrSeedGone) {
			// The node lost the pending keys (a restarted pod) and only it had their seeds:
			// they can never be registered, so make others.
			set, err = nil, nil
		}
		if err != nil {
			return nil, err
		}
	}
	if set == nil {
		if set, err = c.Generate(ctx); err != nil {
			return nil, err
		}
	}
	return set, c.Set(ctx, controllerSURI, set)
}

// Check compares the keys the chain expects from the validator (session.nextKeys, and the
// keys queued for the next session, session.queuedKeys) with what the node holds. The
// result is about nextKeys: queued keys are replaced by them at the session change.
func (c *Custodian) Check(ctx context.Context, stash []byte) (Status, error) {
	st := Status{Validator: keyring.EncodeSS58(stash, keyring.SubstratePrefix)}
	if p, err := c.Keystore.Pending(); err != nil {
		return st, err
	} else if p != nil {
		st.Pending = p.Encoded()
	}
	var err error
	if st.Session, err = c.Chain.Session(); err != nil {
		return st, err
	}
	queued, err := c.Chain.QueuedKeys(stash)
	if err != nil {
		return st, err
	}
	if len(queued) > 0 {
		st.QueuedKeys = "0x" + hex.EncodeToString(queued)
		if st.HoldsQueued, err = c.Node.HasSessionKeys(ctx, st.QueuedKeys); err != nil {
			return st, fmt.Errorf("author_hasSessionKeys: %w", err)
		}
	}
	next, err := c.Chain.NextKeys(stash)
	if err != nil {
		return st, err
	}
	if len(next) == 0 {
		st.Result = "unregistered"
		return st, nil
	}
	st.NextKeys = "0x" + hex.EncodeToString(next)
	if st.Holds, err = c.Node.HasSessionKeys(ctx, st.NextKeys); err != nil {
		return st, fmt.Errorf("author_hasSessionKeys: %w", err)
	}
	st.Result = "mismatch"
	if st.Holds {
		st.Result = "match"
	}
	return st, nil
}

// StashOf resolves a validator given as a controller secret URI or an SS58 address.
func (c *Custodian) StashOf(controllerSURI, address string) ([]byte, error) {
	if address != "" {
		pub, _, err := keyring.DecodeSS58(address)
		if err != nil {
			return nil, fmt.Errorf("--validator: %w", err)
		}
		return c.Chain.Stash(pub)
	}
	return c.stashOf(controllerSURI)
}

func (c *Custodian) stashOf(controllerSURI string) ([]byte, error) {
	pub, err := ControllerPublic(controllerSURI)
	if err != nil {
		return nil, err
	}
	return c.Chain.Stash(pub)
}

// Restore inserts every key of the keystore into the node again and returns how many: a
// node that keeps its keystore in memory (gossamer) forgets inserted keys when it restarts.
func Restore(ctx context.Context, ks Keystore, node Node) (int, error) {
	set, err := ks.All()
	if err != nil {
		return 0, err
	}
	for _, k := range set {
		seed, err := ks.Seed(k)
		if err != nil {
			return 0, err
		}
		if err := node.InsertKey(ctx, k.Type, seed, k.Public); err != nil {
			return 0, fmt.Errorf("author_insertKey %s %s: %w", k.Type, k.Public, err)
		}
	}
	return len(set), nil
}

// Migrate moves a validator to another node by rotating to fresh keys made on that node
// (to), then removing the old node's keystore: the two nodes never hold the same keys, and
// the chain expects the new node's keys from the next session on. The old node stops signing
// for the validator at that session change; retire or restart it after (docs/keys.md).
func Migrate(ctx context.Context, from Store, to *Custodian, controllerSURI string) (Set, error) {
	set, err := to.Rotate(ctx, controllerSURI)
	if err != nil {
		return nil, err
	}
	return set, from.Remove()
}
