package ledger

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	dbm "github.com/cometbft/cometbft-db"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// Ledger is the DINFRA state machine: the runtime of the chain. It is deterministic: its
// state after a block depends only on its state before and the block (height, hash and
// transactions). It uses no clock, no map iteration, no floats and no goroutines, so every
// validator computes the same app hash.
//
// The ledger owns a cometbft-db database (goleveldb on disk). A block's writes are
// buffered in memory and reach the database in one atomic batch at Commit, together with
// the height and app hash, so a crash at any point leaves the last committed block intact.
//
// A Ledger is not safe for concurrent use; the ABCI adapter serializes calls.
type Ledger struct {
	db        dbm.DB
	committed dbKV
	block     *cache // writes of the block being executed (InitChain's too, until Commit)
	check     *cache // mempool view: committed state plus the txs CheckTx accepted since

	height  int64 // last committed
	appHash []byte
	sum     stateSum

	// Set by InitChain/FinalizeBlock, written at Commit.
	pending     bool
	nextHeight  int64
	nextSum     stateSum
	nextAppHash []byte

	chainID string
	params  wire.Params

	sigs *sigCache
}

var (
	bookHeight  = []byte("_height")
	bookAppHash = []byte("_app_hash")
	bookSum     = []byte("_state_sum")
)

// Open loads the ledger from db (empty for a new chain: InitChain fills it).
func Open(db dbm.DB) (*Ledger, error) {
	l := &Ledger{db: db, committed: dbKV{db}, sigs: newSigCache(1 << 16)}
	if b := l.committed.Get(bookHeight); len(b) == 8 {
		l.height = int64(binary.BigEndian.Uint64(b))
		l.appHash = bytes.Clone(l.committed.Get(bookAppHash))
		l.sum = sumFromBytes(l.committed.Get(bookSum))
		st := store{l.committed}
		l.params = st.params()
		l.chainID = st.metaString(metaChainID)
	}
	l.block = newCache(l.committed)
	l.check = newCache(l.committed)
	return l, nil
}

// Height is the last committed height (0 before the first block).
func (l *Ledger) Height() int64 { return l.height }

// AppHash is the app hash of the last committed state.
func (l *Ledger) AppHash() []byte { return bytes.Clone(l.appHash) }

// ChainID is the chain id set at genesis.
func (l *Ledger) ChainID() string { return l.chainID }

// Params are the chain's rules.
func (l *Ledger) Params() wire.Params { return l.params }

// InitChain writes the genesis state and returns its app hash. It is committed with the
// first block.
func (l *Ledger) InitChain(chainID string, appState []byte, initialHeight int64) ([]byte, error) {
	if l.height != 0 || l.chainID != "" {
		return nil, fmt.Errorf("init chain: ledger already initialized (height %d)", l.height)
	}
	if chainID == "" {
		return nil, fmt.Errorf("init chain: empty chain id")
	}
	g, err := ParseGenesis(appState)
	if err != nil {
		return nil, err
	}
	if initialHeight < 1 {
		initialHeight = 1
	}
	st := store{l.block}
	st.setJSON(metaKey(metaParams), g.Params)
	st.setJSON(metaKey(metaChainID), chainID)
	var total uint64
	for i, a := range g.Accounts {
		pub, err := parseAddress(fmt.Sprintf("accounts[%d].address", i), a.Address)
		if err != nil {
			return nil, fmt.Errorf("init chain: genesis: %w", err)
		}
		st.setAccount(pub, Account{Balance: a.Balance})
		total += uint64(a.Balance)
	}
	for _, t := range g.Types {
		st.setDescriptorType(&descriptorType{DescriptorTypeFields: wire.DescriptorTypeFields{Name: t.Name, Version: t.Version, SchemaCID: t.SchemaCID}})
	}
	st.setMetaUint(metaIssuance, total)
	st.setMetaUint(metaNextSub, 1)
	st.setMetaUint(metaLiveCount, 0)
	l.chainID, l.params = chainID, g.Params
	l.nextHeight = initialHeight - 1
	l.prepareCommit()
	l.check = newCache(l.block) // the mempool sees the genesis state before the first commit
	return bytes.Clone(l.nextAppHash), nil
}

// Block is what consensus decided: the height, the block hash (the seed of the random
// award strategy) and the transactions in order.
type Block struct {
	Height int64
	Hash   []byte
	Txs    [][]byte
}

// TxResult is the outcome of one transaction. A rejected transaction (Code != 0) changed
// nothing, not even the nonce, and has no events.
type TxResult struct {
	Code   wire.Code
	Log    string
	Events []wire.Event
}

// BlockResult is the outcome of a block: events of the block itself (expiries, which
// happen before the transactions), one result per transaction and the new app hash.
type BlockResult struct {
	Events    []wire.Event
	TxResults []TxResult
	AppHash   []byte
}

// FinalizeBlock executes a block. Its writes stay in memory until Commit.
func (l *Ledger) FinalizeBlock(b Block) (*BlockResult, error) {
	if l.chainID == "" {
		return nil, errors.New("finalize block: chain not initialized")
	}
	want := l.height + 1
	if l.pending {
		want = l.nextHeight + 1
	}
	if b.Height != want {
		return nil, fmt.Errorf("finalize block: height %d, want %d", b.Height, want)
	}
	res := &BlockResult{Events: l.processExpiries(b.Height)}
	for _, tx := range b.Txs {
		events, err := l.runTx(l.block, b.Height, b.Hash, tx)
		res.TxResults = append(res.TxResults, txResult(events, err))
	}
	l.nextHeight = b.Height
	l.prepareCommit()
	res.AppHash = bytes.Clone(l.nextAppHash)
	return res, nil
}

func txResult(events []wire.Event, err error) TxResult {
	if err != nil {
		return TxResult{Code: wire.CodeOf(err), Log: err.Error()}
	}
	return TxResult{Code: wire.CodeOK, Events: events}
}

// prepareCommit computes the sum and app hash of the state with the block's writes.
func (l *Ledger) prepareCommit() {
	sum := l.sum
	l.block.tree.Ascend(func(e *entry) bool {
		if !isStateKey(e.key) {
			return true
		}
		if old := l.committed.Get(e.key); old != nil {
			sum.sub(entryHash(e.key, old))
		}
		if !e.deleted {
			sum.add(entryHash(e.key, e.value))
		}
		return true
	})
	l.pending, l.nextSum, l.nextAppHash = true, sum, sum.appHash()
}

// Commit persists the block's writes with the new height and app hash in one atomic,
// synced batch, and resets the mempool view.
func (l *Ledger) Commit() error {
	if !l.pending {
		return errors.New("commit: no finalized block")
	}
	batch := l.db.NewBatch()
	defer batch.Close()
	var err error
	l.block.tree.Ascend(func(e *entry) bool {
		if e.deleted {
			err = batch.Delete(e.key)
		} else {
			err = batch.Set(e.key, e.value)
		}
		return err == nil
	})
	if err == nil {
		err = errors.Join(
			batch.Set(bookHeight, be64(uint64(l.nextHeight))),
			batch.Set(bookAppHash, l.nextAppHash),
			batch.Set(bookSum, l.nextSum.bytes()),
		)
	}
	if err == nil {
		err = batch.WriteSync()
	}
	if err != nil {
		return fmt.Errorf("commit height %d: %w", l.nextHeight, err)
	}
	l.height, l.appHash, l.sum = l.nextHeight, l.nextAppHash, l.nextSum
	l.pending = false
	l.block = newCache(l.committed)
	l.check = newCache(l.committed)
	return nil
}

// CheckTx validates a transaction for the mempool against the committed state plus the
// transactions already accepted since the last commit (so one account can queue several
// transactions with consecutive nonces).
func (l *Ledger) CheckTx(tx []byte) TxResult {
	if l.chainID == "" {
		return TxResult{Code: wire.CodeInvalid, Log: "chain not initialized"}
	}
	_, err := l.runTx(l.check, l.height+1, nil, tx)
	return txResult(nil, err)
}

// runTx executes one transaction on top of parent, writing to it only on success.
func (l *Ledger) runTx(parent *cache, height int64, blockHash, raw []byte) ([]wire.Event, error) {
	if len(raw) > l.params.MaxTxBytes {
		return nil, wire.Reject(wire.CodeTxTooLarge, "", "tx is %d bytes, the maximum is %d", len(raw), l.params.MaxTxBytes)
	}
	d, err := decodeTx(raw)
	if err != nil {
		return nil, err
	}
	if d.body.ChainID != l.chainID {
		return nil, wire.Reject(wire.CodeWrongChainID, "body.chain_id", "%q is not this chain (%q)", d.body.ChainID, l.chainID)
	}
	if !l.sigs.verify(d.signer, d.signed, d.signature) {
		return nil, wire.Reject(wire.CodeBadSignature, "signature", "does not verify for %s key %s", d.signer.Scheme, d.body.Signer)
	}
	txc := newCache(parent)
	st := store{txc}
	var signer accountID = d.signer.Bytes
	acct := st.account(signer)
	switch {
	case d.body.Nonce < acct.Nonce:
		return nil, wire.Reject(wire.CodeNonceReplayed, "body.nonce", "%d was already used; the account's next nonce is %d", d.body.Nonce, acct.Nonce)
	case d.body.Nonce > acct.Nonce:
		return nil, wire.Reject(wire.CodeNonceFuture, "body.nonce", "%d is ahead of the account's next nonce %d", d.body.Nonce, acct.Nonce)
	}
	x := &execCtx{
		st: st, height: height, blockHash: blockHash, params: l.params,
		signer: d.signer, signerAddr: d.signer.Address(l.params.SS58Prefix),
	}
	if err := x.exec(d.msgName, &d.body.Msg); err != nil {
		return nil, err
	}
	acct = st.account(signer)
	acct.Nonce++
	st.setAccount(signer, acct)
	txc.Write()
	return x.events, nil
}

// processExpiries ends every subscription whose expiry index entry is at height h.
func (l *Ledger) processExpiries(h int64) []wire.Event {
	var ids []uint64
	iteratePrefix(l.block, expiryPrefix(h), func(k, _ []byte) bool {
		ids = append(ids, binary.BigEndian.Uint64(k[9:]))
		return true
	})
	x := &execCtx{st: store{l.block}, height: h, params: l.params}
	for _, id := range ids {
		sub, ok := x.st.subscription(id)
		if !ok || !sub.Live() || sub.ExpiresAt != h {
			panic(fmt.Sprintf("ledger: expiry index at %d names subscription %d in state %+v", h, id, sub))
		}
		reason := wire.ReasonExpired
		if sub.State == wire.StatePending {
			reason = wire.ReasonDeployTimeout
		}
		x.endSubscription(sub, reason, "")
	}
	return x.events
}

// sigCache remembers signatures that verified, so a transaction checked by CheckTx is not
// verified again when its block executes. Verification is a pure function, so the cache
// cannot change any result; it is bounded and simply forgets everything when full.
type sigCache struct {
	max  int
	seen map[[32]byte]struct{}
}

func newSigCache(max int) *sigCache {
	return &sigCache{max: max, seen: make(map[[32]byte]struct{})}
}

func (c *sigCache) verify(pub keyring.PublicKey, msg, sig []byte) bool {
	h := sha256.New()
	h.Write([]byte(pub.Scheme))
	h.Write(pub.Bytes[:])
	h.Write(sig)
	h.Write(msg)
	var k [32]byte
	h.Sum(k[:0])
	if _, ok := c.seen[k]; ok {
		return true
	}
	if !pub.Verify(msg, sig) {
		return false
	}
	if len(c.seen) >= c.max {
		clear(c.seen)
	}
	c.seen[k] = struct{}{}
	return true
}
