package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/dinfra/stack/internal/ledger/wire"
)

// Query answers a read-only query against the last committed state.
func (l *Ledger) Query(path string, data []byte) ([]byte, error) {
	if l.chainID == "" {
		return nil, wire.Reject(wire.CodeNotFound, "", "chain not initialized")
	}
	q := querier{st: store{l.committed}, h: l.height, prefix: l.params.SS58Prefix}
	var page wire.Page
	if len(data) > 0 {
		if err := decodeStrict(data, &page); err != nil {
			return nil, wire.Reject(wire.CodeDecode, "data", "want {\"after\":CURSOR,\"limit\":N,\"live\":BOOL}: %v", err)
		}
	}
	if page.Limit <= 0 {
		page.Limit = wire.DefaultPageLimit
	}
	page.Limit = min(page.Limit, wire.MaxPageLimit)
	var v any
	var err error
	switch {
	case path == wire.QueryStatus:
		v = wire.Status{
			ChainID: l.chainID, Height: l.height, AppHash: strings.ToUpper(hex.EncodeToString(l.appHash)),
			TotalIssuance: wire.Amount(q.st.metaUint(metaIssuance)), NextSubscriptionID: q.st.metaUint(metaNextSub),
			LiveSubscriptions: q.st.metaUint(metaLiveCount),
		}
	case path == wire.QueryParams:
		v = l.params
	case strings.HasPrefix(path, wire.QueryAccount):
		v, err = q.account(strings.TrimPrefix(path, wire.QueryAccount))
	case strings.HasPrefix(path, wire.QueryProvider):
		v, err = q.provider(strings.TrimPrefix(path, wire.QueryProvider))
	case path == wire.QueryProviders:
		v, err = q.providers(page)
	case strings.HasPrefix(path, wire.QueryType):
		id := strings.TrimPrefix(path, wire.QueryType)
		t, ok := q.st.descriptorType(id)
		if !ok {
			return nil, wire.Reject(wire.CodeNotFound, "path", "descriptor type %q is not registered", id)
		}
		v = t.view(q.prefix)
	case path == wire.QueryTypes:
		types := []wire.DescriptorType{}
		iteratePrefix(q.st.kv, []byte{pType}, func(k, val []byte) bool {
			var t descriptorType
			q.st.decode(k, val, &t)
			types = append(types, t.view(q.prefix))
			return true
		})
		v = types
	case strings.HasPrefix(path, wire.QuerySubscription):
		id, perr := strconv.ParseUint(strings.TrimPrefix(path, wire.QuerySubscription), 10, 64)
		if perr != nil {
			return nil, wire.Reject(wire.CodeInvalid, "path", "subscription id must be a decimal number")
		}
		sub, ok := q.st.subscription(id)
		if !ok {
			return nil, wire.Reject(wire.CodeNotFound, "path", "subscription %d does not exist", id)
		}
		v = q.subView(sub)
	case page.Live && path != wire.QuerySubscriptionsActive && !strings.HasPrefix(path, wire.QuerySubscriptionsProvider):
		return nil, wire.Reject(wire.CodeInvalid, "data.live", "only provider subscription lists take live")
	case strings.HasPrefix(path, wire.QuerySubscriptionsConsumer):
		v, err = q.subsByAccount(pSubConsumer, strings.TrimPrefix(path, wire.QuerySubscriptionsConsumer), page)
	case strings.HasPrefix(path, wire.QuerySubscriptionsProvider):
		idx := byte(pSubProvider)
		if page.Live {
			idx = pLiveByProv
		}
		v, err = q.subsByAccount(idx, strings.TrimPrefix(path, wire.QuerySubscriptionsProvider), page)
	case path == wire.QuerySubscriptionsActive:
		v, err = q.subsByIndex([]byte{pLive}, page)
	default:
		return nil, wire.Reject(wire.CodeNotFound, "path", "unknown query path %q", path)
	}
	if err != nil {
		return nil, err
	}
	return json.Marshal(v)
}

type querier struct {
	st     store
	h      int64
	prefix uint16
}

func (q querier) pending(p *provider) wire.Amount {
	if q.h <= p.EarnedAt {
		return 0
	}
	v, _ := mul(uint64(p.Rate), uint64(q.h-p.EarnedAt))
	return wire.Amount(v)
}

func (q querier) account(addr string) (*wire.AccountView, error) {
	pub, err := parseAddress("path", addr)
	if err != nil {
		return nil, err
	}
	a := q.st.account(pub)
	v := &wire.AccountView{Address: pub.address(q.prefix), PublicKey: "0x" + hex.EncodeToString(pub[:]),
		Balance: a.Balance, Nonce: a.Nonce, SSHKey: a.SSHKey}
	if p, ok := q.st.provider(pub); ok {
		v.PendingEarnings = q.pending(p)
	}
	return v, nil
}

func (q querier) providerView(p *provider) wire.ProviderView {
	return wire.ProviderView{Provider: p.view(q.prefix), Free: p.Capacity - p.Reserved, PendingEarnings: q.pending(p)}
}

func (q querier) provider(addr string) (*wire.ProviderView, error) {
	pub, err := parseAddress("path", addr)
	if err != nil {
		return nil, err
	}
	p, ok := q.st.provider(pub)
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, "path", "%s is not a registered provider", addr)
	}
	v := q.providerView(p)
	return &v, nil
}

func (q querier) providers(page wire.Page) (*wire.ProviderList, error) {
	start := []byte{pProvider}
	if page.After != "" {
		pub, err := parseAddress("data.after", page.After)
		if err != nil {
			return nil, err
		}
		start = append(providerKey(pub), 0)
	}
	out := &wire.ProviderList{Providers: []wire.ProviderView{}}
	q.st.kv.Iterate(start, prefixEnd([]byte{pProvider}), func(k, val []byte) bool {
		if len(out.Providers) == page.Limit {
			out.Next = out.Providers[len(out.Providers)-1].Address
			return false
		}
		var p provider
		q.st.decode(k, val, &p)
		out.Providers = append(out.Providers, q.providerView(&p))
		return true
	})
	return out, nil
}

func (q querier) subView(s *subscription) wire.SubscriptionView {
	owed := owed(s, q.h)
	return wire.SubscriptionView{Subscription: s.view(q.prefix), Remaining: s.Deposit - owed, PaidTotal: s.Charged + owed, AsOf: q.h}
}

func (q querier) subsByAccount(prefix byte, addr string, page wire.Page) (*wire.SubscriptionList, error) {
	pub, err := parseAddress("path", addr)
	if err != nil {
		return nil, err
	}
	return q.subsByIndex(key(prefix, pub[:]), page)
}

// subsByIndex lists the subscriptions of an index whose keys end in the id.
func (q querier) subsByIndex(prefix []byte, page wire.Page) (*wire.SubscriptionList, error) {
	start := prefix
	if page.After != "" {
		after, err := strconv.ParseUint(page.After, 10, 64)
		if err != nil {
			return nil, wire.Reject(wire.CodeInvalid, "data.after", "want a subscription id")
		}
		start = append(append([]byte(nil), prefix...), be64(after+1)...)
	}
	out := &wire.SubscriptionList{Subscriptions: []wire.SubscriptionView{}}
	q.st.kv.Iterate(start, prefixEnd(prefix), func(k, _ []byte) bool {
		if len(out.Subscriptions) == page.Limit {
			out.Next = strconv.FormatUint(out.Subscriptions[len(out.Subscriptions)-1].ID, 10)
			return false
		}
		sub, ok := q.st.subscription(binary.BigEndian.Uint64(k[len(k)-8:]))
		if ok {
			out.Subscriptions = append(out.Subscriptions, q.subView(sub))
		}
		return true
	})
	return out, nil
}
