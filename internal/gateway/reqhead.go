package gateway

import (
	"bytes"
	"strconv"
)

// reqHead is what the fast server's event loops need from the head of a plain JSON-RPC POST. Its byte fields
// point into the read buffer.
type reqHead struct {
	path          []byte
	contentLength int64
	close         bool // "Connection: close"
	authorization []byte
	apiKey        []byte
}

// parseHead reads an HTTP/1.1 request head (up to and including the blank line). It accepts
// only the plain case: a POST with a Content-Length and a path without a query, no
// Transfer-Encoding, Expect or Upgrade, no folded or repeated framing headers. Anything else
// (false) is left to net/http, which handles every case and every error.
func parseHead(h []byte) (reqHead, bool) {
	var r reqHead
	line, rest, _ := bytes.Cut(h, crlf)
	target, ok := bytes.CutPrefix(line, []byte("POST "))
	if !ok {
		return r, false
	}
	target, ok = bytes.CutSuffix(target, []byte(" HTTP/1.1"))
	if !ok || len(target) == 0 || target[0] != '/' || bytes.IndexAny(target, "?%") >= 0 || !visibleASCII(target) {
		return r, false
	}
	r.path, r.contentLength = target, -1
	host := false
	for len(rest) > 2 {
		line, rest, _ = bytes.Cut(rest, crlf)
		name, value, ok := bytes.Cut(line, []byte(":"))
		if !ok || len(name) == 0 || !validHeaderName(name) {
			return r, false // folded lines, bad names: net/http answers them
		}
		value = bytes.Trim(value, " \t")
		if !validFieldValue(value) {
			return r, false // control bytes: net/http refuses the request
		}
		switch {
		case equalFold(name, "Content-Length"):
			n, err := strconv.ParseInt(string(value), 10, 64)
			if err != nil || n < 0 || r.contentLength >= 0 || value[0] == '+' {
				return r, false
			}
			r.contentLength = n
		case equalFold(name, "Host"):
			if host {
				return r, false
			}
			host = true
		case equalFold(name, "Connection"):
			switch {
			case equalFold(value, "close"):
				r.close = true
			case !equalFold(value, "keep-alive"):
				return r, false // upgrades and anything unusual
			}
		case equalFold(name, "Transfer-Encoding"), equalFold(name, "Expect"), equalFold(name, "Upgrade"):
			return r, false
		case equalFold(name, "Authorization"):
			if r.authorization == nil {
				r.authorization = value
			}
		case equalFold(name, "X-Api-Key"):
			if r.apiKey == nil {
				r.apiKey = value
			}
		}
	}
	return r, host && r.contentLength >= 0
}

var crlf = []byte("\r\n")

// credential picks the credential as auth.Credential does for a request: a bearer token,
// else the X-Api-Key header.
func (r *reqHead) credential() string {
	if r.authorization != nil {
		scheme, cred, ok := bytes.Cut(r.authorization, []byte(" "))
		if !ok || !equalFold(scheme, "Bearer") {
			return ""
		}
		return string(bytes.TrimSpace(cred))
	}
	return string(r.apiKey)
}

func equalFold[T []byte | string](b T, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range len(s) {
		c, d := b[i], s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if 'A' <= d && d <= 'Z' {
			d += 'a' - 'A'
		}
		if c != d {
			return false
		}
	}
	return true
}

// visibleASCII reports whether b holds only printable ASCII, no spaces.
func visibleASCII(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f {
			return false
		}
	}
	return true
}

// validFieldValue accepts RFC 9110 field values: visible characters, spaces, tabs and
// obs-text, no control bytes.
func validFieldValue(b []byte) bool {
	for _, c := range b {
		if c < ' ' && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// validHeaderName accepts RFC 9110 token characters.
func validHeaderName(b []byte) bool {
	for _, c := range b {
		if c <= ' ' || c >= 0x7f || bytes.IndexByte([]byte(`"(),/:;<=>?@[\]{}`), c) >= 0 {
			return false
		}
	}
	return true
}
