// Command fastnode is the benchmark's upstream: a minimal JSON-RPC server on loopback (HTTP
// POST and WebSocket on one port) that answers every call at once with a healthy
// system_health result, echoing the call's id. It stands in for a node so the benchmark
// measures the proxies, not the node.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"

	"github.com/gorilla/websocket"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18600", "address to serve on")
	flag.Parse()
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		if websocket.IsWebSocketUpgrade(r) {
			serveWS(w, r)
			return
		}
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		out, ok := answer(body)
		if err != nil || !ok {
			http.Error(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`, http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func serveWS(w http.ResponseWriter, r *http.Request) {
	c, err := upgrader.Upgrade(w, r, nil)
	if err != nil {
		return
	}
	defer c.Close()
	for {
		_, msg, err := c.ReadMessage()
		if err != nil {
			return
		}
		if out, ok := answer(msg); ok {
			if c.WriteMessage(websocket.TextMessage, out) != nil {
				return
			}
		}
	}
}

var (
	prefix = []byte(`{"jsonrpc":"2.0","id":`)
	suffix = []byte(`,"result":{"peers":0,"isSyncing":false,"shouldHavePeers":false}}`)
)

// answer returns the reply to one call, echoing its id.
func answer(body []byte) ([]byte, bool) {
	var req struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(body, &req) != nil || len(req.ID) == 0 {
		return nil, false
	}
	out := make([]byte, 0, len(prefix)+len(req.ID)+len(suffix))
	return append(append(append(out, prefix...), req.ID...), suffix...), true
}
