// Command fakesdknode is a FAKE polkadot-sdk node for the ha tests: polkadot and
// polkadot-parachain cannot run on the test machines (../shared/TOOLCHAIN.md), so the
// agent's promotion and fencing of a polkadot-sdk node are checked against this stand-in. It
// signs nothing and has no chain beyond a genesis header. What it does:
//
//   - at each start it appends one JSON line to <--base-path>/fake-node-starts.jsonl: its pid,
//     its argv, whether it runs as an authority (--validator or --collator) and the files of
//     its --keystore-path (name, mode, content) as it finds them;
//   - it serves, over HTTP and WebSocket on 127.0.0.1:<--rpc-port>, the JSON-RPC that the
//     agent and `onf status` ask a node (system_health, system_localPeerId from
//     --node-key-file, chain_getBlockHash and chain_getHeader of a genesis block, state_call
//     AuraApi_slot_duration = 6 s, state_getStorage), as a parachain node would (no BABE);
//   - started as an authority with an aura key in its keystore, its chain has one more block:
//     #1, whose Aura pre-runtime digest names the slot of its start, with Aura.Authorities =
//     [that key], so the agent's chain check sees the identity author (the only "signing"
//     it does; there is no seal);
//   - `key ...` subcommands (polkadot-sdk's key insert) fail: an ha candidate's keys must
//     come from the agent, never from the node binary.
package main

import (
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/ha/hatest"
	"github.com/dinfra/stack/internal/nodekey"
)

func main() {
	args := os.Args[1:]
	if len(args) > 0 && args[0] == "key" {
		fmt.Fprintln(os.Stderr, "fakesdknode: key subcommands are refused: the ha agent writes the keystore")
		os.Exit(2)
	}
	flag := func(name string) string {
		// polkadot-sdk's flags before "--" (the embedded relay chain's come after).
		own := args
		if i := slices.Index(args, "--"); i >= 0 {
			own = args[:i]
		}
		if i := slices.Index(own, name); i >= 0 && i+1 < len(own) {
			return own[i+1]
		}
		return ""
	}
	base, port := flag("--base-path"), flag("--rpc-port")
	if base == "" || port == "" {
		fmt.Fprintln(os.Stderr, "fakesdknode: --base-path and --rpc-port are required")
		os.Exit(2)
	}
	st := hatest.FakeStart{PID: os.Getpid(), Args: args, Authority: slices.Contains(args, "--validator") || slices.Contains(args, "--collator")}
	if ks := flag("--keystore-path"); ks != "" {
		st.Keystore, st.Modes = map[string]string{}, map[string]string{}
		entries, _ := os.ReadDir(ks)
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(ks, e.Name()))
			info, ierr := e.Info()
			if err == nil && ierr == nil {
				st.Keystore[e.Name()], st.Modes[e.Name()] = string(data), fmt.Sprintf("%04o", info.Mode().Perm())
			}
		}
	}
	if err := record(hatest.FakeStartsFile(base), st); err != nil {
		fmt.Fprintln(os.Stderr, "fakesdknode:", err)
		os.Exit(1)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:"+port)
	if err != nil {
		fmt.Fprintln(os.Stderr, "fakesdknode:", err)
		os.Exit(1)
	}
	fmt.Fprintln(os.Stderr, "fakesdknode: serving RPC on", ln.Addr(), "authority", st.Authority)
	peerID := ""
	if file := flag("--node-key-file"); file != "" {
		if data, err := os.ReadFile(file); err == nil {
			if k, err := nodekey.ParseHex(strings.TrimSpace(string(data))); err == nil {
				peerID = k.PeerID()
			}
		}
	}
	c := &chain{peerID: peerID}
	if st.Authority {
		for name := range st.Keystore {
			if strings.HasPrefix(name, auraKeyType) && len(name) == len(auraKeyType)+64 {
				c.author = name[len(auraKeyType):]
			}
		}
	}
	if c.author != "" {
		slot := uint64(time.Now().UnixMilli() / slotMillis)
		c.digest = "0x06" + auraKeyType + "20" + hex.EncodeToString(binary.LittleEndian.AppendUint64(nil, slot))
	}
	_ = http.Serve(ln, http.HandlerFunc(c.serveRPC))
}

const (
	auraKeyType = "61757261" // hex("aura"), the start of an aura key's file name
	slotMillis  = 6000
	block1      = "0x0202020202020202020202020202020202020202020202020202020202020202"
)

// chain is what the fake serves: a genesis block and, when it authors, block #1.
type chain struct {
	peerID string
	author string // hex of the aura public key it authors with, or ""
	digest string // block #1's Aura pre-runtime digest
}

func record(file string, st hatest.FakeStart) error {
	if err := os.MkdirAll(filepath.Dir(file), 0o700); err != nil {
		return err
	}
	f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return err
	}
	line, _ := json.Marshal(st)
	if _, err := f.Write(append(line, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

const genesis = "0x0101010101010101010101010101010101010101010101010101010101010101"

type request struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
	Params []any           `json:"params"`
}

var upgrader = websocket.Upgrader{CheckOrigin: func(*http.Request) bool { return true }}

func (c *chain) serveRPC(w http.ResponseWriter, r *http.Request) {
	if websocket.IsWebSocketUpgrade(r) {
		conn, err := upgrader.Upgrade(w, r, nil)
		if err != nil {
			return
		}
		defer conn.Close()
		for {
			var req request
			if err := conn.ReadJSON(&req); err != nil {
				return
			}
			if err := conn.WriteJSON(c.answer(req)); err != nil {
				return
			}
		}
	}
	var req request
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(c.answer(req))
}

func (c *chain) answer(req request) map[string]any {
	resp := map[string]any{"jsonrpc": "2.0", "id": req.ID}
	switch req.Method {
	case "system_health":
		resp["result"] = map[string]any{"peers": 0, "isSyncing": false, "shouldHavePeers": false}
	case "system_localPeerId":
		resp["result"] = c.peerID
	case "system_name":
		resp["result"] = "fakesdknode"
	case "system_version":
		resp["result"] = "0.0.0-fake"
	case "system_chain":
		resp["result"] = "fake"
	case "chain_getFinalizedHead":
		resp["result"] = genesis
	case "chain_getBlockHash":
		resp["result"] = genesis
		if c.author != "" {
			resp["result"] = block1
		}
	case "chain_getHeader":
		resp["result"] = map[string]any{"parentHash": "0x" + fmt.Sprintf("%064d", 0), "number": "0x0",
			"stateRoot": genesis, "extrinsicsRoot": genesis, "digest": map[string]any{"logs": []string{}}}
		if c.author != "" && (len(req.Params) == 0 || req.Params[0] == block1) {
			resp["result"] = map[string]any{"parentHash": genesis, "number": "0x1",
				"stateRoot": genesis, "extrinsicsRoot": genesis, "digest": map[string]any{"logs": []string{c.digest}}}
		}
	case "state_call":
		if len(req.Params) > 0 && req.Params[0] == "AuraApi_slot_duration" {
			resp["result"] = "0x7017000000000000" // 6000 ms, u64 LE
		} else {
			resp["error"] = map[string]any{"code": 4003, "message": "fakesdknode: no such runtime API"}
		}
	case "state_getStorage": // only Aura.Authorities is asked: a list of one key
		resp["result"] = nil
		if c.author != "" {
			resp["result"] = "0x04" + c.author
		}
	default:
		resp["error"] = map[string]any{"code": -32601, "message": "fakesdknode: method not found"}
	}
	return resp
}
