// Package abciapp adapts the DINFRA ledger to CometBFT's ABCI 2.0: it converts requests
// to ledger calls and ledger results to responses, and does nothing else. All rules live
// in package ledger.
package abciapp

import (
	"context"
	"fmt"
	"log/slog"
	"sync"

	abci "github.com/cometbft/cometbft/abci/types"

	"github.com/dinfra/stack/internal/ledger"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// Version is reported in Info.
const Version = "dinfra-ledger/1"

// AppVersion is the ABCI application protocol version; bump it on any change of rules.
const AppVersion uint64 = 1

// App is the ABCI application.
type App struct {
	abci.BaseApplication
	mu  sync.Mutex
	l   *ledger.Ledger
	log *slog.Logger
}

var _ abci.Application = (*App)(nil)

// New wraps a ledger.
func New(l *ledger.Ledger, log *slog.Logger) *App {
	if log == nil {
		log = slog.Default()
	}
	return &App{l: l, log: log}
}

// Ledger is the wrapped state machine.
func (a *App) Ledger() *ledger.Ledger { return a.l }

func (a *App) Info(context.Context, *abci.RequestInfo) (*abci.ResponseInfo, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	return &abci.ResponseInfo{
		Data: "dinfra", Version: Version, AppVersion: AppVersion,
		LastBlockHeight: a.l.Height(), LastBlockAppHash: a.l.AppHash(),
	}, nil
}

func (a *App) InitChain(_ context.Context, req *abci.RequestInitChain) (*abci.ResponseInitChain, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	hash, err := a.l.InitChain(req.ChainId, req.AppStateBytes, req.InitialHeight)
	if err != nil {
		return nil, fmt.Errorf("init chain: %w", err)
	}
	a.log.Info("ledger initialized", "chain_id", req.ChainId, "app_hash", fmt.Sprintf("%X", hash))
	return &abci.ResponseInitChain{AppHash: hash}, nil
}

func (a *App) CheckTx(_ context.Context, req *abci.RequestCheckTx) (*abci.ResponseCheckTx, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r := a.l.CheckTx(req.Tx)
	return &abci.ResponseCheckTx{Code: uint32(r.Code), Log: r.Log, Codespace: codespace(r.Code)}, nil
}

// PrepareProposal keeps the mempool's order and drops txs over the ledger's size limit
// (they would be rejected anyway) before applying the block byte limit.
func (a *App) PrepareProposal(ctx context.Context, req *abci.RequestPrepareProposal) (*abci.ResponsePrepareProposal, error) {
	a.mu.Lock()
	maxTx := a.l.Params().MaxTxBytes
	a.mu.Unlock()
	txs := req.Txs[:0:0]
	for _, tx := range req.Txs {
		if maxTx == 0 || len(tx) <= maxTx {
			txs = append(txs, tx)
		}
	}
	req.Txs = txs
	return a.BaseApplication.PrepareProposal(ctx, req)
}

func (a *App) FinalizeBlock(_ context.Context, req *abci.RequestFinalizeBlock) (*abci.ResponseFinalizeBlock, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	res, err := a.l.FinalizeBlock(ledger.Block{Height: req.Height, Hash: req.Hash, Txs: req.Txs})
	if err != nil {
		return nil, err
	}
	out := &abci.ResponseFinalizeBlock{Events: Events(res.Events), AppHash: res.AppHash}
	for _, r := range res.TxResults {
		out.TxResults = append(out.TxResults, &abci.ExecTxResult{
			Code: uint32(r.Code), Log: r.Log, Codespace: codespace(r.Code), Events: Events(r.Events),
		})
	}
	return out, nil
}

func (a *App) Commit(context.Context, *abci.RequestCommit) (*abci.ResponseCommit, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.l.Commit(); err != nil {
		return nil, err
	}
	return &abci.ResponseCommit{}, nil
}

// Query answers ledger queries (see ledger.Query* paths) against the committed state.
func (a *App) Query(_ context.Context, req *abci.RequestQuery) (*abci.ResponseQuery, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	v, err := a.l.Query(req.Path, req.Data)
	if err != nil {
		code := wire.CodeOf(err)
		return &abci.ResponseQuery{Code: uint32(code), Log: err.Error(), Codespace: codespace(code), Height: a.l.Height()}, nil
	}
	return &abci.ResponseQuery{Value: v, Height: a.l.Height()}, nil
}

func codespace(c wire.Code) string {
	if c == wire.CodeOK {
		return ""
	}
	return wire.Codespace
}

// Events converts ledger events to ABCI events.
func Events(evs []wire.Event) []abci.Event {
	out := make([]abci.Event, 0, len(evs))
	for _, e := range evs {
		ae := abci.Event{Type: e.Type}
		for _, at := range e.Attributes {
			ae.Attributes = append(ae.Attributes, abci.EventAttribute{Key: at.Key, Value: at.Value, Index: at.Index})
		}
		out = append(out, ae)
	}
	return out
}
