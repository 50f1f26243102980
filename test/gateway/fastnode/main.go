// Command fastnode is the benchmark's upstream: a minimal JSON-RPC-over-HTTP server on
// loopback that answers every call at once with a healthy system_health result, echoing the
// call's id. It stands in for a node so the benchmark measures the proxies, not the node.
package main

import (
	"encoding/json"
	"flag"
	"io"
	"log"
	"net/http"
)

func main() {
	addr := flag.String("listen", "127.0.0.1:18600", "address to serve on")
	flag.Parse()
	prefix := []byte(`{"jsonrpc":"2.0","id":`)
	suffix := []byte(`,"result":{"peers":0,"isSyncing":false,"shouldHavePeers":false}}`)
	http.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
		var req struct {
			ID json.RawMessage `json:"id"`
		}
		if err != nil || json.Unmarshal(body, &req) != nil || len(req.ID) == 0 {
			http.Error(w, `{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}`, http.StatusBadRequest)
			return
		}
		out := make([]byte, 0, len(prefix)+len(req.ID)+len(suffix))
		out = append(append(append(out, prefix...), req.ID...), suffix...)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(out)
	})
	log.Fatal(http.ListenAndServe(*addr, nil))
}
