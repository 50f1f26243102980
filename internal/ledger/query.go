package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
)

// Query paths. All answers are JSON and reflect the last committed block.
const (
	QueryStatus                = "/status"
	QueryParams                = "/params"
	QueryAccount               = "/account/"  // + ADDRESS
	QueryProvider              = "/provider/" // + ADDRESS
	QueryProviders             = "/providers"
	QueryType                  = "/type/" // + NAME/VERSION
	QueryTypes                 = "/types"
	QuerySubscription          = "/subscription/"           // + ID
	QuerySubscriptionsConsumer = "/subscriptions/consumer/" // + ADDRESS
	QuerySubscriptionsProvider = "/subscriptions/provider/" // + ADDRESS
	QuerySubscriptionsActive   = "/subscriptions/active"
	DefaultPageLimit           = 100
	MaxPageLimit               = 1000
)

// Status is the answer to /status.
type Status struct {
	ChainID            string `json:"chain_id"`
	Height             int64  `json:"height"`
	AppHash            string `json:"app_hash"`
	TotalIssuance      Amount `json:"total_issuance"`
	NextSubscriptionID uint64 `json:"next_subscription_id"`
	LiveSubscriptions  uint64 `json:"live_subscriptions"`
}

// AccountView is the answer to /account/ADDRESS. Earnings a provider has accrued but not
// yet been credited are shown apart.
type AccountView struct {
	Address         string `json:"address"`
	PublicKey       string `json:"public_key"`
	Balance         Amount `json:"balance"`
	Nonce           uint64 `json:"nonce"`
	SSHKey          string `json:"ssh_key,omitempty"`
	PendingEarnings Amount `json:"pending_earnings"`
}

// ProviderView is a provider with its figures as of the queried height.
type ProviderView struct {
	Provider
	Free            uint64 `json:"free"`
	PendingEarnings Amount `json:"pending_earnings"`
}

// SubscriptionView is a subscription with its figures as of the queried height: what is
// left of the deposit and what the provider has been paid so far.
type SubscriptionView struct {
	Subscription
	Remaining Amount `json:"remaining"`
	PaidTotal Amount `json:"paid_total"`
	AsOf      int64  `json:"as_of"`
}

// Page selects part of a list: items after the cursor (a subscription id, or an address
// for providers), at most Limit of them. It is the query's data, as JSON. Live restricts
// /subscriptions/provider/ADDRESS to pending and active subscriptions (the provider's
// desired state, read from an index of its own).
type Page struct {
	After string `json:"after,omitempty"`
	Limit int    `json:"limit,omitempty"`
	Live  bool   `json:"live,omitempty"`
}

// SubscriptionList is a page of subscriptions; Next is the cursor of the next page ("" at
// the end).
type SubscriptionList struct {
	Subscriptions []SubscriptionView `json:"subscriptions"`
	Next          string             `json:"next,omitempty"`
}

// ProviderList is a page of providers.
type ProviderList struct {
	Providers []ProviderView `json:"providers"`
	Next      string         `json:"next,omitempty"`
}

// Query answers a read-only query against the last committed state.
func (l *Ledger) Query(path string, data []byte) ([]byte, error) {
	if l.chainID == "" {
		return nil, reject(CodeNotFound, "", "chain not initialized")
	}
	q := querier{st: store{l.committed}, h: l.height, prefix: l.params.SS58Prefix}
	var page Page
	if len(data) > 0 {
		if err := decodeStrict(data, &page); err != nil {
			return nil, reject(CodeDecode, "data", "want {\"after\":CURSOR,\"limit\":N,\"live\":BOOL}: %v", err)
		}
	}
	if page.Limit <= 0 {
		page.Limit = DefaultPageLimit
	}
	page.Limit = min(page.Limit, MaxPageLimit)
	var v any
	var err error
	switch {
	case path == QueryStatus:
		v = Status{
			ChainID: l.chainID, Height: l.height, AppHash: strings.ToUpper(hex.EncodeToString(l.appHash)),
			TotalIssuance: Amount(q.st.metaUint(metaIssuance)), NextSubscriptionID: q.st.metaUint(metaNextSub),
			LiveSubscriptions: q.st.metaUint(metaLiveCount),
		}
	case path == QueryParams:
		v = l.params
	case strings.HasPrefix(path, QueryAccount):
		v, err = q.account(strings.TrimPrefix(path, QueryAccount))
	case strings.HasPrefix(path, QueryProvider):
		v, err = q.provider(strings.TrimPrefix(path, QueryProvider))
	case path == QueryProviders:
		v, err = q.providers(page)
	case strings.HasPrefix(path, QueryType):
		id := strings.TrimPrefix(path, QueryType)
		t, ok := q.st.descriptorType(id)
		if !ok {
			return nil, reject(CodeNotFound, "path", "descriptor type %q is not registered", id)
		}
		v = t
	case path == QueryTypes:
		types := []DescriptorType{}
		iteratePrefix(q.st.kv, []byte{pType}, func(_, val []byte) bool {
			var t DescriptorType
			_ = json.Unmarshal(val, &t)
			types = append(types, t)
			return true
		})
		v = types
	case strings.HasPrefix(path, QuerySubscription):
		id, perr := strconv.ParseUint(strings.TrimPrefix(path, QuerySubscription), 10, 64)
		if perr != nil {
			return nil, reject(CodeInvalid, "path", "subscription id must be a decimal number")
		}
		sub, ok := q.st.subscription(id)
		if !ok {
			return nil, reject(CodeNotFound, "path", "subscription %d does not exist", id)
		}
		v = q.subView(sub)
	case page.Live && path != QuerySubscriptionsActive && !strings.HasPrefix(path, QuerySubscriptionsProvider):
		return nil, reject(CodeInvalid, "data.live", "only provider subscription lists take live")
	case strings.HasPrefix(path, QuerySubscriptionsConsumer):
		v, err = q.subsByAccount(pSubConsumer, strings.TrimPrefix(path, QuerySubscriptionsConsumer), page)
	case strings.HasPrefix(path, QuerySubscriptionsProvider):
		idx := byte(pSubProvider)
		if page.Live {
			idx = pLiveByProv
		}
		v, err = q.subsByAccount(idx, strings.TrimPrefix(path, QuerySubscriptionsProvider), page)
	case path == QuerySubscriptionsActive:
		v, err = q.subsByIndex([]byte{pLive}, page)
	default:
		return nil, reject(CodeNotFound, "path", "unknown query path %q", path)
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

func (q querier) pending(p *Provider) Amount {
	if q.h <= p.EarnedAt {
		return 0
	}
	v, _ := mul(uint64(p.Rate), uint64(q.h-p.EarnedAt))
	return Amount(v)
}

func (q querier) account(addr string) (*AccountView, error) {
	pub, err := parseAddress("path", addr)
	if err != nil {
		return nil, err
	}
	a := q.st.account(pub)
	v := &AccountView{Address: keyring.EncodeSS58(pub, q.prefix), PublicKey: "0x" + hex.EncodeToString(pub),
		Balance: a.Balance, Nonce: a.Nonce, SSHKey: a.SSHKey}
	if p, ok := q.st.provider(pub); ok {
		v.PendingEarnings = q.pending(p)
	}
	return v, nil
}

func (q querier) providerView(p *Provider) ProviderView {
	return ProviderView{Provider: *p, Free: p.Capacity - p.Reserved, PendingEarnings: q.pending(p)}
}

func (q querier) provider(addr string) (*ProviderView, error) {
	pub, err := parseAddress("path", addr)
	if err != nil {
		return nil, err
	}
	p, ok := q.st.provider(pub)
	if !ok {
		return nil, reject(CodeNotFound, "path", "%s is not a registered provider", addr)
	}
	v := q.providerView(p)
	return &v, nil
}

func (q querier) providers(page Page) (*ProviderList, error) {
	start := []byte{pProvider}
	if page.After != "" {
		pub, err := parseAddress("data.after", page.After)
		if err != nil {
			return nil, err
		}
		start = append(providerKey(pub), 0)
	}
	out := &ProviderList{Providers: []ProviderView{}}
	q.st.kv.Iterate(start, prefixEnd([]byte{pProvider}), func(_, val []byte) bool {
		if len(out.Providers) == page.Limit {
			out.Next = out.Providers[len(out.Providers)-1].Address
			return false
		}
		var p Provider
		_ = json.Unmarshal(val, &p)
		out.Providers = append(out.Providers, q.providerView(&p))
		return true
	})
	return out, nil
}

func (q querier) subView(s *Subscription) SubscriptionView {
	owed := s.owed(q.h)
	return SubscriptionView{Subscription: *s, Remaining: s.Deposit - owed, PaidTotal: s.Charged + owed, AsOf: q.h}
}

func (q querier) subsByAccount(prefix byte, addr string, page Page) (*SubscriptionList, error) {
	pub, err := parseAddress("path", addr)
	if err != nil {
		return nil, err
	}
	return q.subsByIndex(key(prefix, pub), page)
}

// subsByIndex lists the subscriptions of an index whose keys end in the id.
func (q querier) subsByIndex(prefix []byte, page Page) (*SubscriptionList, error) {
	start := prefix
	if page.After != "" {
		after, err := strconv.ParseUint(page.After, 10, 64)
		if err != nil {
			return nil, reject(CodeInvalid, "data.after", "want a subscription id")
		}
		start = append(append([]byte(nil), prefix...), be64(after+1)...)
	}
	out := &SubscriptionList{Subscriptions: []SubscriptionView{}}
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
