package monitoring

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/testenv"
)

// promtool and amtool come from Debian's prometheus and prometheus-alertmanager packages.
func tool(t *testing.T, env, name string) string {
	t.Helper()
	return testenv.Binary(t, env, name)
}

func run(t *testing.T, bin string, args ...string) {
	t.Helper()
	out, err := exec.Command(bin, args...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", filepath.Base(bin), strings.Join(args, " "), err, out)
	}
}

func TestPromtoolCheckRules(t *testing.T) {
	run(t, tool(t, "PROMTOOL_BIN", "promtool"), "check", "rules", "rules/onf.rules.yml")
}

// unitTests are the promtool unit test files: alerts that wait seconds to minutes, evaluated
// every 15 s, and those that wait hours, evaluated every minute.
var unitTests = []string{"rules/onf.rules.test.yml", "rules/onf.rules.long.test.yml"}

// TestPromtoolUnitTests runs the unit test files: each alert fires on the series that should
// fire it and stays silent on the others.
func TestPromtoolUnitTests(t *testing.T) {
	run(t, tool(t, "PROMTOOL_BIN", "promtool"), append([]string{"test", "rules"}, unitTests...)...)
}

func TestAmtoolCheckConfig(t *testing.T) {
	run(t, tool(t, "AMTOOL_BIN", "amtool"), "check-config", "alertmanager/alertmanager.example.yml")
}

type ruleFile struct {
	Groups []struct {
		Name  string `json:"name"`
		Rules []struct {
			Record string `json:"record"`
			Alert  string `json:"alert"`
			Expr   string `json:"expr"`
		} `json:"rules"`
	} `json:"groups"`
}

func loadRules(t *testing.T) ruleFile {
	t.Helper()
	var f ruleFile
	if err := yaml.Unmarshal(Rules, &f); err != nil {
		t.Fatal(err)
	}
	return f
}

// TestEveryAlertIsUnitTested: every alert has a promtool case where it fires and one where it
// stays silent, so a new alert cannot ship untested.
func TestEveryAlertIsUnitTested(t *testing.T) {
	fires, silent := map[string]bool{}, map[string]bool{}
	for _, file := range unitTests {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var tests struct {
			Tests []struct {
				AlertRuleTest []struct {
					Alertname string `json:"alertname"`
					ExpAlerts []any  `json:"exp_alerts"`
				} `json:"alert_rule_test"`
			} `json:"tests"`
		}
		if err := yaml.Unmarshal(data, &tests); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		for _, tc := range tests.Tests {
			for _, a := range tc.AlertRuleTest {
				if len(a.ExpAlerts) > 0 {
					fires[a.Alertname] = true
				} else {
					silent[a.Alertname] = true
				}
			}
		}
	}
	n := 0
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Alert == "" {
				continue
			}
			n++
			if !fires[r.Alert] || !silent[r.Alert] {
				t.Errorf("alert %s: needs a promtool case where it fires (%v) and one where it stays silent (%v)", r.Alert, fires[r.Alert], silent[r.Alert])
			}
		}
	}
	if n < 15 {
		t.Fatalf("found %d alerts in the rules file", n)
	}
}

// TestRuleGroupsForPrometheusRule: the groups a PrometheusRule carries are the file's.
func TestRuleGroupsForPrometheusRule(t *testing.T) {
	groups, err := RuleGroups()
	if err != nil {
		t.Fatal(err)
	}
	if len(groups) != len(loadRules(t).Groups) {
		t.Fatalf("RuleGroups: %d groups, the file has %d", len(groups), len(loadRules(t).Groups))
	}
}

// knownMetrics are the names a query may use: the rules' recorded series, what a real
// gossamer v0.9.0 node exposes (testdata), Prometheus' own series, and the gateway's series
// (which the end-to-end test in test/monitor finds in a real Prometheus).
func knownMetrics(t *testing.T) map[string]bool {
	known := map[string]bool{"up": true, "ALERTS": true}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			if r.Record != "" {
				known[r.Record] = true
			}
		}
	}
	f, err := os.Open("testdata/gossamer-v0.9.0.metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if line := sc.Text(); line != "" && !strings.HasPrefix(line, "#") {
			name, _, _ := strings.Cut(line, " ")
			name, _, _ = strings.Cut(name, "{")
			known[name] = true
		}
	}
	return known
}

// TestDashboardQueries: every panel query parses with the Prometheus parser and reads only
// series that exist.
func TestDashboardQueries(t *testing.T) {
	known := knownMetrics(t)
	panels, err := DashboardPanels()
	if err != nil {
		t.Fatal(err)
	}
	if len(panels) < 25 {
		t.Fatalf("found %d panel queries in the dashboards", len(panels))
	}
	for _, p := range panels {
		names, err := MetricNames(p.Expr)
		if err != nil {
			t.Errorf("%s: %s: %q: %v", p.Dashboard, p.Title, p.Expr, err)
			continue
		}
		for _, n := range names {
			if !known[n] && !strings.HasPrefix(n, "onf_gateway_") {
				t.Errorf("%s: %s: %q reads %s, which neither a rule records nor gossamer exposes", p.Dashboard, p.Title, p.Expr, n)
			}
		}
	}
}

func TestMetricNames(t *testing.T) {
	names, err := MetricNames(`sum(rate(a_total{x="$network"}[5m])) / on() b or {__name__="c"}`)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(names, ",") != "a_total,b,c" {
		t.Fatalf("got %v", names)
	}
	if _, err := MetricNames(`rate(x[5m]`); err == nil {
		t.Fatal("an unbalanced query parsed")
	}
}

// TestGroupsScoped: a scope restricts every selector to its labels and scales durations, and
// the result still passes promtool.
func TestGroupsScoped(t *testing.T) {
	groups, err := Groups(Scope{Matchers: map[string]string{"network": "dev", "namespace": "chains"}, Suffix: "-dev", TimeScale: 0.1})
	if err != nil {
		t.Fatal(err)
	}
	var stalled *Rule
	for gi := range groups {
		if !strings.HasSuffix(groups[gi].Name, "-dev") {
			t.Errorf("group %s: no suffix", groups[gi].Name)
		}
		for ri := range groups[gi].Rules {
			r := &groups[gi].Rules[ri]
			names, err := MetricNames(r.Expr)
			if err != nil {
				t.Fatalf("%s%s: %v", r.Alert, r.Record, err)
			}
			scoped := `namespace="chains",network="dev"`
			if strings.HasPrefix(groups[gi].Name, "onf-volumes") {
				scoped = `namespace="chains"`
				if strings.Contains(r.Expr, `network="dev"`) {
					t.Errorf("%s%s: volume rules scoped by network: %s", r.Alert, r.Record, r.Expr)
				}
			}
			if c := strings.Count(r.Expr, scoped); c != len(names) {
				t.Errorf("%s%s: %d of %d selectors scoped: %s", r.Alert, r.Record, c, len(names), r.Expr)
			}
			if r.Alert == "BlockProductionStalled" {
				stalled = r
			}
		}
	}
	if stalled == nil || stalled.For != "6s" || !strings.Contains(stalled.Expr, "[12s]") {
		t.Fatalf("BlockProductionStalled not scaled by 0.1: %+v", stalled)
	}
	data, err := RulesFile(groups)
	if err != nil {
		t.Fatal(err)
	}
	file := filepath.Join(t.TempDir(), "scoped.rules.yml")
	if err := os.WriteFile(file, data, 0o600); err != nil {
		t.Fatal(err)
	}
	run(t, tool(t, "PROMTOOL_BIN", "promtool"), "check", "rules", file)
}
