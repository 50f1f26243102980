package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
)

// ErrUnsubscribed is returned by Next after Unsubscribe.
var ErrUnsubscribed = errors.New("unsubscribed")

// Subscription receives the notifications of one subscription (for example
// chain_subscribeNewHeads) over a WebSocket client.
type Subscription struct {
	c           *Client
	t           *wsTransport
	method      string
	unsubscribe string
	id          json.RawMessage // the node's subscription id, set when the node answers

	ch   chan json.RawMessage // closed when the subscription ends
	once sync.Once
	mu   sync.Mutex
	err  error
}

// Subscribe calls method (a *_subscribe* method) and returns the subscription; unsubscribe
// names the method that ends it (for example chain_unsubscribeNewHeads).
func (c *Client) Subscribe(ctx context.Context, method, unsubscribe string, params ...any) (*Subscription, error) {
	if c.ws == nil {
		return nil, fmt.Errorf("%s: subscriptions need a ws:// or wss:// endpoint", method)
	}
	req, err := c.newRequest(method, params)
	if err != nil {
		return nil, err
	}
	msg, err := json.Marshal(req)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", method, err)
	}
	sub := &Subscription{
		c: c, t: c.ws, method: method, unsubscribe: unsubscribe,
		ch: make(chan json.RawMessage, c.ws.subBuffer),
	}
	resps, err := c.ws.send(ctx, msg, 1, sub)
	if err != nil {
		c.ws.forget(sub) // registered if the answer raced the context's end
		return nil, fmt.Errorf("%s: %w", method, err)
	}
	if resps[0].Error != nil {
		return nil, fmt.Errorf("%s: %w", method, resps[0].Error)
	}
	if _, err := IDKey(resps[0].Result); err != nil {
		return nil, fmt.Errorf("%s: bad subscription id: %w", method, err)
	}
	return sub, nil
}

// ID returns the subscription id the node assigned (a JSON string or number).
func (s *Subscription) ID() json.RawMessage { return s.id }

// Next returns the next notification's result. It returns an error once the subscription has
// ended (ErrUnsubscribed, ErrSubscriptionOverflow, or the connection's error) and all
// buffered notifications have been read.
func (s *Subscription) Next(ctx context.Context) (json.RawMessage, error) {
	select {
	case r, ok := <-s.ch:
		if !ok {
			return nil, s.Err()
		}
		return r, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Err returns why the subscription ended, or nil while it is active.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Unsubscribe ends the subscription on the node and locally.
func (s *Subscription) Unsubscribe(ctx context.Context) error {
	s.t.forget(s)
	ended := s.end(ErrUnsubscribed)
	if !ended {
		return nil // already ended (overflow or connection loss)
	}
	return s.callUnsubscribe(ctx)
}

func (s *Subscription) callUnsubscribe(ctx context.Context) error {
	if s.unsubscribe == "" {
		return nil
	}
	req, err := s.c.newRequest(s.unsubscribe, []any{s.id})
	if err != nil {
		return err
	}
	msg, err := json.Marshal(req)
	if err != nil {
		return err
	}
	resps, err := s.t.roundTrip(ctx, msg, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", s.unsubscribe, err)
	}
	return decodeResult(s.unsubscribe, resps[0], nil)
}

// push queues a notification; it reports false (and ends the subscription) on overflow.
// It is called with the transport lock held and only while the subscription is registered;
// every end happens under that lock or after the subscription was unregistered, so push
// never sends on a closed channel.
func (s *Subscription) push(r json.RawMessage) bool {
	select {
	case s.ch <- r:
		return true
	default:
		s.end(ErrSubscriptionOverflow)
		return false
	}
}

// end records err and closes the channel; it reports whether this call ended it.
func (s *Subscription) end(err error) bool {
	ended := false
	s.once.Do(func() {
		s.mu.Lock()
		s.err = err
		s.mu.Unlock()
		close(s.ch)
		ended = true
	})
	return ended
}
