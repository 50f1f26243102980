package console

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/netstatus"
)

// BenchmarkOverview compares serving GET /api/overview of 100 networks x 10 nodes from the
// cache (the rendered JSON kept since the last poll) with the baseline, in the same
// iterations, of building it for the request (summaries and JSON: what a console without the
// cache would do before even asking the sites). It also reports a whole poll round's cost.
func BenchmarkOverview(b *testing.B) {
	nets := make([]Network, 100)
	for i := range nets {
		st := &netstatus.Network{Network: fmt.Sprintf("net-%02d", i), Namespace: "chains", State: "ready"}
		for j := range 10 {
			st.Nodes = append(st.Nodes, node(fmt.Sprintf("rpc-%d", j), "rpc", true, "", 8, uint64(1000+i), uint64(998+i), "0.9.0"))
		}
		nets[i] = Network{Chain: "westend-local", Status: st}
	}
	c := NewCache([]NamedSite{{Name: "dc-1", Site: &fakeSite{nets: nets}}}, Options{})
	ctx := context.Background()
	c.poll(ctx, "dc-1", c.sites["dc-1"])
	h := (&Server{Cache: c, Log: discard()}).Handler()
	req := httptest.NewRequest(http.MethodGet, "/api/overview", nil)
	var cached, built, poll time.Duration
	for b.Loop() {
		t0 := time.Now()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		t1 := time.Now()
		c.rebuild()
		t2 := time.Now()
		c.poll(ctx, "dc-1", c.sites["dc-1"])
		t3 := time.Now()
		if rec.Code != http.StatusOK || rec.Body.Len() < 100*100 {
			b.Fatalf("overview: %d, %d bytes", rec.Code, rec.Body.Len())
		}
		cached, built, poll = cached+t1.Sub(t0), built+t2.Sub(t1), poll+t3.Sub(t2)
	}
	n := float64(b.N)
	b.ReportMetric(float64(cached.Nanoseconds())/n, "cached-ns/req")
	b.ReportMetric(float64(built.Nanoseconds())/n, "built-ns/req")
	b.ReportMetric(float64(built)/float64(cached), "built/cached")
	b.ReportMetric(float64(poll.Nanoseconds())/n, "poll-ns/round")
}
