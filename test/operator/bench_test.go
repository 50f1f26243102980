package operator

import (
	"bufio"
	"context"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

// TestBenchmarkOperator is the operator benchmark of docs/BENCHMARKS.md, run on demand:
//
//	ONF_BENCH=1 go test ./test/operator -run TestBenchmarkOperator -v -timeout 30m
//
// It creates 100 SubstrateNetworks of 10 nodes each against kube-apiserver, etcd,
// kube-controller-manager, kube-scheduler and kwok, with the operator as its own process
// (`onf operator`), and reports the time until every network is Ready, the operator's peak
// RSS and its API writes during a no-op resync. The baseline, measured in the same run, is
// the same 1000 pods created directly as 100 bare StatefulSets.
func TestBenchmarkOperator(t *testing.T) {
	if os.Getenv("ONF_BENCH") == "" {
		t.Skip("benchmark: set ONF_BENCH=1 to run")
	}
	const networks, perNetwork = 100, 10
	cluster, cl := startCluster(t, kubetest.Options{Workloads: true}, "baseline", "bench")
	ctx := context.Background()

	baseline := timeBareStatefulSets(t, cl, networks, perNetwork)
	t.Logf("baseline: %d bare StatefulSets x %d pods Ready in %s", networks, perNetwork, baseline.Round(time.Millisecond))

	onf := filepath.Join(t.TempDir(), "onf")
	if out, err := exec.Command("go", "build", "-o", onf, repoPath("cmd/onf")).CombinedOutput(); err != nil {
		t.Fatalf("build onf: %v\n%s", err, out)
	}
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", testenv.FreePort(t))
	op := exec.Command(onf, "operator", "--kubeconfig", cluster.Kubeconfig, "--metrics-bind-address", metricsAddr,
		"--health-probe-bind-address", "0", "--workers", "4", "--sync-period", "20s", "--log-level", "warn")
	logFile, err := os.Create(filepath.Join(t.TempDir(), "operator.log"))
	if err != nil {
		t.Fatal(err)
	}
	op.Stdout, op.Stderr = logFile, logFile
	if err := op.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = op.Process.Kill(); _ = op.Wait() })

	testenv.Eventually(t, time.Minute, "operator metrics", func() (bool, error) {
		resp, err := http.Get("http://" + metricsAddr + "/metrics")
		if err != nil {
			return false, err
		}
		resp.Body.Close()
		return true, nil
	})
	start := time.Now()
	createNetworks(t, cl, networks, perNetwork)
	testenv.Eventually(t, 10*time.Minute, "every network Ready", func() (bool, error) {
		var list v1alpha1.SubstrateNetworkList
		if err := cl.List(ctx, &list, client.InNamespace("bench")); err != nil {
			return false, err
		}
		ready := 0
		for i := range list.Items {
			if c := condition(&list.Items[i], kube.ConditionReady); c != nil && c.Status == metav1.ConditionTrue {
				ready++
			}
		}
		return ready == networks, errorf("%d/%d networks ready", ready, networks)
	})
	elapsed := time.Since(start)

	// No-op resync: the operator re-reconciles everything every 20s; nothing has changed.
	writes0, reconciles0 := scrape(t, metricsAddr)
	t.Logf("operator: rollout took %.0f API writes in %.0f reconciles", writes0, reconciles0)
	time.Sleep(45 * time.Second) // two sync periods: a fixed observation window, nothing to poll for
	writes1, reconciles1 := scrape(t, metricsAddr)
	peak := peakRSS(t, op.Process.Pid)

	t.Logf("operator: %d networks x %d nodes Ready in %s (%.2fx the bare StatefulSets)", networks, perNetwork, elapsed.Round(time.Millisecond), elapsed.Seconds()/baseline.Seconds())
	t.Logf("operator: peak RSS %.1f MiB", float64(peak)/(1<<20))
	t.Logf("operator: no-op resync over 45s: %d reconciles, %.0f API writes", int(reconciles1-reconciles0), writes1-writes0)
	if writes1 != writes0 {
		t.Errorf("%.0f API writes while nothing changed", writes1-writes0)
	}
	if reconciles1-reconciles0 < networks {
		t.Errorf("only %.0f reconciles in two sync periods: the resync did not run", reconciles1-reconciles0)
	}
}

// timeBareStatefulSets creates the same number of pods directly and times them to Ready.
func timeBareStatefulSets(t *testing.T, cl client.Client, sets, replicas int) time.Duration {
	t.Helper()
	ctx := context.Background()
	start := time.Now()
	parallel(t, sets, func(i int) error {
		labels := map[string]string{"app": fmt.Sprintf("bare-%d", i)}
		return cl.Create(ctx, &appsv1.StatefulSet{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("bare-%d", i), Namespace: "baseline"},
			Spec: appsv1.StatefulSetSpec{
				Replicas: ptr(int32(replicas)), ServiceName: fmt.Sprintf("bare-%d", i),
				PodManagementPolicy: appsv1.ParallelPodManagement,
				Selector:            &metav1.LabelSelector{MatchLabels: labels},
				Template: corev1.PodTemplateSpec{
					ObjectMeta: metav1.ObjectMeta{Labels: labels},
					Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "node", Image: "docker.io/parity/polkadot:stable2503"}}},
				},
			},
		})
	})
	testenv.Eventually(t, 10*time.Minute, "bare StatefulSets ready", func() (bool, error) {
		var list appsv1.StatefulSetList
		if err := cl.List(ctx, &list, client.InNamespace("baseline")); err != nil {
			return false, err
		}
		ready := 0
		for _, s := range list.Items {
			ready += int(s.Status.ReadyReplicas)
		}
		return ready == sets*replicas, errorf("%d/%d pods ready", ready, sets*replicas)
	})
	return time.Since(start)
}

func createNetworks(t *testing.T, cl client.Client, networks, perNetwork int) {
	t.Helper()
	nets := make([]*v1alpha1.SubstrateNetwork, networks)
	for i := range nets {
		nets[i] = parseNetwork(t, polkadotNetwork(fmt.Sprintf("net-%d", i), "bench", polkadotImage, fmt.Sprintf(`
  groups:
    - {name: validator, role: validator, keys: {dev: ["//Alice"]}}
    - {name: boot, role: bootnode}
    - {name: rpc, role: rpc, replicas: %d}
`, perNetwork-2)))
	}
	parallel(t, networks, func(i int) error { return cl.Create(context.Background(), nets[i]) })
}

// parallel runs fn for 0..n-1 on a few goroutines, as clients creating objects would.
func parallel(t *testing.T, n int, fn func(int) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make(chan error, n)
	work := make(chan int)
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range work {
				if err := fn(i); err != nil {
					errs <- err
				}
			}
		}()
	}
	for i := range n {
		work <- i
	}
	close(work)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
}

// scrape reads the operator's API write and reconcile counters from its metrics endpoint.
func scrape(t *testing.T, addr string) (writes, reconciles float64) {
	t.Helper()
	resp, err := http.Get("http://" + addr + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	s := bufio.NewScanner(resp.Body)
	for s.Scan() {
		line := s.Text()
		name, value, ok := strings.Cut(line, " ")
		if !ok || strings.HasPrefix(line, "#") {
			continue
		}
		v, err := strconv.ParseFloat(value, 64)
		if err != nil {
			continue
		}
		switch {
		case strings.HasPrefix(name, "onf_operator_api_writes_total"):
			writes += v
		case strings.HasPrefix(name, "controller_runtime_reconcile_total{") && strings.Contains(name, `controller="substratenetwork"`):
			reconciles += v
		}
	}
	return writes, reconciles
}

// peakRSS is a process's high-water resident set size in bytes (Linux).
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
