package gateway

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"

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
)

func errTooLarge(limit int64) *rpc.Error {
	return &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: larger than " + strconv.FormatInt(limit, 10) + " bytes"}
}

func errBatchTooLarge(limit int) *rpc.Error {
	return &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: batch has more than " + strconv.Itoa(limit) + " calls"}
}

var nullID = json.RawMessage("null")

// call is one element of a client message.
type call struct {
	id      json.RawMessage // nil: a notification (no answer); "null" is a valid id
	method  string
	params  json.RawMessage
	invalid *rpc.Error // set when the element is not a valid JSON-RPC request
}

func (c *call) notification() bool { return c.id == nil }

// parseMessage splits a client message into its calls. A message-level error (malformed
// JSON, empty or oversized batch) gets one answer with a null id; a bad element of a batch
// gets its own error in place.
func parseMessage(body []byte, maxBatch int) (calls []call, batch bool, msgErr *rpc.Error) {
	if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '{' {
		// One call: decoding it validates it, so skip the separate validation pass.
		c := parseCall(trimmed)
		if c.invalid != nil && !json.Valid(trimmed) {
			return nil, false, errMalformed
		}
		return []call{c}, false, nil
	}
	elems, batch, err := rpc.SplitBatch(body)
	if err != nil {
		return nil, batch, errMalformed
	}
	if batch && len(elems) == 0 {
		return nil, true, errEmptyBatch
	}
	if len(elems) > maxBatch {
		return nil, batch, errBatchTooLarge(maxBatch)
	}
	calls = make([]call, len(elems))
	for i, e := range elems {
		calls[i] = parseCall(e)
	}
	return calls, batch, nil
}

func parseCall(e json.RawMessage) call {
	var r struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Method  *string         `json:"method"`
		Params  json.RawMessage `json:"params"`
	}
	if err := json.Unmarshal(e, &r); err != nil {
		return call{id: nullID, invalid: invalid("not a JSON-RPC request object")}
	}
	c := call{id: r.ID, params: r.Params}
	if c.id != nil && !validID(c.id) {
		return call{id: nullID, invalid: invalid("id must be a string, a number or null")}
	}
	switch {
	case r.JSONRPC != rpc.Version:
		c.invalid = invalid(`"jsonrpc" must be "2.0"`)
	case r.Method == nil || *r.Method == "":
		c.invalid = invalid(`"method" must be a non-empty string`)
	case len(r.Params) > 0 && r.Params[0] != '[' && r.Params[0] != '{' && !bytes.Equal(r.Params, nullID):
		c.invalid = invalid(`"params" must be an array or an object`)
	default:
		c.method = *r.Method
	}
	if c.invalid != nil && c.id == nil {
		c.id = nullID // an invalid request is answered even without an id
	}
	return c
}

func invalid(why string) *rpc.Error {
	return &rpc.Error{Code: rpc.CodeInvalidRequest, Message: "invalid request: " + why}
}

func validID(id json.RawMessage) bool {
	switch id[0] {
	case '"', 'n':
		return true
	case '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
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

// upstreamMessage is a message from a node: a response, or a subscription notification.
type upstreamMessage struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Result json.RawMessage `json:"result"`
	Error  json.RawMessage `json:"error"`
}

func (m *upstreamMessage) failed() bool {
	return len(m.Error) > 0 && !bytes.Equal(m.Error, nullID)
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

// Subscription methods: the Substrate legacy ones (*_subscribe*, author_submitAndWatchExtrinsic)
// and the new JSON-RPC spec's.
func isSubscribe(method string) bool {
	switch method {
	case "author_submitAndWatchExtrinsic", "chainHead_v1_follow", "transactionWatch_v1_submitAndWatch":
		return true
	}
	_, after, ok := strings.Cut(method, "_")
	return ok && strings.HasPrefix(after, "subscribe")
}

func isUnsubscribe(method string) bool {
	switch method {
	case "author_unwatchExtrinsic", "chainHead_v1_unfollow", "transactionWatch_v1_unwatch":
		return true
	}
	_, after, ok := strings.Cut(method, "_")
	return ok && strings.HasPrefix(after, "unsubscribe")
}

// firstParamKey returns the subscription id key an unsubscribe call names.
func firstParamKey(params json.RawMessage) (string, bool) {
	var ps []json.RawMessage
	if json.Unmarshal(params, &ps) != nil || len(ps) == 0 {
		return "", false
	}
	k, err := rpc.IDKey(ps[0])
	return k, err == nil
}
