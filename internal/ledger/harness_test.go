package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"strings"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	"github.com/ipfs/go-cid"
	"github.com/multiformats/go-multihash"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

const testChain = "dinfra-test"

const typeSubstrate = "substrate-network/v1alpha1"

func testCID(s string) string {
	c, err := cid.NewPrefixV1(cid.Raw, multihash.SHA2_256).Sum([]byte(s))
	if err != nil {
		panic(err)
	}
	return c.String()
}

func dev(t testing.TB, name string) *keyring.Pair {
	t.Helper()
	p, err := keyring.Dev(keyring.Sr25519, name)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func keyOf(t testing.TB, scheme keyring.Scheme, uri string) *keyring.Pair {
	t.Helper()
	p, err := keyring.FromURI(scheme, uri)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// harness drives a ledger block by block, checking the invariants after every commit.
type harness struct {
	t       testing.TB
	l       *Ledger
	db      dbm.DB
	pending map[string]uint64 // nonces handed out in the block being built
	check   bool
}

func testGenesis() wire.Genesis {
	g := wire.DevGenesis([]wire.GenesisType{{Name: "substrate-network", Version: "v1alpha1", SchemaCID: testCID("schema")}})
	g.Params.DeployTimeout = 20
	return g
}

func newHarness(t testing.TB, mutate func(*wire.Genesis)) *harness {
	t.Helper()
	g := testGenesis()
	if mutate != nil {
		mutate(&g)
	}
	db := dbm.NewMemDB()
	l, err := Open(db)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := l.InitChain(testChain, g.JSON(), 1); err != nil {
		t.Fatal(err)
	}
	return &harness{t: t, l: l, db: db, pending: map[string]uint64{}, check: true}
}

func (h *harness) nonce(p *keyring.Pair) uint64 {
	return store{h.l.committed}.account(pubOf(p)).Nonce
}

// tx signs msg with the signer's next nonce (counting txs already built for this block).
func (h *harness) tx(p *keyring.Pair, msg wire.Msg) []byte {
	h.t.Helper()
	addr := p.Address(42)
	n := h.nonce(p) + h.pending[addr]
	h.pending[addr]++
	raw, err := wire.EncodeTx(p, testChain, n, msg)
	if err != nil {
		h.t.Fatal(err)
	}
	return raw
}

func (h *harness) blockHash() []byte {
	s := sha256.Sum256(binary.BigEndian.AppendUint64(nil, uint64(h.l.height+1)))
	return s[:]
}

// block executes and commits the txs as the next block.
func (h *harness) block(txs ...[]byte) *BlockResult {
	h.t.Helper()
	res, err := h.l.FinalizeBlock(Block{Height: h.l.height + 1, Hash: h.blockHash(), Txs: txs})
	if err != nil {
		h.t.Fatal(err)
	}
	if err := h.l.Commit(); err != nil {
		h.t.Fatal(err)
	}
	h.pending = map[string]uint64{}
	if h.check {
		if err := h.l.CheckInvariants(); err != nil {
			h.t.Fatal(err)
		}
	}
	return res
}

// ok executes one tx in its own block and fails unless it succeeded.
func (h *harness) ok(p *keyring.Pair, msg wire.Msg) TxResult {
	h.t.Helper()
	res := h.block(h.tx(p, msg))
	if r := res.TxResults[0]; r.Code != wire.CodeOK {
		h.t.Fatalf("%s by %s: %s", msg.Name(), p, r.Log)
	}
	return res.TxResults[0]
}

// skip commits n empty blocks.
func (h *harness) skip(n int) {
	for i := 0; i < n; i++ {
		h.block()
	}
}

func (h *harness) query(path string, out any) {
	h.t.Helper()
	b, err := h.l.Query(path, nil)
	if err != nil {
		h.t.Fatalf("query %s: %v", path, err)
	}
	if err := json.Unmarshal(b, out); err != nil {
		h.t.Fatal(err)
	}
}

func (h *harness) balance(p *keyring.Pair) wire.Amount {
	return store{h.l.committed}.account(pubOf(p)).Balance
}

func (h *harness) sub(id uint64) wire.SubscriptionView {
	var v wire.SubscriptionView
	h.query(wire.QuerySubscription+itoa(id), &v)
	return v
}

func (h *harness) provider(p *keyring.Pair) wire.ProviderView {
	var v wire.ProviderView
	h.query(wire.QueryProvider+p.Address(42), &v)
	return v
}

func itoa(v uint64) string { return strings.TrimSpace(string(must(json.Marshal(v)))) }

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}

func registerProvider(endpoint string, capacity uint64, price wire.Amount) wire.Msg {
	return wire.Msg{RegisterProvider: &wire.MsgRegisterProvider{Endpoint: endpoint, Types: []string{typeSubstrate}, Capacity: capacity, PricePerUnit: price}}
}

func subscribe(units uint64, deposit, maxPrice wire.Amount, strategy string) wire.Msg {
	return wire.Msg{Subscribe: &wire.MsgSubscribe{DescriptorCID: testCID("network"), DescriptorType: typeSubstrate, Units: units, Deposit: deposit, MaxPricePerUnit: maxPrice, Strategy: strategy}}
}

func deployed(id uint64) wire.Msg {
	return wire.Msg{ReportStatus: &wire.MsgReportStatus{SubscriptionID: id, Status: wire.StatusDeployed, Endpoints: []string{"wss://rpc.example:443"}}}
}

// events returns the events of a type in a result.
func events(evs []wire.Event, typ string) []map[string]string {
	var out []map[string]string
	for _, e := range evs {
		if e.Type == typ {
			out = append(out, e.AttributeMap())
		}
	}
	return out
}

func sameHash(a, b []byte) bool { return bytes.Equal(a, b) }

func pubOf(p *keyring.Pair) accountID { return p.Public().Bytes }

func dbmNew() dbm.DB { return dbm.NewMemDB() }
