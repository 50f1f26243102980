package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/dinfra/stack/internal/ledger/wire"
)

// award picks the provider for a new subscription: among the unpaused providers serving
// the type, those asking at most the maximum price, and of those the ones with enough
// free units, chosen by the strategy. The reason for a rejection is the first filter that
// left nobody.
func (x *execCtx) award(m *wire.MsgSubscribe, strategy string, id uint64) (*provider, error) {
	var serving, affordable, fit []*provider
	var cheapest wire.Amount
	var mostFree uint64
	iteratePrefix(x.st.kv, provByTypePrefix(m.DescriptorType), func(k, _ []byte) bool {
		p, ok := x.st.provider(accountID(k[len(k)-len(accountID{}):]))
		if !ok || p.Paused {
			return true
		}
		serving = append(serving, p)
		if cheapest == 0 || p.PricePerUnit < cheapest {
			cheapest = p.PricePerUnit
		}
		if p.PricePerUnit > m.MaxPricePerUnit {
			return true
		}
		affordable = append(affordable, p)
		free := p.Capacity - p.Reserved
		mostFree = max(mostFree, free)
		if free >= m.Units {
			fit = append(fit, p)
		}
		return true
	})
	const f = "msg.subscribe"
	switch {
	case len(serving) == 0:
		return nil, wire.Reject(wire.CodeNoProvider, f+".descriptor_type", "no active provider serves %s", m.DescriptorType)
	case len(affordable) == 0:
		return nil, wire.Reject(wire.CodePriceAboveMax, f+".max_price_per_unit", "every provider of %s asks more than %s per unit (cheapest: %s)", m.DescriptorType, m.MaxPricePerUnit, cheapest)
	case len(fit) == 0:
		return nil, wire.Reject(wire.CodeNoCapacity, f+".units", "no provider of %s at or below %s per unit has %d units free (most free: %d)", m.DescriptorType, m.MaxPricePerUnit, m.Units, mostFree)
	}
	var pick *provider
	switch strategy {
	case wire.StrategyCapacity:
		pick = fit[0]
		for _, c := range fit[1:] {
			if c.Capacity-c.Reserved > pick.Capacity-pick.Reserved {
				pick = c
			}
		}
	case wire.StrategyRandom:
		seed := sha256.Sum256(append(append([]byte("dinfra/award/"), x.blockHash...), be64(id)...))
		pick = fit[binary.BigEndian.Uint64(seed[:8])%uint64(len(fit))]
	case wire.StrategyRoundRobin:
		// The first fitting provider after the one awarded last for this type, in key order.
		cursorKey := metaKey(metaRoundRobin + m.DescriptorType)
		last := x.st.kv.Get(cursorKey)
		pick = fit[0]
		for _, c := range fit {
			if string(c.Account[:]) > string(last) {
				pick = c
				break
			}
		}
		x.st.kv.Set(cursorKey, bytes.Clone(pick.Account[:]))
	default:
		panic(fmt.Sprintf("ledger: unknown strategy %q", strategy))
	}
	return pick, nil
}
