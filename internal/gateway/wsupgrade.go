package gateway

import (
	"bufio"
	"encoding/base64"
	"errors"
	"fmt"
	"net"
	"net/http"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/wsframe"
)

// wsReadBuffer is the client reader's buffer: a client's pipelined calls come in with one
// read system call and are handled in one pass.
const wsReadBuffer = 64 << 10

// upgradeWS completes a client's WebSocket opening handshake (RFC 6455, section 4.2) and
// takes over the connection. A bad handshake is answered (400, or 426 for another protocol
// version) and reported as an error. No extension or subprotocol is agreed; browsers connect
// from any origin, since access is controlled by credentials.
func upgradeWS(w http.ResponseWriter, r *http.Request) (net.Conn, *bufio.Reader, error) {
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
	// The hijacked reader may already hold the client's first frames; reads of a whole
	// buffer pass through it straight to the socket once it is empty.
	return conn, bufio.NewReaderSize(brw.Reader, wsReadBuffer), nil
}
