package operator

import (
	"context"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

// spec.monitoring reaches the API server as the operator makes it: a PodMonitor with the
// labels a Prometheus' podMonitorSelector picks and the scrape options on its endpoints;
// switching to ServiceMonitor replaces it (the PodMonitor is deleted, not left scraping the
// same pods twice).
func TestMonitoringKinds(t *testing.T) {
	c, cl := startCluster(t, kubetest.Options{CRDPaths: []string{repoPath("test/operator/testdata/crds")}}, "chains")
	startOperator(t, c, controller.Config{})
	ctx := context.Background()
	n := createNetwork(t, cl, polkadotNetwork("watched", "chains", polkadotImage, `
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
  monitoring:
    kind: PodMonitor
    interval: 15s
    scrapeTimeout: 5s
    labels: {release: prometheus}
    metricRelabelings:
      - {sourceLabels: [__name__], regex: "substrate_sub_libp2p_.*", action: drop}
`))
	key := types.NamespacedName{Namespace: "chains", Name: "watched"}
	get := func(gvk metav1.GroupVersionKind) (*unstructured.Unstructured, error) {
		u := &unstructured.Unstructured{}
		u.SetAPIVersion(gvk.Group + "/" + gvk.Version)
		u.SetKind(gvk.Kind)
		return u, cl.Get(ctx, key, u)
	}
	testenv.Eventually(t, 60*time.Second, "the network's PodMonitor", func() (bool, error) {
		pm, err := get(kube.PodMonitorGVK)
		if err != nil {
			return false, err
		}
		endpoints, _, _ := unstructured.NestedSlice(pm.Object, "spec", "podMetricsEndpoints")
		if len(endpoints) != 1 || !metav1.IsControlledBy(pm, n) || pm.GetLabels()["release"] != "prometheus" {
			return false, errorf("endpoints %v, labels %v", endpoints, pm.GetLabels())
		}
		e := endpoints[0].(map[string]any)
		return e["interval"] == "15s" && e["scrapeTimeout"] == "5s" && e["metricRelabelings"] != nil, errorf("endpoint %v", e)
	})

	patchSpec(t, cl, key, func(n *v1alpha1.SubstrateNetwork) { n.Spec.Monitoring.Kind = v1alpha1.MonitorService })
	testenv.Eventually(t, 60*time.Second, "a ServiceMonitor instead of the PodMonitor", func() (bool, error) {
		sm, err := get(kube.ServiceMonitorGVK)
		if err != nil {
			return false, err
		}
		if _, err := get(kube.PodMonitorGVK); !apierrors.IsNotFound(err) {
			return false, errorf("PodMonitor still there (%v)", err)
		}
		return sm.GetLabels()["release"] == "prometheus", errorf("ServiceMonitor labels %v", sm.GetLabels())
	})
}
