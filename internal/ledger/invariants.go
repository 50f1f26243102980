package ledger

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"maps"
	"slices"

	"github.com/dinfra/stack/internal/ledger/wire"
)

// CheckInvariants verifies, over the whole committed state, the properties the runtime
// must never break. It reads everything, so it is for tests and offline checks:
//
//   - total issuance is conserved: free balances + what is left of live deposits +
//     providers' accrued earnings + type deposits equal the genesis total;
//   - every provider's reserved units equal the units of its live subscriptions and never
//     exceed its capacity, and its rate is the sum of its active subscriptions' prices;
//   - every live subscription is awarded to exactly one existing provider and appears once
//     in the live set and once in the expiry index, at its expiry height, which is in the
//     future; ended ones appear in neither (so their capacity was released);
//   - the incremental state sum equals one recomputed from scratch.
func (l *Ledger) CheckInvariants() error {
	st := store{l.committed}
	h := l.height
	var total uint64
	var sum stateSum
	var errs []error
	fail := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	reserved := map[accountID]uint64{}
	rate := map[accountID]uint64{}
	live := map[uint64]bool{}
	expiry := map[uint64]int64{}
	liveByProv := map[uint64]accountID{}
	providers := map[accountID]*provider{}
	var liveSubs []*subscription
	addr := func(a accountID) string { return a.address(l.params.SS58Prefix) }

	l.committed.Iterate(nil, nil, func(k, v []byte) bool {
		if isStateKey(k) {
			sum.add(entryHash(k, v))
		}
		switch k[0] {
		case pAccount:
			var a Account
			st.decode(k, v, &a)
			total += uint64(a.Balance)
		case pType:
			var t descriptorType
			st.decode(k, v, &t)
			total += uint64(t.Deposit)
		case pProvider:
			var p provider
			st.decode(k, v, &p)
			if p.Account != accountID(k[1:]) {
				fail("provider stored under %s names %s", addr(accountID(k[1:])), addr(p.Account))
			}
			providers[p.Account] = &p
			if h > p.EarnedAt {
				total += uint64(p.Rate) * uint64(h-p.EarnedAt)
			}
		case pSub:
			var s subscription
			st.decode(k, v, &s)
			if s.Live() {
				total += uint64(s.Deposit - owed(&s, h))
				reserved[s.Provider] += s.Units
				if s.State == wire.StateActive {
					rate[s.Provider] += uint64(s.PricePerBlock)
				}
				liveSubs = append(liveSubs, &s)
			} else if s.Deposit != 0 {
				fail("ended subscription %d still holds a deposit of %s", s.ID, s.Deposit)
			}
		case pLive:
			id := binary.BigEndian.Uint64(k[1:])
			if live[id] {
				fail("subscription %d twice in the live set", id)
			}
			live[id] = true
		case pLiveByProv:
			liveByProv[binary.BigEndian.Uint64(k[33:])] = accountID(k[1:33])
		case pExpiry:
			id := binary.BigEndian.Uint64(k[9:])
			if _, dup := expiry[id]; dup {
				fail("subscription %d twice in the expiry index", id)
			}
			expiry[id] = int64(binary.BigEndian.Uint64(k[1:9]))
		}
		return true
	})

	if want := st.metaUint(metaIssuance); total != want {
		fail("issuance: state holds %d, genesis issued %d", total, want)
	}
	if n := st.metaUint(metaLiveCount); n != uint64(len(liveSubs)) {
		fail("live count meta %d, but %d live subscriptions", n, len(liveSubs))
	}
	if len(live) != len(liveSubs) || len(expiry) != len(liveSubs) || len(liveByProv) != len(liveSubs) {
		fail("%d live subscriptions, %d in the live set, %d in the expiry index, %d in provider live indexes", len(liveSubs), len(live), len(expiry), len(liveByProv))
	}
	for _, s := range liveSubs {
		if !live[s.ID] {
			fail("live subscription %d missing from the live set", s.ID)
		}
		if e, ok := expiry[s.ID]; !ok || e != s.ExpiresAt || e <= h {
			fail("subscription %d expires at %d, index says %d (ok=%v), height %d", s.ID, s.ExpiresAt, e, ok, h)
		}
		if liveByProv[s.ID] != s.Provider {
			fail("live subscription %d is in provider %s's live index, want %s", s.ID, addr(liveByProv[s.ID]), addr(s.Provider))
		}
		if _, ok := providers[s.Provider]; !ok {
			fail("subscription %d awarded to missing provider %s", s.ID, addr(s.Provider))
		}
		if s.State == wire.StateActive && s.ExpiresAt != s.SettledAt+int64(uint64(s.Deposit)/uint64(s.PricePerBlock)) {
			fail("subscription %d expiry %d does not match its deposit", s.ID, s.ExpiresAt)
		}
	}
	for _, a := range slices.SortedFunc(maps.Keys(providers), func(a, b accountID) int { return bytes.Compare(a[:], b[:]) }) {
		p := providers[a]
		if p.Reserved != reserved[a] {
			fail("provider %s reserves %d units, its live subscriptions hold %d", addr(a), p.Reserved, reserved[a])
		}
		if p.Reserved > p.Capacity {
			fail("provider %s reserves %d units over its capacity %d", addr(a), p.Reserved, p.Capacity)
		}
		if uint64(p.Rate) != rate[a] {
			fail("provider %s rate %d, active subscriptions pay %d", addr(a), p.Rate, rate[a])
		}
		for _, t := range p.Types {
			if l.committed.Get(provByTypeKey(t, a)) == nil {
				fail("provider %s missing from the index of type %s", addr(a), t)
			}
		}
	}
	if !bytes.Equal(sum.bytes(), l.sum.bytes()) {
		fail("state sum %x, recomputed %x", l.sum.bytes(), sum.bytes())
	}
	if len(errs) > 0 {
		return fmt.Errorf("ledger invariants at height %d: %w", h, joinErrs(errs))
	}
	return nil
}

func joinErrs(errs []error) error {
	if len(errs) > 5 {
		errs = append(errs[:5], fmt.Errorf("and %d more", len(errs)-5))
	}
	msg := ""
	for i, e := range errs {
		if i > 0 {
			msg += "; "
		}
		msg += e.Error()
	}
	return fmt.Errorf("%s", msg)
}
