package local

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// A process answering on a node's RPC port under another peer ID is a conflict, never the
// node: status says so and the network is not ready.
func TestStatusRefusesAnotherPeerID(t *testing.T) {
	impostor := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID any `json:"id"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": "12D3KooWImpostor"})
	}))
	defer impostor.Close()
	info := &NodeInfo{Name: "rpc-0", Running: true, PeerID: "12D3KooWTheNode", RPC: impostor.URL, WS: impostor.URL}
	askNode(context.Background(), info)
	if !strings.Contains(info.Conflict, `answers as peer "12D3KooWImpostor", not as this node (12D3KooWTheNode)`) {
		t.Fatalf("conflict = %q (rpc error %q)", info.Conflict, info.RPCError)
	}
	st := &NetworkStatus{Nodes: []NodeInfo{*info}}
	if why := notReady(st, 0); !strings.Contains(why, "another process holds the port") {
		t.Errorf("not ready because %q", why)
	}
}
