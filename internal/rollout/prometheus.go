package rollout

import (
	"context"
	"fmt"
	"math"
	"regexp"
	"strings"
	"time"

	"github.com/prometheus/client_golang/api"
	promv1 "github.com/prometheus/client_golang/api/prometheus/v1"
	"github.com/prometheus/common/model"
)

// UpgradedPlaceholder in a query stands for the upgraded nodes' names as a regular expression.
const UpgradedPlaceholder = "{{upgraded}}"

// queryTimeout bounds one evaluation of a step's queries: a Prometheus that does not answer
// fails the gate rather than holding the check.
const queryTimeout = 5 * time.Second

// PromGate is a Prometheus query gate: every sample of Query at most Max.
type PromGate struct {
	Query string
	Max   float64
}

// QueryResult is one evaluation of a PromGate: the highest sample, or why there is none.
type QueryResult struct {
	Value float64
	Err   string
}

// Measure reads a query's answer: the highest sample of an instant vector, or a scalar. A
// vector of no samples is an error, so that a query about series that do not exist (a typo, a
// node not scraped) never passes by saying nothing.
func Measure(v model.Value) (float64, error) {
	var out float64
	switch v := v.(type) {
	case *model.Scalar:
		out = float64(v.Value)
	case model.Vector:
		if len(v) == 0 {
			return 0, fmt.Errorf(`no samples (append "or vector(0)" if no series means none)`)
		}
		out = math.Inf(-1)
		for _, s := range v {
			if math.IsNaN(float64(s.Value)) {
				return 0, fmt.Errorf("%s is NaN", s.Metric)
			}
			out = max(out, float64(s.Value))
		}
	default:
		return 0, fmt.Errorf("want a scalar or an instant vector, got a %s", v.Type())
	}
	if math.IsNaN(out) {
		return 0, fmt.Errorf("NaN")
	}
	return out, nil
}

// Query is gate g's query with the placeholder standing for the upgraded nodes' names.
func (g PromGate) query(upgraded []string) string {
	quoted := make([]string, len(upgraded))
	for i, n := range upgraded {
		quoted[i] = regexp.QuoteMeta(n)
	}
	return strings.ReplaceAll(g.Query, UpgradedPlaceholder, strings.Join(quoted, "|"))
}

// Evaluate asks the Prometheus HTTP API at url (/api/v1/query) for each gate's query, upgraded
// being the upgraded nodes' names. Without a url every result says there is no Prometheus.
func Evaluate(ctx context.Context, url string, gates []PromGate, upgraded []string) []QueryResult {
	out := make([]QueryResult, len(gates))
	if len(gates) == 0 {
		return out
	}
	fail := func(err string) []QueryResult {
		for i := range out {
			out[i].Err = err
		}
		return out
	}
	if url == "" {
		return fail("no Prometheus: set gates.prometheusURL, or attach monitoring (onf monitor up)")
	}
	c, err := api.NewClient(api.Config{Address: url})
	if err != nil {
		return fail(fmt.Sprintf("prometheus %s: %v", url, err))
	}
	ctx, cancel := context.WithTimeout(ctx, queryTimeout)
	defer cancel()
	p := promv1.NewAPI(c)
	for i, g := range gates {
		v, _, err := p.Query(ctx, g.query(upgraded), time.Now())
		if err == nil {
			out[i].Value, err = Measure(v)
		}
		if err != nil {
			out[i].Err = fmt.Sprintf("prometheus %s: %v", url, err)
		}
	}
	return out
}
