package cluster

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/rpc"
	"github.com/dinfra/stack/internal/testenv"
	"github.com/dinfra/stack/internal/testenv/onfcli"
)

// BenchmarkFirstBlock compares, in the same run on the same machine, the time from applying
// examples/dev-network.yaml to the real cluster (one create of the SubstrateNetwork, which is
// what `kubectl apply -f` sends) until every pod has imported block #1, against `onf up` of
// the same spec (the embedded default) until every node has; for one network and for three
// at once. Each iteration measures both; the figures are medians and their ratio.
//
//	go test ./test/cluster -run '^$' -bench FirstBlock -benchtime 2x -timeout 60m
func BenchmarkFirstBlock(b *testing.B) {
	rc := startRealCluster(b)
	onf := onfcli.Build(b).Bin
	gossamer := testenv.Binary(b, "GOSSAMER_BIN")
	for _, networks := range []int{1, 3} {
		b.Run(fmt.Sprintf("networks=%d", networks), func(b *testing.B) {
			var cluster, local []float64
			for i := range b.N {
				var nss []string
				for j := range networks {
					nss = append(nss, rc.namespace(b, fmt.Sprintf("bench-%d-%d-%d", networks, i, j)))
				}
				cluster = append(cluster, rc.applyToFirstBlock(b, nss).Seconds())
				local = append(local, upToFirstBlock(b, onf, gossamer, networks).Seconds())
			}
			mc, ml := median(cluster), median(local)
			b.ReportMetric(mc, "cluster-s")
			b.ReportMetric(ml, "local-s")
			b.ReportMetric(mc/ml, "ratio")
			b.Logf("%d network(s): apply to block #1 on every pod %v s; onf up to block #1 on every node %v s; median ratio %.2f",
				networks, cluster, local, mc/ml)
		})
	}
}

// applyToFirstBlock creates the dev network in each namespace at once and returns the time
// until every pod of every network answers with block #1 imported. The networks and their
// volume claims are deleted afterwards, so the next iteration starts from empty disks.
func (rc *realCluster) applyToFirstBlock(b *testing.B, namespaces []string) time.Duration {
	ctx := context.Background()
	start := time.Now()
	for _, ns := range namespaces {
		if err := rc.cl.Create(ctx, devNetwork(b, ns, rc.image)); err != nil {
			b.Fatal(err)
		}
	}
	want := 3 * len(namespaces)
	testenv.Eventually(b, 6*time.Minute, fmt.Sprintf("%d pods at block #1", want), func() (bool, string) {
		at, err := rc.podsAtBlockOne(ctx, namespaces)
		return at == want, fmt.Sprintf("%d at block #1 (%v)", at, err)
	})
	took := time.Since(start)
	for _, ns := range namespaces {
		if err := rc.cl.DeleteAllOf(ctx, &v1alpha1.SubstrateNetwork{}, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
	}
	for _, ns := range namespaces {
		rc.waitNoPods(b, ns)
		if err := rc.cl.DeleteAllOf(ctx, &corev1.PersistentVolumeClaim{}, client.InNamespace(ns)); err != nil {
			b.Fatal(err)
		}
	}
	return took
}

// podsAtBlockOne counts the networks' pods whose node has imported block #1.
func (rc *realCluster) podsAtBlockOne(ctx context.Context, namespaces []string) (int, error) {
	at := 0
	var last error
	for _, ns := range namespaces {
		var pods corev1.PodList
		if err := rc.cl.List(ctx, &pods, client.InNamespace(ns), client.MatchingLabels(kube.NetworkLabels("dev"))); err != nil {
			return at, err
		}
		for _, p := range pods.Items {
			if p.Status.PodIP == "" {
				continue
			}
			cctx, cancel := context.WithTimeout(ctx, 2*time.Second)
			c, err := rpc.Dial(cctx, podURL(&p))
			if err == nil {
				var h *rpc.Header
				h, err = c.BestHeader(cctx)
				c.Close()
				if err == nil && h.Number >= 1 {
					at++
				}
			}
			cancel()
			if err != nil {
				last = fmt.Errorf("%s/%s: %w", ns, p.Name, err)
			}
		}
	}
	return at, last
}

// upToFirstBlock runs `onf up --until-block 1` of the same spec as networks differently named
// local networks at once and returns the time until every one has returned (every node at
// block #1), then takes them down with their data.
func upToFirstBlock(b *testing.B, onf, gossamer string, networks int) time.Duration {
	home := b.TempDir()
	spec, err := os.ReadFile(repoPath("examples/dev-network.yaml"))
	if err != nil {
		b.Fatal(err)
	}
	var names, files []string
	for i := range networks {
		var n v1alpha1.SubstrateNetwork
		if err := yaml.UnmarshalStrict(spec, &n); err != nil {
			b.Fatal(err)
		}
		n.Name = fmt.Sprintf("dev%d", i)
		out, err := yaml.Marshal(&n)
		if err != nil {
			b.Fatal(err)
		}
		file := filepath.Join(home, n.Name+".yaml")
		if err := os.WriteFile(file, out, 0o600); err != nil {
			b.Fatal(err)
		}
		names, files = append(names, n.Name), append(files, file)
	}
	run := func(args ...string) error {
		out, err := exec.Command(onf, append([]string{"--home", home}, args...)...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("onf %s: %w\n%s", strings.Join(args, " "), err, out)
		}
		return nil
	}
	start := time.Now()
	errs := make([]error, networks)
	var wg sync.WaitGroup
	for i, f := range files {
		wg.Go(func() { errs[i] = run("up", "-f", f, "--binary", gossamer, "--until-block", "1", "--timeout", "5m") })
	}
	wg.Wait()
	took := time.Since(start)
	for i, name := range names {
		if err := run("down", name, "--purge"); err != nil {
			b.Error(err)
		}
		if errs[i] != nil {
			b.Fatal(errs[i])
		}
	}
	return took
}

func median(xs []float64) float64 {
	s := slices.Clone(xs)
	slices.Sort(s)
	return s[len(s)/2]
}
