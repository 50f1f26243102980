package operator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/monitor"
	"github.com/dinfra/stack/internal/testenv"
)

var keysSpec = polkadotNetwork("relay", "chains", polkadotImage, `
  groups:
    - name: validator
      role: validator
      keys:
        secret: validator-keys
    - name: dev
      role: validator
      keys:
        dev: ["//Bob"]
`)

// TestSessionKeysMetric: the operator's metrics endpoint serves onf_session_keys_registered
// for cluster networks, under the local exporter's name and labels (plus the namespace the
// network's PrometheusRule selects): 0 for a validator on real keys that has no registered
// keys recorded, 1 once `onf keys` records the keys it holds (the pod annotation behind
// status.nodes[].sessionKeys), 0 again when that record goes; a validator on dev keys is
// not reported until something is recorded for it.
func TestSessionKeysMetric(t *testing.T) {
	if controller.MetricSessionKeysRegistered != monitor.MetricSessionKeysRegistered {
		t.Fatalf("operator serves %s, the local exporter %s: the alert covers one only", controller.MetricSessionKeysRegistered, monitor.MetricSessionKeysRegistered)
	}
	cluster, cl := startCluster(t, kubetest.Options{CRDPaths: []string{repoPath("test/operator/testdata/crds")}, Workloads: true}, "chains")
	ctx := context.Background()
	addr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	startOperator(t, cluster, controller.Config{MetricsAddr: addr})
	n := createNetwork(t, cl, keysSpec)
	series := func(node string) string {
		return fmt.Sprintf(`%s{namespace="chains",network="relay",node="%s"}`, controller.MetricSessionKeysRegistered, node)
	}
	// On a timeout the error says what the scrape and the network's status held, so a failure
	// on a busy machine tells the operator's lag from a wrong series.
	waitMetrics := func(what string, ok func(string) bool) {
		t.Helper()
		testenv.Eventually(t, 2*time.Minute, what, func() (bool, error) {
			body, err := scrapeText(addr)
			if err == nil && ok(body) {
				return true, nil
			}
			var live v1alpha1.SubstrateNetwork
			getErr := cl.Get(ctx, client.ObjectKeyFromObject(n), &live)
			var nodes []string
			for _, node := range live.Status.Nodes {
				nodes = append(nodes, fmt.Sprintf("%s(keys recorded: %t)", node.Name, node.SessionKeys != nil))
			}
			return false, fmt.Errorf("scrape: %v: %q; status.nodes %v (%v)", err, grepLines(body, controller.MetricSessionKeysRegistered), nodes, getErr)
		})
	}
	waitMetrics("validator-0 reported unregistered", func(b string) bool {
		return strings.Contains(b, series("relay-validator-0")+" 0") && !strings.Contains(b, series("relay-dev-0"))
	})

	// The alert the network's PrometheusRule carries selects this very series.
	rule := &unstructured.Unstructured{}
	rule.SetGroupVersionKind(schema.GroupVersionKind{Group: "monitoring.coreos.com", Version: "v1", Kind: "PrometheusRule"})
	if err := cl.Get(ctx, types.NamespacedName{Namespace: "chains", Name: "relay"}, rule); err != nil {
		t.Fatalf("PrometheusRule: %v", err)
	}
	raw, _ := json.Marshal(rule.Object["spec"])
	if want := controller.MetricSessionKeysRegistered + `{namespace=\"chains\",network=\"relay\"} == 0`; !strings.Contains(string(raw), want) {
		t.Errorf("PrometheusRule has no %s", want)
	}

	annotate := func(pod, value string) {
		t.Helper()
		var v any
		if value != "" {
			v = value
		}
		patch, _ := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]any{kube.AnnotationSessionKeys: v}}})
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: "chains", Name: pod}}
		if err := cl.Patch(ctx, p, client.RawPatch(types.MergePatchType, patch)); err != nil {
			t.Fatal(err)
		}
	}
	recorded, _ := json.Marshal(v1alpha1.RegisteredKeys{Validator: "5GrwvaEF5zXb26Fz9rcQpDWS57CtERHpNehXCPcNoHGKutQY", Keys: "0x" + strings.Repeat("ab", 192), Session: 3})
	annotate("relay-validator-0", string(recorded))
	annotate("relay-dev-0", string(recorded))
	waitMetrics("both validators reported registered", func(b string) bool {
		return strings.Contains(b, series("relay-validator-0")+" 1") && strings.Contains(b, series("relay-dev-0")+" 1")
	})
	annotate("relay-validator-0", "") // what onf keys check does on a mismatch
	waitMetrics("validator-0 unregistered again", func(b string) bool {
		return strings.Contains(b, series("relay-validator-0")+" 0")
	})
}

func scrapeText(addr string) (string, error) {
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

func grepLines(text, word string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, word) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
