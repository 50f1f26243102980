package rpc

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"sync/atomic"
)

// Client calls one node over HTTP or WebSocket, chosen by the URL scheme given to Dial.
// It is safe for concurrent use.
type Client struct {
	endpoint string
	t        transport
	ws       *wsTransport // nil over HTTP: subscriptions need a WebSocket
	nextID   atomic.Uint64
}

// transport carries one message (a call or a batch) and returns the responses to its calls
// that carry an id, in any order.
type transport interface {
	roundTrip(ctx context.Context, msg []byte, ids int) ([]*Response, error)
	close() error
}

type options struct {
	header     http.Header
	httpClient *http.Client
	subBuffer  int
	maxMessage int64
}

// Option configures Dial.
type Option func(*options)

// WithHeader adds a header to every HTTP request and to the WebSocket handshake (for example
// an Authorization header for an RPC gateway). Values are never logged.
func WithHeader(key, value string) Option {
	return func(o *options) { o.header.Add(key, value) }
}

// WithHTTPClient sets the HTTP client used for http(s) endpoints.
func WithHTTPClient(c *http.Client) Option { return func(o *options) { o.httpClient = c } }

// WithSubscriptionBuffer sets how many notifications a subscription buffers before it is
// ended with ErrSubscriptionOverflow (default 256).
func WithSubscriptionBuffer(n int) Option { return func(o *options) { o.subBuffer = n } }

// WithMaxMessageSize bounds the size of a response or notification read (default 64 MiB,
// enough for runtime metadata).
func WithMaxMessageSize(n int64) Option { return func(o *options) { o.maxMessage = n } }

// Dial connects to endpoint: http:// and https:// give a stateless HTTP client (no
// subscriptions); ws:// and wss:// open a WebSocket that lives until Close.
func Dial(ctx context.Context, endpoint string, opts ...Option) (*Client, error) {
	o := options{header: http.Header{}, subBuffer: 256, maxMessage: 64 << 20}
	for _, opt := range opts {
		opt(&o)
	}
	u, err := url.Parse(endpoint)
	if err != nil {
		return nil, fmt.Errorf("rpc endpoint %q: %w", endpoint, err)
	}
	c := &Client{endpoint: u.Redacted()}
	switch u.Scheme {
	case "http", "https":
		c.t = newHTTPTransport(endpoint, o)
	case "ws", "wss":
		ws, err := dialWS(ctx, endpoint, o)
		if err != nil {
			return nil, err
		}
		c.t, c.ws = ws, ws
	default:
		return nil, fmt.Errorf("rpc endpoint %q: scheme must be http, https, ws or wss", c.endpoint)
	}
	return c, nil
}

// Endpoint returns the endpoint URL with any password redacted.
func (c *Client) Endpoint() string { return c.endpoint }

// Close releases the connection; pending calls and subscriptions end with an error.
func (c *Client) Close() error { return c.t.close() }

// Call invokes method with positional params and decodes the result into result (which may
// be nil to discard it). A JSON-RPC error answer is returned as *Error.
func (c *Client) Call(ctx context.Context, result any, method string, params ...any) error {
	req, err := c.newRequest(method, params)
	if err != nil {
		return err
	}
	msg, err := json.Marshal(req)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", method, err)
	}
	resps, err := c.t.roundTrip(ctx, msg, 1)
	if err != nil {
		return fmt.Errorf("%s: %w", method, err)
	}
	return decodeResult(method, resps[0], result)
}

// BatchElem is one call of a batch. Error is set per element after BatchCall returns nil.
type BatchElem struct {
	Method string
	Params []any
	Result any
	Error  error
}

// BatchCall sends elems as one JSON-RPC batch. The returned error covers the transport; each
// element's own outcome is in its Error field.
func (c *Client) BatchCall(ctx context.Context, elems []BatchElem) error {
	if len(elems) == 0 {
		return errors.New("batch: no calls")
	}
	reqs := make([]*Request, len(elems))
	byID := make(map[string]int, len(elems))
	for i := range elems {
		req, err := c.newRequest(elems[i].Method, elems[i].Params)
		if err != nil {
			return fmt.Errorf("batch[%d]: %w", i, err)
		}
		reqs[i] = req
		key, _ := IDKey(req.ID)
		byID[key] = i
	}
	msg, err := json.Marshal(reqs)
	if err != nil {
		return fmt.Errorf("batch: encode: %w", err)
	}
	resps, err := c.t.roundTrip(ctx, msg, len(reqs))
	if err != nil {
		return fmt.Errorf("batch: %w", err)
	}
	seen := make([]bool, len(elems))
	for _, r := range resps {
		key, err := IDKey(r.ID)
		i, ok := byID[key]
		if err != nil || !ok {
			return fmt.Errorf("batch: response with unknown id %s", r.ID)
		}
		seen[i] = true
		elems[i].Error = decodeResult(elems[i].Method, r, elems[i].Result)
	}
	for i, ok := range seen {
		if !ok {
			elems[i].Error = fmt.Errorf("%s: no response in batch", elems[i].Method)
		}
	}
	return nil
}

func (c *Client) newRequest(method string, params []any) (*Request, error) {
	if method == "" {
		return nil, errors.New("method is empty")
	}
	if params == nil {
		params = []any{}
	}
	p, err := json.Marshal(params)
	if err != nil {
		return nil, fmt.Errorf("%s: encode params: %w", method, err)
	}
	return &Request{JSONRPC: Version, ID: uintID(c.nextID.Add(1)), Method: method, Params: p}, nil
}

func decodeResult(method string, r *Response, result any) error {
	if r.Error != nil {
		return fmt.Errorf("%s: %w", method, r.Error)
	}
	if result == nil {
		return nil
	}
	if len(r.Result) == 0 {
		return fmt.Errorf("%s: response has neither result nor error", method)
	}
	if err := json.Unmarshal(r.Result, result); err != nil {
		return fmt.Errorf("%s: decode result: %w", method, err)
	}
	return nil
}

// parseResponses decodes a single response or a batch of them.
func parseResponses(body []byte) ([]*Response, error) {
	elems, _, err := SplitBatch(body)
	if err != nil {
		return nil, err
	}
	out := make([]*Response, 0, len(elems))
	for _, e := range elems {
		var r Response
		if err := json.Unmarshal(e, &r); err != nil {
			return nil, fmt.Errorf("decode response: %w", err)
		}
		out = append(out, &r)
	}
	return out, nil
}
