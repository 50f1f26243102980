package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/gorilla/websocket"
)

// ErrClosed is returned for calls on, and subscriptions of, a closed connection.
var ErrClosed = errors.New("rpc connection closed")

// ErrSubscriptionOverflow ends a subscription whose reader fell behind its buffer.
var ErrSubscriptionOverflow = errors.New("subscription buffer overflow: notifications were not read fast enough")

const wsWriteTimeout = 10 * time.Second

type wsTransport struct {
	conn      *websocket.Conn
	writeMu   sync.Mutex
	subBuffer int

	mu      sync.Mutex
	pending map[string]*pendingCall
	subs    map[string]*Subscription
	err     error // set once the connection is gone
	done    chan struct{}
}

type pendingCall struct {
	ch  chan *Response // buffered 1
	sub *Subscription  // set for subscribe calls: registered before later messages are read
}

func dialWS(ctx context.Context, endpoint string, o options) (*wsTransport, error) {
	d := websocket.Dialer{HandshakeTimeout: 30 * time.Second, Proxy: http.ProxyFromEnvironment}
	conn, resp, err := d.DialContext(ctx, endpoint, o.header)
	if err != nil {
		if resp != nil {
			return nil, fmt.Errorf("websocket handshake: %s: %w", resp.Status, err)
		}
		return nil, fmt.Errorf("websocket dial: %w", err)
	}
	conn.SetReadLimit(o.maxMessage)
	t := &wsTransport{
		conn:      conn,
		subBuffer: o.subBuffer,
		pending:   map[string]*pendingCall{},
		subs:      map[string]*Subscription{},
		done:      make(chan struct{}),
	}
	go t.readLoop()
	return t, nil
}

func (t *wsTransport) roundTrip(ctx context.Context, msg []byte, ids int) ([]*Response, error) {
	return t.send(ctx, msg, ids, nil)
}

// send writes msg and waits for ids responses. With sub set (a single subscribe call), the
// subscription is registered by the reader as soon as the answer arrives, so no notification
// that follows it can be lost.
func (t *wsTransport) send(ctx context.Context, msg []byte, ids int, sub *Subscription) ([]*Response, error) {
	keys, err := requestIDs(msg)
	if err != nil {
		return nil, err
	}
	calls := make([]*pendingCall, len(keys))
	t.mu.Lock()
	if t.err != nil {
		t.mu.Unlock()
		return nil, t.err
	}
	for i, k := range keys {
		calls[i] = &pendingCall{ch: make(chan *Response, 1), sub: sub}
		t.pending[k] = calls[i]
	}
	t.mu.Unlock()
	defer func() {
		t.mu.Lock()
		for _, k := range keys {
			delete(t.pending, k)
		}
		t.mu.Unlock()
	}()
	if err := t.write(msg); err != nil {
		return nil, err
	}
	out := make([]*Response, 0, len(calls))
	for _, c := range calls {
		select {
		case r := <-c.ch:
			out = append(out, r)
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.done:
			return nil, t.err
		}
	}
	return out, nil
}

func (t *wsTransport) write(msg []byte) error {
	t.writeMu.Lock()
	defer t.writeMu.Unlock()
	_ = t.conn.SetWriteDeadline(time.Now().Add(wsWriteTimeout))
	if err := t.conn.WriteMessage(websocket.TextMessage, msg); err != nil {
		return fmt.Errorf("websocket write: %w", err)
	}
	return nil
}

// requestIDs returns the id keys of the calls in msg that expect an answer.
func requestIDs(msg []byte) ([]string, error) {
	elems, _, err := SplitBatch(msg)
	if err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(elems))
	for _, e := range elems {
		var r struct {
			ID json.RawMessage `json:"id"`
		}
		if err := json.Unmarshal(e, &r); err != nil {
			return nil, err
		}
		if len(r.ID) == 0 {
			continue
		}
		k, err := IDKey(r.ID)
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	return keys, nil
}

func (t *wsTransport) readLoop() {
	for {
		_, data, err := t.conn.ReadMessage()
		if err != nil {
			t.fail(fmt.Errorf("%w: %v", ErrClosed, err))
			return
		}
		elems, _, err := SplitBatch(data)
		if err != nil {
			continue // a node never sends this; nothing can be matched to it
		}
		for _, e := range elems {
			var m Message
			if json.Unmarshal(e, &m) == nil {
				t.dispatch(&m)
			}
		}
	}
}

func (t *wsTransport) dispatch(m *Message) {
	if m.Method != "" {
		t.notify(m)
		return
	}
	key, err := IDKey(m.ID)
	if err != nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	c, ok := t.pending[key]
	if !ok {
		return // the caller gave up (context ended), or the node answered twice
	}
	delete(t.pending, key)
	if c.sub != nil && m.Error == nil {
		if subKey, err := IDKey(m.Result); err == nil {
			c.sub.id = m.Result
			t.subs[subKey] = c.sub
		}
	}
	c.ch <- &Response{JSONRPC: m.JSONRPC, ID: m.ID, Result: m.Result, Error: m.Error}
}

func (t *wsTransport) notify(m *Message) {
	var p SubscriptionParams
	if json.Unmarshal(m.Params, &p) != nil {
		return
	}
	key, err := IDKey(p.Subscription)
	if err != nil {
		return
	}
	t.mu.Lock()
	sub, ok := t.subs[key]
	if ok && !sub.push(p.Result) {
		delete(t.subs, key)
		ok = false
		go func() { // tell the node to stop sending; the reader must not block on it
			ctx, cancel := context.WithTimeout(context.Background(), wsWriteTimeout)
			defer cancel()
			_ = sub.callUnsubscribe(ctx)
		}()
	}
	t.mu.Unlock()
}

func (t *wsTransport) fail(err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.err != nil {
		return
	}
	t.err = err
	close(t.done)
	for k, s := range t.subs {
		s.end(err)
		delete(t.subs, k)
	}
}

func (t *wsTransport) close() error {
	t.writeMu.Lock()
	_ = t.conn.WriteControl(websocket.CloseMessage,
		websocket.FormatCloseMessage(websocket.CloseNormalClosure, ""), time.Now().Add(time.Second))
	t.writeMu.Unlock()
	err := t.conn.Close()
	t.fail(ErrClosed)
	return err
}

func (t *wsTransport) forget(sub *Subscription) {
	t.mu.Lock()
	defer t.mu.Unlock()
	if key, err := IDKey(sub.id); err == nil && t.subs[key] == sub {
		delete(t.subs, key)
	}
}
