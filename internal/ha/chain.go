package ha

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"time"

	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"
	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"

	"github.com/dinfra/stack/internal/rpc"
)

// The consensus engine ids of the pre-runtime digests that name a block's slot, as the u32
// (little endian) ConsensusEngineID: "BABE" (relay chains, gossamer) and "aura" (Cumulus
// parachains' collators, Aura solochains).
var (
	babeEngine = types.ConsensusEngineID(0x45424142)
	auraEngine = types.ConsensusEngineID(0x61727561)
)

// Engine is the slot-based consensus a block was authored with.
type Engine string

const (
	Babe Engine = "BABE"
	Aura Engine = "aura"
)

// Authored is who signed a block and for which slot, from its pre-runtime digest.
type Authored struct {
	Engine Engine
	Slot   uint64
	// Authority is the index into the epoch's BABE authorities, from the BABE pre-digest.
	// Aura's pre-digest holds the slot only: its author is authority slot % len(authorities)
	// (Index).
	Authority uint32
}

// Index is the author's index into the block's authorities (n of them, read at its parent).
func (a Authored) Index(n int) int {
	if a.Engine == Aura {
		if n == 0 {
			return -1
		}
		return int(a.Slot % uint64(n))
	}
	return int(a.Authority)
}

// babePreDigest is the common head of every BABE PreDigest variant (primary, secondary
// plain, secondary VRF): a variant byte, the authority index and the slot.
type babePreDigest struct {
	Variant   uint8
	Authority uint32
	Slot      uint64
}

// Author reads a header's BABE or Aura pre-runtime digest; ok is false when the block has
// none (genesis, or another consensus).
func Author(h *rpc.Header) (a Authored, ok bool, err error) {
	var d struct {
		Logs []string `json:"logs"`
	}
	if len(h.Digest) > 0 {
		if err := json.Unmarshal(h.Digest, &d); err != nil {
			return a, false, fmt.Errorf("block #%d digest: %w", h.Number, err)
		}
	}
	for _, l := range d.Logs {
		var item types.DigestItem
		if err := codec.DecodeFromHex(l, &item); err != nil {
			return a, false, fmt.Errorf("block #%d digest item: %w", h.Number, err)
		}
		if !item.IsPreRuntime {
			continue
		}
		switch item.AsPreRuntime.ConsensusEngineID {
		case babeEngine:
			a, err = babeAuthor(item.AsPreRuntime.Bytes)
		case auraEngine:
			// Aura's PreDigest is the slot alone (sp_consensus_aura::digests: Slot, a u64).
			a.Engine = Aura
			err = codec.Decode(item.AsPreRuntime.Bytes, &a.Slot)
			if err == nil && len(item.AsPreRuntime.Bytes) != 8 {
				err = fmt.Errorf("%d bytes, want 8", len(item.AsPreRuntime.Bytes))
			}
		default:
			continue
		}
		if err != nil {
			return Authored{}, false, fmt.Errorf("block #%d %s pre-digest: %w", h.Number, a.Engine, err)
		}
		return a, true, nil
	}
	return a, false, nil
}

func babeAuthor(b []byte) (Authored, error) {
	var p babePreDigest
	dec := scale.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&p.Variant); err == nil {
		if err = dec.Decode(&p.Authority); err == nil {
			err = dec.Decode(&p.Slot)
		}
		if err != nil {
			return Authored{Engine: Babe}, err
		}
	}
	if p.Variant < 1 || p.Variant > 3 {
		return Authored{Engine: Babe}, fmt.Errorf("unknown variant %d", p.Variant)
	}
	return Authored{Engine: Babe, Slot: p.Slot, Authority: p.Authority}, nil
}

// storageKey is the key of a storage value: twox128(pallet) ++ twox128(item).
func storageKey(pallet, item string) string {
	return "0x" + fmt.Sprintf("%x%x", xxhash.New128([]byte(pallet)).Sum(nil), xxhash.New128([]byte(item)).Sum(nil))
}

var (
	babeAuthoritiesKey = storageKey("Babe", "Authorities") // Vec<(sr25519 public, weight u64)>
	auraAuthoritiesKey = storageKey("Aura", "Authorities") // BoundedVec<sr25519 public>
)

type babeAuthority struct {
	Key    [32]byte
	Weight uint64
}

// Authorities reads the engine's authorities (sr25519 public keys) at a block.
func Authorities(ctx context.Context, c *rpc.Client, e Engine, block string) ([][32]byte, error) {
	key := babeAuthoritiesKey
	if e == Aura {
		key = auraAuthoritiesKey
	}
	var raw *string
	if err := c.Call(ctx, &raw, "state_getStorage", key, block); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, fmt.Errorf("no %s authorities in state", e)
	}
	return decodeAuthorities(e, *raw)
}

func decodeAuthorities(e Engine, raw string) ([][32]byte, error) {
	if e == Aura {
		var list [][32]byte
		if err := codec.DecodeFromHex(raw, &list); err != nil {
			return nil, fmt.Errorf("Aura.Authorities: %w", err)
		}
		return list, nil
	}
	var list []babeAuthority
	if err := codec.DecodeFromHex(raw, &list); err != nil {
		return nil, fmt.Errorf("Babe.Authorities: %w", err)
	}
	out := make([][32]byte, len(list))
	for i, a := range list {
		out[i] = a.Key
	}
	return out, nil
}

// SlotDuration reads the chain's slot duration: BABE's (BabeApi_configuration, whose first
// field it is) or, on a chain without BABE, Aura's (AuraApi_slot_duration).
func SlotDuration(ctx context.Context, c *rpc.Client) (time.Duration, error) {
	var raw string
	err := c.Call(ctx, &raw, "state_call", "BabeApi_configuration", "0x")
	api := "BabeApi_configuration"
	if err != nil {
		api = "AuraApi_slot_duration"
		if aerr := c.Call(ctx, &raw, "state_call", api, "0x"); aerr != nil {
			return 0, fmt.Errorf("neither BABE (%v) nor Aura (%v)", err, aerr)
		}
	}
	var ms uint64
	b, err := codec.HexDecodeString(raw)
	if err == nil {
		err = codec.Decode(b[:min(len(b), 8)], &ms)
	}
	if err != nil || ms == 0 {
		return 0, fmt.Errorf("%s %q: slot duration not readable (%v)", api, raw, err)
	}
	return time.Duration(ms) * time.Millisecond, nil
}

// SlotEnd is when a BABE slot ends: slots count slot durations since the Unix epoch.
func SlotEnd(slot uint64, d time.Duration) time.Time {
	return time.UnixMilli(int64(slot+1) * d.Milliseconds())
}

// Watch follows one node's chain over its own loopback RPC and remembers when the identity
// last authored a block. It never talks to any other node.
type Watch struct {
	Endpoint string
	Identity [32]byte // the identity's BABE or Aura (sr25519) public key
	Poll     time.Duration

	mu       sync.Mutex
	since    time.Time // following the chain since; zero while the node does not answer
	authored time.Time
}

// State is since when the chain has been followed (zero: not now) and the latest time the
// identity's newest block seen could have been signed.
func (w *Watch) State() (since, lastAuthored time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.since, w.authored
}

// Run follows the chain until ctx ends.
func (w *Watch) Run(ctx context.Context) {
	seen := map[string]bool{}
	for ctx.Err() == nil {
		err := w.follow(ctx, seen)
		w.mu.Lock()
		w.since = time.Time{}
		w.mu.Unlock()
		if ctx.Err() == nil && err != nil {
			sleep(ctx, w.Poll)
		}
	}
}

func (w *Watch) follow(ctx context.Context, seen map[string]bool) error {
	c, err := rpc.Dial(ctx, w.Endpoint)
	if err != nil {
		return err
	}
	defer c.Close()
	call := func(f func(context.Context) error) error {
		cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		return f(cctx)
	}
	var slot time.Duration
	if err := call(func(ctx context.Context) (err error) { slot, err = SlotDuration(ctx, c); return }); err != nil {
		return err
	}
	for ctx.Err() == nil {
		var hash string
		if err := call(func(ctx context.Context) error { return c.Call(ctx, &hash, "chain_getBlockHash") }); err != nil {
			return err
		}
		// Walk back from the best block to the last one seen (a few blocks at most), so a
		// re-org's new branch is read too.
		// A block that arrives now may have been signed now, whatever its slot says; blocks of
		// the first walk are history, dated by their slots.
		now, history := time.Now(), len(seen) == 0
		for depth := 0; hash != "" && !seen[hash] && depth < 64; depth++ {
			var h *rpc.Header
			if err := call(func(ctx context.Context) (err error) { h, err = c.Header(ctx, hash); return }); err != nil {
				return err
			}
			if len(seen) > 4096 {
				clear(seen)
			}
			seen[hash] = true
			if a, ok, err := Author(h); err == nil && ok {
				var auths [][32]byte
				if err := call(func(ctx context.Context) (err error) {
					auths, err = Authorities(ctx, c, a.Engine, h.ParentHash)
					return
				}); err != nil {
					return err
				}
				if i := a.Index(len(auths)); i >= 0 && i < len(auths) && auths[i] == w.Identity {
					at := SlotEnd(a.Slot, slot)
					if !history {
						at = maxTime(at, now)
					}
					w.noteAuthored(at)
				}
			}
			hash = h.ParentHash
			if h.Number == 0 {
				break
			}
		}
		w.mu.Lock()
		if w.since.IsZero() {
			w.since = now
		}
		w.mu.Unlock()
		sleep(ctx, w.Poll)
	}
	return nil
}

func (w *Watch) noteAuthored(t time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.authored = maxTime(w.authored, t)
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func sleep(ctx context.Context, d time.Duration) {
	select {
	case <-ctx.Done():
	case <-time.After(d):
	}
}
