package gateway

import (
	"bufio"
	"bytes"
	"net/http"
	"testing"

	"github.com/dinfra/stack/internal/gateway/auth"
)

// FuzzParseHead checks the event loops' request-head parser against net/http: every head it
// takes must be one net/http reads the same way (method, path, body length, connection close,
// credential), so the two servers never disagree on a request.
func FuzzParseHead(f *testing.F) {
	for _, seed := range []string{
		"POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 2\r\n\r\n",
		"POST /public HTTP/1.1\r\nhost: gw\r\ncontent-length: 0\r\nConnection: close\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer onf_x\r\nX-Api-Key: k\r\nContent-Length: 5\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\nAuthorization: Basic eA==\r\nContent-Length: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\nTransfer-Encoding: chunked\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\nContent-Length: +1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\n Folded: x\r\nContent-Length: 1\r\n\r\n",
		"POST /?apikey=x HTTP/1.1\r\nHost: gw\r\nContent-Length: 1\r\n\r\n",
		"POST / HTTP/1.1\r\nHost: gw\r\nX-Api-Key: a\x00b\r\nContent-Length: 1\r\n\r\n",
		"GET / HTTP/1.1\r\nHost: gw\r\n\r\n",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, head []byte) {
		i := bytes.Index(head, []byte("\r\n\r\n"))
		if i < 0 {
			return // the loops parse a head once its blank line is in
		}
		head = head[:i+4]
		h, ok := parseHead(head)
		if !ok {
			return
		}
		r, err := http.ReadRequest(bufio.NewReader(bytes.NewReader(head)))
		if err != nil {
			t.Fatalf("lean path takes %q, net/http refuses it: %v", head, err)
		}
		switch {
		case r.Method != http.MethodPost || r.RequestURI != string(h.path):
			t.Fatalf("%q: %s %s, lean path read path %q", head, r.Method, r.RequestURI, h.path)
		case r.ContentLength != h.contentLength:
			t.Fatalf("%q: Content-Length %d, lean path read %d", head, r.ContentLength, h.contentLength)
		case r.Close != h.close:
			t.Fatalf("%q: close %v, lean path read %v", head, r.Close, h.close)
		case auth.Credential(r, false) != h.credential():
			t.Fatalf("%q: credential %q, lean path read %q", head, auth.Credential(r, false), h.credential())
		}
	})
}
