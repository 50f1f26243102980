package gateway

import (
	"context"
	"errors"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/upstream"
	"github.com/dinfra/stack/internal/rpc"
)

// route serves one path: the main (authenticated) one when public is nil. WebSocket
// sessions are read by loops when there are (the fast server's), by a goroutine otherwise.
func (g *Gateway) route(public *config.PublicRoute, loops *eventLoops) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			g.serveWS(w, r, public, loops)
			return
		}
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			writeHTTPError(w, http.StatusMethodNotAllowed, invalid("use POST, or a WebSocket upgrade"))
			return
		}
		g.serveHTTP(w, r, public)
	})
}

func (g *Gateway) serveHTTP(w http.ResponseWriter, r *http.Request, public *config.PublicRoute) {
	// An HTTP request holds a connection slot while it is served.
	c := g.connectHTTP(w, r, public)
	if c == nil {
		return
	}
	defer c.limits.ReleaseConn()

	max := g.cfg.Limits.MaxRequestBytes
	if r.ContentLength > max {
		// Refused unread: net/http then drops a body of up to 256 KiB and keeps the
		// connection (MaxBytesReader, which has to read, would close it).
		g.metrics.reject("too_large")
		writeHTTPError(w, http.StatusRequestEntityTooLarge, errTooLarge(max))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			g.metrics.reject("too_large")
			writeHTTPError(w, http.StatusRequestEntityTooLarge, errTooLarge(max))
			return
		}
		writeHTTPError(w, http.StatusBadRequest, invalid("reading the body failed"))
		return
	}
	status, out := g.answerHTTP(r.Context(), c, body)
	if out == nil {
		w.WriteHeader(status)
		return
	}
	writeHTTP(w, status, out)
}

// answerHTTP answers the JSON-RPC message in an HTTP request's body: the status and the
// response body (nil for 204, when the message held only notifications).
func (g *Gateway) answerHTTP(ctx context.Context, c *caller, body []byte) (int, []byte) {
	var one [1]call
	calls, batch, msgErr := parseMessage(body, g.cfg.Limits.MaxBatch, one[:0])
	switch {
	case msgErr != nil:
		return g.malformed(msgErr)
	case batch:
		return g.answerBatch(ctx, c, calls)
	}
	cl := &calls[0]
	if outcome, e := g.admitHTTP(c, cl); e != nil {
		return answered(g.reject(c, cl, outcome, e))
	}
	return answered(g.forwardHTTP(ctx, c, cl))
}

// malformed answers a message that is not JSON-RPC.
func (g *Gateway) malformed(e *rpc.Error) (int, []byte) {
	g.metrics.reject("malformed")
	return http.StatusBadRequest, appendError(nil, nullID, e)
}

// answerBatch answers a batch: its calls are forwarded concurrently.
func (g *Gateway) answerBatch(ctx context.Context, c *caller, calls []call) (int, []byte) {
	answers := make([][]byte, len(calls))
	var wg sync.WaitGroup
	for i := range calls {
		cl := &calls[i]
		if outcome, e := g.admitHTTP(c, cl); e != nil {
			answers[i] = g.reject(c, cl, outcome, e)
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			answers[i] = g.forwardHTTP(ctx, c, cl)
		}()
	}
	wg.Wait()
	return answered(joinBatch(answers))
}

// answered is the status and body of an HTTP answer: no content when there is no reply (the
// message held only notifications).
func answered(reply []byte) (int, []byte) {
	if reply == nil {
		return http.StatusNoContent, nil
	}
	return http.StatusOK, reply
}

// forwardHTTP sends one call to a healthy node and returns the client's answer (nil for a
// notification).
func (g *Gateway) forwardHTTP(ctx context.Context, c *caller, cl *call) []byte {
	node, ok := g.pool.PickHTTP()
	if !ok {
		return g.reject(c, cl, outcomeUnavailable, errNoUpstream)
	}
	start := time.Now()
	w := waiters.Get().(*answerWaiter)
	defer w.release()
	err := w.call(ctx, node, cl)
	if err != nil && ctx.Err() != nil { // the client went away: not the node's fault
		return g.reject(c, cl, outcomeUnavailable, errUpstream)
	}
	return g.upstreamReply(c, cl, node, start, w.msg, err)
}

// upstreamReply records a node's answer to a forwarded call (or the error in its place, which
// takes the node out of the pool) and returns the client's answer (nil for a notification).
func (g *Gateway) upstreamReply(c *caller, cl *call, node *upstream.Node, start time.Time, msg []byte, err error) []byte {
	if err != nil {
		g.pool.MarkDown(node, err)
		g.log.Warn("upstream call failed", "upstream", node.Name, "method", cl.method, "err", err)
		return g.reject(c, cl, outcomeUnavailable, errUpstream)
	}
	m, ok := parseUpstream(msg)
	if !ok {
		g.log.Warn("upstream answer is not a JSON-RPC response", "upstream", node.Name, "method", cl.method)
		return g.reject(c, cl, outcomeUnavailable, errUpstream)
	}
	g.metrics.observe(cl.method, start)
	if e := g.checkSize(&m); e != nil {
		return g.reject(c, cl, outcomeTooLarge, e)
	}
	outcome := outcomeOK
	if m.failed() {
		outcome = outcomeError
	}
	g.metrics.call(cl.method, c.ident.ID, outcome)
	if cl.notification() {
		return nil
	}
	return appendReply(nil, cl.id, &m)
}

// answerWaiter waits for one node answer on behalf of an HTTP request. Waiters are pooled:
// a call costs no channel or buffer allocation.
type answerWaiter struct {
	cl   *call
	done chan struct{}
	msg  []byte
	err  error
}

var waiters = sync.Pool{New: func() any { return &answerWaiter{done: make(chan struct{}, 1)} }}

// AppendRequest implements upstream.Call.
func (w *answerWaiter) AppendRequest(dst []byte, id uint64) []byte {
	return appendUpstreamRequest(dst, id, w.cl.method, w.cl.params)
}

// Answer implements upstream.Call.
func (w *answerWaiter) Answer(msg []byte, err error) {
	w.msg, w.err = append(w.msg[:0], msg...), err
	w.done <- struct{}{}
}

// call sends cl to node and waits for the answer (in w.msg) or for ctx to end.
func (w *answerWaiter) call(ctx context.Context, node *upstream.Node, cl *call) error {
	w.cl = cl
	t, err := node.Send(ctx, nil, w)
	if err != nil {
		return err
	}
	select {
	case <-w.done:
		return w.err
	case <-ctx.Done():
		if !t.Cancel() { // the answer is on its way: wait for it so w can be reused
			<-w.done
		}
		return ctx.Err()
	}
}

func (w *answerWaiter) release() {
	w.cl = nil
	if cap(w.msg) > 1<<20 { // do not keep a large answer's buffer around
		w.msg = nil
	}
	waiters.Put(w)
}
