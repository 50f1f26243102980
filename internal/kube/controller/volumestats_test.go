package controller

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"k8s.io/client-go/rest"
)

// KubeletStats reads claims' used and capacity bytes from a stats summary at the node proxy
// path, skipping volumes without a claim or without byte counts; a node that does not
// answer is an error naming it. The summary is a fake kubelet's, in the kubelet's format.
func TestKubeletStats(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/api/v1/nodes/node-a/proxy/stats/summary" {
			http.Error(w, "kubelet unreachable", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte(`{"node": {"nodeName": "node-a"}, "pods": [{"podRef": {"name": "net-rpc-0", "namespace": "chains"}, "volume": [
  {"name": "data", "pvcRef": {"name": "data-net-rpc-0", "namespace": "chains"}, "usedBytes": 850, "capacityBytes": 1000, "availableBytes": 150},
  {"name": "keystore", "usedBytes": 1, "capacityBytes": 2},
  {"name": "other", "pvcRef": {"name": "no-bytes", "namespace": "chains"}}
]}]}`))
	}))
	defer srv.Close()
	k, err := NewKubeletStats(&rest.Config{Host: srv.URL})
	if err != nil {
		t.Fatal(err)
	}
	got, err := k.Volumes(t.Context(), "node-a")
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[ClaimRef{"chains", "data-net-rpc-0"}] != (Usage{Used: 850, Capacity: 1000}) {
		t.Errorf("volumes %+v", got)
	}
	if _, err := k.Volumes(t.Context(), "node-b"); err == nil || !strings.Contains(err.Error(), "stats summary of node node-b") {
		t.Errorf("unreachable node: %v", err)
	}
}
