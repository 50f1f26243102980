// Package console_test runs `onf console` against three sites at once: two Kubernetes API
// servers (envtest) holding SubstrateNetworks and a local network of real gossamer nodes, and
// drives the page in a real browser (Debian's Chromium through chromedp).
//
// The clusters run no kubelet: their pods are fake pods, created by the test with the status a
// kubelet would write, and each network's status is the one the operator would write. The
// console reads only those objects for clusters, so that is all it needs.
package console_test

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/go-logr/logr"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrllog "sigs.k8s.io/controller-runtime/pkg/log"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/kube"
	"github.com/dinfra/stack/internal/kube/controller"
	"github.com/dinfra/stack/internal/kube/kubetest"
	"github.com/dinfra/stack/internal/testenv"
)

// envtest logs through controller-runtime, which warns with a stack trace when no logger is set.
func init() { ctrllog.SetLogger(logr.Discard()) }

func repoPath(p string) string {
	_, file, _, _ := runtime.Caller(0)
	return filepath.Join(filepath.Dir(file), "..", "..", p)
}

// site is a started API server and an admin client that knows SubstrateNetwork.
type site struct {
	*kubetest.Cluster
	cl client.Client
}

func startSite(t *testing.T) *site {
	t.Helper()
	c := kubetest.Start(t, kubetest.Options{CRDPaths: []string{repoPath("config/crd/bases")}})
	scheme, err := controller.Scheme()
	if err != nil {
		t.Fatal(err)
	}
	cl, err := client.New(c.Config, client.Options{Scheme: scheme})
	if err != nil {
		t.Fatal(err)
	}
	return &site{Cluster: c, cl: cl}
}

// fakeNetwork is a SubstrateNetwork with a validator and rpc nodes whose status (and pods'
// status) the test sets: ready of the rpc nodes are Ready, the chain at best/finalized.
type fakeNetwork struct {
	namespace, name string
	rpc, ready      int
	best, finalized int64
	peers           int32
	// keys are the validator's registered session keys, as onf keys records them.
	keys *v1alpha1.RegisteredKeys
	// backup is spec.backup.
	backup *v1alpha1.Backup
	// ha makes the validator group an HA group (docs/ha.md).
	ha bool
}

func (s *site) create(t testing.TB, ctx context.Context, f fakeNetwork) {
	t.Helper()
	if err := s.createNetwork(ctx, f); err != nil {
		t.Fatal(err)
	}
}

// createNetwork is create for any goroutine.
func (s *site) createNetwork(ctx context.Context, f fakeNetwork) error {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: f.namespace}}
	if err := s.cl.Create(ctx, ns); client.IgnoreAlreadyExists(err) != nil {
		return err
	}
	rpc := int32(f.rpc)
	n := &v1alpha1.SubstrateNetwork{
		ObjectMeta: metav1.ObjectMeta{Namespace: f.namespace, Name: f.name},
		Spec: v1alpha1.SubstrateNetworkSpec{
			Chain: v1alpha1.Chain{Builtin: "westend-local"},
			Node:  v1alpha1.NodeSoftware{Flavor: v1alpha1.FlavorGossamer, Image: "localhost/dinfra/gossamer:test", Binary: "/usr/local/bin/gossamer"},
			Groups: []v1alpha1.NodeGroup{
				{Name: "validator", Role: v1alpha1.RoleValidator, Keys: &v1alpha1.Keys{Dev: []string{"//Alice"}}},
				{Name: "rpc", Role: v1alpha1.RoleRPC, Replicas: &rpc},
			},
			Backup: f.backup,
		},
	}
	if f.ha {
		n.Spec.Groups[0].HA = &v1alpha1.HA{LeaseTTL: "9s", SafetyMargin: "3s"}
	}
	if err := s.cl.Create(ctx, n); err != nil {
		return fmt.Errorf("create network %s/%s: %w", f.namespace, f.name, err)
	}
	n.Status.ObservedGeneration = n.Generation
	n.Status.Conditions = []metav1.Condition{{Type: kube.ConditionReady, Status: metav1.ConditionTrue, Reason: "NodesReady",
		ObservedGeneration: n.Generation, LastTransitionTime: metav1.Now()}}
	groups := []struct {
		name  string
		role  v1alpha1.Role
		count int
		ready int
	}{{"validator", v1alpha1.RoleValidator, 1, 1}, {"rpc", v1alpha1.RoleRPC, f.rpc, f.ready}}
	for _, g := range groups {
		for i := range g.count {
			pod := kube.PodName(f.name, g.name, i)
			ready := i < g.ready
			if err := s.fakePod(ctx, f.namespace, f.name, g.name, pod, ready); err != nil {
				return err
			}
			if ready {
				ns := v1alpha1.NodeStatus{Name: pod, Group: g.name, Role: g.role, Ready: true,
					Version: "0.9.0-fake", Peers: f.peers, Best: f.best, Finalized: f.finalized}
				if g.role == v1alpha1.RoleValidator {
					ns.SessionKeys = f.keys
				}
				n.Status.Nodes = append(n.Status.Nodes, ns)
			}
		}
	}
	if err := s.cl.Status().Update(ctx, n); err != nil {
		return fmt.Errorf("status of %s/%s: %w", f.namespace, f.name, err)
	}
	return nil
}

// fakePod is a node's pod as the kubelet would report it: running, Ready or not.
func (s *site) fakePod(ctx context.Context, namespace, network, group, name string, ready bool) error {
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: namespace, Name: name, Labels: kube.Selector(network, group)},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "node", Image: "localhost/dinfra/gossamer:test",
			Ports: []corev1.ContainerPort{{Name: kube.PortRPC, ContainerPort: 8545}}}}},
	}
	if err := s.cl.Create(ctx, p); err != nil {
		return fmt.Errorf("create pod %s: %w", name, err)
	}
	cond := corev1.ConditionFalse
	if ready {
		cond = corev1.ConditionTrue
	}
	p.Status = corev1.PodStatus{
		Phase: corev1.PodRunning, PodIP: "10.0.0.1",
		Conditions: []corev1.PodCondition{{Type: corev1.PodReady, Status: cond}},
		ContainerStatuses: []corev1.ContainerStatus{{Name: "node", Ready: ready, Image: "localhost/dinfra/gossamer:test",
			State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: metav1.Now()}}}},
	}
	if err := s.cl.Status().Update(ctx, p); err != nil {
		return fmt.Errorf("status of pod %s: %w", name, err)
	}
	return nil
}

// kubeconfig writes one kubeconfig holding a context per site, named as given.
func kubeconfig(t *testing.T, sites map[string]*site) string {
	t.Helper()
	out := clientcmdapi.NewConfig()
	for name, s := range sites {
		cfg, err := clientcmd.LoadFromFile(s.Kubeconfig)
		if err != nil {
			t.Fatal(err)
		}
		cur := cfg.Contexts[cfg.CurrentContext]
		out.Clusters[name] = cfg.Clusters[cur.Cluster]
		out.AuthInfos[name] = cfg.AuthInfos[cur.AuthInfo]
		out.Contexts[name] = &clientcmdapi.Context{Cluster: name, AuthInfo: name}
	}
	file := filepath.Join(t.TempDir(), "kubeconfig")
	if err := clientcmd.WriteToFile(*out, file); err != nil {
		t.Fatal(err)
	}
	return file
}

// keyFile is an API key file with one operator key, and the key.
func keyFile(t *testing.T) (file, key string) {
	t.Helper()
	key = "onf_console-e2e-key-0123456789abcdefghijklmno"
	file = filepath.Join(t.TempDir(), "keys.yaml")
	doc := fmt.Sprintf("keys:\n- id: e2e\n  sha256: %x\n", sha256.Sum256([]byte(key)))
	if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
		t.Fatal(err)
	}
	return file, key
}

// startConsole runs `onf console` with args until the test ends and returns its URL and pid.
func startConsole(t *testing.T, bin string, args ...string) (string, *exec.Cmd) {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	cmd := exec.Command(bin, append([]string{"console", "--listen", addr}, args...)...)
	logf, err := os.Create(filepath.Join(t.TempDir(), "console.log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		if t.Failed() {
			b, _ := os.ReadFile(logf.Name())
			t.Logf("console log:\n%s", b)
		}
	})
	url := "http://" + addr
	testenv.Eventually(t, 20*time.Second, "console answers", func() (bool, error) {
		res, err := http.Get(url + "/api/info")
		if err != nil {
			return false, nil
		}
		res.Body.Close()
		return res.StatusCode == 200, nil
	})
	return url, cmd
}

func getOverview(url string) (console.Overview, error) {
	var o console.Overview
	res, err := http.Get(url + "/api/overview")
	if err != nil {
		return o, err
	}
	defer res.Body.Close()
	return o, json.NewDecoder(res.Body).Decode(&o)
}

func siteOf(o console.Overview, name string) *console.SiteView {
	for i := range o.Sites {
		if o.Sites[i].Name == name {
			return &o.Sites[i]
		}
	}
	return nil
}

func summaryOf(s *console.SiteView, id string) *console.Summary {
	if s == nil {
		return nil
	}
	for i := range s.Networks {
		if s.Networks[i].ID == id {
			return &s.Networks[i]
		}
	}
	return nil
}

// browser is a headless Chromium from Debian (missing: skipped locally, failed in CI). It
// resolves no name but loopback ones, so the page can reach nothing else.
func browser(t *testing.T) context.Context {
	t.Helper()
	bin := testenv.Binary(t, "CHROMIUM_BIN", "chromium", "chromium-browser")
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(bin), chromedp.NoSandbox, chromedp.DisableGPU, chromedp.WindowSize(1280, 1000),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.Flag("disable-component-update", true), chromedp.Flag("disable-sync", true),
		chromedp.Flag("no-proxy-server", true),
		chromedp.Flag("host-resolver-rules", "MAP * ~NOTFOUND , EXCLUDE localhost , EXCLUDE 127.0.0.1"),
	)
	actx, cancel := chromedp.NewExecAllocator(context.Background(), opts...)
	t.Cleanup(cancel)
	ctx, cancelCtx := chromedp.NewContext(actx)
	t.Cleanup(cancelCtx)
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("start chromium: %v", err)
	}
	return ctx
}

// do runs browser steps with a deadline.
func do(t *testing.T, ctx context.Context, timeout time.Duration, steps ...chromedp.Action[chromedp.Void]) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if err := chromedp.Do(ctx, steps...); err != nil {
		t.Fatalf("browser: %v", err)
	}
}

// waitFor polls a JavaScript expression in the page until it is truthy and returns its value.
func waitFor[T any](t *testing.T, ctx context.Context, timeout time.Duration, what, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Poll[T](expr, chromedp.WithPollingInterval(50*time.Millisecond), chromedp.WithPollingTimeout(timeout)))
	if err != nil {
		t.Fatalf("browser: waiting for %s (%s): %v", what, expr, err)
	}
	return v
}

// rowScript is the overview row of a network as {field: text}, null until it is shown.
func rowScript(site, id string) string {
	return fmt.Sprintf(`(() => {
  const row = document.querySelector('section[data-site=%q] tr[data-network=%q]');
  if (!row) return null;
  const out = {};
  for (const td of row.querySelectorAll('td[data-field]')) out[td.dataset.field] = td.textContent;
  return out;
})()`, site, id)
}

func trimAll(s string) string { return strings.Join(strings.Fields(s), " ") }
