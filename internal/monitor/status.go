package monitor

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"io"
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
		out = append(out, alert(a.Labels, a.Annotations, a.State, a.ActiveAt))
	}
	return sorted(out), nil
}

// Notified asks an Alertmanager for the alerts it holds active: firing, and neither silenced
// nor inhibited (a stalled network's finality alerts, a down node's peer alerts). These are
// what its receivers were told.
func Notified(ctx context.Context, alertmanager string) ([]Alert, error) {
	var res []struct {
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
	}
	if err := getJSON(ctx, alertmanager+"/api/v2/alerts?active=true&silenced=false&inhibited=false&unprocessed=false", &res); err != nil {
		return nil, err
	}
	out := []Alert{}
	for _, a := range res {
		out = append(out, alert(a.Labels, a.Annotations, "firing", a.StartsAt))
	}
	return sorted(out), nil
}

func alert(labels, annotations map[string]string, state string, since time.Time) Alert {
	return Alert{
		Name: labels["alertname"], Node: labels["node"], Severity: labels["severity"],
		State: state, Since: since, Summary: annotations["summary"], Labels: labels,
	}
}

func sorted(alerts []Alert) []Alert {
	slices.SortFunc(alerts, func(a, b Alert) int {
		return cmp.Or(cmp.Compare(a.Node, b.Node), cmp.Compare(a.Name, b.Name))
	})
	return alerts
}

// get reads the data of a Prometheus API answer.
func get(ctx context.Context, url string, data any) error {
	var env struct {
		Status string          `json:"status"`
		Error  string          `json:"error"`
		Data   json.RawMessage `json:"data"`
	}
	if err := getJSON(ctx, url, &env); err != nil {
		return err
	}
	if env.Status != "success" {
		return fmt.Errorf("%s: %s", url, env.Error)
	}
	return json.Unmarshal(env.Data, data)
}

func getJSON(ctx context.Context, url string, v any) error {
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
	if resp.StatusCode != http.StatusOK {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s: %s: %s", url, resp.Status, bytes.TrimSpace(msg))
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		return fmt.Errorf("%s: %w", url, err)
	}
	return nil
}
