package watcher

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	api "github.com/dinfra/stack/api/reactor"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
)

// Config configures a Watcher.
type Config struct {
	// Provider is this provider's account address.
	Provider string
	Chain    Chain
	Reactor  api.ClientWithResponsesInterface
	Store    descriptor.Store
	Registry *descriptor.Registry
	// StateFile persists the last height whose events were applied.
	StateFile string
	// ReconcileEvery is the period of the full comparison (default 30 s).
	ReconcileEvery time.Duration
	// StatusEvery is how often deployments awaiting a report are polled (default 250 ms).
	StatusEvery time.Duration
	// RetryMin and RetryMax bound the backoff after the chain or the reactor fails.
	RetryMin, RetryMax time.Duration
	Logger             *slog.Logger
}

// Watcher follows the chain for one provider.
type Watcher struct {
	cfg Config
	log *slog.Logger

	mu       sync.Mutex
	height   int64            // last applied height
	awaiting map[string]Order // deployed on the reactor, status not yet reported
	// reported holds the orders whose status report is queued, in flight or accepted, so
	// that a reconcile racing with a report in flight does not send a second one.
	reported map[string]bool
	reports  chan statusReport
}

// New returns a watcher, reading the last applied height from cfg.StateFile.
func New(cfg Config) (*Watcher, error) {
	if cfg.Provider == "" || cfg.Chain == nil || cfg.Reactor == nil || cfg.Store == nil || cfg.Registry == nil || cfg.StateFile == "" {
		return nil, errors.New("watcher: Provider, Chain, Reactor, Store, Registry and StateFile are required")
	}
	if cfg.ReconcileEvery <= 0 {
		cfg.ReconcileEvery = 30 * time.Second
	}
	if cfg.StatusEvery <= 0 {
		cfg.StatusEvery = 250 * time.Millisecond
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = 500 * time.Millisecond
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = 30 * time.Second
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.Default()
	}
	w := &Watcher{cfg: cfg, log: cfg.Logger.With("provider", cfg.Provider), awaiting: map[string]Order{}, reported: map[string]bool{}, reports: make(chan statusReport, 1024)}
	raw, err := os.ReadFile(cfg.StateFile)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return nil, fmt.Errorf("watcher state: %w", err)
	default:
		if w.height, err = strconv.ParseInt(strings.TrimSpace(string(raw)), 10, 64); err != nil {
			return nil, fmt.Errorf("watcher state %s: %w", cfg.StateFile, err)
		}
	}
	return w, nil
}

// Height is the last height whose events were applied.
func (w *Watcher) Height() int64 {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.height
}

// Run follows the chain until ctx ends. Losing the chain or the reactor never tears
// anything down: the watcher retries with backoff and reconciles when it is back.
func (w *Watcher) Run(ctx context.Context) error {
	reporting := make(chan struct{})
	rctx, stopReports := context.WithCancel(ctx)
	go func() { defer close(reporting); w.sendReports(rctx) }()
	defer func() { stopReports(); <-reporting }()
	wait := w.cfg.RetryMin
	for {
		start := time.Now()
		err := w.session(ctx)
		if ctx.Err() != nil {
			return nil
		}
		if time.Since(start) > w.cfg.RetryMax {
			wait = w.cfg.RetryMin // it had been working: start the backoff over
		}
		w.log.Warn("chain session ended, retrying", "err", err, "in", wait)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
		wait = min(2*wait, w.cfg.RetryMax)
	}
}

// session subscribes to new blocks, reconciles, catches up from the persisted height and
// then applies each new block as it commits.
func (w *Watcher) session(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	heights, err := w.cfg.Chain.NewHeights(ctx) // first, so that no block is missed
	if err != nil {
		return fmt.Errorf("subscribe to new blocks: %w", err)
	}
	// Drain the subscription at once, keeping only the newest height: a long catch-up must
	// never leave announcements unread (the node drops subscribers that lag).
	newest := make(chan int64, 1)
	closed := make(chan struct{})
	go func() {
		defer close(closed)
		for h := range heights {
			select {
			case <-newest:
			default:
			}
			newest <- h
		}
	}()
	if err := w.Reconcile(ctx); err != nil {
		return err
	}
	latest, err := w.cfg.Chain.LatestHeight(ctx)
	if err != nil {
		return fmt.Errorf("latest height: %w", err)
	}
	if err := w.advance(ctx, latest); err != nil {
		return err
	}
	reconcile := time.NewTicker(w.cfg.ReconcileEvery)
	defer reconcile.Stop()
	status := time.NewTicker(w.cfg.StatusEvery)
	defer status.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-closed:
			return errors.New("block subscription closed")
		case h := <-newest:
			if err := w.advance(ctx, h); err != nil {
				return err
			}
		case <-reconcile.C:
			if err := w.Reconcile(ctx); err != nil {
				return err
			}
		case <-status.C:
			w.reportAwaiting(ctx)
		}
	}
}

// catchUpChunk is how many blocks advance applies (and persists) at a time.
const catchUpChunk = 100

// advance applies the provider's events of every block after the persisted height up to
// `to`, in chunks reduced to the last event per order, persisting the height after each.
func (w *Watcher) advance(ctx context.Context, to int64) error {
	first := w.Height() + 1
	for from := first; from <= to; from += catchUpChunk {
		end := min(from+catchUpChunk-1, to)
		var events []Event
		for h := from; h <= end; h++ {
			evs, err := w.cfg.Chain.Events(ctx, h, w.cfg.Provider)
			if err != nil {
				return fmt.Errorf("events of block %d: %w", h, err)
			}
			events = append(events, evs...)
		}
		for _, e := range Net(events) {
			var err error
			switch e.Kind {
			case Awarded:
				err = w.deploy(ctx, e.Order)
			case Ended:
				err = w.teardown(ctx, DeploymentID(e.Order.ID))
			}
			if err != nil {
				return err
			}
		}
		if err := w.setHeight(end); err != nil {
			return err
		}
	}
	if to-first > 0 {
		w.log.Info("caught up", "from", first, "to", to)
	}
	return nil
}

func (w *Watcher) setHeight(h int64) error {
	w.mu.Lock()
	w.height = h
	w.mu.Unlock()
	tmp := w.cfg.StateFile + ".tmp"
	if err := os.MkdirAll(filepath.Dir(w.cfg.StateFile), 0o700); err != nil {
		return fmt.Errorf("watcher state: %w", err)
	}
	if err := os.WriteFile(tmp, []byte(strconv.FormatInt(h, 10)+"\n"), 0o600); err != nil {
		return fmt.Errorf("watcher state: %w", err)
	}
	if err := os.Rename(tmp, w.cfg.StateFile); err != nil {
		return fmt.Errorf("watcher state: %w", err)
	}
	return nil
}

// Reconcile compares the chain's live orders with the reactor's deployments and converges.
func (w *Watcher) Reconcile(ctx context.Context) error {
	live, _, err := w.cfg.Chain.LiveOrders(ctx, w.cfg.Provider)
	if err != nil {
		return fmt.Errorf("live orders: %w", err)
	}
	list, err := w.cfg.Reactor.ListDeploymentsWithResponse(ctx)
	if err != nil {
		return fmt.Errorf("reactor list: %w", err)
	}
	if list.JSON200 == nil {
		return fmt.Errorf("reactor list: HTTP %d: %s", list.StatusCode(), list.Body)
	}
	for _, a := range Plan(live, list.JSON200.Items) {
		var err error
		switch a.Kind {
		case Deploy:
			w.log.Info("reconcile: deploying missing order", "id", a.ID)
			err = w.deploy(ctx, a.Order)
		case Teardown:
			w.log.Info("reconcile: tearing down orphan", "id", a.ID)
			err = w.teardown(ctx, a.ID)
		case ReportDeployed:
			w.report(ctx, a.Order, api.Running, a.Endpoints, "")
		case ReportFailed:
			w.report(ctx, a.Order, api.Failed, nil, a.Reason)
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// deploy fetches and checks the order's descriptor and asks the reactor to deploy it. A
// descriptor or request the reactor can never accept is reported failed on chain; transport
// errors are returned, to be retried.
func (w *Watcher) deploy(ctx context.Context, o Order) error {
	doc, reason, err := w.fetch(ctx, o)
	if err != nil {
		return err
	}
	if reason != "" {
		w.report(ctx, o, api.Failed, nil, reason)
		return nil
	}
	return w.deployRequest(ctx, o, doc)
}

// deployRequest sends a checked descriptor to the reactor.
func (w *Watcher) deployRequest(ctx context.Context, o Order, doc []byte) error {
	id := DeploymentID(o.ID)
	c, _ := descriptor.ParseCID(o.DescriptorCID)
	req := api.DeployRequest{
		Type: o.DescriptorType, DescriptorCid: c.String(), Descriptor: doc,
		Consumer:     api.Consumer{Address: o.Consumer, PublicKey: opt(o.ConsumerPublicKey), SshPublicKey: opt(o.ConsumerSSHKey)},
		Subscription: api.Subscription{Units: int64(o.Units), ChainId: opt(w.cfg.Chain.ChainID()), Height: &o.AwardedAt, PricePerBlock: opt(o.PricePerBlock)},
	}
	resp, err := w.cfg.Reactor.DeployWithResponse(ctx, id, req)
	if err != nil {
		return fmt.Errorf("deploy %s: %w", id, err)
	}
	switch resp.StatusCode() {
	case http.StatusOK, http.StatusAccepted:
		w.log.Info("deploy requested", "id", id, "type", o.DescriptorType, "cid", o.DescriptorCID)
		if !o.Reported {
			w.mu.Lock()
			w.awaiting[id] = o
			w.mu.Unlock()
		}
		return nil
	case http.StatusBadRequest, http.StatusUnprocessableEntity, http.StatusConflict, http.StatusInsufficientStorage:
		reason := fmt.Sprintf("refused: HTTP %d", resp.StatusCode())
		for _, e := range []*api.Error{resp.JSON400, resp.JSON409, resp.JSON422, resp.JSON507} {
			if e != nil {
				reason = string(e.Code) + ": " + e.Message
			}
		}
		w.report(ctx, o, api.Failed, nil, reason)
		return nil
	}
	return fmt.Errorf("deploy %s: HTTP %d: %s", id, resp.StatusCode(), resp.Body)
}

// fetch returns the order's descriptor, or the public reason it can never be deployed.
func (w *Watcher) fetch(ctx context.Context, o Order) (doc []byte, reason string, err error) {
	c, err := descriptor.ParseCID(o.DescriptorCID)
	if err != nil {
		return nil, reactor.ReasonInvalidDescriptor + ": " + err.Error(), nil
	}
	doc, err = w.cfg.Store.Get(ctx, c)
	switch {
	case errors.Is(err, descriptor.ErrNotFound):
		return nil, "descriptor_unavailable: descriptor " + o.DescriptorCID + " not found in the provider's descriptor store", nil
	case errors.Is(err, descriptor.ErrCIDMismatch):
		w.log.Error("descriptor store holds other content", "cid", o.DescriptorCID, "err", err)
		return nil, "descriptor_unavailable: the provider's descriptor store holds other content for " + o.DescriptorCID, nil
	case err != nil:
		return nil, "", fmt.Errorf("fetch descriptor of %d: %w", o.ID, err)
	}
	if err := w.cfg.Registry.Validate(o.DescriptorType, doc); err != nil && !errors.Is(err, descriptor.ErrUnknownType) {
		return nil, reactor.PublicMessage(err), nil
	}
	return doc, "", nil
}

func (w *Watcher) teardown(ctx context.Context, id string) error {
	w.mu.Lock()
	delete(w.awaiting, id)
	delete(w.reported, id)
	w.mu.Unlock()
	resp, err := w.cfg.Reactor.TeardownWithResponse(ctx, id)
	if err != nil {
		return fmt.Errorf("teardown %s: %w", id, err)
	}
	if c := resp.StatusCode(); c != http.StatusAccepted && c != http.StatusNoContent {
		return fmt.Errorf("teardown %s: HTTP %d: %s", id, c, resp.Body)
	}
	w.log.Info("teardown requested", "id", id)
	return nil
}

// reportAwaiting polls the deployments whose status the chain does not know yet.
func (w *Watcher) reportAwaiting(ctx context.Context) {
	w.mu.Lock()
	pending := make([]Order, 0, len(w.awaiting))
	for _, o := range w.awaiting {
		pending = append(pending, o)
	}
	w.mu.Unlock()
	for _, o := range pending {
		g, err := w.cfg.Reactor.GetDeploymentWithResponse(ctx, DeploymentID(o.ID))
		if err != nil || g.JSON200 == nil {
			continue // the next poll or reconcile tries again
		}
		switch g.JSON200.Phase {
		case api.Running:
			w.report(ctx, o, api.Running, urls(g.JSON200.Endpoints), "")
		case api.Failed:
			w.report(ctx, o, api.Failed, nil, message(*g.JSON200))
		}
	}
}

// maxReasonBytes is the chain's limit on a failure reason (ledger maxReasonLen).
const maxReasonBytes = 256

// statusReport is a status transaction waiting to be sent.
type statusReport struct {
	order     Order
	phase     api.Phase
	endpoints []string
	reason    string
}

// report queues a status transaction, once per order: until the report fails, the order
// counts as reported even while the chain has not included it yet. Reports are sent by their
// own goroutine (sendReports) because sending waits for the transaction's block: the block
// loop must not wait with it.
func (w *Watcher) report(_ context.Context, o Order, phase api.Phase, endpoints []string, reason string) {
	id := DeploymentID(o.ID)
	w.mu.Lock()
	delete(w.awaiting, id)
	if w.reported[id] {
		w.mu.Unlock()
		return
	}
	w.reported[id] = true
	w.mu.Unlock()
	// The chain takes reasons of at most 256 bytes; a longer one would be refused forever.
	reason = reactor.Truncate(reason, maxReasonBytes)
	select {
	case w.reports <- statusReport{o, phase, endpoints, reason}:
	default:
		// The queue is full (the chain is not taking transactions): the next reconcile
		// sees the order still pending and reports again.
		w.log.Warn("status report queue full, deferring", "id", o.ID)
		w.forgetReport(id)
	}
}

// forgetReport lets the next reconcile report order id again.
func (w *Watcher) forgetReport(id string) {
	w.mu.Lock()
	delete(w.reported, id)
	w.mu.Unlock()
}

// sendReports sends queued status transactions until ctx ends. A rejected report (the chain
// already knows, or the order ended) is logged; the next reconcile sees the chain's truth.
func (w *Watcher) sendReports(ctx context.Context) {
	for {
		var r statusReport
		select {
		case <-ctx.Done():
			return
		case r = <-w.reports:
		}
		var err error
		if r.phase == api.Running {
			err = w.cfg.Chain.ReportDeployed(ctx, r.order.ID, r.endpoints)
		} else {
			err = w.cfg.Chain.ReportFailed(ctx, r.order.ID, r.reason)
		}
		if err != nil {
			w.log.Warn("status report failed", "id", r.order.ID, "phase", r.phase, "err", err)
			w.forgetReport(DeploymentID(r.order.ID))
			continue
		}
		w.log.Info("status reported", "id", r.order.ID, "phase", r.phase)
	}
}

func opt(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}
