package rollout

import (
	"context"
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/common/model"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/testenv"
)

func TestMeasure(t *testing.T) {
	sample := func(node string, v float64) *model.Sample {
		return &model.Sample{Metric: model.Metric{"node": model.LabelValue(node)}, Value: model.SampleValue(v)}
	}
	for _, c := range []struct {
		name string
		in   model.Value
		want float64
		err  string
	}{
		{"a scalar", &model.Scalar{Value: 0.25}, 0.25, ""},
		{"the highest sample of a vector", model.Vector{sample("rpc-0", 0.01), sample("rpc-1", 0.5)}, 0.5, ""},
		{"negative samples", model.Vector{sample("rpc-0", -2), sample("rpc-1", -1)}, -1, ""},
		{"no samples", model.Vector{}, 0, "no samples"},
		{"a NaN sample", model.Vector{sample("rpc-0", 0), sample("rpc-1", math.NaN())}, 0, "NaN"},
		{"a NaN scalar", &model.Scalar{Value: model.SampleValue(math.NaN())}, 0, "NaN"},
		{"a range vector", model.Matrix{}, 0, "want a scalar or an instant vector, got a matrix"},
	} {
		got, err := Measure(c.in)
		switch {
		case c.err == "" && (err != nil || got != c.want):
			t.Errorf("%s: Measure = %v, %v; want %v", c.name, got, err, c.want)
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%s: Measure error %v, want one saying %q", c.name, err, c.err)
		}
	}
}

func TestGateQueryPlaceholder(t *testing.T) {
	g := PromGate{Query: `max(rate(errors{node=~"{{upgraded}}"}[1m]))`}
	if got, want := g.query([]string{"rpc-0", "rpc.1"}), `max(rate(errors{node=~"rpc-0|rpc\.1"}[1m]))`; got != want {
		t.Errorf("query = %s, want %s", got, want)
	}
}

// The query gates pass a step only while every query is at or below its max; a query that
// fails, is above its max or was not evaluated restarts the bake and fails the step at its
// timeout with the measured value.
func TestStepCheckPrometheus(t *testing.T) {
	g := Gates{MaxBlocksBehind: 5, Bake: 10 * time.Second, Timeout: time.Minute,
		Prometheus: []PromGate{{Query: "errors", Max: 0.01}, {Query: "up", Max: 1}}}
	t0 := time.Unix(1000, 0)
	up := []Node{{Name: "rpc-0", Best: 20, Finalized: 16, Peers: 2}}
	others := []Node{{Name: "rpc-1", Best: 20, Finalized: 16, Peers: 2}}
	ok := []QueryResult{{Value: 0.01}, {Value: 1}}
	for _, c := range []struct {
		name      string
		queries   []QueryResult
		verdict   Verdict
		wantValue string
		wantWant  string
	}{
		{"at their max", ok, Pass, "", ""},
		{"above the max", []QueryResult{{Value: 0.05}, {Value: 1}}, Fail, "errors = 0.05", "at most 0.01"},
		{"a query error", []QueryResult{{Value: 0}, {Err: "prometheus http://x: bad_data: parse error"}}, Fail, "up: prometheus http://x: bad_data: parse error", "at most 1"},
		{"not evaluated", ok[:1], Fail, "up: not evaluated", "at most 1"},
	} {
		s := Step{Started: t0}
		var v Verdict
		var f *v1alpha1.RolloutFailure
		for at := time.Duration(0); at <= time.Minute && v == Wait; at += 5 * time.Second {
			v, f = s.Check(g, t0.Add(at), up, others, c.queries...)
		}
		if v != c.verdict {
			t.Errorf("%s: verdict %v, want %v (failure %+v)", c.name, v, c.verdict, f)
			continue
		}
		if c.verdict == Fail && (f.Gate != "prometheus" || f.Value != c.wantValue || f.Want != c.wantWant) {
			t.Errorf("%s: failure %+v, want gate prometheus, value %q, want %q", c.name, f, c.wantValue, c.wantWant)
		}
	}
	// A bad answer during the bake restarts it: the step passes only a full bake later.
	s := Step{Started: t0}
	s.Check(g, t0, up, others, ok...)
	s.Check(g, t0.Add(5*time.Second), up, others, QueryResult{Value: 1}, QueryResult{Value: 1})
	if v, _ := s.Check(g, t0.Add(12*time.Second), up, others, ok...); v != Wait {
		t.Errorf("a failing query during the bake: verdict %v at 12s, want Wait", v)
	}
	if v, _ := s.Check(g, t0.Add(22*time.Second), up, others, ok...); v != Pass {
		t.Errorf("a full bake after the failing query: verdict %v, want Pass", v)
	}
}

// Evaluate against the real Prometheus (Debian's), scraping itself: a gate at or above `up`
// passes, one below it fails with the measured value, a query Prometheus refuses and a series
// that does not exist fail with the reason; no Prometheus fails every gate saying so.
func TestEvaluateRealPrometheus(t *testing.T) {
	testenv.Short(t)
	url := testenv.Prometheus(t)
	gates := []PromGate{
		{Query: `up{job=~"{{upgraded}}"}`, Max: 1},
		{Query: `up{job="self"}`, Max: 0.5},
		{Query: `up{job=`, Max: 1},
		{Query: `no_such_metric`, Max: 1},
	}
	ctx := context.Background()
	var res []QueryResult
	testenv.Eventually(t, 30*time.Second, "Prometheus scraped itself", func() (bool, string) {
		res = Evaluate(ctx, url, gates[:1], []string{"self"})
		return res[0].Err == "" && res[0].Value == 1, fmt.Sprintf("%+v", res)
	})
	res = Evaluate(ctx, url, gates, []string{"self"})
	t.Logf("results: %+v", res)
	if res[0].Err != "" || res[0].Value != 1 || res[1].Err != "" || res[1].Value != 1 {
		t.Fatalf("up queries: %+v", res[:2])
	}
	if !strings.Contains(res[2].Err, "parse error") || !strings.Contains(res[3].Err, "no samples") {
		t.Fatalf("a bad query and a missing series: %+v", res[2:])
	}

	g := Gates{Bake: time.Second, Timeout: 2 * time.Second, Prometheus: gates[:1]}
	s := Step{Started: time.Now()}
	s.Check(g, time.Now(), nil, nil, res[:1]...)
	if v, f := s.Check(g, time.Now().Add(time.Second), nil, nil, res[:1]...); v != Pass {
		t.Errorf("up at most 1: verdict %v, %+v; want Pass", v, f)
	}
	g.Prometheus = gates[1:2]
	s = Step{Started: time.Now()}
	if v, f := s.Check(g, time.Now().Add(3*time.Second), nil, nil, res[1:2]...); v != Fail || f.Value != `up{job="self"} = 1` || f.Want != "at most 0.5" {
		t.Errorf("up at most 0.5: verdict %v, %+v; want Fail measuring 1", v, f)
	}

	// Nothing listens on the free port.
	for _, missing := range []string{"", fmt.Sprintf("http://127.0.0.1:%d", testenv.FreePort(t))} {
		for i, r := range Evaluate(ctx, missing, gates[:2], nil) {
			if r.Err == "" || missing == "" && !strings.Contains(r.Err, "no Prometheus") {
				t.Errorf("prometheus %q: gate %d: %+v, want an error", missing, i, r)
			}
		}
	}
}
