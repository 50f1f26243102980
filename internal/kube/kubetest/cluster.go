// Package kubetest runs a real, small Kubernetes control plane for integration tests and
// benchmarks: kube-apiserver and etcd through envtest, and, when workloads must run,
// kube-controller-manager (StatefulSets, garbage collection), kube-scheduler and either kwok,
// a fake kubelet that marks scheduled pods Running and Ready without containers, or a real
// node (Options.Real): kubelet on containerd and runc, a CNI bridge, kube-proxy, CoreDNS and
// kube-network-policies, where pods run their containers and probes and NetworkPolicies hold,
// and reach the API server with their service account's token (credentials.go).
//
// The binaries come from scripts/tools.sh through environment variables (KUBEBUILDER_ASSETS,
// KCM_BIN, KUBE_SCHEDULER_BIN, KWOK_BIN, KWOK_STAGES, KUBELET_BIN, KUBE_PROXY_BIN,
// COREDNS_BIN, KUBE_NETWORK_POLICIES_BIN); a missing one skips the test locally and fails it in CI (see
// internal/testenv). The real node also needs the host prepared by scripts/cluster-host.sh.
package kubetest

import (
	"cmp"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/rest"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/dinfra/stack/internal/testenv"
)

// FakeNodeAnnotation marks the nodes kwok manages.
const FakeNodeAnnotation = "kwok.x-k8s.io/node"

// Options say what the cluster runs.
type Options struct {
	// CRDPaths are files or directories of CustomResourceDefinitions installed at start.
	CRDPaths []string
	// Workloads starts kube-controller-manager, kube-scheduler and kwok with Nodes fake nodes,
	// so StatefulSets become Ready pods and deleted owners are garbage collected.
	Workloads bool
	// Nodes is the number of fake nodes (default 1).
	Nodes int
	// Real runs one real node instead of kwok's fake ones (implies Workloads).
	Real bool
	// Volumes is the number of PersistentVolumes the real node offers (default 16).
	Volumes int
}

// Cluster is a running control plane.
type Cluster struct {
	// Config is an admin REST config.
	Config *rest.Config
	// Client is an admin client with the client-go scheme.
	Client client.Client
	// Kubeconfig is the path of an admin kubeconfig file.
	Kubeconfig string

	env *envtest.Environment
	dir string
	// caFile is the API server's CA, which a real node's pods trust (credentials.go).
	caFile string
	procs  []*process
	// started is when the real node started: pod sandboxes made since are the cluster's.
	started time.Time
	// afterStop undo, last first, what the real node changed on the host.
	afterStop []func()
	stopOnce  sync.Once
}

type process struct {
	name string
	cmd  *exec.Cmd
	done chan struct{}
	log  *os.File
}

// Start starts a cluster and stops it when the test ends.
func Start(t testing.TB, opts Options) *Cluster {
	t.Helper()
	testenv.Short(t)
	testenv.Binary(t, "KUBEBUILDER_ASSETS")
	c := &Cluster{dir: t.TempDir()}
	c.env = &envtest.Environment{
		CRDDirectoryPaths:     opts.CRDPaths,
		ErrorIfCRDPathMissing: true,
	}
	api := c.env.ControlPlane.GetAPIServer()
	// The API server reaches the kubelet (logs, exec, port-forward) at the node's address,
	// never by looking its name up in the host's DNS.
	api.Configure().Set("kubelet-preferred-address-types", "InternalIP")
	if opts.Real {
		c.servePodCredentials(t, api)
	}
	cfg, err := c.env.Start()
	if err != nil {
		t.Fatalf("start envtest control plane: %v", err)
	}
	t.Cleanup(func() { c.Stop(t) })
	// Plenty of room: the benchmark creates thousands of objects quickly.
	cfg.QPS, cfg.Burst = 500, 1000
	c.Config = cfg
	if c.Client, err = client.New(cfg, client.Options{Scheme: scheme.Scheme}); err != nil {
		t.Fatalf("client: %v", err)
	}
	user, err := c.env.ControlPlane.AddUser(envtest.User{Name: "kubetest-admin", Groups: []string{"system:masters"}}, cfg)
	if err != nil {
		t.Fatalf("add admin user: %v", err)
	}
	kubeconfig, err := user.KubeConfig()
	if err != nil {
		t.Fatalf("admin kubeconfig: %v", err)
	}
	c.Kubeconfig = filepath.Join(c.dir, "kubeconfig")
	if err := os.WriteFile(c.Kubeconfig, kubeconfig, 0o600); err != nil {
		t.Fatal(err)
	}
	switch {
	case opts.Real:
		c.startRealNode(t, cmp.Or(opts.Volumes, 16))
		c.startControllers(t, true)
	case opts.Workloads:
		c.startControllers(t, false)
		c.startKwok(t, max(opts.Nodes, 1))
	}
	return c
}

// startControllers runs kube-controller-manager and kube-scheduler. A real node also needs
// volumes bound to claims and its not-ready taint lifted once the kubelet reports Ready.
func (c *Cluster) startControllers(t testing.TB, realNode bool) {
	t.Helper()
	kcm := testenv.Binary(t, "KCM_BIN", "kube-controller-manager")
	sched := testenv.Binary(t, "KUBE_SCHEDULER_BIN", "kube-scheduler")
	// Only what turns owned objects into pods and cleans them up.
	controllers := "statefulset-controller,garbage-collector-controller,disruption-controller,endpointslice-controller," +
		"job-controller,cronjob-controller" // backups: spec.backup's CronJob and its Jobs
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--authentication-kubeconfig=" + c.Kubeconfig,
		"--authorization-kubeconfig=" + c.Kubeconfig,
		"--leader-elect=false",
		"--secure-port=0",
		"--concurrent-statefulset-syncs=10",
		"--kube-api-qps=500", "--kube-api-burst=1000",
	}
	if realNode {
		controllers += ",deployment-controller,replicaset-controller,node-lifecycle-controller," +
			"persistentvolume-binder-controller,persistentvolume-protection-controller,persistentvolumeclaim-protection-controller," +
			// pods with in-cluster credentials (credentials.go): every namespace's default
			// ServiceAccount, and the API server's CA as its kube-root-ca.crt ConfigMap
			"serviceaccount-controller,root-ca-certificate-publisher-controller"
		args = append(args, "--root-ca-file="+c.caFile)
	}
	c.run(t, "kube-controller-manager", kcm, append(args, "--controllers="+controllers)...)

	// Without a real node the cluster has no volumes: the scheduler then ignores volume
	// binding so pods with (forever pending) PersistentVolumeClaims still land on fake nodes.
	volumePlugins := `
  plugins:
    multiPoint:
      disabled:
      - name: VolumeBinding
      - name: VolumeRestrictions
      - name: VolumeZone
      - name: NodeVolumeLimits`
	if realNode {
		volumePlugins = ""
	}
	schedConfig := filepath.Join(c.dir, "scheduler.yaml")
	writeFile(t, schedConfig, fmt.Sprintf(`apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
clientConnection:
  kubeconfig: %q
  qps: 500
  burst: 1000
leaderElection:
  leaderElect: false
profiles:
- schedulerName: default-scheduler%s
`, c.Kubeconfig, volumePlugins))
	c.run(t, "kube-scheduler", sched, "--config="+schedConfig, "--secure-port=0")
}

// startKwok runs kwok as the kubelet of nodes fake nodes.
func (c *Cluster) startKwok(t testing.TB, nodes int) {
	t.Helper()
	kwok := testenv.Binary(t, "KWOK_BIN", "kwok")
	stages := testenv.Binary(t, "KWOK_STAGES")

	files, err := filepath.Glob(filepath.Join(stages, "*.yaml"))
	if err != nil || len(files) == 0 {
		t.Fatalf("KWOK_STAGES=%s holds no stage files (run scripts/tools.sh kwok-stages)", stages)
	}
	args := []string{
		"--kubeconfig=" + c.Kubeconfig,
		"--manage-all-nodes=false",
		"--manage-nodes-with-annotation-selector=" + FakeNodeAnnotation + "=fake",
		"--cidr=10.128.0.1/16",
		"--node-ip=10.127.0.1",
		"--server-address=",
	}
	for _, f := range files {
		args = append(args, "--config="+f)
	}
	c.run(t, "kwok", kwok, args...)

	ctx := context.Background()
	for i := range nodes {
		c.addNode(t, ctx, fmt.Sprintf("kwok-node-%d", i))
	}
}

// addNode registers a fake node with room for thousands of pods.
func (c *Cluster) addNode(t testing.TB, ctx context.Context, name string) {
	t.Helper()
	capacity := corev1.ResourceList{
		corev1.ResourceCPU:    resource.MustParse("1000"),
		corev1.ResourceMemory: resource.MustParse("4Ti"),
		corev1.ResourcePods:   resource.MustParse("5000"),
	}
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name:        name,
			Annotations: map[string]string{FakeNodeAnnotation: "fake"},
			Labels:      map[string]string{"kubernetes.io/hostname": name, "type": "kwok"},
		},
	}
	if err := c.Client.Create(ctx, node); err != nil {
		t.Fatalf("create node %s: %v", name, err)
	}
	node.Status.Capacity, node.Status.Allocatable = capacity, capacity
	if err := c.Client.Status().Update(ctx, node); err != nil {
		t.Fatalf("set node %s capacity: %v", name, err)
	}
	// The API server taints new nodes not-ready; without a node lifecycle controller nothing
	// lifts the taint once kwok reports the node Ready, so lift it here.
	node.Spec.Taints = nil
	if err := c.Client.Update(ctx, node); err != nil {
		t.Fatalf("untaint node %s: %v", name, err)
	}
}

// run starts a control plane process whose output goes to a log file shown on failure.
func (c *Cluster) run(t testing.TB, name, bin string, args ...string) {
	t.Helper()
	log, err := os.Create(filepath.Join(c.dir, name+".log"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(bin, args...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.SysProcAttr = diesWithTest()
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	p := &process{name: name, cmd: cmd, done: make(chan struct{}), log: log}
	go func() { _ = cmd.Wait(); close(p.done) }()
	c.procs = append(c.procs, p)
}

// Stop stops the cluster before the test ends (a test of a site going away); the test's
// cleanup then has nothing left to stop.
func (c *Cluster) Stop(t testing.TB) { c.stopOnce.Do(func() { c.stop(t) }) }

// stop ends the workload processes before the control plane (otherwise the API server waits
// for their watches to drain), then envtest.
func (c *Cluster) stop(t testing.TB) {
	for i := len(c.procs) - 1; i >= 0; i-- {
		p := c.procs[i]
		select {
		case <-p.done:
			if t.Failed() || !successfulExit(p.cmd) {
				t.Logf("%s exited early: %v\n%s", p.name, p.cmd.ProcessState, tail(p.log.Name(), 30))
			}
		default:
			_ = p.cmd.Process.Signal(syscall.SIGTERM)
			select {
			case <-p.done:
			case <-time.After(5 * time.Second):
				_ = p.cmd.Process.Kill()
				<-p.done
			}
			if t.Failed() {
				t.Logf("%s log (tail):\n%s", p.name, tail(p.log.Name(), 30))
			}
		}
		_ = p.log.Close()
	}
	for i := len(c.afterStop) - 1; i >= 0; i-- {
		c.afterStop[i]()
	}
	if err := c.env.Stop(); err != nil {
		t.Errorf("stop envtest: %v", err)
	}
}

func successfulExit(cmd *exec.Cmd) bool {
	return cmd.ProcessState != nil && cmd.ProcessState.Success()
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	all := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return strings.Join(all, "\n")
}

func clientKey(name string) client.ObjectKey { return client.ObjectKey{Name: name} }

func writeFile(t testing.TB, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}

// Eventually is testenv.Eventually, for the tests that still call it here (test/cluster);
// new code calls testenv.Eventually.
var Eventually = testenv.Eventually[func() (bool, error)]
