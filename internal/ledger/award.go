package ledger

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"

	"github.com/dinfra/stack/internal/ledger/wire"
)

type candidate struct {
	pub []byte
	p   *wire.Provider
}

// award picks the provider for a new subscription: among the unpaused providers serving
// the type, those asking at most the maximum price, and of those the ones with enough
// free units, chosen by the strategy. The reason for a rejection is the first filter that
// left nobody.
func (x *execCtx) award(m *wire.MsgSubscribe, strategy string, id uint64) ([]byte, *wire.Provider, error) {
	var serving, affordable, fit []candidate
	var cheapest wire.Amount
	var mostFree uint64
	iteratePrefix(x.st.kv, provByTypePrefix(m.DescriptorType), func(k, _ []byte) bool {
		pub := k[len(k)-32:]
		p, ok := x.st.provider(pub)
		if !ok || p.Paused {
			return true
		}
		c := candidate{pub: append([]byte(nil), pub...), p: p}
		serving = append(serving, c)
		if cheapest == 0 || p.PricePerUnit < cheapest {
			cheapest = p.PricePerUnit
		}
		if p.PricePerUnit > m.MaxPricePerUnit {
			return true
		}
		affordable = append(affordable, c)
		free := p.Capacity - p.Reserved
		mostFree = max(mostFree, free)
		if free >= m.Units {
			fit = append(fit, c)
		}
		return true
	})
	const f = "msg.subscribe"
	switch {
	case len(serving) == 0:
		return nil, nil, wire.Reject(wire.CodeNoProvider, f+".descriptor_type", "no active provider serves %s", m.DescriptorType)
	case len(affordable) == 0:
		return nil, nil, wire.Reject(wire.CodePriceAboveMax, f+".max_price_per_unit", "every provider of %s asks more than %s per unit (cheapest: %s)", m.DescriptorType, m.MaxPricePerUnit, cheapest)
	case len(fit) == 0:
		return nil, nil, wire.Reject(wire.CodeNoCapacity, f+".units", "no provider of %s at or below %s per unit has %d units free (most free: %d)", m.DescriptorType, m.MaxPricePerUnit, m.Units, mostFree)
	}
	var pick candidate
	switch strategy {
	case wire.StrategyCapacity:
		pick = fit[0]
		for _, c := range fit[1:] {
			if c.p.Capacity-c.p.Reserved > pick.p.Capacity-pick.p.Reserved {
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
			if string(c.pub) > string(last) {
				pick = c
				break
			}
		}
		x.st.kv.Set(cursorKey, pick.pub)
	default:
		panic(fmt.Sprintf("ledger: unknown strategy %q", strategy))
	}
	return pick.pub, pick.p, nil
}
