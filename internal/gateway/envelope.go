package gateway

import (
	"bytes"
	"encoding/json"

	"github.com/dinfra/stack/internal/gateway/jsonscan"
	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/rpc"
)

var nullID = json.RawMessage("null")

// call is one element of a client message. Its byte fields point into the message.
type call struct {
	id      json.RawMessage // nil: a notification (no answer); "null" is a valid id
	method  string
	params  json.RawMessage
	invalid *rpc.Error // set when the element is not a valid JSON-RPC request
}

func (c *call) notification() bool { return c.id == nil }

// parseMessage splits a client message into its calls, appended to dst. A message-level
// error (malformed JSON, empty or oversized batch) gets one answer with a null id; a bad
// element of a batch gets its own error in place.
func parseMessage(body []byte, maxBatch int, dst []call) (calls []call, batch bool, msgErr *rpc.Error) {
	i := jsonscan.SkipSpace(body, 0)
	if i < len(body) && body[i] == '[' {
		var it jsonscan.ArrayIter
		it.Start(body, i, 1)
		n := 0
		for it.Next() {
			n++
		}
		if end := it.End(); end < 0 || jsonscan.SkipSpace(body, end) != len(body) {
			return nil, true, errMalformed
		}
		if n == 0 {
			return nil, true, errEmptyBatch
		}
		if n > maxBatch {
			return nil, true, errBatchTooLarge(maxBatch)
		}
		it.Start(body, i, 1)
		for it.Next() {
			c, _ := parseCall(it.Elem, 0)
			dst = append(dst, c)
		}
		return dst, true, nil
	}
	c, end := parseCall(body, i) // one pass reads and checks the whole message
	if end < 0 || jsonscan.SkipSpace(body, end) != len(body) {
		return nil, false, errMalformed
	}
	return append(dst, c), false, nil
}

// parseCall reads the JSON value at b[i] as a JSON-RPC request and returns where the value
// ends, or -1 if it is not well-formed JSON (the call is then meaningless). Member names
// match exactly (JSON-RPC is case-sensitive); a repeated member counts with its last value,
// as in encoding/json.
func parseCall(b []byte, i int) (call, int) {
	if i >= len(b) || b[i] != '{' {
		return call{id: nullID, invalid: invalid("not a JSON-RPC request object")}, jsonscan.Value(b, i, 0)
	}
	var version, id, method, params []byte
	var it jsonscan.ObjectIter
	for it.Start(b, i, 1); it.Next(); {
		switch string(memberName(it.Key, it.KeyEscaped)) {
		case "jsonrpc":
			version = it.Val
		case "id":
			id = it.Val
		case "method":
			method = it.Val
		case "params":
			params = it.Val
		}
	}
	end := it.End()
	if end < 0 {
		return call{}, -1
	}
	c := call{id: id, params: params}
	if id != nil && !validID(id) {
		return call{id: nullID, invalid: invalid("id must be a string, a number or null")}, end
	}
	name, isName := methodName(method)
	switch {
	case !isVersion(version):
		c.invalid = invalid(`"jsonrpc" must be "2.0"`)
	case !isName:
		c.invalid = errMethodName
	case params != nil && params[0] != '[' && params[0] != '{' && !bytes.Equal(params, nullID):
		c.invalid = invalid(`"params" must be an array or an object`)
	default:
		c.method = name
	}
	if c.invalid != nil && c.id == nil {
		c.id = nullID // an invalid request is answered even without an id
	}
	return c, end
}

func validID(id []byte) bool {
	switch id[0] {
	case '"', 'n', '-', '0', '1', '2', '3', '4', '5', '6', '7', '8', '9':
		return true
	}
	return false
}

func isVersion(v []byte) bool {
	if string(v) == `"2.0"` {
		return true
	}
	s, ok := stringValue(v)
	return ok && s == rpc.Version
}

// memberName returns an object key without its quotes. Only escaped keys allocate.
func memberName(key []byte, escaped bool) []byte {
	if !escaped {
		return key[1 : len(key)-1]
	}
	var s string
	_ = json.Unmarshal(key, &s)
	return []byte(s)
}

// stringValue decodes a JSON string value; false if v is not a string.
func stringValue(v []byte) (string, bool) {
	var s string
	if len(v) == 0 || v[0] != '"' || json.Unmarshal(v, &s) != nil {
		return "", false
	}
	return s, true
}

// methodName decodes a "method" value; false unless it is a string with the shape of a
// method name (policy.ValidName), so that look-alikes (other cases, non-ASCII letters,
// spaces, NULs) never reach the policy or a node. A known name costs no allocation.
func methodName(v []byte) (string, bool) {
	if len(v) >= 2 && v[0] == '"' && plainASCII(v) {
		if s := policy.Intern(v[1 : len(v)-1]); s != "" {
			return s, true
		}
	}
	// Escapes or a name the gateway does not know: decode like encoding/json would, so the
	// checks see the real name.
	s, ok := stringValue(v)
	return s, ok && policy.ValidName(s)
}

func plainASCII(v []byte) bool {
	for _, c := range v {
		if c == '\\' || c >= 0x80 {
			return false
		}
	}
	return true
}

// upstreamMessage is a message from a node: a response, or a subscription notification.
// Its fields point into the message.
type upstreamMessage struct {
	ID      json.RawMessage
	Method  []byte // raw JSON string; set on notifications
	Result  json.RawMessage
	Error   json.RawMessage
	failure bool // no usable answer came (the connection failed)
}

// parseUpstream reads a node's message; false if it is not a well-formed JSON object.
func parseUpstream(data []byte) (upstreamMessage, bool) {
	var m upstreamMessage
	i := jsonscan.SkipSpace(data, 0)
	if i >= len(data) || data[i] != '{' {
		return m, false
	}
	var it jsonscan.ObjectIter
	for it.Start(data, i, 1); it.Next(); {
		switch string(memberName(it.Key, it.KeyEscaped)) {
		case "id":
			m.ID = it.Val
		case "method":
			m.Method = it.Val
		case "result":
			m.Result = it.Val
		case "error":
			m.Error = it.Val
		}
	}
	end := it.End()
	return m, end >= 0 && jsonscan.SkipSpace(data, end) == len(data)
}

func (m *upstreamMessage) notification() bool {
	return len(m.Method) > 0 && string(m.Method) != `""` && string(m.Method) != "null"
}

func (m *upstreamMessage) failed() bool {
	return len(m.Error) > 0 && !bytes.Equal(m.Error, nullID)
}
