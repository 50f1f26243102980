package upstream

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/dinfra/stack/internal/gateway/sockio"
	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// The opening handshake of the shared upstream connections (RFC 6455; frames are package
// wsframe's). Extensions and subprotocols are not offered.

// dialWS opens a WebSocket to a ws:// or wss:// URL and completes the handshake.
func dialWS(ctx context.Context, d *net.Dialer, rawURL string) (net.Conn, *bufio.Reader, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, nil, err
	}
	port, secure := u.Port(), false
	switch u.Scheme {
	case "ws":
		if port == "" {
			port = "80"
		}
	case "wss":
		if port == "" {
			port = "443"
		}
		secure = true
	default:
		return nil, nil, fmt.Errorf("upstream URL %q: scheme must be ws or wss", rawURL)
	}
	c, err := d.DialContext(ctx, "tcp", net.JoinHostPort(u.Hostname(), port))
	if err != nil {
		return nil, nil, err
	}
	c = sockio.Wrap(c) // a shared connection's reads and writes are the hot path (see sockio)
	if secure {
		tc := tls.Client(c, &tls.Config{ServerName: u.Hostname(), MinVersion: tls.VersionTLS12, NextProtos: []string{"http/1.1"}})
		if err := tc.HandshakeContext(ctx); err != nil {
			_ = c.Close()
			return nil, nil, err
		}
		c = tc
	}
	if dl, ok := ctx.Deadline(); ok {
		_ = c.SetDeadline(dl)
		defer func() { _ = c.SetDeadline(time.Time{}) }()
	}
	br, err := handshake(c, u)
	if err != nil {
		_ = c.Close()
		return nil, nil, fmt.Errorf("websocket handshake with %s: %w", u.Host, err)
	}
	return c, br, nil
}

func handshake(c net.Conn, u *url.URL) (*bufio.Reader, error) {
	var nonce [16]byte
	_, _ = rand.Read(nonce[:])
	key := base64.StdEncoding.EncodeToString(nonce[:])
	req := "GET " + u.RequestURI() + " HTTP/1.1\r\nHost: " + u.Host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: " + key +
		"\r\nSec-WebSocket-Version: 13\r\nUser-Agent: onf-gateway\r\n\r\n"
	if _, err := io.WriteString(c, req); err != nil {
		return nil, err
	}
	br := bufio.NewReaderSize(c, 64<<10)
	resp, err := http.ReadResponse(br, &http.Request{Method: http.MethodGet})
	if err != nil {
		return nil, err
	}
	switch {
	case resp.StatusCode != http.StatusSwitchingProtocols:
		return nil, fmt.Errorf("HTTP %d instead of 101", resp.StatusCode)
	case !strings.EqualFold(resp.Header.Get("Upgrade"), "websocket"):
		return nil, errors.New("no Upgrade: websocket header")
	case resp.Header.Get("Sec-WebSocket-Accept") != wsframe.AcceptKey(key):
		return nil, errors.New("wrong Sec-WebSocket-Accept")
	case resp.Header.Get("Sec-WebSocket-Extensions") != "":
		return nil, errors.New("the node chose an extension that was not offered")
	}
	return br, nil
}
