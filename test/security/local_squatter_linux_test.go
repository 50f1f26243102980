package security

import (
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/testenv"
)

// squatter is a process that took a node's RPC port and answers JSON-RPC like a healthy node
// at block 5, under a peer ID of its own. It records every method it is asked.
type squatter struct {
	srv     *http.Server
	mu      sync.Mutex
	methods []string
}

func startSquatter(t *testing.T, port int) *squatter {
	t.Helper()
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		t.Fatalf("squat port %d: %v", port, err)
	}
	sq := &squatter{}
	hash := "0x" + strings.Repeat("11", 32)
	answers := map[string]any{
		"system_health":      map[string]any{"peers": 1, "isSyncing": false, "shouldHavePeers": true},
		"system_localPeerId": "12D3KooWSquatterSquatterSquatterSquatterSquatter1",
		"chain_getHeader": map[string]any{"parentHash": hash, "number": "0x5", "stateRoot": hash,
			"extrinsicsRoot": hash, "digest": map[string]any{"logs": []any{}}},
	}
	sq.srv = &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req struct {
			ID     any    `json:"id"`
			Method string `json:"method"`
		}
		_ = json.NewDecoder(r.Body).Decode(&req)
		sq.mu.Lock()
		sq.methods = append(sq.methods, req.Method)
		sq.mu.Unlock()
		result, ok := answers[req.Method]
		if !ok {
			result = hash // block hashes, extrinsic hashes, versions: a hex string passes
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{"jsonrpc": "2.0", "id": req.ID, "result": result})
	})}
	go sq.srv.Serve(ln)
	t.Cleanup(func() { sq.srv.Close() })
	return sq
}

// asked lists the methods the squatter was asked, other than identity and health probes.
func (sq *squatter) asked() []string {
	sq.mu.Lock()
	defer sq.mu.Unlock()
	var out []string
	for _, m := range sq.methods {
		if m != "system_localPeerId" && m != "system_health" {
			out = append(out, m)
		}
	}
	return out
}

// A process listening on a node's allocated RPC port before the node starts: `onf up` fails
// naming the port, status shows the conflict, and the gateway never sends a client's call
// (an extrinsic) to that process. Once the port is free the node starts and the network is up.
func TestLocalPortSquatter(t *testing.T) {
	testenv.Short(t)
	gossamer := testenv.Binary(t, "GOSSAMER_BIN")
	c := newOnfCLI(t)
	gw, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	gatewayAddr := gw.Addr().String()
	gw.Close()
	spec, key := exposureSpec(t, "squat", "", gatewayAddr)
	t.Cleanup(func() { c.run(time.Minute, "down", "squat", "--purge") })

	// A first start allocates the ports, which the network keeps across down and up.
	c.must("up", "-f", spec, "--binary", gossamer, "--until-block", "0", "--timeout", "3m")
	c.must("down", "squat")
	rpcPort := c.ports("squat")["rpc-0"].RPC
	sq := startSquatter(t, rpcPort)

	out, err, _ := c.run(5*time.Minute, "up", "-f", spec, "--binary", gossamer, "--until-block", "0", "--timeout", "20s")
	if err == nil || !strings.Contains(out, fmt.Sprintf("port %d (rpc) is held by another process", rpcPort)) {
		t.Fatalf("onf up with rpc-0's port %d squatted: %v\n%s", rpcPort, err, out)
	}
	if table := c.must("status", "squat"); !strings.Contains(table, fmt.Sprintf("conflict: rpc-0: port %d (rpc) is held by another process", rpcPort)) {
		t.Errorf("onf status does not show rpc-0's conflict:\n%s", table)
	}
	st := c.status("squat")
	for _, n := range st.Nodes {
		if n.Name == "rpc-0" && (n.Running || !strings.Contains(n.Conflict, fmt.Sprint(rpcPort))) {
			t.Errorf("status of rpc-0: running %v, conflict %q; want stopped with a conflict on port %d", n.Running, n.Conflict, rpcPort)
		}
	}

	// Clients keep calling through the gateway for longer than its health-check interval.
	submit := `{"jsonrpc":"2.0","id":1,"method":"author_submitExtrinsic","params":["0x00"]}`
	for end := time.Now().Add(8 * time.Second); time.Now().Before(end); time.Sleep(500 * time.Millisecond) {
		exposureGatewayPost(t, "http://"+gatewayAddr, key, submit)
	}
	if asked := sq.asked(); len(asked) > 0 {
		t.Fatalf("the squatter on port %d received calls: %v", rpcPort, asked)
	}

	// The port is freed: the supervisor retries, the node takes its port, the network is up.
	sq.srv.Close()
	c.must("up", "-f", spec, "--binary", gossamer, "--until-block", "0", "--timeout", "2m")
	for _, n := range c.status("squat").Nodes {
		if !n.Running || n.Conflict != "" || n.RPCError != "" {
			t.Errorf("after the port was freed, %s: running %v, conflict %q, rpc error %q", n.Name, n.Running, n.Conflict, n.RPCError)
		}
	}
}

// exposureGatewayPost posts one JSON-RPC body to the gateway with the API key.
func exposureGatewayPost(t *testing.T, url, key, body string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+key)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("gateway: %v", err)
	}
	resp.Body.Close()
}
