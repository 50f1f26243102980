package ledger

import (
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// setupMarket registers bob and charlie as providers (capacity 10, price 5 and 7) and
// gives alice one pending subscription (id 1, 2 units on bob).
func setupMarket(t *testing.T) *harness {
	h := newHarness(t, nil)
	bob, charlie, alice := dev(t, "bob"), dev(t, "charlie"), dev(t, "alice")
	res := h.block(
		h.tx(bob, registerProvider("https://bob.example/reactor", 10, 5)),
		h.tx(charlie, registerProvider("https://charlie.example/reactor", 10, 7)),
	)
	for _, r := range res.TxResults {
		if r.Code != wire.CodeOK {
			t.Fatal(r.Log)
		}
	}
	h.ok(alice, subscribe(2, 1000, 5, wire.StrategyCapacity))
	return h
}

func TestRejections(t *testing.T) {
	alice, bob, dave := dev(t, "alice"), dev(t, "bob"), dev(t, "dave")
	nobody := keyOf(t, keyring.Sr25519, "//Nobody")
	withCID := func(c string) func(h *harness) []byte {
		return func(h *harness) []byte {
			m := subscribe(1, 100, 5, "")
			m.Subscribe.DescriptorCID = c
			return h.tx(alice, m)
		}
	}
	cases := []struct {
		name  string
		build func(h *harness) []byte
		code  wire.Code
		field string
	}{
		{"garbage", func(h *harness) []byte { return []byte("not json") }, wire.CodeDecode, ""},
		{"unknown field", func(h *harness) []byte {
			return []byte(`{"body":"e30=","signature":"0x00","extra":1}`)
		}, wire.CodeDecode, ""},
		{"no message", func(h *harness) []byte {
			raw, _ := json.Marshal(wire.Tx{Body: []byte(`{"chain_id":"dinfra-test","signer":"` + alice.Address(42) + `","scheme":"sr25519","nonce":0,"msg":{}}`), Signature: "0x" + strings.Repeat("00", 64)})
			return raw
		}, wire.CodeDecode, "body.msg"},
		{"two messages", func(h *harness) []byte {
			body := `{"chain_id":"dinfra-test","signer":"` + alice.Address(42) + `","scheme":"sr25519","nonce":1,"msg":{"transfer":{"to":"` + bob.Address(42) + `","amount":"1"},"cancel":{"subscription_id":1}}}`
			return must(json.Marshal(wire.Tx{Body: []byte(body), Signature: "0x" + hex.EncodeToString(alice.MustSign(wire.SignBytes([]byte(body))))}))
		}, wire.CodeDecode, "body.msg"},
		{"bad signature", func(h *harness) []byte {
			var tx wire.Tx
			_ = json.Unmarshal(h.tx(alice, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}}), &tx)
			sig, _ := hex.DecodeString(tx.Signature[2:])
			sig[10] ^= 0xff
			tx.Signature = "0x" + hex.EncodeToString(sig)
			return must(json.Marshal(tx))
		}, wire.CodeBadSignature, "signature"},
		{"signature by another key", func(h *harness) []byte {
			var tx wire.Tx
			_ = json.Unmarshal(h.tx(alice, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}}), &tx)
			tx.Signature = "0x" + hex.EncodeToString(bob.MustSign(wire.SignBytes(tx.Body)))
			return must(json.Marshal(tx))
		}, wire.CodeBadSignature, "signature"},
		{"wrong chain id", func(h *harness) []byte {
			return must(wire.EncodeTx(alice, "other-chain", h.nonce(alice), wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}}))
		}, wire.CodeWrongChainID, "body.chain_id"},
		{"replayed nonce", func(h *harness) []byte {
			return must(wire.EncodeTx(alice, testChain, h.nonce(alice)-1, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}}))
		}, wire.CodeNonceReplayed, "body.nonce"},
		{"future nonce", func(h *harness) []byte {
			return must(wire.EncodeTx(alice, testChain, h.nonce(alice)+1, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}}))
		}, wire.CodeNonceFuture, "body.nonce"},
		{"oversized tx", func(h *harness) []byte {
			ep := "https://x.example/" + strings.Repeat("a", 9000)
			return h.tx(bob, wire.Msg{UpdateProvider: &wire.MsgUpdateProvider{Endpoint: &ep}})
		}, wire.CodeTxTooLarge, ""},
		{"insufficient funds transfer", func(h *harness) []byte {
			return h.tx(nobody, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}})
		}, wire.CodeInsufficientFunds, "msg.transfer.amount"},
		{"insufficient funds deposit", func(h *harness) []byte {
			return h.tx(alice, subscribe(1, wire.DevEndowment*2, 5, ""))
		}, wire.CodeInsufficientFunds, "msg.subscribe.deposit"},
		{"insufficient funds type deposit", func(h *harness) []byte {
			return h.tx(nobody, wire.Msg{RegisterType: &wire.MsgRegisterType{Name: "vm", Version: "v1", SchemaCID: testCID("vm")}})
		}, wire.CodeInsufficientFunds, "msg.register_type"},
		{"zero transfer", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 0}})
		}, wire.CodeInvalid, "msg.transfer.amount"},
		{"bad address", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{Transfer: &wire.MsgTransfer{To: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQZ", Amount: 1}})
		}, wire.CodeInvalid, "msg.transfer.to"},
		{"unknown type", func(h *harness) []byte {
			m := subscribe(1, 100, 5, "")
			m.Subscribe.DescriptorType = "vm/v1"
			return h.tx(alice, m)
		}, wire.CodeUnknownType, "msg.subscribe.descriptor_type"},
		{"unknown type for provider", func(h *harness) []byte {
			return h.tx(dave, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: "https://d.example", Types: []string{"vm/v1"}, Capacity: 1, PricePerUnit: 1}})
		}, wire.CodeUnknownType, "msg.register_provider.types"},
		{"bad descriptor cid", withCID("not-a-cid"), wire.CodeInvalid, "msg.subscribe.descriptor_cid"},
		{"CIDv0 descriptor", withCID("QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"), wire.CodeInvalid, "msg.subscribe.descriptor_cid"},
		{"dag-pb descriptor CID no reactor can serve", withCID("bafybeigdyrzt5sfp7udm7hu76uh7y26nf3efuylqabf3oclgtqy55fbzdi"), wire.CodeInvalid, "msg.subscribe.descriptor_cid"},
		{"identity-hash descriptor CID", withCID(must(cid.NewPrefixV1(cid.Raw, multihash.IDENTITY).Sum([]byte("{}"))).String()), wire.CodeInvalid, "msg.subscribe.descriptor_cid"},
		{"CIDv0 schema", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{RegisterType: &wire.MsgRegisterType{Name: "vm", Version: "v1", SchemaCID: "QmT78zSuBmuS4z925WZfrqQ1qHaJ56DQaTfyMUF7F8ff5o"}})
		}, wire.CodeInvalid, "msg.register_type.schema_cid"},
		{"no capacity", func(h *harness) []byte { return h.tx(alice, subscribe(11, 1000, 10, "")) }, wire.CodeNoCapacity, "msg.subscribe.units"},
		{"no capacity at price", func(h *harness) []byte { return h.tx(alice, subscribe(9, 1000, 5, "")) }, wire.CodeNoCapacity, "msg.subscribe.units"},
		{"price above the maximum", func(h *harness) []byte { return h.tx(alice, subscribe(1, 100, 4, "")) }, wire.CodePriceAboveMax, "msg.subscribe.max_price_per_unit"},
		{"deposit below one block", func(h *harness) []byte { return h.tx(alice, subscribe(2, 9, 5, "")) }, wire.CodeInvalid, "msg.subscribe.deposit"},
		{"bad strategy", func(h *harness) []byte { return h.tx(alice, subscribe(1, 100, 5, "cheapest")) }, wire.CodeInvalid, "msg.subscribe.strategy"},
		{"deregister busy provider", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{DeregisterProvider: &wire.MsgDeregisterProvider{}})
		}, wire.CodeProviderBusy, "msg.deregister_provider"},
		{"capacity below reserved", func(h *harness) []byte {
			c := uint64(1)
			return h.tx(bob, wire.Msg{UpdateProvider: &wire.MsgUpdateProvider{Capacity: &c}})
		}, wire.CodeInvalid, "msg.update_provider.capacity"},
		{"register provider twice", func(h *harness) []byte {
			return h.tx(bob, registerProvider("https://bob.example", 1, 1))
		}, wire.CodeAlreadyExists, "msg.register_provider"},
		{"register type twice", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{RegisterType: &wire.MsgRegisterType{Name: "substrate-network", Version: "v1alpha1", SchemaCID: testCID("x")}})
		}, wire.CodeAlreadyExists, "msg.register_type"},
		{"bad type name", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{RegisterType: &wire.MsgRegisterType{Name: "VM", Version: "v1", SchemaCID: testCID("x")}})
		}, wire.CodeInvalid, "msg.register_type.name"},
		{"bad endpoint", func(h *harness) []byte {
			return h.tx(dave, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: "ftp://d", Types: []string{typeSubstrate}, Capacity: 1, PricePerUnit: 1}})
		}, wire.CodeInvalid, "msg.register_provider.endpoint"},
		{"not a provider", func(h *harness) []byte { return h.tx(dave, wire.Msg{PauseProvider: &wire.MsgPauseProvider{}}) }, wire.CodeNotFound, "msg.pause_provider"},
		{"top up unknown", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{TopUp: &wire.MsgTopUp{SubscriptionID: 99, Amount: 1}})
		}, wire.CodeNotFound, "msg.top_up.subscription_id"},
		{"cancel someone else's", func(h *harness) []byte { return h.tx(dave, wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: 1}}) }, wire.CodeUnauthorized, "msg.cancel.subscription_id"},
		{"report on another provider's", func(h *harness) []byte { return h.tx(dev(t, "charlie"), deployed(1)) }, wire.CodeUnauthorized, "msg.report_status.subscription_id"},
		{"report without endpoints", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed}})
		}, wire.CodeInvalid, "msg.report_status.endpoints"},
		{"javascript: endpoint", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"javascript:alert(1)"}}})
		}, wire.CodeInvalid, "msg.report_status.endpoints[0]"},
		{"data: endpoint", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"wss://rpc.example", "data:text/html,<script>alert(1)</script>"}}})
		}, wire.CodeInvalid, "msg.report_status.endpoints[1]"},
		{"endpoint with credentials", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"https://user:pw@rpc.example"}}})
		}, wire.CodeInvalid, "msg.report_status.endpoints[0]"},
		{"endpoint without host", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"wss:///path"}}})
		}, wire.CodeInvalid, "msg.report_status.endpoints[0]"},
		{"ssh endpoint with a malformed fingerprint", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"ssh://m.example:2222?fingerprint=MD5%3Aab"}}})
		}, wire.CodeInvalid, "msg.report_status.endpoints[0]"},
		{"ssh endpoint with another query", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{"ssh://m.example:2222?fingerprint=" + sshFP + "&user=root"}}})
		}, wire.CodeInvalid, "msg.report_status.endpoints[0]"},
		{"failure without reason", func(h *harness) []byte {
			return h.tx(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusFailed}})
		}, wire.CodeInvalid, "msg.report_status.reason"},
		{"bad ssh key", func(h *harness) []byte {
			return h.tx(alice, wire.Msg{SetSSHKey: &wire.MsgSetSSHKey{SSHKey: "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQC9"}})
		}, wire.CodeInvalid, "msg.set_ssh_key.ssh_key"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			h := setupMarket(t)
			before, height := h.l.AppHash(), h.l.Height()
			aliceNonce := h.nonce(alice)
			// CheckTx rejects it with the same code...
			raw := c.build(h)
			if r := h.l.CheckTx(raw); r.Code != c.code {
				t.Fatalf("CheckTx: code %s (%s), want %s", r.Code, r.Log, c.code)
			}
			// ...and so does block execution, which changes nothing.
			res := h.block(raw)
			r := res.TxResults[0]
			if r.Code != c.code {
				t.Fatalf("code %s (%s), want %s", r.Code, r.Log, c.code)
			}
			if c.field != "" && !strings.Contains(r.Log, c.field+":") {
				t.Errorf("log %q does not name field %s", r.Log, c.field)
			}
			if len(r.Events) != 0 {
				t.Errorf("rejected tx has events %v", r.Events)
			}
			if !sameHash(before, h.l.AppHash()) {
				t.Errorf("state changed: app hash %X -> %X", before, h.l.AppHash())
			}
			if h.l.Height() != height+1 || h.nonce(alice) != aliceNonce {
				t.Errorf("height %d nonce %d", h.l.Height(), h.nonce(alice))
			}
		})
	}
}

func TestNoProvider(t *testing.T) {
	h := newHarness(t, nil)
	r := h.block(h.tx(dev(t, "alice"), subscribe(1, 100, 5, ""))).TxResults[0]
	if r.Code != wire.CodeNoProvider || !strings.Contains(r.Log, "no active provider serves substrate-network/v1alpha1") {
		t.Fatalf("%s %s", r.Code, r.Log)
	}
	// A paused provider does not count.
	bob := dev(t, "bob")
	h.ok(bob, registerProvider("https://bob.example", 10, 1))
	h.ok(bob, wire.Msg{PauseProvider: &wire.MsgPauseProvider{}})
	if r := h.block(h.tx(dev(t, "alice"), subscribe(1, 100, 5, ""))).TxResults[0]; r.Code != wire.CodeNoProvider {
		t.Fatalf("paused provider: %s %s", r.Code, r.Log)
	}
	h.ok(bob, wire.Msg{ResumeProvider: &wire.MsgResumeProvider{}})
	h.ok(dev(t, "alice"), subscribe(1, 100, 5, ""))
}

func TestTransferAndNonces(t *testing.T) {
	h := newHarness(t, nil)
	alice, bob := dev(t, "alice"), dev(t, "bob")
	// Several txs of one account in one block, consecutive nonces, checked first by CheckTx.
	var txs [][]byte
	for i := 0; i < 3; i++ {
		tx := h.tx(alice, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 100}})
		if r := h.l.CheckTx(tx); r.Code != wire.CodeOK {
			t.Fatal(r.Log)
		}
		txs = append(txs, tx)
	}
	res := h.block(txs...)
	for _, r := range res.TxResults {
		if r.Code != wire.CodeOK {
			t.Fatal(r.Log)
		}
	}
	ev := events(res.TxResults[0].Events, wire.EventTransfer)
	if len(ev) != 1 || ev[0]["from"] != alice.Address(42) || ev[0]["to"] != bob.Address(42) || ev[0]["amount"] != "100" {
		t.Fatalf("transfer event %v", ev)
	}
	if h.balance(alice) != wire.DevEndowment-300 || h.balance(bob) != wire.DevEndowment+300 || h.nonce(alice) != 3 {
		t.Fatalf("balances %d %d nonce %d", h.balance(alice), h.balance(bob), h.nonce(alice))
	}
	// Replaying a committed tx fails.
	if r := h.block(txs[0]).TxResults[0]; r.Code != wire.CodeNonceReplayed {
		t.Fatalf("replay: %s", r.Log)
	}
	// ed25519 accounts sign too.
	edAlice := keyOf(t, keyring.Ed25519, "//Alice")
	h.ok(edAlice, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 1}})
}

func TestSubscriptionLifecycleAndBilling(t *testing.T) {
	h := setupMarket(t)
	alice, bob := dev(t, "alice"), dev(t, "bob")
	s := h.sub(1)
	if s.State != wire.StatePending || s.Provider != bob.Address(42) || s.PricePerBlock != 10 || s.Deposit != 1000 {
		t.Fatalf("awarded %+v", s)
	}
	if p := h.provider(bob); p.Reserved != 2 || p.Free != 8 {
		t.Fatalf("provider %+v", p)
	}
	aliceBefore, bobBefore := h.balance(alice), h.balance(bob)
	// Pending: nothing is charged.
	h.skip(3)
	if s := h.sub(1); s.Remaining != 1000 || s.PaidTotal != 0 {
		t.Fatalf("pending charged: %+v", s)
	}
	res := h.ok(bob, deployed(1))
	dh := h.l.Height()
	ev := events(res.Events, wire.EventSubscriptionDeployed)
	if len(ev) != 1 || ev[0]["endpoints"] != "wss://rpc.example:443" || ev[0]["expires_at"] != itoa(uint64(dh+100)) {
		t.Fatalf("deployed event %v (height %d)", ev, dh)
	}
	// 1000 at 10 per block pays for 100 blocks: it ends at the start of block dh+100.
	h.skip(40)
	s = h.sub(1)
	if s.Remaining != 600 || s.PaidTotal != 400 || s.State != wire.StateActive {
		t.Fatalf("after 40 blocks: %+v", s)
	}
	// Top up 65 in block dh+41: 590+65 = 655 left, 65 more blocks (5 left over).
	r := h.ok(alice, wire.Msg{TopUp: &wire.MsgTopUp{SubscriptionID: 1, Amount: 65}})
	th := h.l.Height()
	if s := h.sub(1); s.ExpiresAt != th+65 || s.Remaining != 655 {
		t.Fatalf("after top up at %d: %+v", th, s)
	}
	if ev := events(r.Events, wire.EventSubscriptionToppedUp); len(ev) != 1 || ev[0]["expires_at"] != itoa(uint64(th+65)) {
		t.Fatalf("top up event %v", ev)
	}
	for h.l.Height() < th+64 {
		h.block()
	}
	if s := h.sub(1); s.State != wire.StateActive {
		t.Fatalf("ended early at %d: %+v", h.l.Height(), s)
	}
	res2 := h.block() // block th+65: expiry happens exactly here, before any tx
	if h.l.Height() != th+65 {
		t.Fatal("height")
	}
	ended := events(res2.Events, wire.EventSubscriptionEnded)
	if len(ended) != 1 || ended[0]["reason"] != wire.ReasonExpired || ended[0]["refund"] != "5" || ended[0]["charged"] != "1060" {
		t.Fatalf("expiry events %v", res2.Events)
	}
	for _, k := range []string{"id", "provider", "consumer", "consumer_public_key", "descriptor_cid", "descriptor_type", "units"} {
		if ended[0][k] == "" {
			t.Errorf("ended event lacks %s", k)
		}
	}
	if s := h.sub(1); s.State != wire.StateEnded || s.EndReason != wire.ReasonExpired || s.Remaining != 0 || s.PaidTotal != 1060 {
		t.Fatalf("ended %+v", s)
	}
	if p := h.provider(bob); p.Reserved != 0 || p.Rate != 0 || p.PendingEarnings != 0 {
		t.Fatalf("provider after expiry %+v", p)
	}
	// The provider got every charged block; alice paid the top-up and got 5 back.
	if got := h.balance(bob) - bobBefore; got != 1060 {
		t.Fatalf("provider earned %d", got)
	}
	if got := aliceBefore - h.balance(alice); got != 65-5 {
		t.Fatalf("consumer paid %d more", got)
	}
	// Now the provider is idle and may leave.
	h.ok(bob, wire.Msg{DeregisterProvider: &wire.MsgDeregisterProvider{}})
}

func TestCancelRefundsRemainder(t *testing.T) {
	h := setupMarket(t)
	alice, bob := dev(t, "alice"), dev(t, "bob")
	h.ok(bob, deployed(1))
	h.skip(9)
	before := h.balance(alice)
	r := h.ok(alice, wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: 1}})
	ev := events(r.Events, wire.EventSubscriptionEnded)
	if len(ev) != 1 || ev[0]["reason"] != wire.ReasonCancelled || ev[0]["refund"] != "900" || ev[0]["charged"] != "100" {
		t.Fatalf("cancel events %v", r.Events)
	}
	if h.balance(alice)-before != 900 {
		t.Fatalf("refund %d", h.balance(alice)-before)
	}
	if r := h.block(h.tx(alice, wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: 1}})).TxResults[0]; r.Code != wire.CodeWrongState {
		t.Fatalf("second cancel: %s", r.Log)
	}
}

func TestFailureRefundsConsumer(t *testing.T) {
	h := setupMarket(t)
	alice, bob := dev(t, "alice"), dev(t, "bob")
	before := h.balance(alice)
	r := h.ok(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusFailed, Reason: "image pull failed"}})
	ev := events(r.Events, wire.EventSubscriptionEnded)
	if len(ev) != 1 || ev[0]["reason"] != wire.ReasonFailed || ev[0]["detail"] != "image pull failed" || ev[0]["refund"] != "1000" {
		t.Fatalf("failure events %v", r.Events)
	}
	if h.balance(alice)-before != 1000 {
		t.Fatal("not refunded")
	}
	if p := h.provider(bob); p.Reserved != 0 {
		t.Fatalf("capacity not freed: %+v", p)
	}
	// A deployment that fails later is refunded what is left.
	h.ok(alice, subscribe(1, 100, 5, wire.StrategyCapacity))
	h.ok(bob, deployed(2))
	h.skip(4)
	r = h.ok(bob, wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 2, Status: wire.StatusFailed, Reason: "node crashed"}})
	if ev := events(r.Events, wire.EventSubscriptionEnded); ev[0]["refund"] != "75" || ev[0]["charged"] != "25" {
		t.Fatalf("late failure %v", ev)
	}
}

func TestDeployTimeout(t *testing.T) {
	h := setupMarket(t) // deploy timeout 20 blocks
	s := h.sub(1)
	for h.l.Height() < s.ExpiresAt-1 {
		h.block()
	}
	res := h.block()
	ev := events(res.Events, wire.EventSubscriptionEnded)
	if len(ev) != 1 || ev[0]["reason"] != wire.ReasonDeployTimeout || ev[0]["refund"] != "1000" {
		t.Fatalf("timeout events %v", res.Events)
	}
}

func TestStrategies(t *testing.T) {
	alice := dev(t, "alice")
	providers := []*keyring.Pair{dev(t, "bob"), dev(t, "charlie"), dev(t, "dave")}
	setup := func() *harness {
		h := newHarness(t, nil)
		var txs [][]byte
		for i, p := range providers {
			txs = append(txs, h.tx(p, registerProvider("https://p.example", uint64(10+i*10), 1)))
		}
		h.block(txs...)
		return h
	}
	awarded := func(r TxResult) string { return events(r.Events, wire.EventSubscriptionAwarded)[0]["provider"] }

	t.Run("round robin", func(t *testing.T) {
		h := setup()
		var got []string
		for i := 0; i < 6; i++ {
			got = append(got, awarded(h.ok(alice, subscribe(1, 10, 1, wire.StrategyRoundRobin))))
		}
		for i := 0; i < 3; i++ {
			if got[i] != got[i+3] {
				t.Fatalf("not cyclic: %v", got)
			}
			for j := 0; j < i; j++ {
				if got[i] == got[j] {
					t.Fatalf("repeats within a cycle: %v", got)
				}
			}
		}
	})
	t.Run("capacity", func(t *testing.T) {
		h := setup() // free: bob 10, charlie 20, dave 30
		if got := awarded(h.ok(alice, subscribe(15, 15, 1, wire.StrategyCapacity))); got != providers[2].Address(42) {
			t.Fatalf("first award to %s", got)
		}
		// dave now has 15 free, charlie 20.
		if got := awarded(h.ok(alice, subscribe(1, 10, 1, wire.StrategyCapacity))); got != providers[1].Address(42) {
			t.Fatalf("second award to %s", got)
		}
	})
	t.Run("random is seeded by the block", func(t *testing.T) {
		seen := map[string]bool{}
		var first []string
		for run := 0; run < 2; run++ {
			h := setup()
			for i := 0; i < 12; i++ {
				p := awarded(h.ok(alice, subscribe(1, 10, 1, wire.StrategyRandom)))
				seen[p] = true
				if run == 0 {
					first = append(first, p)
				} else if first[i] != p {
					t.Fatalf("same blocks, different award: %s vs %s", first[i], p)
				}
			}
		}
		if len(seen) < 2 {
			t.Fatalf("random strategy always picked %v", seen)
		}
	})
	t.Run("genesis default", func(t *testing.T) {
		h := newHarness(t, func(g *wire.Genesis) { g.Params.DefaultStrategy = wire.StrategyCapacity })
		h.block(h.tx(providers[0], registerProvider("https://p.example", 5, 1)), h.tx(providers[1], registerProvider("https://p.example", 50, 1)))
		r := h.ok(alice, subscribe(1, 10, 1, ""))
		if ev := events(r.Events, wire.EventSubscriptionAwarded)[0]; ev["provider"] != providers[1].Address(42) || ev["strategy"] != wire.StrategyCapacity {
			t.Fatalf("default strategy award %v", ev)
		}
	})
}

func TestAwardEventCarriesWatcherFields(t *testing.T) {
	h := newHarness(t, nil)
	bob := dev(t, "bob")
	h.ok(bob, registerProvider("https://bob.example/reactor", 10, 1))
	// An sr25519 consumer registers an SSH key; an ed25519 one gets its own key.
	alice := dev(t, "alice")
	edKey, _ := keyOf(t, keyring.Ed25519, "//Alice").SSHAuthorizedKey()
	h.ok(alice, wire.Msg{SetSSHKey: &wire.MsgSetSSHKey{SSHKey: edKey + " alice@laptop"}})
	r := h.ok(alice, subscribe(3, 30, 1, ""))
	e, err := wire.ParseSubscriptionEvent(wire.EventSubscriptionAwarded, events(r.Events, wire.EventSubscriptionAwarded)[0])
	if err != nil {
		t.Fatal(err)
	}
	want := wire.SubscriptionEvent{Type: wire.EventSubscriptionAwarded, ID: 1, Provider: bob.Address(42), Consumer: alice.Address(42),
		ConsumerPublicKey: alice.Public().Hex(), ConsumerScheme: "sr25519", ConsumerSSHKey: edKey,
		DescriptorCID: testCID("network"), DescriptorType: typeSubstrate, Units: 3, State: wire.StatePending,
		ProviderEndpoint: "https://bob.example/reactor", PricePerBlock: 3, Deposit: 30, Strategy: wire.StrategyRoundRobin,
		DeployDeadline: h.l.Height() + 20}
	if got := *e; got.ID != want.ID || got.Provider != want.Provider || got.Consumer != want.Consumer ||
		got.ConsumerPublicKey != want.ConsumerPublicKey || got.ConsumerSSHKey != want.ConsumerSSHKey ||
		got.DescriptorCID != want.DescriptorCID || got.DescriptorType != want.DescriptorType || got.Units != 3 ||
		got.ProviderEndpoint != want.ProviderEndpoint || got.PricePerBlock != 3 || got.DeployDeadline != want.DeployDeadline ||
		got.ConsumerScheme != "sr25519" || got.State != wire.StatePending {
		t.Fatalf("award event\n got %+v\nwant %+v", got, want)
	}
	edAlice := keyOf(t, keyring.Ed25519, "//Alice")
	r = h.ok(edAlice, subscribe(1, 10, 1, ""))
	if ev := events(r.Events, wire.EventSubscriptionAwarded)[0]; ev["consumer_ssh_key"] != edKey || ev["consumer_scheme"] != "ed25519" {
		t.Fatalf("ed25519 consumer event %v", ev)
	}
}

func TestRegisterTypeHoldsDeposit(t *testing.T) {
	h := newHarness(t, nil)
	h.skip(1)
	alice := dev(t, "alice")
	before := h.balance(alice)
	h.ok(alice, wire.Msg{RegisterType: &wire.MsgRegisterType{Name: "cloud-init", Version: "v1", SchemaCID: testCID("ci")}})
	if before-h.balance(alice) != h.l.Params().TypeDeposit {
		t.Fatalf("deposit not taken: %d -> %d", before, h.balance(alice))
	}
	var types []wire.DescriptorType
	h.query(wire.QueryTypes, &types)
	if len(types) != 2 || types[0].ID() != "cloud-init/v1" || types[0].Owner != alice.Address(42) || types[1].ID() != typeSubstrate {
		t.Fatalf("types %+v", types)
	}
	// A provider can now serve it and a consumer rent it.
	bob := dev(t, "bob")
	h.ok(bob, wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: "https://bob.example", Types: []string{"cloud-init/v1", typeSubstrate}, Capacity: 4, PricePerUnit: 2}})
	m := subscribe(1, 10, 2, "")
	m.Subscribe.DescriptorType = "cloud-init/v1"
	h.ok(alice, m)
	// Changing the served types moves the provider between type indexes.
	h.ok(bob, wire.Msg{UpdateProvider: &wire.MsgUpdateProvider{Types: []string{typeSubstrate}}})
	if r := h.block(h.tx(alice, m)).TxResults[0]; r.Code != wire.CodeNoProvider {
		t.Fatalf("after update: %s", r.Log)
	}
}

func TestQueries(t *testing.T) {
	h := setupMarket(t)
	alice, bob := dev(t, "alice"), dev(t, "bob")
	for i := 0; i < 4; i++ {
		h.ok(alice, subscribe(1, 100, 10, wire.StrategyRoundRobin))
	}
	h.ok(alice, wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: 2}})
	var st wire.Status
	h.query(wire.QueryStatus, &st)
	if st.ChainID != testChain || st.Height != h.l.Height() || st.LiveSubscriptions != 4 || st.NextSubscriptionID != 6 {
		t.Fatalf("status %+v", st)
	}
	var acct wire.AccountView
	h.query(wire.QueryAccount+alice.Address(42), &acct)
	if acct.Nonce != 6 || acct.PublicKey != alice.Public().Hex() {
		t.Fatalf("account %+v", acct)
	}
	list := func(path string, page wire.Page) wire.SubscriptionList {
		b, err := h.l.Query(path, must(json.Marshal(page)))
		if err != nil {
			t.Fatal(err)
		}
		var l wire.SubscriptionList
		_ = json.Unmarshal(b, &l)
		return l
	}
	ids := func(l wire.SubscriptionList) (out []uint64) {
		for _, s := range l.Subscriptions {
			out = append(out, s.ID)
		}
		return
	}
	if got := ids(list(wire.QuerySubscriptionsConsumer+alice.Address(42), wire.Page{})); len(got) != 5 {
		t.Fatalf("by consumer %v", got)
	}
	p1 := list(wire.QuerySubscriptionsActive, wire.Page{Limit: 2})
	p2 := list(wire.QuerySubscriptionsActive, wire.Page{Limit: 2, After: p1.Next})
	if got := append(ids(p1), ids(p2)...); len(got) != 4 || got[0] != 1 || got[1] != 3 || got[3] != 5 || p1.Next != "3" || p2.Next != "" {
		t.Fatalf("active pages %v %v next %q %q", ids(p1), ids(p2), p1.Next, p2.Next)
	}
	byBob := ids(list(wire.QuerySubscriptionsProvider+bob.Address(42), wire.Page{}))
	byCharlie := ids(list(wire.QuerySubscriptionsProvider+dev(t, "charlie").Address(42), wire.Page{}))
	if len(byBob)+len(byCharlie) != 5 {
		t.Fatalf("by provider %v %v", byBob, byCharlie)
	}
	liveBob := ids(list(wire.QuerySubscriptionsProvider+bob.Address(42), wire.Page{Live: true}))
	liveCharlie := ids(list(wire.QuerySubscriptionsProvider+dev(t, "charlie").Address(42), wire.Page{Live: true}))
	if len(liveBob)+len(liveCharlie) != 4 {
		t.Fatalf("live by provider %v %v", liveBob, liveCharlie)
	}
	var provs wire.ProviderList
	h.query(wire.QueryProviders, &provs)
	if len(provs.Providers) != 2 {
		t.Fatalf("providers %+v", provs)
	}
	for _, bad := range []string{"/nope", wire.QuerySubscription + "x", wire.QuerySubscription + "99", wire.QueryProvider + alice.Address(42), wire.QueryAccount + "bad"} {
		if _, err := h.l.Query(bad, nil); err == nil {
			t.Errorf("query %s succeeded", bad)
		}
	}
}

func TestProviderEarningsAccrueLazily(t *testing.T) {
	h := setupMarket(t)
	bob := dev(t, "bob")
	h.ok(bob, deployed(1))
	before := h.balance(bob)
	h.skip(10)
	var acct wire.AccountView
	h.query(wire.QueryAccount+bob.Address(42), &acct)
	if acct.PendingEarnings != 100 || acct.Balance != before {
		t.Fatalf("pending %d balance %d (before %d)", acct.PendingEarnings, acct.Balance, before)
	}
	r := h.ok(bob, wire.Msg{ClaimEarnings: &wire.MsgClaimEarnings{}})
	if ev := events(r.Events, wire.EventProviderPaid); len(ev) != 1 || ev[0]["amount"] != "110" {
		t.Fatalf("claim %v", r.Events)
	}
	if h.balance(bob)-before != 110 {
		t.Fatalf("claimed %d", h.balance(bob)-before)
	}
}

func TestRestartKeepsState(t *testing.T) {
	h := setupMarket(t)
	h.ok(dev(t, "bob"), deployed(1))
	h.skip(3)
	height, hash := h.l.Height(), h.l.AppHash()
	// A block executed but never committed (a crash) is lost; the committed one is not.
	if _, err := h.l.FinalizeBlock(Block{Height: height + 1, Txs: [][]byte{h.tx(dev(t, "alice"), wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: 1}})}}); err != nil {
		t.Fatal(err)
	}
	l2, err := Open(h.db)
	if err != nil {
		t.Fatal(err)
	}
	if l2.Height() != height || !sameHash(l2.AppHash(), hash) || l2.ChainID() != testChain {
		t.Fatalf("reopened at %d %X, want %d %X", l2.Height(), l2.AppHash(), height, hash)
	}
	if err := l2.CheckInvariants(); err != nil {
		t.Fatal(err)
	}
	h.l = l2
	h.pending = map[string]uint64{}
	if s := h.sub(1); s.State != wire.StateActive {
		t.Fatalf("sub after restart %+v", s)
	}
	h.ok(dev(t, "alice"), wire.Msg{Cancel: &wire.MsgCancel{SubscriptionID: 1}})
}

func TestGenesisValidation(t *testing.T) {
	alice := dev(t, "alice").Address(42)
	cases := map[string]string{
		"empty":         ``,
		"unknown field": `{"params":{"ss58_prefix":42,"max_tx_bytes":8192,"type_deposit":"1","deploy_timeout_blocks":10,"default_strategy":"random"},"accounts":[],"types":[],"x":1}`,
		"bad strategy":  `{"params":{"ss58_prefix":42,"max_tx_bytes":8192,"type_deposit":"1","deploy_timeout_blocks":10,"default_strategy":"best"},"accounts":[],"types":[]}`,
		"dup account":   `{"params":{"ss58_prefix":42,"max_tx_bytes":8192,"type_deposit":"1","deploy_timeout_blocks":10,"default_strategy":"random"},"accounts":[{"address":"` + alice + `","balance":"1"},{"address":"` + alice + `","balance":"1"}],"types":[]}`,
		"bad cid":       `{"params":{"ss58_prefix":42,"max_tx_bytes":8192,"type_deposit":"1","deploy_timeout_blocks":10,"default_strategy":"random"},"accounts":[],"types":[{"name":"a","version":"v1","schema_cid":"nope"}]}`,
		"number amount": `{"params":{"ss58_prefix":42,"max_tx_bytes":8192,"type_deposit":1,"deploy_timeout_blocks":10,"default_strategy":"random"},"accounts":[],"types":[]}`,
	}
	for name, g := range cases {
		l, _ := Open(dbmNew())
		if _, err := l.InitChain(testChain, []byte(g), 1); err == nil {
			t.Errorf("%s: accepted", name)
		}
	}
}

// sshFP is a well-formed host key fingerprint, as url.Values encodes it.
const sshFP = "SHA256%3An4bQgYhMfWWaL%2BqgxVrQFaO%2FTxsrC4Is0V1sFbDwCgg"

// TestSSHEndpointCarriesTheHostKeyFingerprint: a machine's endpoint with its host key
// fingerprint goes on chain as reported, for consumers to check the machine against.
func TestSSHEndpointCarriesTheHostKeyFingerprint(t *testing.T) {
	h := setupMarket(t)
	ep := "ssh://127.0.0.1:40022?fingerprint=" + sshFP
	h.ok(dev(t, "bob"), wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: 1, Status: wire.StatusDeployed, Endpoints: []string{ep}}})
	if got := h.sub(1).Endpoints; len(got) != 1 || got[0] != ep {
		t.Fatalf("endpoints on chain = %v", got)
	}
}
