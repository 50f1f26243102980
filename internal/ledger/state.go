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

// accountID is an account's 32-byte public key: how the state names accounts (in keys, and
// in records as 0x hex). SS58 addresses belong to the edges (messages, queries, events), in
// the chain's params.ss58_prefix.
type accountID [keyring.PublicKeySize]byte

func (a accountID) MarshalText() ([]byte, error) { return []byte("0x" + hex.EncodeToString(a[:])), nil }

func (a *accountID) UnmarshalText(b []byte) error {
	h, ok := strings.CutPrefix(string(b), "0x")
	if !ok || len(h) != 2*len(a) {
		return fmt.Errorf("account id %q: want 0x and %d hex bytes", b, len(a))
	}
	_, err := hex.Decode(a[:], []byte(h))
	return err
}

// address is the account's SS58 form.
func (a accountID) address(prefix uint16) string { return keyring.EncodeSS58(a[:], prefix) }

// parseAddress reads an SS58 address from a message or query field.
func parseAddress(field, s string) (accountID, error) {
	pub, _, err := keyring.DecodeSS58(s)
	if err != nil {
		return accountID{}, wire.Reject(wire.CodeInvalid, field, "%v", err)
	}
	return accountID(pub), nil
}

// The state's records: the wire records' fields with accounts as public keys. view renders
// one for queries, with SS58 addresses.

// Account is an account's state, stored under its public key.
type Account struct {
	Balance wire.Amount `json:"balance"`
	Nonce   uint64      `json:"nonce"`
	SSHKey  string      `json:"ssh_key,omitempty"`
}

// descriptorType is a registered descriptor type.
type descriptorType struct {
	wire.DescriptorTypeFields
	Owner *accountID `json:"owner,omitempty"` // nil for genesis types
}

func (t *descriptorType) view(prefix uint16) wire.DescriptorType {
	v := wire.DescriptorType{DescriptorTypeFields: t.DescriptorTypeFields}
	if t.Owner != nil {
		v.Owner = t.Owner.address(prefix)
	}
	return v
}

// provider is a registered provider.
type provider struct {
	Account accountID `json:"account"`
	wire.ProviderFields
}

func (p *provider) view(prefix uint16) wire.Provider {
	return wire.Provider{Address: p.Account.address(prefix), ProviderFields: p.ProviderFields}
}

// subscription is a consumer's deployment.
type subscription struct {
	ID             uint64         `json:"id"`
	Consumer       accountID      `json:"consumer"`
	ConsumerScheme keyring.Scheme `json:"consumer_scheme"`
	ConsumerSSHKey string         `json:"consumer_ssh_key,omitempty"`
	Provider       accountID      `json:"provider"`
	wire.SubscriptionFields
}

func (s *subscription) view(prefix uint16) wire.Subscription {
	return wire.Subscription{
		ID: s.ID, Consumer: s.Consumer.address(prefix), ConsumerScheme: string(s.ConsumerScheme),
		ConsumerPublicKey: "0x" + hex.EncodeToString(s.Consumer[:]), ConsumerSSHKey: s.ConsumerSSHKey,
		Provider: s.Provider.address(prefix), SubscriptionFields: s.SubscriptionFields,
	}
}

// owed is what the subscription has consumed since SettledAt, as of height h.
func owed(s *subscription, h int64) wire.Amount {
	if s.State != wire.StateActive || h <= s.SettledAt {
		return 0
	}
	v, _ := mul(uint64(s.PricePerBlock), uint64(h-s.SettledAt))
	return wire.Amount(v)
}

// Key layout. Everything except the '_' bookkeeping prefix is state and enters the app hash.
const (
	pAccount     = 'a' // a | pubkey32 -> Account
	pProvider    = 'p' // p | pubkey32 -> provider
	pProvByType  = 'q' // q | typeID | 0 | pubkey32 -> ""
	pType        = 't' // t | typeID -> descriptorType
	pSub         = 's' // s | id64 -> subscription
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

func accountKey(a accountID) []byte  { return key(pAccount, a[:]) }
func providerKey(a accountID) []byte { return key(pProvider, a[:]) }
func provByTypeKey(typeID string, a accountID) []byte {
	return key(pProvByType, []byte(typeID), []byte{0}, a[:])
}
func provByTypePrefix(typeID string) []byte { return key(pProvByType, []byte(typeID), []byte{0}) }
func typeKey(id string) []byte              { return key(pType, []byte(id)) }
func subKey(id uint64) []byte               { return key(pSub, be64(id)) }
func subConsumerKey(a accountID, id uint64) []byte {
	return key(pSubConsumer, a[:], be64(id))
}
func subProviderKey(a accountID, id uint64) []byte {
	return key(pSubProvider, a[:], be64(id))
}
func liveKey(id uint64) []byte { return key(pLive, be64(id)) }
func liveByProviderKey(a accountID, id uint64) []byte {
	return key(pLiveByProv, a[:], be64(id))
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
	s.decode(k, b, v)
	return true
}

// decode reads the record stored under k. The ledger wrote it: one that does not decode is
// corrupt state, and the node stops rather than go on from it.
func (store) decode(k, b []byte, v any) {
	if err := json.Unmarshal(b, v); err != nil {
		panic(fmt.Errorf("ledger state: corrupt record %q: %w", k, err))
	}
}

func (s store) setJSON(k []byte, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Errorf("ledger state: encode %q: %w", k, err))
	}
	s.kv.Set(k, b)
}

func (s store) account(a accountID) Account {
	var acct Account
	s.getJSON(accountKey(a), &acct)
	return acct
}

// setAccount stores an account; an empty one is removed.
func (s store) setAccount(a accountID, acct Account) {
	if acct == (Account{}) {
		s.kv.Delete(accountKey(a))
		return
	}
	s.setJSON(accountKey(a), acct)
}

func (s store) provider(a accountID) (*provider, bool) {
	var p provider
	if !s.getJSON(providerKey(a), &p) {
		return nil, false
	}
	return &p, true
}

// setProvider stores a provider and keeps its by-type index: an entry for each type it
// serves now, none for a type it served before.
func (s store) setProvider(p *provider) {
	s.unindexProvider(p.Account)
	for _, t := range p.Types {
		s.kv.Set(provByTypeKey(t, p.Account), nil)
	}
	s.setJSON(providerKey(p.Account), p)
}

// deleteProvider removes a provider and its index entries.
func (s store) deleteProvider(a accountID) {
	s.unindexProvider(a)
	s.kv.Delete(providerKey(a))
}

func (s store) unindexProvider(a accountID) {
	var old struct{ Types []string } // only what the index is made of: decoding is the cost
	if s.getJSON(providerKey(a), &old) {
		for _, t := range old.Types {
			s.kv.Delete(provByTypeKey(t, a))
		}
	}
}

func (s store) descriptorType(id string) (*descriptorType, bool) {
	var t descriptorType
	if !s.getJSON(typeKey(id), &t) {
		return nil, false
	}
	return &t, true
}

func (s store) setDescriptorType(t *descriptorType) { s.setJSON(typeKey(t.ID()), t) }

func (s store) subscription(id uint64) (*subscription, bool) {
	var sub subscription
	if !s.getJSON(subKey(id), &sub) {
		return nil, false
	}
	return &sub, true
}

// setSubscription stores a subscription and keeps its indexes: by consumer and by provider
// from its creation on; live and live-by-provider while it is pending or active; expiry at
// ExpiresAt while it is live. Handlers change the record; the indexes follow from it.
func (s store) setSubscription(sub *subscription) {
	var old struct { // only what the indexes are made of: decoding is the cost
		State     string `json:"state"`
		ExpiresAt int64  `json:"expires_at"`
	}
	had := s.getJSON(subKey(sub.ID), &old)
	wasLive := had && (old.State == wire.StatePending || old.State == wire.StateActive)
	if !had {
		s.kv.Set(subConsumerKey(sub.Consumer, sub.ID), nil)
		s.kv.Set(subProviderKey(sub.Provider, sub.ID), nil)
	}
	if wasLive {
		s.kv.Delete(expiryKey(old.ExpiresAt, sub.ID))
	}
	switch {
	case sub.Live():
		s.kv.Set(expiryKey(sub.ExpiresAt, sub.ID), nil)
		if !wasLive {
			s.kv.Set(liveKey(sub.ID), nil)
			s.kv.Set(liveByProviderKey(sub.Provider, sub.ID), nil)
		}
	case wasLive:
		s.kv.Delete(liveKey(sub.ID))
		s.kv.Delete(liveByProviderKey(sub.Provider, sub.ID))
	}
	s.setJSON(subKey(sub.ID), sub)
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
