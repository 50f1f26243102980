package monitor

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// Alert is one pending or firing alert, as Prometheus reports it.
type Alert struct {
	Name     string            `json:"name"`
	Node     string            `json:"node,omitempty"` // empty for network-wide alerts
	Severity string            `json:"severity"`
	State    string            `json:"state"` // pending or firing
	Since    time.Time         `json:"since"`
	Summary  string            `json:"summary"`
	Labels   map[string]string `json:"labels"`
}

// Report is `onf monitor status`.
type Report struct {
	Network      string  `json:"network"`
	Prometheus   string  `json:"prometheus,omitempty"` // URL while it runs
	Alertmanager string  `json:"alertmanager,omitempty"`
	TargetsUp    int     `json:"targetsUp"`
	Targets      int     `json:"targets"`
	Alerts       []Alert `json:"alerts"`
}

// Status reports a network's stack: whether it runs, how many targets answer, and the
// pending and firing alerts.
func Status(ctx context.Context, home, name string) (*Report, error) {
	st, ok, err := Load(home, name)
	if err != nil {
		return nil, err
	}
	r := &Report{Network: name, Alerts: []Alert{}}
	if !ok || !st.Prometheus.Running() {
		return r, nil
	}
	r.Prometheus = st.Prometheus.URL()
	if st.Alertmanager.Running() {
		r.Alertmanager = st.Alertmanager.URL()
	}
	var targets struct {
		ActiveTargets []struct {
			Health string `json:"health"`
		} `json:"activeTargets"`
	}
	if err := get(ctx, r.Prometheus+"/api/v1/targets?state=active", &targets); err != nil {
		return nil, err
	}
	for _, t := range targets.ActiveTargets {
		r.Targets++
		if t.Health == "up" {
			r.TargetsUp++
		}
	}
	if r.Alerts, err = Alerts(ctx, r.Prometheus); err != nil {
		return nil, err
	}
	return r, nil
}

// Alerts asks a Prometheus for its pending and firing alerts, by name and node.
func Alerts(ctx context.Context, prometheus string) ([]Alert, error) {
	var res struct {
		Alerts []struct {
			Labels      map[string]string `json:"labels"`
			Annotations map[string]string `json:"annotations"`
			State       string            `json:"state"`
			ActiveAt    time.Time         `json:"activeAt"`
		} `json:"alerts"`
	}
	if err := get(ctx, prometheus+"/api/v1/alerts", &res); err != nil {
		return nil, err
	}
	out := []Alert{}
	for _, a := range res.Alerts {
		out = append(out, Alert{
			Name: a.Labels["alertname"], Node: a.Labels["node"], Severity: a.Labels["severity"],
			State: a.State, Since: a.ActiveAt, Summary: a.Annotations["summary"], Labels: a.Labels,
		})
	}
	slices.SortFunc(out, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Name, b.Name))
	})
	return out, nil
}

// get reads the data of a Prometheus API answer.
func get(ctx context.Context, url string, data any) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&env); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", url, env.Error)
	}
	return json.Unmarshal(env.Data, data)
}
