package ledger

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// Account is an account's state. Accounts are keyed by their 32-byte public key; the
// address is its SS58 form.
type Account struct {
	Balance wire.Amount `json:"balance"`
	Nonce   uint64      `json:"nonce"`
	SSHKey  string      `json:"ssh_key,omitempty"`
}

// owed is what the subscription has consumed since SettledAt, as of height h.
func owed(s *wire.Subscription, h int64) wire.Amount {
	if s.State != wire.StateActive || h <= s.SettledAt {
		return 0
	}
	v, _ := mul(uint64(s.PricePerBlock), uint64(h-s.SettledAt))
	return wire.Amount(v)
}

// Key layout. Everything except the '_' bookkeeping prefix is state and enters the app hash.
const (
	pAccount     = 'a' // a | pubkey32 -> Account
	pProvider    = 'p' // p | pubkey32 -> Provider
	pProvByType  = 'q' // q | typeID | 0 | pubkey32 -> ""
	pType        = 't' // t | typeID -> DescriptorType
	pSub         = 's' // s | id64 -> Subscription
	pSubConsumer = 'c' // c | pubkey32 | id64 -> ""
	pSubProvider = 'd' // d | pubkey32 | id64 -> ""
	pLive        = 'l' // l | id64 -> "" (pending and active subscriptions)
	pLiveByProv  = 'e' // e | pubkey32 | id64 -> "" (live subscriptions of a provider)
	pExpiry      = 'x' // x | height64 | id64 -> "" (the block each live subscription ends in)
	pMeta        = 'm' // m | name -> JSON
	pBook        = '_' // _ | name: height, app hash, state sum (not state)
)

func be64(v uint64) []byte { return binary.BigEndian.AppendUint64(nil, v) }

func key(prefix byte, parts ...[]byte) []byte {
	k := []byte{prefix}
	for _, p := range parts {
		k = append(k, p...)
	}
	return k
}

func accountKey(pub []byte) []byte  { return key(pAccount, pub) }
func providerKey(pub []byte) []byte { return key(pProvider, pub) }
func provByTypeKey(typeID string, pub []byte) []byte {
	return key(pProvByType, []byte(typeID), []byte{0}, pub)
}
func provByTypePrefix(typeID string) []byte { return key(pProvByType, []byte(typeID), []byte{0}) }
func typeKey(id string) []byte              { return key(pType, []byte(id)) }
func subKey(id uint64) []byte               { return key(pSub, be64(id)) }
func subConsumerKey(pub []byte, id uint64) []byte {
	return key(pSubConsumer, pub, be64(id))
}
func subProviderKey(pub []byte, id uint64) []byte {
	return key(pSubProvider, pub, be64(id))
}
func liveKey(id uint64) []byte { return key(pLive, be64(id)) }
func liveByProviderKey(pub []byte, id uint64) []byte {
	return key(pLiveByProv, pub, be64(id))
}
func expiryKey(h int64, id uint64) []byte {
	return key(pExpiry, be64(uint64(h)), be64(id))
}
func expiryPrefix(h int64) []byte { return key(pExpiry, be64(uint64(h))) }
func metaKey(name string) []byte  { return key(pMeta, []byte(name)) }

// Meta names.
const (
	metaParams     = "params"
	metaChainID    = "chain_id"
	metaIssuance   = "total_issuance"
	metaNextSub    = "next_subscription_id"
	metaLiveCount  = "live_subscriptions"
	metaRoundRobin = "round_robin/" // + type ID: the last provider awarded
)

// store is typed access to the state in a KV.
type store struct{ kv KV }

func (s store) getJSON(k []byte, v any) bool {
	b := s.kv.Get(k)
	if b == nil {
		return false
	}
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Errorf("ledger state: corrupt record %q: %w", k, err))
	}
	return true
}

func (s store) setJSON(k []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("ledger state: encode %q: %w", k, err))
	}
	s.kv.Set(k, b)
}

func (s store) account(pub []byte) Account {
	var a Account
	s.getJSON(accountKey(pub), &a)
	return a
}

// setAccount stores an account; an empty one is removed.
func (s store) setAccount(pub []byte, a Account) {
	if a == (Account{}) {
		s.kv.Delete(accountKey(pub))
		return
	}
	s.setJSON(accountKey(pub), a)
}

func (s store) provider(pub []byte) (*wire.Provider, bool) {
	var p wire.Provider
	if !s.getJSON(providerKey(pub), &p) {
		return nil, false
	}
	return &p, true
}

// setProvider stores a provider and keeps its by-type index: an entry for each type it
// serves now, none for a type it served before.
func (s store) setProvider(pub []byte, p *wire.Provider) {
	s.unindexProvider(pub)
	for _, t := range p.Types {
		s.kv.Set(provByTypeKey(t, pub), nil)
	}
	s.setJSON(providerKey(pub), p)
}

// deleteProvider removes a provider and its index entries.
func (s store) deleteProvider(pub []byte) {
	s.unindexProvider(pub)
	s.kv.Delete(providerKey(pub))
}

func (s store) unindexProvider(pub []byte) {
	var old struct{ Types []string } // only what the index is made of: decoding is the cost
	if s.getJSON(providerKey(pub), &old) {
		for _, t := range old.Types {
			s.kv.Delete(provByTypeKey(t, pub))
		}
	}
}

func (s store) descriptorType(id string) (*wire.DescriptorType, bool) {
	var t wire.DescriptorType
	if !s.getJSON(typeKey(id), &t) {
		return nil, false
	}
	return &t, true
}

func (s store) subscription(id uint64) (*wire.Subscription, bool) {
	var sub wire.Subscription
	if !s.getJSON(subKey(id), &sub) {
		return nil, false
	}
	return &sub, true
}

// setSubscription stores a subscription and keeps its indexes: by consumer and by provider
// from its creation on; live and live-by-provider while it is pending or active; expiry at
// ExpiresAt while it is live. Handlers change the record; the indexes follow from it.
func (s store) setSubscription(sub *wire.Subscription) {
	var old struct { // only what the indexes are made of: decoding is the cost
		State     string `json:"state"`
		ExpiresAt int64  `json:"expires_at"`
	}
	had := s.getJSON(subKey(sub.ID), &old)
	consumer, provider := subscriptionParties(sub)
	wasLive := had && (old.State == wire.StatePending || old.State == wire.StateActive)
	if !had {
		s.kv.Set(subConsumerKey(consumer, sub.ID), nil)
		s.kv.Set(subProviderKey(provider, sub.ID), nil)
	}
	if wasLive {
		s.kv.Delete(expiryKey(old.ExpiresAt, sub.ID))
	}
	switch {
	case sub.Live():
		s.kv.Set(expiryKey(sub.ExpiresAt, sub.ID), nil)
		if !wasLive {
			s.kv.Set(liveKey(sub.ID), nil)
			s.kv.Set(liveByProviderKey(provider, sub.ID), nil)
		}
	case wasLive:
		s.kv.Delete(liveKey(sub.ID))
		s.kv.Delete(liveByProviderKey(provider, sub.ID))
	}
	s.setJSON(subKey(sub.ID), sub)
}

// subscriptionParties are the public keys of a subscription's consumer and provider, as its
// indexes are keyed. The record was written by the ledger: an undecodable key is corrupt
// state.
func subscriptionParties(sub *wire.Subscription) (consumer, provider []byte) {
	consumer, err := hex.DecodeString(strings.TrimPrefix(sub.ConsumerPublicKey, "0x"))
	if err == nil {
		provider, _, err = keyring.DecodeSS58(sub.Provider)
	}
	if err != nil {
		panic(fmt.Errorf("ledger state: subscription %d: %w", sub.ID, err))
	}
	return consumer, provider
}

func (s store) metaUint(name string) uint64 {
	var v uint64
	s.getJSON(metaKey(name), &v)
	return v
}

func (s store) setMetaUint(name string, v uint64) { s.setJSON(metaKey(name), v) }

func (s store) metaString(name string) string {
	var v string
	s.getJSON(metaKey(name), &v)
	return v
}

func (s store) params() wire.Params {
	var p wire.Params
	if !s.getJSON(metaKey(metaParams), &p) {
		panic("ledger state: no params (chain not initialized)")
	}
	return p
}
