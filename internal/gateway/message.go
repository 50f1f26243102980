package gateway

import (
	"encoding/json"
	"strconv"
	"strings"

	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/rpc"
)

// JSON-RPC error codes the gateway answers with (server-error range, -32000 to -32099,
// plus the standard ones).
const (
	CodeUnauthorized         = -32001
	CodeMethodDenied         = -32003
	CodeRateLimited          = -32005
	CodeTooManySubscriptions = -32006
	CodeUpstreamUnavailable  = -32050
	// CodeResponseTooLarge is polkadot-sdk's (jsonrpsee's) code for an answer over the
	// node's --rpc-max-response-size.
	CodeResponseTooLarge = -32008
)

var (
	errDenied      = &rpc.Error{Code: CodeMethodDenied, Message: "method not allowed for this key"}
	errRateLimited = &rpc.Error{Code: CodeRateLimited, Message: "rate limit exceeded"}
	errTooManySubs = &rpc.Error{Code: CodeTooManySubscriptions, Message: "too many subscriptions"}
	errNoUpstream  = &rpc.Error{Code: CodeUpstreamUnavailable, Message: "no healthy upstream node"}
	errUpstream    = &rpc.Error{Code: CodeUpstreamUnavailable, Message: "upstream node failed"}
	errUnauth      = &rpc.Error{Code: CodeUnauthorized, Message: "missing or invalid API key or token"}
	errMalformed   = &rpc.Error{Code: rpc.CodeParseError, Message: "parse error: malformed JSON"}
	errEmptyBatch  = &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: empty batch"}
	errConnLimit   = &rpc.Error{Code: CodeRateLimited, Message: "too many concurrent connections"}
	errMethodName  = invalid(`"method" must be a method name: namespace_method in ASCII letters and digits`)
	errNotFound    = &rpc.Error{Code: rpc.CodeMethodNotFound, Message: "method not found"}
	errNeedsWS     = invalid("subscriptions and connection-scoped methods need a WebSocket")
	errNoID        = invalid("a subscription needs an id")
	errAllStorage  = &rpc.Error{Code: CodeMethodDenied, Message: "state_subscribeStorage without keys is not allowed for this key"}
)

// Outcomes label calls in metrics.
const (
	outcomeOK          = "ok"
	outcomeError       = "error" // the node answered with a JSON-RPC error
	outcomeDenied      = "denied"
	outcomeRateLimited = "rate_limited"
	outcomeSubLimited  = "subscription_limited"
	outcomeInvalid     = "invalid"
	outcomeUnavailable = "upstream_unavailable"
	outcomeNotFound    = "not_found"          // a method the gateway does not know
	outcomeTooLarge    = "response_too_large" // the node's answer was over limits.maxResponseBytes
)

func errTooLarge(limit int64) *rpc.Error {
	return &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: larger than " + strconv.FormatInt(limit, 10) + " bytes"}
}

func invalid(why string) *rpc.Error {
	return &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: " + why}
}

func errResponseTooLarge(limit int64) *rpc.Error {
	return &rpc.Error{Code: CodeResponseTooLarge, Message: "response is larger than " + strconv.FormatInt(limit, 10) + " bytes"}
}

func errBatchTooLarge(limit int) *rpc.Error {
	return &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: batch has more than " + strconv.Itoa(limit) + " calls"}
}

// appendUpstreamRequest encodes a call for a node with the gateway's own numeric id
// (gossamer accepts only numeric ids and no batches, so calls go one by one).
func appendUpstreamRequest(dst []byte, id uint64, method string, params json.RawMessage) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = strconv.AppendUint(dst, id, 10)
	dst = append(dst, `,"method":`...)
	dst = appendJSONString(dst, method)
	if len(params) > 0 {
		dst = append(dst, `,"params":`...)
		dst = append(dst, params...)
	} else {
		dst = append(dst, `,"params":[]`...)
	}
	return append(dst, '}')
}

func appendJSONString(dst []byte, s string) []byte {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < 0x20 || r == '"' || r == '\\' || r > 0x7e }) {
		dst = append(dst, '"')
		dst = append(dst, s...)
		return append(dst, '"')
	}
	b, _ := json.Marshal(s)
	return append(dst, b...)
}

// appendReply encodes the answer to a client call from a node's response, with the client's id.
func appendReply(dst []byte, clientID json.RawMessage, m *upstreamMessage) []byte {
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, clientID...)
	if m.failed() {
		dst = append(dst, `,"error":`...)
		dst = append(dst, m.Error...)
	} else {
		dst = append(dst, `,"result":`...)
		if len(m.Result) == 0 {
			dst = append(dst, "null"...)
		} else {
			dst = append(dst, m.Result...)
		}
	}
	return append(dst, '}')
}

// appendError encodes a gateway error answer.
func appendError(dst []byte, id json.RawMessage, e *rpc.Error) []byte {
	if id == nil {
		id = nullID
	}
	dst = append(dst, `{"jsonrpc":"2.0","id":`...)
	dst = append(dst, id...)
	dst = append(dst, `,"error":`...)
	b, _ := json.Marshal(e)
	dst = append(dst, b...)
	return append(dst, '}')
}

// joinBatch encodes the non-nil answers as a batch answer; nil when there are none (a batch
// of notifications is not answered).
func joinBatch(parts [][]byte) []byte {
	var out []byte
	for _, p := range parts {
		if p == nil {
			continue
		}
		if out == nil {
			out = append(out, '[')
		} else {
			out = append(out, ',')
		}
		out = append(out, p...)
	}
	if out == nil {
		return nil
	}
	return append(out, ']')
}

// stateless reports whether a call may go over a connection shared with other clients: not
// one that starts, ends or refers to state kept per connection (subscriptions, and the new
// JSON-RPC spec's chainHead, transaction and archive operations, named group_vN_ or
// group_unstable_).
func stateless(method string) bool {
	_, starts, ends := policy.Subscription(method)
	return !starts && !ends && !connectionScoped(method)
}

func connectionScoped(method string) bool {
	return strings.Contains(method, "_unstable_") || versioned(method)
}

func versioned(method string) bool {
	_, after, ok := strings.Cut(method, "_v")
	return ok && after != "" && after[0] >= '0' && after[0] <= '9'
}

// firstParam returns the subscription id an unsubscribe call names: the first element of
// its params array.
func firstParam(params json.RawMessage) (json.RawMessage, bool) {
	var ps []json.RawMessage
	if json.Unmarshal(params, &ps) != nil || len(ps) == 0 {
		return nil, false
	}
	return ps[0], true
}
