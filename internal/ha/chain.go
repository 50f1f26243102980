package ha

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/centrifuge/go-substrate-rpc-client/v4/scale"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types"
	"github.com/centrifuge/go-substrate-rpc-client/v4/types/codec"
	"github.com/centrifuge/go-substrate-rpc-client/v4/xxhash"

	"github.com/dinfra/stack/internal/rpc"
)

// babeEngine is "BABE" as the u32 ConsensusEngineID of a pre-runtime digest.
var babeEngine = types.ConsensusEngineID(0x45424142)

// Authored is who signed a block and for which slot, from its BABE pre-runtime digest.
type Authored struct {
	Slot      uint64
	Authority uint32 // index into the epoch's BABE authorities
}

// babePreDigest is the common head of every BABE PreDigest variant (primary, secondary
// plain, secondary VRF): a variant byte, the authority index and the slot.
type babePreDigest struct {
	Variant   uint8
	Authority uint32
	Slot      uint64
}

// Author reads a header's BABE pre-runtime digest; ok is false when the block has none
// (genesis, or not a BABE chain).
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
		if !item.IsPreRuntime || item.AsPreRuntime.ConsensusEngineID != babeEngine {
			continue
		}
		var p babePreDigest
		dec := scale.NewDecoder(bytes.NewReader(item.AsPreRuntime.Bytes))
		if err := dec.Decode(&p.Variant); err == nil {
			if err = dec.Decode(&p.Authority); err == nil {
				err = dec.Decode(&p.Slot)
			}
			if err != nil {
				return a, false, fmt.Errorf("block #%d BABE pre-digest: %w", h.Number, err)
			}
		}
		if p.Variant < 1 || p.Variant > 3 {
			return a, false, fmt.Errorf("block #%d BABE pre-digest: unknown variant %d", h.Number, p.Variant)
		}
		return Authored{Slot: p.Slot, Authority: p.Authority}, true, nil
	}
	return a, false, nil
}

// babeAuthoritiesKey is the storage key of Babe.Authorities: twox128("Babe") ++
// twox128("Authorities").
var babeAuthoritiesKey = "0x" + fmt.Sprintf("%x%x", xxhash.New128([]byte("Babe")).Sum(nil), xxhash.New128([]byte("Authorities")).Sum(nil))

type babeAuthority struct {
	Key    [32]byte
	Weight uint64
}

// Authorities reads the BABE authorities (sr25519 public keys) at a block.
func Authorities(ctx context.Context, c *rpc.Client, block string) ([][32]byte, error) {
	var raw *string
	if err := c.Call(ctx, &raw, "state_getStorage", babeAuthoritiesKey, block); err != nil {
		return nil, err
	}
	if raw == nil {
		return nil, errors.New("no Babe.Authorities in state")
	}
	var list []babeAuthority
	if err := codec.DecodeFromHex(*raw, &list); err != nil {
		return nil, fmt.Errorf("Babe.Authorities: %w", err)
	}
	out := make([][32]byte, len(list))
	for i, a := range list {
		out[i] = a.Key
	}
	return out, nil
}

// SlotDuration reads the chain's BABE slot duration (BabeApi_configuration).
func SlotDuration(ctx context.Context, c *rpc.Client) (time.Duration, error) {
	var raw string
	if err := c.Call(ctx, &raw, "state_call", "BabeApi_configuration", "0x"); err != nil {
		return 0, err
	}
	var ms uint64 // the configuration's first field
	b, err := codec.HexDecodeString(raw)
	if err == nil {
		err = codec.Decode(b[:min(len(b), 8)], &ms)
	}
	if err != nil || ms == 0 {
		return 0, fmt.Errorf("BabeApi_configuration %q: slot duration not readable (%v)", raw, err)
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
	Identity [32]byte // the identity's BABE (sr25519) public key
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
				if err := call(func(ctx context.Context) (err error) { auths, err = Authorities(ctx, c, h.ParentHash); return }); err != nil {
					return err
				}
				if int(a.Authority) < len(auths) && auths[a.Authority] == w.Identity {
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
