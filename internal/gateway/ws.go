package gateway

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/gateway/upstream"
	"github.com/dinfra/stack/internal/gateway/wsframe"
	"github.com/dinfra/stack/internal/rpc"
)

// wsReadBuffer is the client reader's buffer: pipelined calls come in with one read system
// call and are handled in one pass.
const wsReadBuffer = 64 << 10

// wsSession proxies one client WebSocket to one node. Every call the client sends is parsed,
// checked and forwarded on its own with a gateway-assigned numeric id; the node's answers are
// mapped back to the client's ids (and batches reassembled). Subscriptions and other calls
// whose state lives in a connection go over the session's own upstream WebSocket, and their
// notifications pass through unchanged; stateless calls share the node's few multiplexed
// connections, which costs the node and the gateway far fewer system calls per call.
type wsSession struct {
	g    *Gateway
	c    *caller
	up   *websocket.Conn
	node *upstream.Node

	// out writes to the client without blocking: the shared connections' reader must never
	// wait on one slow client.
	out *wsOut
	// upq feeds the writer of the session's own upstream connection, so that handling a
	// client's message never waits on the node.
	upq     chan []byte
	upDone  chan struct{} // the upstream reader and writer are done
	expires *time.Timer   // ends the session when its credential expires
	// batch, when the session is read by an event loop, holds its shared calls until the
	// loop has served every ready client (see wsloop.go).
	batch *upstream.Batch
	one   [1]call // a message of one call is parsed here (only the reader handles messages)

	mu      sync.Mutex
	nextID  uint64
	pending map[uint64]*pendingCall // calls on the session's own connection
	subs    map[string]heldSub      // subscriptions this client holds, by rpc.IDKey (each holds a slot)
	ended   bool
	reply   []byte // an answer being encoded for the client (who gets a copy)
}

// wsUpstreamBacklog bounds the messages waiting for the session's own upstream connection;
// a node that lets more pile up is not reading, and the session ends.
const wsUpstreamBacklog = 1024

// heldSub is a subscription a client holds: the family of methods that end it, and its id
// as the node gave it.
type heldSub struct {
	family string
	id     json.RawMessage
}

type pendingCall struct {
	s        *wsSession
	clientID json.RawMessage
	method   string
	params   json.RawMessage // of a call over the shared connections, until it is sent
	start    time.Time
	// subscribe is the family of a subscribe call: a slot is held and becomes the
	// subscription's on success.
	subscribe string
	batch     *batchReply
	index     int
}

type batchReply struct {
	parts     [][]byte
	remaining int
}

// serveWS opens a session for a WebSocket handshake. With loops (the fast server) an event
// loop reads the client; otherwise (the reference server) a goroutine does.
func (g *Gateway) serveWS(w http.ResponseWriter, r *http.Request, public *config.PublicRoute, loops *eventLoops) {
	c := g.connectHTTP(w, r, public)
	if c == nil {
		return
	}
	node, ok := g.pool.PickWS()
	if !ok {
		c.limits.ReleaseConn()
		writeHTTPError(w, http.StatusServiceUnavailable, errNoUpstream)
		return
	}
	dialCtx, cancel := context.WithTimeout(r.Context(), 10*time.Second)
	up, _, err := websocket.DefaultDialer.DialContext(dialCtx, node.WS, nil)
	cancel()
	if err != nil {
		g.pool.MarkDown(node, err)
		node.Release()
		c.limits.ReleaseConn()
		g.log.Warn("upstream websocket dial failed", "upstream", node.Name, "err", err)
		writeHTTPError(w, http.StatusBadGateway, errUpstream)
		return
	}
	conn, pending, err := upgradeWS(w, r)
	if err != nil {
		_ = up.Close()
		node.Release()
		c.limits.ReleaseConn()
		g.log.Debug("websocket handshake refused", "err", err)
		return // upgradeWS answered the client
	}
	s := &wsSession{g: g, c: c, up: up, node: node, out: newWSOut(conn, g.timeouts.write),
		upq: make(chan []byte, wsUpstreamBacklog), upDone: make(chan struct{}),
		pending: map[uint64]*pendingCall{}, subs: map[string]heldSub{}}
	g.metrics.wsConns.Inc()
	g.log.Debug("websocket opened", "key", c.ident.ID, "upstream", node.Name)
	g.sessions.add(s)
	if g.revoked(c) { // revoked by a reload since the handshake was authenticated
		s.closeClient(websocket.ClosePolicyViolation, "credential revoked")
	}
	if !c.ident.Expires.IsZero() {
		s.expires = time.AfterFunc(time.Until(c.ident.Expires), func() {
			s.closeClient(websocket.ClosePolicyViolation, "credential expired")
		})
	}
	up.SetReadLimit(config.MaxAnswerBytes)
	go func() {
		defer close(s.upDone)
		var writer sync.WaitGroup
		writer.Go(s.writeUpstreamLoop)
		s.readUpstream()
		writer.Wait()
	}()
	go s.out.flushLoop()
	if loops != nil && watchWS(loops, s, conn, pending) {
		return // an event loop reads the client from now on
	}
	s.readClient(s.clientReader(conn, pending))
	s.end()
}

// clientReader reads the client's frames from its socket, starting with the bytes already
// read from it.
func (s *wsSession) clientReader(conn net.Conn, pending []byte) *wsframe.Reader {
	var in io.Reader = conn
	if len(pending) > 0 {
		in = io.MultiReader(bytes.NewReader(pending), conn)
	}
	// A client message larger than the limit is discarded with an error answer and the
	// connection survives; a far larger one closes it.
	limit := s.g.cfg.Limits.MaxRequestBytes
	return &wsframe.Reader{R: bufio.NewReaderSize(in, wsReadBuffer), Masked: true, Skip: limit, Max: max(16*limit, 16<<20)}
}

// readClient handles client messages until the client goes away; messages already in the read
// buffer cost no system call.
func (s *wsSession) readClient(in *wsframe.Reader) {
	for {
		op, msg, err := in.Next()
		switch {
		case errors.Is(err, wsframe.ErrSkipped):
			s.g.metrics.reject("too_large")
			s.writeClient(appendError(nil, nullID, errTooLarge(in.Skip)))
			continue
		case err != nil:
			s.readFailed(err)
			return
		}
		if !s.onMessage(op, msg) {
			return
		}
	}
}

// readFailed ends reading after err: a client that broke the protocol or sent too much is
// told why.
func (s *wsSession) readFailed(err error) {
	switch {
	case errors.Is(err, wsframe.ErrTooLarge):
		s.closeClient(websocket.CloseMessageTooBig, "message too large")
	case errors.Is(err, wsframe.ErrProtocol):
		s.closeClient(websocket.CloseProtocolError, "")
	}
}

// onMessage handles one message or control frame from the client; false ends the session.
func (s *wsSession) onMessage(op byte, msg []byte) bool {
	switch op {
	case wsframe.OpText, wsframe.OpBinary:
		// Pending calls keep the client's ids, which point into the message.
		s.handle(bytes.Clone(msg))
	case wsframe.OpPing:
		s.out.send(wsframe.OpPong, msg)
	case wsframe.OpClose:
		s.echoClose(msg)
		return false
	}
	return true
}

// end finishes the session once its client is no longer read.
func (s *wsSession) end() {
	if s.expires != nil {
		s.expires.Stop()
	}
	close(s.upq)
	_ = s.up.Close()
	<-s.upDone
	s.finish()
}

// echoClose answers the client's close frame with its status code, as RFC 6455 asks.
func (s *wsSession) echoClose(msg []byte) {
	if len(msg) < 2 {
		msg = nil // no status: answer with none
	} else {
		msg = msg[:2]
	}
	s.out.send(wsframe.OpClose, msg)
}

// handle checks and forwards one client message.
func (s *wsSession) handle(data []byte) {
	calls, batch, msgErr := parseMessage(data, s.g.cfg.Limits.MaxBatch, s.one[:0])
	defer func() { s.one[0] = call{} }() // hold on to no message between messages
	if msgErr != nil {
		s.g.metrics.reject("malformed")
		s.writeClient(appendError(nil, nullID, msgErr))
		return
	}
	var br *batchReply
	if batch {
		br = &batchReply{parts: make([][]byte, len(calls))}
	}
	var frames [][]byte
	var shared []*pendingCall
	s.mu.Lock()
	for i := range calls {
		cl := &calls[i]
		answer, frame, p := s.admitLocked(cl, br, i)
		switch {
		case p != nil:
			shared = append(shared, p)
		case frame != nil:
			frames = append(frames, frame)
		case answer != nil && br != nil:
			br.parts[i] = answer
		case answer != nil:
			s.writeClient(answer)
		}
	}
	if br != nil && br.remaining == 0 {
		if out := joinBatch(br.parts); out != nil {
			s.writeClient(out)
		}
	}
	s.mu.Unlock()
	for _, p := range shared {
		s.sendShared(p)
	}
	for _, f := range frames {
		s.writeUpstream(f)
	}
}

// sendShared sends a stateless call over the node's shared connections.
func (s *wsSession) sendShared(p *pendingCall) {
	if _, err := s.node.Send(context.Background(), s.batch, p); err != nil {
		p.Answer(nil, err)
	}
}

// AppendRequest implements upstream.Call for calls sent over the shared connections.
func (p *pendingCall) AppendRequest(dst []byte, id uint64) []byte {
	return appendUpstreamRequest(dst, id, p.method, p.params)
}

// Answer implements upstream.Call for calls sent over the shared connections.
func (p *pendingCall) Answer(msg []byte, err error) {
	s := p.s
	m, ok := parseUpstream(msg)
	if err != nil || !ok {
		if err == nil {
			err = errors.New("answer is not a JSON-RPC response")
		}
		s.g.pool.MarkDown(s.node, err)
		s.g.log.Warn("upstream call failed", "upstream", s.node.Name, "method", p.method, "err", err)
		m = upstreamMessage{failure: true}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.completeLocked(p, &m)
	}
}

// admitLocked decides one call: it returns the client's answer (refused), the frame to send
// on the session's connection (forwarded, registered as pending), or a call for the shared
// connections.
func (s *wsSession) admitLocked(cl *call, br *batchReply, index int) (answer, frame []byte, shared *pendingCall) {
	g := s.g
	if outcome, e := g.admit(s.c, cl); e != nil {
		return g.reject(s.c, cl, outcome, e), nil, nil
	}
	p := &pendingCall{s: s, clientID: cl.id, method: cl.method, start: time.Now(), batch: br, index: index}
	params := cl.params
	switch family, starts, ends := policy.Subscription(cl.method); {
	case starts && cl.notification():
		return g.reject(s.c, cl, outcomeInvalid, errNoID), nil, nil // its slot could never be freed
	case starts:
		if !s.c.limits.AcquireSub() {
			return g.reject(s.c, cl, outcomeSubLimited, errTooManySubs), nil, nil
		}
		p.subscribe = family
	case ends:
		id, ok := s.releaseSubLocked(family, cl.params)
		if !ok {
			// Not a subscription this client holds (never given, ended, or of another
			// family): answered here as polkadot-sdk answers it, and never passed on, since
			// gossamer panics on a second unsubscribe.
			g.metrics.call(cl.method, s.c.ident.ID, outcomeInvalid)
			if cl.notification() {
				return nil, nil, nil
			}
			return appendReply(nil, cl.id, &notSubscribed), nil, nil
		}
		params = append(append([]byte{'['}, id...), ']') // the id exactly as the node gave it
	case !cl.notification() && !connectionScoped(cl.method):
		if br != nil {
			br.remaining++
		}
		p.params = cl.params
		return nil, nil, p
	}
	s.nextID++
	id := s.nextID
	if cl.notification() {
		// Forwarded, but nothing will answer it; keep no pending entry.
		g.metrics.call(cl.method, s.c.ident.ID, outcomeOK)
		return nil, appendUpstreamRequest(nil, id, cl.method, params), nil
	}
	s.pending[id] = p
	if br != nil {
		br.remaining++
	}
	return nil, appendUpstreamRequest(nil, id, cl.method, params), nil
}

// notSubscribed is the answer to an unsubscribe for a subscription the client does not hold.
var notSubscribed = upstreamMessage{Result: json.RawMessage("false")}

// releaseSubLocked ends the client's hold on the subscription of family that an unsubscribe
// call's params name, and returns its id as the node gave it; false if the client holds no
// such subscription.
func (s *wsSession) releaseSubLocked(family string, params json.RawMessage) (json.RawMessage, bool) {
	raw, ok := firstParam(params)
	if !ok {
		return nil, false
	}
	key, err := rpc.IDKey(raw)
	sub, held := s.subs[key]
	if err != nil || !held || sub.family != family {
		return nil, false
	}
	delete(s.subs, key)
	s.c.limits.ReleaseSub()
	return sub.id, true
}

// readUpstream relays the node's messages until the node or the client goes away.
func (s *wsSession) readUpstream() {
	for {
		_, data, err := s.up.ReadMessage()
		if err != nil {
			s.closeClient(websocket.CloseTryAgainLater, "upstream node went away")
			return
		}
		m, ok := parseUpstream(data)
		if !ok {
			continue
		}
		if m.notification() {
			s.writeClient(data)
			continue
		}
		s.answer(&m)
	}
}

func (s *wsSession) answer(m *upstreamMessage) {
	id, err := strconv.ParseUint(string(m.ID), 10, 64)
	if err != nil {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.pending[id]
	if !ok {
		return
	}
	delete(s.pending, id)
	s.completeLocked(p, m)
}

// completeLocked records a call's answer, turns it into the client's, and sends it (or the
// whole batch, once complete).
func (s *wsSession) completeLocked(p *pendingCall, m *upstreamMessage) {
	var dst []byte
	if p.batch == nil {
		dst = s.reply[:0] // sent at once, as a copy: the session's buffer will do
	}
	var reply []byte
	if m.failure {
		s.g.metrics.call(p.method, s.c.ident.ID, outcomeUnavailable)
		reply = appendError(dst, p.clientID, errUpstream)
	} else {
		s.g.metrics.observe(p.method, p.start)
		s.trackSubLocked(p, m)
		outcome, tooLarge := outcomeOK, s.g.checkSize(m)
		if tooLarge != nil {
			outcome = outcomeTooLarge
			reply = appendError(dst, p.clientID, tooLarge)
		} else {
			if m.failed() {
				outcome = outcomeError
			}
			reply = appendReply(dst, p.clientID, m)
		}
		s.g.metrics.call(p.method, s.c.ident.ID, outcome)
	}
	if p.batch == nil {
		s.writeClient(reply)
		if cap(reply) <= 64<<10 { // keep a modest buffer, not the largest answer ever sent
			s.reply = reply[:0]
		}
		return
	}
	p.batch.parts[p.index] = reply
	p.batch.remaining--
	if p.batch.remaining == 0 {
		s.writeClient(joinBatch(p.batch.parts))
	}
}

// trackSubLocked turns a subscribe call's slot into the subscription's, or frees it if the
// node gave no (new) subscription.
func (s *wsSession) trackSubLocked(p *pendingCall, m *upstreamMessage) {
	if p.subscribe == "" {
		return
	}
	key, err := rpc.IDKey(m.Result)
	if _, dup := s.subs[key]; m.failed() || err != nil || dup {
		s.c.limits.ReleaseSub()
		return
	}
	s.subs[key] = heldSub{family: p.subscribe, id: bytes.Clone(bytes.TrimSpace(m.Result))}
}

// finish returns every slot the session held.
func (s *wsSession) finish() {
	s.mu.Lock()
	for range s.subs {
		s.c.limits.ReleaseSub()
	}
	for _, p := range s.pending {
		if p.subscribe != "" {
			s.c.limits.ReleaseSub()
		}
	}
	s.subs, s.pending, s.ended = nil, nil, true
	s.mu.Unlock()
	s.out.stop()
	s.g.sessions.remove(s)
	s.node.Release()
	s.c.limits.ReleaseConn()
	s.g.metrics.wsConns.Dec()
	s.g.log.Debug("websocket closed", "key", s.c.ident.ID, "upstream", s.node.Name)
}

// writeClient sends msg to the client; it never blocks, so it may be called with s.mu held.
func (s *wsSession) writeClient(msg []byte) {
	s.out.send(wsframe.OpText, msg)
}

// writeUpstream queues msg for the session's own upstream connection; a node that stopped
// reading ends the session.
func (s *wsSession) writeUpstream(msg []byte) {
	select {
	case s.upq <- msg:
	default:
		_ = s.up.Close() // the upstream reader then closes the client
	}
}

// writeUpstreamLoop writes the queued messages to the node until the session ends.
func (s *wsSession) writeUpstreamLoop() {
	for msg := range s.upq {
		_ = s.up.SetWriteDeadline(time.Now().Add(s.g.timeouts.write))
		if err := s.up.WriteMessage(websocket.TextMessage, msg); err != nil {
			_ = s.up.Close() // the upstream reader then closes the client
			return
		}
	}
}

// closeClient sends a close frame; the socket is closed once it is written.
func (s *wsSession) closeClient(code int, reason string) {
	s.out.send(wsframe.OpClose, websocket.FormatCloseMessage(code, reason))
}
