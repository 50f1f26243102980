// Package wire is the DINFRA chain on the wire: signed transactions and their messages,
// result codes, events, query paths and answers, the records queries return, the chain's
// params and its genesis app_state, as their JSON is encoded. The state machine
// (internal/ledger) and its clients (internal/chain/client, the watcher, the CLI) both import
// it; a client links none of the state machine. Field names and tags are the encoding: the
// state machine stores the records' *Fields as JSON (with public keys where these records
// have SS58 addresses), so the app hash depends on them.
package wire

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
)

// SignPrefix is prepended to the body bytes to form the signed message, so a DINFRA
// signature can never be replayed as a signature over something else.
const SignPrefix = "dinfra-tx-v1:"

// Tx is the wire form of a transaction: a JSON object
//
//	{"body":"<base64 of the body's JSON bytes>","signature":"0x<64 bytes hex>"}
//
// The signature covers SignPrefix followed by the exact body bytes, so no canonical JSON is
// needed: a signer in any language serializes the body once, signs those bytes and ships
// them base64-encoded.
type Tx struct {
	Body      []byte `json:"body"` // base64 in JSON
	Signature string `json:"signature"`
}

// Body is what a transaction says. Unknown fields are rejected.
type Body struct {
	ChainID string `json:"chain_id"`
	Signer  string `json:"signer"` // SS58 address of the signing key
	Scheme  string `json:"scheme"` // "sr25519" or "ed25519"
	Nonce   uint64 `json:"nonce"`  // the signer's account nonce; each tx uses the next one
	Msg     Msg    `json:"msg"`
}

// Msg holds exactly one message. Its JSON form is an object with one key naming the
// message, e.g. {"transfer":{"to":"5F...","amount":"10"}}.
type Msg struct {
	Transfer           *MsgTransfer           `json:"transfer,omitempty"`
	SetSSHKey          *MsgSetSSHKey          `json:"set_ssh_key,omitempty"`
	RegisterType       *MsgRegisterType       `json:"register_type,omitempty"`
	RegisterProvider   *MsgRegisterProvider   `json:"register_provider,omitempty"`
	UpdateProvider     *MsgUpdateProvider     `json:"update_provider,omitempty"`
	PauseProvider      *MsgPauseProvider      `json:"pause_provider,omitempty"`
	ResumeProvider     *MsgResumeProvider     `json:"resume_provider,omitempty"`
	DeregisterProvider *MsgDeregisterProvider `json:"deregister_provider,omitempty"`
	ClaimEarnings      *MsgClaimEarnings      `json:"claim_earnings,omitempty"`
	Subscribe          *MsgSubscribe          `json:"subscribe,omitempty"`
	TopUp              *MsgTopUp              `json:"top_up,omitempty"`
	Cancel             *MsgCancel             `json:"cancel,omitempty"`
	ReportStatus       *MsgReportStatus       `json:"report_status,omitempty"`
}

// MsgTransfer moves free balance to another account.
type MsgTransfer struct {
	To     string `json:"to"`
	Amount Amount `json:"amount"`
}

// MsgSetSSHKey registers the ed25519 OpenSSH public key ("ssh-ed25519 AAAA...") installed
// for the signer in what they rent; an empty key removes it. sr25519 accounts need it to
// log in; ed25519 accounts default to their own key.
type MsgSetSSHKey struct {
	SSHKey string `json:"ssh_key"`
}

// MsgRegisterType registers a descriptor type NAME/VERSION whose JSON Schema is stored
// under SchemaCID. The signer pays params.type_deposit, held with the type.
type MsgRegisterType struct {
	Name      string `json:"name"`
	Version   string `json:"version"`
	SchemaCID string `json:"schema_cid"`
}

// MsgRegisterProvider makes the signer a provider.
type MsgRegisterProvider struct {
	Endpoint     string   `json:"endpoint"` // Chain Reactor API base URL
	Types        []string `json:"types"`    // descriptor types served, NAME/VERSION
	Capacity     uint64   `json:"capacity"` // units
	PricePerUnit Amount   `json:"price_per_unit"`
}

// MsgUpdateProvider changes the fields that are set. A new price applies to new awards
// only; capacity cannot drop below the units in use.
type MsgUpdateProvider struct {
	Endpoint     *string  `json:"endpoint,omitempty"`
	Types        []string `json:"types,omitempty"`
	Capacity     *uint64  `json:"capacity,omitempty"`
	PricePerUnit *Amount  `json:"price_per_unit,omitempty"`
}

// MsgPauseProvider stops new awards to the signer's provider; running subscriptions go on.
type MsgPauseProvider struct{}

// MsgResumeProvider lets a paused provider receive awards again.
type MsgResumeProvider struct{}

// MsgDeregisterProvider removes the signer's provider; only allowed with nothing pending
// or running on it.
type MsgDeregisterProvider struct{}

// MsgClaimEarnings credits the provider's accrued earnings to its free balance now
// (they are also credited whenever one of its subscriptions changes).
type MsgClaimEarnings struct{}

// Award strategies.
const (
	StrategyRoundRobin = "round_robin"
	StrategyRandom     = "random"
	StrategyCapacity   = "capacity"
)

// MsgSubscribe asks for a deployment. The chain awards it in the same transaction to one
// provider that serves the type, has Units free and asks at most MaxPricePerUnit, or
// rejects it. Deposit is moved from the signer's balance into the subscription and must
// cover at least one block at the maximum price (Units*MaxPricePerUnit).
type MsgSubscribe struct {
	DescriptorCID   string `json:"descriptor_cid"`
	DescriptorType  string `json:"descriptor_type"` // NAME/VERSION
	Units           uint64 `json:"units"`
	Deposit         Amount `json:"deposit"`
	MaxPricePerUnit Amount `json:"max_price_per_unit"` // per unit per block
	Strategy        string `json:"strategy,omitempty"` // empty: params.default_strategy
}

// MsgTopUp adds to a subscription's deposit (consumer only).
type MsgTopUp struct {
	SubscriptionID uint64 `json:"subscription_id"`
	Amount         Amount `json:"amount"`
}

// MsgCancel ends a subscription and refunds what is left of its deposit (consumer only).
type MsgCancel struct {
	SubscriptionID uint64 `json:"subscription_id"`
}

// Deployment statuses a provider reports.
const (
	StatusDeployed = "deployed"
	StatusFailed   = "failed"
)

// MsgReportStatus is the awarded provider's report on a deployment: "deployed" with its
// endpoints (billing starts; reporting again updates the endpoints) or "failed" with a
// reason (the subscription ends and the consumer is refunded).
type MsgReportStatus struct {
	SubscriptionID uint64   `json:"subscription_id"`
	Status         string   `json:"status"`
	Endpoints      []string `json:"endpoints,omitempty"`
	Reason         string   `json:"reason,omitempty"`
}

// Kind returns the message's JSON key, or an error unless exactly one is set.
func (m *Msg) Kind() (string, error) {
	var names []string
	for _, f := range []struct {
		name string
		set  bool
	}{
		{"transfer", m.Transfer != nil}, {"set_ssh_key", m.SetSSHKey != nil},
		{"register_type", m.RegisterType != nil}, {"register_provider", m.RegisterProvider != nil},
		{"update_provider", m.UpdateProvider != nil}, {"pause_provider", m.PauseProvider != nil},
		{"resume_provider", m.ResumeProvider != nil}, {"deregister_provider", m.DeregisterProvider != nil},
		{"claim_earnings", m.ClaimEarnings != nil}, {"subscribe", m.Subscribe != nil},
		{"top_up", m.TopUp != nil}, {"cancel", m.Cancel != nil}, {"report_status", m.ReportStatus != nil},
	} {
		if f.set {
			names = append(names, f.name)
		}
	}
	switch len(names) {
	case 1:
		return names[0], nil
	case 0:
		return "", Reject(CodeDecode, "body.msg", "no message: want exactly one of transfer, set_ssh_key, register_type, register_provider, update_provider, pause_provider, resume_provider, deregister_provider, claim_earnings, subscribe, top_up, cancel, report_status")
	}
	return "", Reject(CodeDecode, "body.msg", "want exactly one message, got %s", strings.Join(names, ", "))
}

// Name is the message's JSON key ("transfer", "subscribe", ...), or "" if not exactly one
// message is set.
func (m *Msg) Name() string {
	n, _ := m.Kind()
	return n
}

// EncodeTx builds a signed wire transaction.
func EncodeTx(p *keyring.Pair, chainID string, nonce uint64, msg Msg) ([]byte, error) {
	if _, err := msg.Kind(); err != nil {
		return nil, err
	}
	body, err := json.Marshal(Body{
		ChainID: chainID,
		Signer:  p.Address(keyring.SubstratePrefix),
		Scheme:  string(p.Scheme()),
		Nonce:   nonce,
		Msg:     msg,
	})
	if err != nil {
		return nil, err
	}
	sig, err := p.Sign(SignBytes(body))
	if err != nil {
		return nil, err
	}
	return json.Marshal(Tx{Body: body, Signature: "0x" + hex.EncodeToString(sig)})
}

// SignBytes is the message a signer signs for body bytes.
func SignBytes(body []byte) []byte {
	return append([]byte(SignPrefix), body...)
}

// TxHash is the hash CometBFT names a transaction by (sha256 of the wire bytes), in the
// upper-case hex its RPC prints.
func TxHash(tx []byte) string {
	h := sha256.Sum256(tx)
	return strings.ToUpper(hex.EncodeToString(h[:]))
}
