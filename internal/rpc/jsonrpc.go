// Package rpc is a JSON-RPC 2.0 client for Substrate nodes (polkadot-sdk and gossamer) over
// HTTP and WebSocket: calls with a context, batches, subscriptions, and typed helpers for the
// methods a node status needs. It also holds the JSON-RPC message types the RPC gateway shares.
package rpc

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
)

// Version is the only JSON-RPC version spoken.
const Version = "2.0"

// Standard JSON-RPC 2.0 error codes, and the server-error range codes this project uses.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeMethodNotFound = -32601
	CodeInvalidParams  = -32602
	CodeInternalError  = -32603
)

// Request is one JSON-RPC call. A nil ID makes it a notification (no response expected).
type Request struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method"`
	Params  json.RawMessage `json:"params,omitempty"`
}

// IsNotification reports whether the request carries no id.
func (r *Request) IsNotification() bool { return len(r.ID) == 0 }

// Response is one JSON-RPC response: exactly one of Result and Error is set.
type Response struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// Error is a JSON-RPC error object. It implements error so callers can match it with errors.As.
type Error struct {
	Code    int             `json:"code"`
	Message string          `json:"message"`
	Data    json.RawMessage `json:"data,omitempty"`
}

func (e *Error) Error() string {
	if len(e.Data) > 0 {
		return fmt.Sprintf("json-rpc error %d: %s (%s)", e.Code, e.Message, e.Data)
	}
	return fmt.Sprintf("json-rpc error %d: %s", e.Code, e.Message)
}

// Message is any JSON-RPC message read off the wire: a request, a response, or a server
// notification of a subscription (method set, no id).
type Message struct {
	JSONRPC string          `json:"jsonrpc"`
	ID      json.RawMessage `json:"id,omitempty"`
	Method  string          `json:"method,omitempty"`
	Params  json.RawMessage `json:"params,omitempty"`
	Result  json.RawMessage `json:"result,omitempty"`
	Error   *Error          `json:"error,omitempty"`
}

// IsResponse reports whether m answers a call.
func (m *Message) IsResponse() bool { return m.Method == "" && len(m.ID) > 0 }

// SubscriptionParams is the params object of a subscription notification.
type SubscriptionParams struct {
	Subscription json.RawMessage `json:"subscription"`
	Result       json.RawMessage `json:"result"`
}

// ErrNullID is returned by IDKey for an id that is JSON null.
var ErrNullID = errors.New("json-rpc id is null")

// IDKey turns a JSON id (number or string) into a map key. Subscription ids are numbers on
// gossamer and strings on polkadot-sdk, so both must work.
func IDKey(raw json.RawMessage) (string, error) {
	raw = bytes.TrimSpace(raw)
	switch {
	case len(raw) == 0:
		return "", errors.New("json-rpc id is missing")
	case bytes.Equal(raw, []byte("null")):
		return "", ErrNullID
	case raw[0] == '"':
		var s string
		if err := json.Unmarshal(raw, &s); err != nil {
			return "", fmt.Errorf("json-rpc id %s: %w", raw, err)
		}
		return "s:" + s, nil
	default:
		var n json.Number
		if err := json.Unmarshal(raw, &n); err != nil {
			return "", fmt.Errorf("json-rpc id %s: must be a string or a number", raw)
		}
		return "n:" + n.String(), nil
	}
}

// SplitBatch reports whether body is a batch (a JSON array) and returns its elements, or the
// single message. It checks only the outer shape; elements are decoded by the caller.
func SplitBatch(body []byte) (elems []json.RawMessage, batch bool, err error) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) == 0 {
		return nil, false, errors.New("empty message")
	}
	if trimmed[0] != '[' {
		if !json.Valid(trimmed) {
			return nil, false, errors.New("malformed JSON")
		}
		return []json.RawMessage{trimmed}, false, nil
	}
	if err := json.Unmarshal(trimmed, &elems); err != nil {
		return nil, true, fmt.Errorf("malformed JSON batch: %w", err)
	}
	return elems, true, nil
}

func uintID(n uint64) json.RawMessage { return strconv.AppendUint(nil, n, 10) }
