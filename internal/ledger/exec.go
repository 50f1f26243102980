package ledger

import (
	"encoding/hex"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// Limits on message fields.
const (
	maxEndpointLen      = 256
	maxEndpoints        = 8
	maxTypesPerProvider = 16
	maxReasonLen        = 256
)

// execCtx executes messages against a store at a height.
type execCtx struct {
	st         store
	height     int64
	blockHash  []byte
	params     wire.Params
	signer     keyring.PublicKey
	signerAddr string
	events     []wire.Event
}

func (x *execCtx) addr(a accountID) string { return a.address(x.params.SS58Prefix) }

// signerID is the signer's account.
func (x *execCtx) signerID() accountID { return x.signer.Bytes }

func (x *execCtx) emit(typ string, attrs ...wire.Attribute) {
	x.events = append(x.events, wire.Event{Type: typ, Attributes: attrs})
}

func attr(k, v string) wire.Attribute         { return wire.Attribute{Key: k, Value: v} }
func indexed(k, v string) wire.Attribute      { return wire.Attribute{Key: k, Value: v, Index: true} }
func uattr(k string, v uint64) wire.Attribute { return attr(k, fmt.Sprint(v)) }

func (x *execCtx) exec(name string, m *wire.Msg) error {
	switch name {
	case "transfer":
		return x.transfer(m.Transfer)
	case "set_ssh_key":
		return x.setSSHKey(m.SetSSHKey)
	case "register_type":
		return x.registerType(m.RegisterType)
	case "register_provider":
		return x.registerProvider(m.RegisterProvider)
	case "update_provider":
		return x.updateProvider(m.UpdateProvider)
	case "pause_provider":
		return x.setPaused(true)
	case "resume_provider":
		return x.setPaused(false)
	case "deregister_provider":
		return x.deregisterProvider()
	case "claim_earnings":
		return x.claimEarnings()
	case "subscribe":
		return x.subscribe(m.Subscribe)
	case "top_up":
		return x.topUp(m.TopUp)
	case "cancel":
		return x.cancel(m.Cancel)
	case "report_status":
		return x.reportStatus(m.ReportStatus)
	}
	return wire.Reject(wire.CodeDecode, "body.msg", "unknown message %q", name)
}

// debit takes amount from the signer's free balance.
func (x *execCtx) debit(who accountID, amount wire.Amount, field string) error {
	a := x.st.account(who)
	if a.Balance < amount {
		return wire.Reject(wire.CodeInsufficientFunds, field, "%s needed, %s has %s free", amount, x.addr(who), a.Balance)
	}
	a.Balance -= amount
	x.st.setAccount(who, a)
	return nil
}

// credit adds to an account. Total issuance bounds every balance, so it cannot overflow.
func (x *execCtx) credit(who accountID, amount wire.Amount) {
	if amount == 0 {
		return
	}
	a := x.st.account(who)
	a.Balance += amount
	x.st.setAccount(who, a)
}

func (x *execCtx) transfer(m *wire.MsgTransfer) error {
	to, err := parseAddress("msg.transfer.to", m.To)
	if err != nil {
		return err
	}
	if m.Amount == 0 {
		return wire.Reject(wire.CodeInvalid, "msg.transfer.amount", "must be > 0")
	}
	if err := x.debit(x.signerID(), m.Amount, "msg.transfer.amount"); err != nil {
		return err
	}
	x.credit(to, m.Amount)
	x.emit(wire.EventTransfer, indexed("from", x.signerAddr), indexed("to", x.addr(to)), attr("amount", m.Amount.String()))
	return nil
}

func (x *execCtx) setSSHKey(m *wire.MsgSetSSHKey) error {
	key := ""
	if m.SSHKey != "" {
		var err error
		if key, err = keyring.ParseSSHEd25519Key(m.SSHKey); err != nil {
			return wire.Reject(wire.CodeInvalid, "msg.set_ssh_key.ssh_key", "%v", err)
		}
	}
	a := x.st.account(x.signerID())
	a.SSHKey = key
	x.st.setAccount(x.signerID(), a)
	x.emit(wire.EventSSHKeySet, indexed("account", x.signerAddr), attr("ssh_key", key))
	return nil
}

func (x *execCtx) registerType(m *wire.MsgRegisterType) error {
	if err := validateTypeFields(m.Name, m.Version, m.SchemaCID); err != nil {
		err.Field = "msg.register_type." + err.Field
		return err
	}
	owner := x.signerID()
	t := &descriptorType{Owner: &owner, DescriptorTypeFields: wire.DescriptorTypeFields{
		Name: m.Name, Version: m.Version, SchemaCID: m.SchemaCID, Deposit: x.params.TypeDeposit, RegisteredAt: x.height}}
	if _, ok := x.st.descriptorType(t.ID()); ok {
		return wire.Reject(wire.CodeAlreadyExists, "msg.register_type", "type %s is already registered", t.ID())
	}
	if err := x.debit(x.signerID(), t.Deposit, "msg.register_type"); err != nil {
		return err
	}
	x.st.setDescriptorType(t)
	x.emit(wire.EventTypeRegistered, indexed("type", t.ID()), attr("name", t.Name), attr("version", t.Version),
		attr("schema_cid", t.SchemaCID), indexed("owner", x.signerAddr), attr("deposit", t.Deposit.String()))
	return nil
}

// validateURL accepts an absolute URL with one of schemes and a host, and nothing that a
// consumer's browser or client could run or be misled by (javascript:, data:, user
// information). A pure string check: the ledger is deterministic.
func validateURL(field, s string, schemes ...string) error {
	if len(s) > maxEndpointLen {
		return wire.Reject(wire.CodeInvalid, field, "longer than %d characters", maxEndpointLen)
	}
	u, err := url.Parse(s)
	if err != nil || !slices.Contains(schemes, u.Scheme) || u.Host == "" || u.User != nil || strings.ContainsAny(s, " \t\r\n,") {
		return wire.Reject(wire.CodeInvalid, field, "%q is not a %s URL with a host (and no user information, spaces or commas)", s, strings.Join(schemes, ", "))
	}
	return nil
}

// sshFingerprint is an OpenSSH SHA256 host key fingerprint: unpadded base64 of 32 bytes.
var sshFingerprint = regexp.MustCompile(`^SHA256:[A-Za-z0-9+/]{43}$`)

// validateSSHFingerprint checks the host key fingerprint an ssh:// endpoint carries
// (ssh://HOST:PORT?fingerprint=SHA256:...), which consumers check the machine against: when
// there is a query it must be exactly one well-formed fingerprint. validateURL ran first.
func validateSSHFingerprint(field, s string) error {
	u, _ := url.Parse(s)
	if u.Scheme != "ssh" || u.RawQuery == "" {
		return nil
	}
	q, err := url.ParseQuery(u.RawQuery)
	if err != nil || len(q) != 1 || len(q["fingerprint"]) != 1 || !sshFingerprint.MatchString(q.Get("fingerprint")) {
		return wire.Reject(wire.CodeInvalid, field, "an ssh endpoint's query is one fingerprint=SHA256:<43 base64 characters> (the machine's host key)")
	}
	return nil
}

// Schemes a provider's Chain Reactor API and a deployment's endpoints (RPC, WebSocket, a
// virtual machine's SSH) may use.
var (
	providerSchemes = []string{"http", "https"}
	endpointSchemes = []string{"http", "https", "ws", "wss", "ssh"}
)

// checkTypes validates a provider's type list and returns it sorted.
func (x *execCtx) checkTypes(field string, types []string) ([]string, error) {
	if len(types) == 0 || len(types) > maxTypesPerProvider {
		return nil, wire.Reject(wire.CodeInvalid, field, "want 1 to %d descriptor types, got %d", maxTypesPerProvider, len(types))
	}
	out := append([]string(nil), types...)
	sort.Strings(out)
	for i, t := range out {
		if i > 0 && out[i-1] == t {
			return nil, wire.Reject(wire.CodeInvalid, field, "%s is listed twice", t)
		}
		if _, ok := x.st.descriptorType(t); !ok {
			return nil, wire.Reject(wire.CodeUnknownType, field, "descriptor type %q is not registered", t)
		}
	}
	return out, nil
}

func (x *execCtx) registerProvider(m *wire.MsgRegisterProvider) error {
	if _, ok := x.st.provider(x.signerID()); ok {
		return wire.Reject(wire.CodeAlreadyExists, "msg.register_provider", "%s is already a provider (use update_provider)", x.signerAddr)
	}
	if err := validateURL("msg.register_provider.endpoint", m.Endpoint, providerSchemes...); err != nil {
		return err
	}
	types, err := x.checkTypes("msg.register_provider.types", m.Types)
	if err != nil {
		return err
	}
	if m.Capacity == 0 {
		return wire.Reject(wire.CodeInvalid, "msg.register_provider.capacity", "must be > 0")
	}
	if m.PricePerUnit == 0 {
		return wire.Reject(wire.CodeInvalid, "msg.register_provider.price_per_unit", "must be > 0")
	}
	p := &provider{Account: x.signerID(), ProviderFields: wire.ProviderFields{Endpoint: m.Endpoint, Types: types,
		Capacity: m.Capacity, PricePerUnit: m.PricePerUnit, EarnedAt: x.height, RegisteredAt: x.height}}
	x.st.setProvider(p)
	x.emitProvider(wire.EventProviderRegistered, p)
	return nil
}

func (x *execCtx) emitProvider(typ string, p *provider) {
	x.emit(typ, indexed("provider", x.addr(p.Account)), attr("endpoint", p.Endpoint), attr("types", strings.Join(p.Types, ",")),
		uattr("capacity", p.Capacity), attr("price_per_unit", p.PricePerUnit.String()), attr("paused", fmt.Sprint(p.Paused)))
}

// signerProvider loads the signer's provider record.
func (x *execCtx) signerProvider(field string) (*provider, error) {
	p, ok := x.st.provider(x.signerID())
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, field, "%s is not a registered provider", x.signerAddr)
	}
	return p, nil
}

func (x *execCtx) updateProvider(m *wire.MsgUpdateProvider) error {
	p, err := x.signerProvider("msg.update_provider")
	if err != nil {
		return err
	}
	if m.Endpoint != nil {
		if err := validateURL("msg.update_provider.endpoint", *m.Endpoint, providerSchemes...); err != nil {
			return err
		}
		p.Endpoint = *m.Endpoint
	}
	if m.Capacity != nil {
		if *m.Capacity == 0 {
			return wire.Reject(wire.CodeInvalid, "msg.update_provider.capacity", "must be > 0 (pause or deregister instead)")
		}
		if *m.Capacity < p.Reserved {
			return wire.Reject(wire.CodeInvalid, "msg.update_provider.capacity", "%d is below the %d units in use", *m.Capacity, p.Reserved)
		}
		p.Capacity = *m.Capacity
	}
	if m.PricePerUnit != nil {
		if *m.PricePerUnit == 0 {
			return wire.Reject(wire.CodeInvalid, "msg.update_provider.price_per_unit", "must be > 0")
		}
		p.PricePerUnit = *m.PricePerUnit
	}
	if m.Types != nil {
		types, err := x.checkTypes("msg.update_provider.types", m.Types)
		if err != nil {
			return err
		}
		p.Types = types
	}
	x.st.setProvider(p)
	x.emitProvider(wire.EventProviderUpdated, p)
	return nil
}

func (x *execCtx) setPaused(paused bool) error {
	field := "msg.resume_provider"
	if paused {
		field = "msg.pause_provider"
	}
	p, err := x.signerProvider(field)
	if err != nil {
		return err
	}
	p.Paused = paused
	x.st.setProvider(p)
	if paused {
		x.emit(wire.EventProviderPaused, indexed("provider", x.signerAddr))
	} else {
		x.emit(wire.EventProviderResumed, indexed("provider", x.signerAddr))
	}
	return nil
}

func (x *execCtx) deregisterProvider() error {
	p, err := x.signerProvider("msg.deregister_provider")
	if err != nil {
		return err
	}
	if p.Reserved > 0 {
		return wire.Reject(wire.CodeProviderBusy, "msg.deregister_provider", "%d units are still held by pending or active subscriptions", p.Reserved)
	}
	x.settleProvider(p) // nothing accrues without active subscriptions, but keep it exact
	x.st.deleteProvider(p.Account)
	x.emit(wire.EventProviderDeregistered, indexed("provider", x.signerAddr))
	return nil
}

func (x *execCtx) claimEarnings() error {
	p, err := x.signerProvider("msg.claim_earnings")
	if err != nil {
		return err
	}
	n := len(x.events)
	x.settleProvider(p)
	x.st.setProvider(p)
	if len(x.events) == n { // nothing accrued: still say the claim happened
		x.emit(wire.EventProviderPaid, indexed("provider", x.signerAddr), attr("amount", "0"))
	}
	return nil
}

// settleProvider credits the provider's earnings accrued since EarnedAt to its balance.
// The caller stores p.
func (x *execCtx) settleProvider(p *provider) {
	if x.height <= p.EarnedAt {
		return
	}
	due, _ := mul(uint64(p.Rate), uint64(x.height-p.EarnedAt))
	p.EarnedAt = x.height
	if due > 0 {
		x.credit(p.Account, wire.Amount(due))
		x.emit(wire.EventProviderPaid, indexed("provider", x.addr(p.Account)), attr("amount", wire.Amount(due).String()))
	}
}

func (x *execCtx) subscribe(m *wire.MsgSubscribe) error {
	const f = "msg.subscribe."
	if err := validateCID(m.DescriptorCID); err != nil {
		return wire.Reject(wire.CodeInvalid, f+"descriptor_cid", "%v", err)
	}
	if _, ok := x.st.descriptorType(m.DescriptorType); !ok {
		return wire.Reject(wire.CodeUnknownType, f+"descriptor_type", "descriptor type %q is not registered", m.DescriptorType)
	}
	if m.Units == 0 {
		return wire.Reject(wire.CodeInvalid, f+"units", "must be > 0")
	}
	if m.MaxPricePerUnit == 0 {
		return wire.Reject(wire.CodeInvalid, f+"max_price_per_unit", "must be > 0")
	}
	strategy := m.Strategy
	if strategy == "" {
		strategy = x.params.DefaultStrategy
	}
	if !wire.ValidStrategy(strategy) {
		return wire.Reject(wire.CodeInvalid, f+"strategy", "%q is not round_robin, random or capacity", m.Strategy)
	}
	minDeposit, ok := mul(m.Units, uint64(m.MaxPricePerUnit))
	if !ok {
		return wire.Reject(wire.CodeInvalid, f+"max_price_per_unit", "units * max_price_per_unit overflows")
	}
	if uint64(m.Deposit) < minDeposit {
		return wire.Reject(wire.CodeInvalid, f+"deposit", "%s does not cover one block at the maximum price (units * max_price_per_unit = %d)", m.Deposit, minDeposit)
	}
	consumer := x.signerID()
	if a := x.st.account(consumer); a.Balance < m.Deposit {
		return wire.Reject(wire.CodeInsufficientFunds, f+"deposit", "%s needed, %s has %s free", m.Deposit, x.signerAddr, a.Balance)
	}
	id := x.st.metaUint(metaNextSub)
	p, err := x.award(m, strategy, id)
	if err != nil {
		return err
	}
	if err := x.debit(consumer, m.Deposit, f+"deposit"); err != nil {
		return err
	}
	price, _ := mul(m.Units, uint64(p.PricePerUnit)) // <= minDeposit, cannot overflow
	sshKey := x.st.account(consumer).SSHKey
	if sshKey == "" && x.signer.Scheme == keyring.Ed25519 {
		sshKey, _ = x.signer.SSHAuthorizedKey()
	}
	sub := &subscription{
		ID: id, Consumer: consumer, ConsumerScheme: x.signer.Scheme, ConsumerSSHKey: sshKey, Provider: p.Account,
		SubscriptionFields: wire.SubscriptionFields{
			DescriptorCID: m.DescriptorCID, DescriptorType: m.DescriptorType,
			Units: m.Units, PricePerBlock: wire.Amount(price), MaxPricePerUnit: m.MaxPricePerUnit,
			Strategy: strategy, State: wire.StatePending, Deposit: m.Deposit,
			SettledAt: x.height, CreatedAt: x.height, ExpiresAt: x.height + x.params.DeployTimeout,
		},
	}
	p.Reserved += m.Units
	x.st.setProvider(p)
	x.st.setSubscription(sub)
	x.st.setMetaUint(metaNextSub, id+1)
	x.st.setMetaUint(metaLiveCount, x.st.metaUint(metaLiveCount)+1)
	x.emitSub(wire.EventSubscriptionAwarded, sub,
		attr("provider_endpoint", p.Endpoint), attr("price_per_block", sub.PricePerBlock.String()),
		attr("deposit", sub.Deposit.String()), attr("strategy", strategy), uattr("deploy_deadline", uint64(sub.ExpiresAt)))
	return nil
}

// emitSub emits a subscription event: the fields a provider's watcher needs, then extras.
func (x *execCtx) emitSub(typ string, s *subscription, extra ...wire.Attribute) {
	attrs := []wire.Attribute{
		indexed("id", fmt.Sprint(s.ID)), indexed("provider", x.addr(s.Provider)), indexed("consumer", x.addr(s.Consumer)),
		attr("consumer_public_key", "0x"+hex.EncodeToString(s.Consumer[:])), attr("consumer_scheme", string(s.ConsumerScheme)),
		attr("consumer_ssh_key", s.ConsumerSSHKey), indexed("descriptor_cid", s.DescriptorCID),
		indexed("descriptor_type", s.DescriptorType), uattr("units", s.Units), attr("state", s.State),
	}
	x.emit(typ, append(attrs, extra...)...)
}

// consumerSub loads a subscription the signer consumes, live.
func (x *execCtx) consumerSub(field string, id uint64) (*subscription, error) {
	sub, ok := x.st.subscription(id)
	if !ok {
		return nil, wire.Reject(wire.CodeNotFound, field, "subscription %d does not exist", id)
	}
	if sub.Consumer != x.signerID() {
		return nil, wire.Reject(wire.CodeUnauthorized, field, "subscription %d belongs to %s", id, x.addr(sub.Consumer))
	}
	if !sub.Live() {
		return nil, wire.Reject(wire.CodeWrongState, field, "subscription %d has ended (%s)", id, sub.EndReason)
	}
	return sub, nil
}

// settleSub moves what an active subscription owes from its deposit to its charged total
// (the provider receives it through its rate).
func (x *execCtx) settleSub(s *subscription) {
	owed := owed(s, x.height)
	s.Deposit -= owed
	s.Charged += owed
	if s.State == wire.StateActive {
		s.SettledAt = x.height
	}
}

// paidUntil is the block in which an active subscription's deposit runs out.
func (x *execCtx) paidUntil(s *subscription) int64 {
	return s.SettledAt + int64(uint64(s.Deposit)/uint64(s.PricePerBlock))
}

func (x *execCtx) topUp(m *wire.MsgTopUp) error {
	sub, err := x.consumerSub("msg.top_up.subscription_id", m.SubscriptionID)
	if err != nil {
		return err
	}
	if m.Amount == 0 {
		return wire.Reject(wire.CodeInvalid, "msg.top_up.amount", "must be > 0")
	}
	if err := x.debit(x.signerID(), m.Amount, "msg.top_up.amount"); err != nil {
		return err
	}
	x.settleSub(sub)
	sub.Deposit += m.Amount
	if sub.State == wire.StateActive {
		sub.ExpiresAt = x.paidUntil(sub)
	}
	x.st.setSubscription(sub)
	x.emitSub(wire.EventSubscriptionToppedUp, sub, attr("amount", m.Amount.String()),
		attr("deposit", sub.Deposit.String()), uattr("expires_at", uint64(sub.ExpiresAt)))
	return nil
}

func (x *execCtx) cancel(m *wire.MsgCancel) error {
	sub, err := x.consumerSub("msg.cancel.subscription_id", m.SubscriptionID)
	if err != nil {
		return err
	}
	x.endSubscription(sub, wire.ReasonCancelled, "")
	return nil
}

func (x *execCtx) reportStatus(m *wire.MsgReportStatus) error {
	const f = "msg.report_status."
	sub, ok := x.st.subscription(m.SubscriptionID)
	if !ok {
		return wire.Reject(wire.CodeNotFound, f+"subscription_id", "subscription %d does not exist", m.SubscriptionID)
	}
	if sub.Provider != x.signerID() {
		return wire.Reject(wire.CodeUnauthorized, f+"subscription_id", "subscription %d was awarded to %s", sub.ID, x.addr(sub.Provider))
	}
	if !sub.Live() {
		return wire.Reject(wire.CodeWrongState, f+"subscription_id", "subscription %d has ended (%s)", sub.ID, sub.EndReason)
	}
	switch m.Status {
	case wire.StatusDeployed:
		if len(m.Endpoints) == 0 || len(m.Endpoints) > maxEndpoints {
			return wire.Reject(wire.CodeInvalid, f+"endpoints", "want 1 to %d endpoints, got %d", maxEndpoints, len(m.Endpoints))
		}
		for i, e := range m.Endpoints {
			if err := validateURL(fmt.Sprintf("%sendpoints[%d]", f, i), e, endpointSchemes...); err != nil {
				return err
			}
			if err := validateSSHFingerprint(fmt.Sprintf("%sendpoints[%d]", f, i), e); err != nil {
				return err
			}
		}
		if m.Reason != "" {
			return wire.Reject(wire.CodeInvalid, f+"reason", "only a failed report has a reason")
		}
		sub.Endpoints = append([]string(nil), m.Endpoints...)
		if sub.State == wire.StatePending {
			p := x.awardedProvider(sub)
			x.settleProvider(p)
			p.Rate += sub.PricePerBlock
			x.st.setProvider(p)
			sub.State, sub.DeployedAt, sub.SettledAt = wire.StateActive, x.height, x.height
			sub.ExpiresAt = x.paidUntil(sub)
		}
		x.st.setSubscription(sub)
		x.emitSub(wire.EventSubscriptionDeployed, sub, attr("endpoints", strings.Join(sub.Endpoints, ",")),
			attr("price_per_block", sub.PricePerBlock.String()), uattr("expires_at", uint64(sub.ExpiresAt)))
		return nil
	case wire.StatusFailed:
		if m.Reason == "" || len(m.Reason) > maxReasonLen {
			return wire.Reject(wire.CodeInvalid, f+"reason", "a failed report needs a reason of 1 to %d characters", maxReasonLen)
		}
		if len(m.Endpoints) != 0 {
			return wire.Reject(wire.CodeInvalid, f+"endpoints", "a failed report has no endpoints")
		}
		x.endSubscription(sub, wire.ReasonFailed, m.Reason)
		return nil
	}
	return wire.Reject(wire.CodeInvalid, f+"status", "%q is not deployed or failed", m.Status)
}

// endSubscription ends a live subscription: the provider is paid up to now, the rest of
// the deposit goes back to the consumer, the capacity is freed and the indexes dropped.
func (x *execCtx) endSubscription(sub *subscription, reason, detail string) {
	p := x.awardedProvider(sub)
	wasActive := sub.State == wire.StateActive
	x.settleSub(sub)
	if wasActive {
		x.settleProvider(p)
		p.Rate -= sub.PricePerBlock
	}
	p.Reserved -= sub.Units
	x.st.setProvider(p)
	refund := sub.Deposit
	x.credit(sub.Consumer, refund)
	x.st.setMetaUint(metaLiveCount, x.st.metaUint(metaLiveCount)-1)
	sub.State, sub.EndedAt, sub.EndReason, sub.EndDetail = wire.StateEnded, x.height, reason, detail
	sub.Deposit, sub.Refunded = 0, refund
	x.st.setSubscription(sub)
	x.emitSub(wire.EventSubscriptionEnded, sub, indexed("reason", reason), attr("detail", detail),
		attr("refund", refund.String()), attr("charged", sub.Charged.String()))
}

// awardedProvider loads a live subscription's provider, which cannot deregister while it
// holds the subscription: a missing one is corrupt state.
func (x *execCtx) awardedProvider(sub *subscription) *provider {
	p, ok := x.st.provider(sub.Provider)
	if !ok {
		panic(fmt.Sprintf("ledger state: subscription %d names missing provider %s", sub.ID, x.addr(sub.Provider)))
	}
	return p
}
