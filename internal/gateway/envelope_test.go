package gateway

import "testing"

// TestParseAllocatesNothing keeps the hot path free of allocations: a call with a known method
// and a node's answer are read in place.
func TestParseAllocatesNothing(t *testing.T) {
	body := []byte(`{"jsonrpc":"2.0","id":7,"method":"system_health","params":[]}`)
	answer := []byte(`{"jsonrpc":"2.0","id":1,"result":{"peers":0,"isSyncing":false}}`)
	buf := make([]call, 0, 1)
	parseMessage(body, 10, buf) // interns the method name
	allocs := testing.AllocsPerRun(100, func() {
		calls, _, err := parseMessage(body, 10, buf[:0])
		if err != nil || calls[0].method != "system_health" {
			t.Fatal("parse failed")
		}
		if m, ok := parseUpstream(answer); !ok || m.failed() {
			t.Fatal("answer parse failed")
		}
	})
	if allocs != 0 {
		t.Fatalf("%v allocations per call", allocs)
	}
}

func TestStatelessMethods(t *testing.T) {
	for method, want := range map[string]bool{
		"system_health": true, "chain_getBlockHash": true, "author_submitExtrinsic": true, "foo_verify": true,
		"chain_subscribeNewHeads": false, "chain_unsubscribeNewHeads": false, "author_submitAndWatchExtrinsic": false,
		"author_unwatchExtrinsic": false, "chainHead_v1_header": false, "transaction_v1_broadcast": false,
		"archive_unstable_body": false,
	} {
		if got := stateless(method); got != want {
			t.Errorf("stateless(%s) = %v", method, got)
		}
	}
}
