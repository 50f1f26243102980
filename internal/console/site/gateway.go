package site

import (
	"context"
	"fmt"
	"net/http"

	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/dinfra/stack/internal/console"
)

// refusedOutcomes are the onf_gateway_calls_total outcomes the gateway refused rather than
// answered.
var refusedOutcomes = map[string]bool{"denied": true, "rate_limited": true, "subscription_limited": true}

// GatewayCounts reads a gateway's calls and refusals from its metrics endpoint (the gateway
// config's metricsListen): onf_gateway_calls_total by outcome, plus the requests refused
// before any call was read (onf_gateway_auth_failures_total,
// onf_gateway_rejected_messages_total).
func GatewayCounts(ctx context.Context, client *http.Client, listen string) (*console.GatewayCounts, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+listen+"/metrics", nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", req.URL, resp.Status)
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := parser.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", req.URL, err)
	}
	var c console.GatewayCounts
	for _, m := range fams["onf_gateway_calls_total"].GetMetric() {
		refused := false
		for _, l := range m.GetLabel() {
			refused = refused || l.GetName() == "outcome" && refusedOutcomes[l.GetValue()]
		}
		if refused {
			c.Refused += m.GetCounter().GetValue()
		} else {
			c.Calls += m.GetCounter().GetValue()
		}
	}
	for _, name := range []string{"onf_gateway_auth_failures_total", "onf_gateway_rejected_messages_total"} {
		for _, m := range fams[name].GetMetric() {
			c.Refused += m.GetCounter().GetValue()
		}
	}
	return &c, nil
}
