package abciapp

import (
	"context"
	"testing"

	dbm "github.com/cometbft/cometbft-db"
	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger"
	"github.com/dinfra/stack/internal/ledger/wire"
)

func TestABCIRoundTrip(t *testing.T) {
	ctx := context.Background()
	db := dbm.NewMemDB()
	l, err := ledger.Open(db)
	if err != nil {
		t.Fatal(err)
	}
	app := New(l, nil)
	g := wire.DevGenesis(nil)
	init, err := app.InitChain(ctx, &abci.RequestInitChain{ChainId: "c", AppStateBytes: g.JSON(), InitialHeight: 1})
	if err != nil || len(init.AppHash) != 32 {
		t.Fatalf("init chain: %v %x", err, init.GetAppHash())
	}
	alice, _ := keyring.Dev(keyring.Sr25519, "alice")
	bob, _ := keyring.Dev(keyring.Sr25519, "bob")
	good, _ := wire.EncodeTx(alice, "c", 0, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 5}})
	bad, _ := wire.EncodeTx(alice, "other", 0, wire.Msg{Transfer: &wire.MsgTransfer{To: bob.Address(42), Amount: 5}})
	if r, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: good}); r.Code != 0 {
		t.Fatalf("check good: %s", r.Log)
	}
	if r, _ := app.CheckTx(ctx, &abci.RequestCheckTx{Tx: bad}); r.Code != uint32(wire.CodeWrongChainID) || r.Codespace != wire.Codespace {
		t.Fatalf("check bad: %d %s %s", r.Code, r.Codespace, r.Log)
	}
	huge := make([]byte, 10000)
	prep, _ := app.PrepareProposal(ctx, &abci.RequestPrepareProposal{Txs: [][]byte{good, huge, bad}, MaxTxBytes: 1 << 20})
	if len(prep.Txs) != 2 {
		t.Fatalf("prepare kept %d txs, want the 2 under the size limit", len(prep.Txs))
	}
	fin, err := app.FinalizeBlock(ctx, &abci.RequestFinalizeBlock{Height: 1, Hash: []byte("h"), Txs: prep.Txs})
	if err != nil {
		t.Fatal(err)
	}
	if fin.TxResults[0].Code != 0 || fin.TxResults[1].Code != uint32(wire.CodeWrongChainID) || len(fin.TxResults[0].Events) != 1 {
		t.Fatalf("results %+v", fin.TxResults)
	}
	if ev := fin.TxResults[0].Events[0]; ev.Type != "transfer" || !ev.Attributes[0].Index {
		t.Fatalf("event %+v", ev)
	}
	if _, err := app.Commit(ctx, &abci.RequestCommit{}); err != nil {
		t.Fatal(err)
	}
	info, _ := app.Info(ctx, &abci.RequestInfo{})
	if info.LastBlockHeight != 1 || string(info.LastBlockAppHash) != string(fin.AppHash) || info.AppVersion != AppVersion {
		t.Fatalf("info %+v", info)
	}
	q, _ := app.Query(ctx, &abci.RequestQuery{Path: wire.QueryAccount + bob.Address(42)})
	if q.Code != 0 || q.Height != 1 {
		t.Fatalf("query %+v", q)
	}
	q, _ = app.Query(ctx, &abci.RequestQuery{Path: wire.QuerySubscription + "9"})
	if q.Code != uint32(wire.CodeNotFound) {
		t.Fatalf("missing subscription query %+v", q)
	}
	// A new app over the same store resumes at the committed height and hash.
	l2, _ := ledger.Open(db)
	info2, _ := New(l2, nil).Info(ctx, &abci.RequestInfo{})
	if info2.LastBlockHeight != 1 || string(info2.LastBlockAppHash) != string(fin.AppHash) {
		t.Fatalf("reopened info %+v", info2)
	}
}
