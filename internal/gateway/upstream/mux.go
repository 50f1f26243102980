package upstream

import (
	"context"
	cryptorand "crypto/rand"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"runtime"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dinfra/stack/internal/gateway/jsonscan"
	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// Call is one stateless call sent through a Mux.
type Call interface {
	// AppendRequest appends the call's request, with the id it is given (unique on its
	// connection), to dst.
	AppendRequest(dst []byte, id uint64) []byte
	Answerer
}

// Answerer receives the node's answer to one call sent through a Mux, or the error that ended
// the connection first. It runs on the connection's reader: it must not block, and msg is
// valid only until it returns.
type Answerer interface {
	Answer(msg []byte, err error)
}

// Mux carries stateless calls to one node over a few shared WebSocket connections. Calls get
// connection-unique numeric ids and answers are matched by id, so any number of callers share
// a connection; frames queued while another caller is writing leave with that caller's write,
// so under load many calls cost one system call on each side.
type Mux struct {
	url    string
	max    int64
	dialer net.Dialer
	next   atomic.Uint64
	slots  []muxSlot
}

type muxSlot struct {
	mu sync.Mutex // serialises dialing
	c  atomic.Pointer[muxConn]
}

// muxConns is the number of shared connections per node: enough to use every core of a node
// that serves one connection per thread, few enough that frames queue up and leave together.
const muxConns = 4

// callTimeout bounds how long a call waits for its answer while its connection is silent.
const callTimeout = 60 * time.Second

// ErrMuxClosed ends the calls of a closed Mux.
var ErrMuxClosed = errors.New("upstream connection closed")

// NewMux prepares a Mux for a ws:// or wss:// URL; connections are opened on first use.
func NewMux(wsURL string, maxAnswer int64) *Mux {
	return &Mux{url: wsURL, max: maxAnswer, slots: make([]muxSlot, muxConns),
		dialer: net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}}
}

// Ticket identifies a sent call, to cancel it.
type Ticket struct {
	c  *muxConn
	id uint64
}

// Send sends call and registers it for its answer. With a Batch, the call is only queued: it
// leaves when the batch is flushed (or with another caller's write, whichever comes first);
// and a batch's caller never waits for a dial: a call that needs a new connection is sent
// from a goroutine of its own (its Ticket cannot cancel).
func (m *Mux) Send(ctx context.Context, b *Batch, call Call) (Ticket, error) {
	c := b.conn(m)
	if c == nil && b != nil {
		c = m.liveConn()
	}
	if c == nil && b != nil {
		go func() {
			if _, err := m.Send(context.WithoutCancel(ctx), nil, call); err != nil {
				call.Answer(nil, err)
			}
		}()
		return Ticket{}, nil
	}
	if c == nil {
		var err error
		if c, err = m.conn(ctx); err != nil {
			return Ticket{}, err
		}
	}
	return c.send(b, call)
}

// Batch holds back the writes of calls sent with it until Flush, so that a caller sending
// many calls in a row (an event loop serving many clients) puts them on one connection per
// node, written once. A Batch belongs to one goroutine.
type Batch struct{ conns []*muxConn }

// conn returns the connection to m that the batch already writes to, if any.
func (b *Batch) conn(m *Mux) *muxConn {
	if b == nil {
		return nil
	}
	for _, c := range b.conns {
		if c.mux == m && !c.dead.Load() {
			return c
		}
	}
	return nil
}

func (b *Batch) add(c *muxConn) {
	for _, have := range b.conns {
		if have == c {
			return
		}
	}
	b.conns = append(b.conns, c)
}

// Flush writes the calls queued since the last Flush.
func (b *Batch) Flush() {
	for i, c := range b.conns {
		c.mu.Lock()
		c.flushLocked(false)
		b.conns[i] = nil
	}
	b.conns = b.conns[:0]
}

// Cancel forgets a call whose caller stopped waiting. It reports whether the call was still
// pending; if not, its Answerer has been or is being called.
func (t Ticket) Cancel() bool {
	c := t.c
	if c == nil {
		return false
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.pending[t.id]; !ok {
		return false
	}
	delete(c.pending, t.id)
	return true
}

// liveConn returns an open connection (the next in turn that is open), or nil if there is none.
func (m *Mux) liveConn() *muxConn {
	start := m.next.Add(1)
	for i := range uint64(len(m.slots)) {
		if c := m.slots[(start+i)%uint64(len(m.slots))].c.Load(); c != nil && !c.dead.Load() {
			return c
		}
	}
	return nil
}

func (m *Mux) conn(ctx context.Context) (*muxConn, error) {
	s := &m.slots[m.next.Add(1)%uint64(len(m.slots))]
	if c := s.c.Load(); c != nil && !c.dead.Load() {
		return c, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if c := s.c.Load(); c != nil && !c.dead.Load() {
		return c, nil
	}
	conn, br, err := dialWS(ctx, &m.dialer, m.url)
	if err != nil {
		return nil, err
	}
	c := &muxConn{mux: m, conn: conn, rd: wsframe.Reader{R: br, Max: m.max}, pending: map[uint64]Answerer{},
		rng: rand.NewChaCha8(seed())}
	s.c.Store(c)
	go c.readLoop()
	return c, nil
}

func seed() (s [32]byte) {
	_, _ = cryptorand.Read(s[:])
	return s
}

// Close closes the connections; their pending calls get ErrMuxClosed.
func (m *Mux) Close() {
	for i := range m.slots {
		if c := m.slots[i].c.Load(); c != nil {
			c.fail(ErrMuxClosed)
		}
	}
}

type muxConn struct {
	mux  *Mux
	conn net.Conn
	rd   wsframe.Reader
	dead atomic.Bool

	mu       sync.Mutex
	pending  map[uint64]Answerer
	nextID   uint64
	rng      *rand.ChaCha8
	scratch  []byte // request being built
	out      []byte // frames waiting to be written
	spare    []byte
	writing  bool // a caller is writing out; others only queue
	lastSent time.Time
	err      error
}

func (c *muxConn) send(b *Batch, call Call) (Ticket, error) {
	c.mu.Lock()
	if c.err != nil {
		err := c.err
		c.mu.Unlock()
		return Ticket{}, err
	}
	c.nextID++
	id := c.nextID
	c.pending[id] = call
	c.scratch = call.AppendRequest(c.scratch[:0], id)
	c.out = wsframe.AppendMasked(c.out, wsframe.OpText, c.scratch, uint32(c.rng.Uint64()))
	if b != nil {
		c.mu.Unlock()
		b.add(c)
	} else {
		c.flushLocked(true)
	}
	return Ticket{c: c, id: id}, nil
}

// flushLocked writes the queued frames unless another caller is already doing so (that one
// takes ours along). With yield, it first lets callers that are ready to run queue their
// frames: under load they leave in this one write; when nothing else is runnable it costs
// nothing. It is called with c.mu held and releases it.
func (c *muxConn) flushLocked(yield bool) {
	if c.writing || len(c.out) == 0 {
		c.mu.Unlock()
		return
	}
	c.writing = true
	if yield {
		c.mu.Unlock()
		runtime.Gosched()
		c.mu.Lock()
	}
	var err error
	for len(c.out) > 0 && err == nil {
		buf := c.out
		c.out, c.lastSent = c.spare[:0], time.Now()
		c.mu.Unlock()
		_ = c.conn.SetWriteDeadline(c.lastSent.Add(10 * time.Second))
		_, err = c.conn.Write(buf)
		c.mu.Lock()
		if cap(buf) <= 256<<10 { // keep a modest buffer, not the largest call ever sent
			c.spare = buf[:0]
		}
	}
	c.writing = false
	c.mu.Unlock()
	if err != nil {
		c.fail(fmt.Errorf("write to node: %w", err))
	}
}

// fail ends the connection: every pending call is answered with err.
func (c *muxConn) fail(err error) {
	c.mu.Lock()
	if c.err != nil {
		c.mu.Unlock()
		return
	}
	c.err = err
	c.dead.Store(true)
	pending := c.pending
	c.pending = nil
	c.mu.Unlock()
	_ = c.conn.Close()
	for _, a := range pending {
		a.Answer(nil, err)
	}
}

func (c *muxConn) readLoop() {
	for {
		if err := c.waitForFrame(); err != nil {
			c.fail(err)
			return
		}
		op, msg, err := c.rd.Next()
		if err != nil {
			c.fail(fmt.Errorf("read from node: %w", err))
			return
		}
		switch op {
		case wsframe.OpText, wsframe.OpBinary:
			c.deliver(msg)
		case wsframe.OpPing:
			c.mu.Lock()
			c.out = wsframe.AppendMasked(c.out, wsframe.OpPong, msg, uint32(c.rng.Uint64()))
			c.flushLocked(true)
		case wsframe.OpClose:
			c.fail(errors.New("the node closed the connection"))
			return
		}
	}
}

// waitForFrame blocks until a frame starts. A connection whose node stays silent for
// callTimeout after the last call was sent is ended; an idle one is closed (the next call
// redials).
func (c *muxConn) waitForFrame() error {
	for c.rd.R.Buffered() == 0 {
		_ = c.conn.SetReadDeadline(time.Now().Add(callTimeout))
		_, err := c.rd.R.Peek(1)
		if err == nil {
			return nil
		}
		var ne net.Error
		if !errors.As(err, &ne) || !ne.Timeout() {
			return fmt.Errorf("read from node: %w", err)
		}
		c.mu.Lock()
		idle, stalled := len(c.pending) == 0, time.Since(c.lastSent) >= callTimeout
		c.mu.Unlock()
		switch {
		case idle:
			return errors.New("idle connection closed")
		case stalled:
			return fmt.Errorf("the node did not answer within %s", callTimeout)
		}
	}
	return nil
}

// deliver hands an answer to its caller; messages that answer nothing pending are dropped.
func (c *muxConn) deliver(msg []byte) {
	id, ok := answerID(msg)
	if !ok {
		return
	}
	c.mu.Lock()
	a, ok := c.pending[id]
	delete(c.pending, id)
	c.mu.Unlock()
	if ok {
		a.Answer(msg, nil)
	}
}

// answerID reads the numeric id of an answer.
func answerID(msg []byte) (uint64, bool) {
	i := jsonscan.SkipSpace(msg, 0)
	if i >= len(msg) || msg[i] != '{' {
		return 0, false
	}
	var id []byte
	var it jsonscan.ObjectIter
	for it.Start(msg, i, 1); it.Next(); {
		if string(it.Key) == `"id"` {
			id = it.Val
		}
	}
	if it.End() < 0 || len(id) == 0 {
		return 0, false
	}
	var n uint64
	for _, d := range id {
		if d < '0' || d > '9' || n > (1<<64-1)/10-9 {
			return 0, false
		}
		n = n*10 + uint64(d-'0')
	}
	return n, true
}
