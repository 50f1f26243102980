package gateway

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// upgradeWS completes a client's WebSocket opening handshake (RFC 6455, section 4.2) and
// takes over the connection, returning its socket and the bytes already read from it (the
// start of the client's frames). A bad handshake is answered (400, or 426 for another
// protocol version) and reported as an error. No extension or subprotocol is agreed; browsers connect
// from any origin, since access is controlled by credentials.
func upgradeWS(w http.ResponseWriter, r *http.Request) (net.Conn, []byte, error) {
	key := r.Header.Get("Sec-WebSocket-Key")
	if nonce, err := base64.StdEncoding.DecodeString(key); err != nil || len(nonce) != 16 {
		http.Error(w, "websocket: Sec-WebSocket-Key must be 16 bytes in base64", http.StatusBadRequest)
		return nil, nil, errors.New("bad Sec-WebSocket-Key")
	}
	if r.Method != http.MethodGet || !websocket.IsWebSocketUpgrade(r) {
		http.Error(w, "websocket: the handshake must be a GET with Connection: Upgrade and Upgrade: websocket", http.StatusBadRequest)
		return nil, nil, errors.New("not a websocket handshake")
	}
	if v := r.Header.Get("Sec-WebSocket-Version"); v != "13" {
		w.Header().Set("Sec-WebSocket-Version", "13")
		http.Error(w, "websocket: only version 13 is supported", http.StatusUpgradeRequired)
		return nil, nil, fmt.Errorf("websocket version %q", v)
	}
	conn, brw, err := http.NewResponseController(w).Hijack()
	if err != nil {
		http.Error(w, "websocket: the connection cannot be taken over", http.StatusInternalServerError)
		return nil, nil, fmt.Errorf("hijack: %w", err)
	}
	_, err = conn.Write([]byte("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: " +
		wsframe.AcceptKey(key) + "\r\n\r\n"))
	if err != nil {
		_ = conn.Close()
		return nil, nil, fmt.Errorf("handshake answer: %w", err)
	}
	direct, pending := takeOver(conn, brw.Reader)
	return direct, pending, nil
}

// takeOver returns the socket under a hijacked connection (past the fast server's wrapper, so
// reads and writes skip its layers) and the bytes already read from it: those net/http holds,
// then those the fast server read and net/http did not. Under TLS the socket is the TLS
// connection.
func takeOver(conn net.Conn, hijacked *bufio.Reader) (net.Conn, []byte) {
	pending, _ := hijacked.Peek(hijacked.Buffered())
	pending = bytes.Clone(pending)
	if pc, ok := conn.(*pendingConn); ok {
		pending = append(pending, pc.pending...)
		conn = pc.Conn
	}
	return conn, pending
}
