// Package client is the Go client of the DINFRA chain: it submits signed transactions,
// runs ledger queries and follows events over a node's CometBFT RPC (HTTP for requests,
// the /websocket endpoint for subscriptions).
//
// A provider's chain watcher typically:
//
//	c, _ := client.New("http://127.0.0.1:26657")
//	live, height, _ := c.SubscriptionsByProvider(ctx, me, true) // desired state
//	_ = c.Follow(ctx, height+1, func(h int64, evs []client.Event) error {
//		for _, e := range evs { if s, err := e.Subscription(); err == nil && s.Provider == me { ... } }
//		return saveHeight(h)
//	})
//	signer := c.Signer(providerKey)
//	_, _ = signer.Send(ctx, wire.Msg{ReportStatus: &wire.MsgReportStatus{...}})
package client

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	abci "github.com/cometbft/cometbft/abci/types"
	rpchttp "github.com/cometbft/cometbft/rpc/client/http"
	coretypes "github.com/cometbft/cometbft/rpc/core/types"
	"github.com/cometbft/cometbft/types"

	"github.com/dinfra/stack/internal/keyring"
	"github.com/dinfra/stack/internal/ledger/wire"
)

// Client talks to one node.
type Client struct {
	rpc  *rpchttp.HTTP
	addr string

	mu      sync.Mutex
	chainID string
	wsOn    bool
	heights map[chan int64]struct{} // NewHeights listeners
}

// New returns a client for a node's RPC address: http://HOST:PORT, tcp://HOST:PORT or
// HOST:PORT.
func New(addr string) (*Client, error) {
	a := strings.TrimSpace(addr)
	switch {
	case strings.HasPrefix(a, "tcp://"):
		a = "http://" + strings.TrimPrefix(a, "tcp://")
	case !strings.Contains(a, "://"):
		a = "http://" + a
	}
	c, err := rpchttp.New(a, "/websocket")
	if err != nil {
		return nil, fmt.Errorf("chain client %s: %w", addr, err)
	}
	return &Client{rpc: c, addr: a}, nil
}

// Address is the node's RPC URL.
func (c *Client) Address() string { return c.addr }

// RPC is the underlying CometBFT client, for anything this package does not wrap.
func (c *Client) RPC() *rpchttp.HTTP { return c.rpc }

// Close stops the websocket connection, if one was opened.
func (c *Client) Close() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wsOn {
		c.wsOn = false
		return c.rpc.Stop()
	}
	return nil
}

// ChainID is the chain's id (fetched once).
func (c *Client) ChainID(ctx context.Context) (string, error) {
	c.mu.Lock()
	id := c.chainID
	c.mu.Unlock()
	if id != "" {
		return id, nil
	}
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return "", fmt.Errorf("status: %w", err)
	}
	c.mu.Lock()
	c.chainID = st.NodeInfo.Network
	c.mu.Unlock()
	return st.NodeInfo.Network, nil
}

// LatestHeight is the node's last committed height.
func (c *Client) LatestHeight(ctx context.Context) (int64, error) {
	st, err := c.rpc.Status(ctx)
	if err != nil {
		return 0, fmt.Errorf("status: %w", err)
	}
	return st.SyncInfo.LatestBlockHeight, nil
}

// TxResult is a transaction's outcome in a block.
type TxResult struct {
	Hash   string // upper-case hex, as CometBFT prints it
	Height int64
	Code   wire.Code
	Log    string
	Events []Event
}

// Err is the rejection as a *wire.TxError, or nil when the tx succeeded.
func (r *TxResult) Err() error {
	if r.Code == wire.CodeOK {
		return nil
	}
	return txError(uint32(r.Code), r.Log)
}

// txError rebuilds a *wire.TxError from a code and log ("name: field: reason").
func txError(code uint32, log string) *wire.TxError {
	e := &wire.TxError{Code: wire.Code(code), Reason: log}
	parts := strings.SplitN(log, ": ", 3)
	if len(parts) == 3 && parts[0] == e.Code.String() {
		e.Field, e.Reason = parts[1], parts[2]
	} else if len(parts) >= 2 && parts[0] == e.Code.String() {
		e.Reason = strings.Join(parts[1:], ": ")
	}
	return e
}

// Broadcast submits a signed transaction and returns its hash once the node's mempool
// accepted it. A rejection by CheckTx is returned as a *wire.TxError.
func (c *Client) Broadcast(ctx context.Context, tx []byte) (string, error) {
	res, err := c.rpc.BroadcastTxSync(ctx, tx)
	if err != nil {
		return "", fmt.Errorf("broadcast: %w", err)
	}
	if res.Code != abci.CodeTypeOK {
		if res.Codespace != wire.Codespace {
			return "", fmt.Errorf("broadcast rejected by the node (%s %d): %s", res.Codespace, res.Code, res.Log)
		}
		return "", txError(res.Code, res.Log)
	}
	return res.Hash.String(), nil
}

// BroadcastBatch submits several signed transactions in one RPC round trip (a JSON-RPC
// batch of broadcast_tx_sync calls) and returns, per transaction, its hash or its
// rejection (a *wire.TxError). Transactions of one account must be in nonce order. DINFRA
// nodes accept batches of up to 100 (CometBFT's rpc.max_request_batch_size).
func (c *Client) BroadcastBatch(ctx context.Context, txs [][]byte) ([]string, []error, error) {
	batch := c.rpc.NewBatch()
	for _, tx := range txs {
		if _, err := batch.BroadcastTxSync(ctx, tx); err != nil {
			return nil, nil, fmt.Errorf("broadcast batch: %w", err)
		}
	}
	results, err := batch.Send(ctx)
	if err != nil {
		return nil, nil, fmt.Errorf("broadcast batch: %w", err)
	}
	hashes, errs := make([]string, len(txs)), make([]error, len(txs))
	for i, r := range results {
		res, ok := r.(*coretypes.ResultBroadcastTx)
		switch {
		case !ok:
			errs[i] = fmt.Errorf("broadcast: %v", r)
		case res.Code != abci.CodeTypeOK:
			errs[i] = txError(res.Code, res.Log)
		default:
			hashes[i] = res.Hash.String()
		}
	}
	return hashes, errs, nil
}

// WaitTx waits until the transaction is in a committed block and returns its result
// (which may be a rejection: see TxResult.Err).
func (c *Client) WaitTx(ctx context.Context, hash string) (*TxResult, error) {
	raw, err := hex.DecodeString(hash)
	if err != nil {
		return nil, fmt.Errorf("tx hash %q: %w", hash, err)
	}
	delay := 20 * time.Millisecond
	for {
		res, err := c.rpc.Tx(ctx, raw, false)
		if err == nil {
			return &TxResult{
				Hash: hash, Height: res.Height, Code: wire.Code(res.TxResult.Code), Log: res.TxResult.Log,
				Events: convertEvents(res.Height, int(res.Index), res.TxResult.Events),
			}, nil
		}
		if !strings.Contains(err.Error(), "not found") {
			return nil, fmt.Errorf("tx %s: %w", hash, err)
		}
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("tx %s not committed: %w", hash, ctx.Err())
		case <-time.After(delay):
		}
		delay = min(delay*2, 500*time.Millisecond)
	}
}

// Submit broadcasts a signed transaction and waits for its block. A rejection, by CheckTx
// or in the block, is returned as a *wire.TxError together with the result (if any).
func (c *Client) Submit(ctx context.Context, tx []byte) (*TxResult, error) {
	hash, err := c.Broadcast(ctx, tx)
	if err != nil {
		return nil, err
	}
	res, err := c.WaitTx(ctx, hash)
	if err != nil {
		return nil, err
	}
	return res, res.Err()
}

// Signer signs and sends a key's transactions, keeping track of its nonce so several can
// be in flight at once. It is safe for concurrent use.
type Signer struct {
	c    *Client
	pair *keyring.Pair

	mu     sync.Mutex
	next   uint64
	synced bool
}

// Signer returns a signer for pair.
func (c *Client) Signer(pair *keyring.Pair) *Signer { return &Signer{c: c, pair: pair} }

// Address is the signer's SS58 address (generic prefix).
func (s *Signer) Address() string { return s.pair.Address(keyring.SubstratePrefix) }

// Resync reloads the nonce from the chain (after a transaction was lost or rejected).
func (s *Signer) Resync(ctx context.Context) error {
	a, err := s.c.Account(ctx, s.Address())
	if err != nil {
		return err
	}
	s.mu.Lock()
	s.next, s.synced = a.Nonce, true
	s.mu.Unlock()
	return nil
}

// Sign builds the next transaction for msg, taking the next nonce.
func (s *Signer) Sign(ctx context.Context, msg wire.Msg) ([]byte, error) {
	chainID, err := s.c.ChainID(ctx)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	synced := s.synced
	s.mu.Unlock()
	if !synced {
		if err := s.Resync(ctx); err != nil {
			return nil, err
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := wire.EncodeTx(s.pair, chainID, s.next, msg)
	if err != nil {
		return nil, err
	}
	s.next++
	return tx, nil
}

// SendAsync signs and broadcasts msg, returning the tx hash once the mempool took it.
func (s *Signer) SendAsync(ctx context.Context, msg wire.Msg) (string, error) {
	tx, err := s.Sign(ctx, msg)
	if err != nil {
		return "", err
	}
	hash, err := s.c.Broadcast(ctx, tx)
	if err != nil {
		s.mu.Lock()
		s.synced = false // the nonce was not used: reload it next time
		s.mu.Unlock()
	}
	return hash, err
}

// Send signs and broadcasts msg and waits for its block. A rejection is returned as a
// *wire.TxError (use wire.CodeOf to branch on it).
func (s *Signer) Send(ctx context.Context, msg wire.Msg) (*TxResult, error) {
	hash, err := s.SendAsync(ctx, msg)
	if err != nil {
		return nil, err
	}
	res, err := s.c.WaitTx(ctx, hash)
	if err != nil {
		return nil, err
	}
	if res.Code != wire.CodeOK {
		s.mu.Lock()
		s.synced = false
		s.mu.Unlock()
	}
	return res, res.Err()
}

// QueryError is a failed ledger query.
type QueryError struct {
	Path string
	Err  *wire.TxError
}

func (e *QueryError) Error() string { return fmt.Sprintf("query %s: %v", e.Path, e.Err) }
func (e *QueryError) Unwrap() error { return e.Err }

// IsNotFound reports whether err is a query for something that does not exist.
func IsNotFound(err error) bool { return wire.CodeOf(err) == wire.CodeNotFound }

// Query runs a ledger query (see the ledger.Query* paths) with optional data (marshaled
// to JSON) and decodes the answer into out. It returns the height the answer reflects.
func (c *Client) Query(ctx context.Context, path string, data, out any) (int64, error) {
	var raw []byte
	if data != nil {
		var err error
		if raw, err = json.Marshal(data); err != nil {
			return 0, err
		}
	}
	res, err := c.rpc.ABCIQuery(ctx, path, raw)
	if err != nil {
		return 0, fmt.Errorf("query %s: %w", path, err)
	}
	if res.Response.Code != abci.CodeTypeOK {
		return res.Response.Height, &QueryError{Path: path, Err: txError(res.Response.Code, res.Response.Log)}
	}
	if out != nil {
		if err := json.Unmarshal(res.Response.Value, out); err != nil {
			return 0, fmt.Errorf("query %s: decode answer: %w", path, err)
		}
	}
	return res.Response.Height, nil
}

// Status is the ledger's status.
func (c *Client) Status(ctx context.Context) (*wire.Status, error) {
	var v wire.Status
	_, err := c.Query(ctx, wire.QueryStatus, nil, &v)
	return &v, err
}

// Params are the chain's rules.
func (c *Client) Params(ctx context.Context) (*wire.Params, error) {
	var v wire.Params
	_, err := c.Query(ctx, wire.QueryParams, nil, &v)
	return &v, err
}

// Account is an account's balance, nonce and SSH key (a zero account if unknown).
func (c *Client) Account(ctx context.Context, addr string) (*wire.AccountView, error) {
	var v wire.AccountView
	_, err := c.Query(ctx, wire.QueryAccount+addr, nil, &v)
	return &v, err
}

// Provider is a registered provider.
func (c *Client) Provider(ctx context.Context, addr string) (*wire.ProviderView, error) {
	var v wire.ProviderView
	_, err := c.Query(ctx, wire.QueryProvider+addr, nil, &v)
	return &v, err
}

// Providers lists every provider.
func (c *Client) Providers(ctx context.Context) ([]wire.ProviderView, error) {
	var all []wire.ProviderView
	page := wire.Page{Limit: wire.MaxPageLimit}
	for {
		var l wire.ProviderList
		if _, err := c.Query(ctx, wire.QueryProviders, page, &l); err != nil {
			return nil, err
		}
		all = append(all, l.Providers...)
		if l.Next == "" {
			return all, nil
		}
		page.After = l.Next
	}
}

// Type is a registered descriptor type (id NAME/VERSION).
func (c *Client) Type(ctx context.Context, id string) (*wire.DescriptorType, error) {
	var v wire.DescriptorType
	_, err := c.Query(ctx, wire.QueryType+id, nil, &v)
	return &v, err
}

// Types lists the registered descriptor types.
func (c *Client) Types(ctx context.Context) ([]wire.DescriptorType, error) {
	var v []wire.DescriptorType
	_, err := c.Query(ctx, wire.QueryTypes, nil, &v)
	return v, err
}

// Subscription is one subscription with its figures as of the last block.
func (c *Client) Subscription(ctx context.Context, id uint64) (*wire.SubscriptionView, error) {
	var v wire.SubscriptionView
	_, err := c.Query(ctx, fmt.Sprintf("%s%d", wire.QuerySubscription, id), nil, &v)
	return &v, err
}

// listSubs fetches every page of a subscription list. The height is the first page's; a
// list longer than one page (1000) may straddle blocks.
func (c *Client) listSubs(ctx context.Context, path string, live bool) ([]wire.SubscriptionView, int64, error) {
	var all []wire.SubscriptionView
	page := wire.Page{Limit: wire.MaxPageLimit, Live: live}
	var height int64
	for {
		var l wire.SubscriptionList
		h, err := c.Query(ctx, path, page, &l)
		if err != nil {
			return nil, 0, err
		}
		if height == 0 {
			height = h
		}
		all = append(all, l.Subscriptions...)
		if l.Next == "" {
			return all, height, nil
		}
		page.After = l.Next
	}
}

// SubscriptionsByConsumer lists a consumer's subscriptions, ended ones included.
func (c *Client) SubscriptionsByConsumer(ctx context.Context, addr string) ([]wire.SubscriptionView, error) {
	subs, _, err := c.listSubs(ctx, wire.QuerySubscriptionsConsumer+addr, false)
	return subs, err
}

// SubscriptionsByProvider lists a provider's subscriptions (only the pending and active
// ones with liveOnly) and the height the answer reflects.
func (c *Client) SubscriptionsByProvider(ctx context.Context, addr string, liveOnly bool) ([]wire.SubscriptionView, int64, error) {
	return c.listSubs(ctx, wire.QuerySubscriptionsProvider+addr, liveOnly)
}

// ActiveSubscriptions lists every pending and active subscription.
func (c *Client) ActiveSubscriptions(ctx context.Context) ([]wire.SubscriptionView, int64, error) {
	return c.listSubs(ctx, wire.QuerySubscriptionsActive, false)
}

// Event is a ledger event as a client sees it.
type Event struct {
	Height int64 `json:"height"`
	// TxIndex is the position in the block of the transaction that emitted the event, or
	// -1 for events of the block itself (expiries, which run before the transactions).
	TxIndex    int               `json:"tx_index"`
	Type       string            `json:"type"`
	Attributes map[string]string `json:"attributes"`
}

// Subscription decodes a subscription_* event.
func (e Event) Subscription() (*wire.SubscriptionEvent, error) {
	return wire.ParseSubscriptionEvent(e.Type, e.Attributes)
}

func convertEvents(height int64, txIndex int, evs []abci.Event) []Event {
	out := make([]Event, 0, len(evs))
	for _, e := range evs {
		if e.Type == "tx" { // CometBFT's own tx.hash/tx.height markers
			continue
		}
		m := make(map[string]string, len(e.Attributes))
		for _, a := range e.Attributes {
			m[a.Key] = a.Value
		}
		out = append(out, Event{Height: height, TxIndex: txIndex, Type: e.Type, Attributes: m})
	}
	return out
}

// BlockEvents returns the ledger events of a committed block in execution order: the
// block's own events, then those of each successful transaction. It is how a watcher
// catches up on blocks it missed.
func (c *Client) BlockEvents(ctx context.Context, height int64) ([]Event, error) {
	res, err := c.rpc.BlockResults(ctx, &height)
	if err != nil {
		return nil, fmt.Errorf("block results %d: %w", height, err)
	}
	return blockResultEvents(res), nil
}

func blockResultEvents(res *coretypes.ResultBlockResults) []Event {
	out := convertEvents(res.Height, -1, res.FinalizeBlockEvents)
	for i, tr := range res.TxsResults {
		if tr.Code == abci.CodeTypeOK {
			out = append(out, convertEvents(res.Height, i, tr.Events)...)
		}
	}
	return out
}

func (c *Client) startWS() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.wsOn {
		return nil
	}
	if err := c.rpc.Start(); err != nil {
		return fmt.Errorf("websocket %s: %w", c.addr, err)
	}
	c.wsOn = true
	return nil
}

// NewHeights delivers the height of each new block as the node commits it, until ctx ends
// or the connection fails (the channel is then closed). Any number of callers can listen:
// they share one websocket subscription.
func (c *Client) NewHeights(ctx context.Context) (<-chan int64, error) {
	if err := c.startWS(); err != nil {
		return nil, err
	}
	out := make(chan int64, 100)
	c.mu.Lock()
	if c.heights == nil {
		query := types.QueryForEvent(types.EventNewBlockHeader).String()
		in, err := c.rpc.Subscribe(context.Background(), "dinfra-client", query, 100)
		if err != nil {
			c.mu.Unlock()
			return nil, fmt.Errorf("subscribe %s: %w", query, err)
		}
		c.heights = map[chan int64]struct{}{}
		go c.fanOutHeights(in, query)
	}
	c.heights[out] = struct{}{}
	c.mu.Unlock()
	go func() {
		<-ctx.Done()
		c.mu.Lock()
		defer c.mu.Unlock()
		if _, ok := c.heights[out]; ok {
			delete(c.heights, out)
			close(out)
		}
	}()
	return out, nil
}

// fanOutHeights copies new block heights to every listener; a listener that does not keep
// up loses heights (Follow catches up from the next one it sees). When the subscription
// ends, every listener's channel is closed and the next NewHeights subscribes again.
func (c *Client) fanOutHeights(in <-chan coretypes.ResultEvent, query string) {
	for ev := range in {
		h, ok := ev.Data.(types.EventDataNewBlockHeader)
		if !ok {
			continue
		}
		c.mu.Lock()
		for ch := range c.heights {
			select {
			case ch <- h.Header.Height:
			default:
			}
		}
		c.mu.Unlock()
	}
	c.mu.Lock()
	for ch := range c.heights {
		close(ch)
	}
	c.heights = nil
	c.mu.Unlock()
	_ = c.rpc.Unsubscribe(context.Background(), "dinfra-client", query)
}

// Subscribe streams the events of committed transactions that match a CometBFT query on
// indexed attributes, e.g. "subscription_awarded.provider='5F...'" (the "tm.event='Tx'"
// part is added). Each matching transaction delivers all its events. Block-level events
// (expiries) are not transactions: use Follow or BlockEvents for a complete picture. One
// client holds one stream per distinct query at a time.
func (c *Client) Subscribe(ctx context.Context, query string) (<-chan Event, error) {
	if err := c.startWS(); err != nil {
		return nil, err
	}
	q := "tm.event='Tx'"
	if strings.TrimSpace(query) != "" {
		q += " AND " + query
	}
	in, err := c.rpc.Subscribe(ctx, "dinfra-client", q, 1000)
	if err != nil {
		return nil, fmt.Errorf("subscribe %s: %w", q, err)
	}
	out := make(chan Event, 1000)
	go func() {
		defer close(out)
		defer c.rpc.Unsubscribe(context.Background(), "dinfra-client", q) //nolint:errcheck
		for {
			select {
			case <-ctx.Done():
				return
			case ev, ok := <-in:
				if !ok {
					return
				}
				tx, ok := ev.Data.(types.EventDataTx)
				if !ok {
					continue
				}
				for _, e := range convertEvents(tx.Height, int(tx.Index), tx.Result.Events) {
					select {
					case out <- e:
					case <-ctx.Done():
						return
					}
				}
			}
		}
	}()
	return out, nil
}

// Follow calls fn with the events of every committed block from height `from` on, in
// order and without gaps, until ctx ends or fn fails. It catches up through BlockEvents,
// then waits for new blocks on the websocket, falling back to polling when the websocket
// is unavailable. Persist the last height fn handled and pass the next one after a restart.
func (c *Client) Follow(ctx context.Context, from int64, fn func(height int64, events []Event) error) error {
	if from < 1 {
		from = 1
	}
	next := from
	for {
		latest, err := c.LatestHeight(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if err := sleep(ctx, time.Second); err != nil {
				return err
			}
			continue
		}
		for ; next <= latest; next++ {
			evs, err := c.BlockEvents(ctx, next)
			if err != nil {
				return err
			}
			if err := fn(next, evs); err != nil {
				return err
			}
		}
		heights, err := c.NewHeights(ctx)
		if err != nil {
			if err := sleep(ctx, 200*time.Millisecond); err != nil {
				return err
			}
			continue
		}
		if err := c.followLive(ctx, heights, &next, fn); err != nil {
			return err
		}
	}
}

// followLive handles blocks announced on the websocket until it closes.
func (c *Client) followLive(ctx context.Context, heights <-chan int64, next *int64, fn func(int64, []Event) error) error {
	for h := range heights {
		for ; *next <= h; *next++ {
			evs, err := c.BlockEvents(ctx, *next)
			if err != nil {
				return err
			}
			if err := fn(*next, evs); err != nil {
				return err
			}
		}
	}
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return nil
}

func sleep(ctx context.Context, d time.Duration) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-time.After(d):
		return nil
	}
}
