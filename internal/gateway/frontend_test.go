package gateway

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
)

// TestFrontEndRawHTTP sends raw HTTP/1.1 on one connection: the lean path (pipelined
// requests, refusals that keep the connection) and what it hands to net/http (chunked
// bodies, Expect, queries, bad syntax) must all be answered correctly.
func TestFrontEndRawHTTP(t *testing.T) {
	e := newEnv(t, func(c *config.Config) { c.Limits.MaxRequestBytes = 1024 })
	post := func(key, body string, extra ...string) string {
		h := "POST / HTTP/1.1\r\nHost: gw\r\nContent-Type: application/json\r\n"
		if key != "" {
			h += "Authorization: Bearer " + key + "\r\n"
		}
		for _, x := range extra {
			h += x + "\r\n"
		}
		return h + "Content-Length: " + strconv.Itoa(len(body)) + "\r\n\r\n" + body
	}
	call := req(1, "system_name")
	chunked := "POST / HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer " + readerKey +
		"\r\nTransfer-Encoding: chunked\r\n\r\n" + strconv.FormatInt(int64(len(call)), 16) + "\r\n" + call + "\r\n0\r\n\r\n"
	tests := []struct {
		name   string
		send   string
		wants  []int // statuses, in order
		closes bool  // the gateway ends the connection after them
	}{
		{"pipelined", post(readerKey, call) + post(readerKey, call) + post(readerKey, call), []int{200, 200, 200}, false},
		{"refusals keep the connection", post("bad", call) + post(readerKey, "{") + post(readerKey, call), []int{401, 400, 200}, false},
		{"too large, then more", post(readerKey, strings.Repeat(" ", 2000)) + post(readerKey, call), []int{413, 200}, false},
		{"chunked goes to net/http", chunked + post(readerKey, call), []int{200, 200}, false},
		{"expect goes to net/http", post(readerKey, call, "Expect: 100-continue"), []int{100, 200}, false},
		{"query goes to net/http", strings.Replace(post(readerKey, call), "POST / ", "POST /?x=1 ", 1), []int{200}, false},
		{"no host", strings.Replace(post(readerKey, call), "Host: gw\r\n", "", 1), []int{400}, true},
		{"notification", post(readerKey, `{"jsonrpc":"2.0","method":"system_name"}`), []int{204}, false},
		{"connection close", post(readerKey, call, "Connection: close") + post(readerKey, call), []int{200}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := net.Dial("tcp", strings.TrimPrefix(e.url, "http://"))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(5 * time.Second))
			if _, err := c.Write([]byte(tt.send)); err != nil {
				t.Fatal(err)
			}
			br := bufio.NewReader(c)
			for i, want := range tt.wants {
				resp, err := http.ReadResponse(br, nil)
				if err != nil {
					t.Fatalf("answer %d: %v", i, err)
				}
				b := make([]byte, max(resp.ContentLength, 0))
				_, _ = io.ReadFull(resp.Body, b)
				if resp.StatusCode != want {
					t.Fatalf("answer %d: %s %s, want %d", i, resp.Status, b, want)
				}
				if want == 200 && decode(t, string(b)).code() != 0 {
					t.Fatalf("answer %d: %s", i, b)
				}
			}
			// Then either the connection ends, or it stays open with nothing more to read.
			_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
			n, err := io.Copy(io.Discard, br)
			if tt.closes != (err == nil) || (!tt.closes && n > 0) {
				t.Fatalf("after the answers: %d more bytes, %v", n, err)
			}
		})
	}
}
