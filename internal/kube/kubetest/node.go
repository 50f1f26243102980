package kubetest

import (
	"context"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	cri "k8s.io/cri-api/pkg/apis/runtime/v1"

	"github.com/dinfra/stack/internal/testenv"
)

// The real node's network: pods get addresses on a bridge of the cluster's own, whose
// gateway address is also the node's address and the cluster DNS server's.
const (
	// NodeName is the real node's name.
	NodeName = "kubetest-node"
	// CNIConfDir is where containerd's CRI plugin reads the pod network configuration
	// (scripts/cluster-host.sh points containerd at it).
	CNIConfDir = "/etc/dinfra-kubetest/net.d"
	// NodeIP is the node's address: the gateway of the pod bridge, where the cluster DNS listens.
	NodeIP      = "10.233.0.1"
	podCIDR     = "10.233.0.0/24"
	bridgeName  = "kubetest0"
	cniBinDir   = "/usr/lib/cni"
	criEndpoint = "/run/containerd/containerd.sock"
	// serviceCIDR is envtest's --service-cluster-ip-range: the only other destination pods
	// have a route to (through kube-proxy's rules on the node).
	serviceCIDR = "10.0.0.0/24"
	// unreachableMetric ranks the safety routes for the ranges above below every real one.
	unreachableMetric = "4242"
	// hostLock is held by the one real node a machine runs at a time.
	hostLock = "/run/dinfra-kubetest.lock"
)

// kernelSettings are host settings the real node changes and teardown puts back: IP
// forwarding (pods reaching Services through the node) and the kernel tunables kubelet sets
// when it starts (it refuses to start rather than leave them when protectKernelDefaults is on).
var kernelSettings = []string{
	"net/ipv4/ip_forward",
	"vm/overcommit_memory", "vm/panic_on_oom", "kernel/panic", "kernel/panic_on_oops",
	"kernel/keys/root_maxkeys", "kernel/keys/root_maxbytes",
}

// startRealNode runs a real node: a pod bridge with CNI, CoreDNS answering the cluster
// domain, kube-proxy in iptables mode, kube-network-policies enforcing NetworkPolicies and a
// kubelet on containerd. Volumes hostPath PersistentVolumes stand in for a storage
// provisioner. Everything it changes on the host is undone when the test ends.
func (c *Cluster) startRealNode(t testing.TB, volumes int) {
	t.Helper()
	kubelet := testenv.Binary(t, "KUBELET_BIN", "kubelet")
	proxy := testenv.Binary(t, "KUBE_PROXY_BIN", "kube-proxy")
	coredns := testenv.Binary(t, "COREDNS_BIN", "coredns")
	if os.Geteuid() != 0 {
		testenv.Missing(t, "a real kubelet needs root")
	}
	if _, err := os.Stat(criEndpoint); err != nil {
		testenv.Missing(t, "containerd is not running at "+criEndpoint+" (run scripts/cluster-host.sh)")
	}
	if _, err := os.Stat(filepath.Join(cniBinDir, "bridge")); err != nil {
		testenv.Missing(t, "no CNI plugins in "+cniBinDir+" (run scripts/cluster-host.sh)")
	}
	c.lockHost(t)
	// Holding the host, any pod sandbox is a killed run's: its containers would keep their
	// addresses and keep running.
	c.removeSandboxes(t, time.Time{})
	c.started = time.Now()

	c.saveKernelSettings(t)
	writeSysctl(t, "net/ipv4/ip_forward", "1")
	c.startBridge(t)
	c.forwardAPIServer(t)

	corefile := filepath.Join(c.dir, "Corefile")
	writeFile(t, corefile, fmt.Sprintf(`cluster.local:53 {
    bind %s
    errors
    kubernetes cluster.local {
        kubeconfig %s
    }
}
`, NodeIP, c.Kubeconfig))
	c.run(t, "coredns", coredns, "-conf", corefile)

	c.run(t, "kube-proxy", proxy,
		"--kubeconfig="+c.Kubeconfig,
		"--hostname-override="+NodeName,
		"--proxy-mode=iptables",
		"--cluster-cidr="+podCIDR,
		// NodePorts only on the cluster's own bridge, never on the host's interfaces.
		"--nodeport-addresses="+NodeIP+"/32",
		fmt.Sprintf("--healthz-bind-address=127.0.0.1:%d", testenv.FreePort(t)),
		fmt.Sprintf("--metrics-bind-address=127.0.0.1:%d", testenv.FreePort(t)),
		// Leave the host's conntrack limits as they are.
		"--conntrack-max-per-core=0",
		"--conntrack-tcp-timeout-established=0",
		"--conntrack-tcp-timeout-close-wait=0",
	)
	c.afterStop = append(c.afterStop, func() { c.cleanupProxy(t, proxy) })
	c.startNetworkPolicies(t)

	root := filepath.Join(c.dir, "kubelet")
	config := filepath.Join(c.dir, "kubelet.yaml")
	writeFile(t, config, fmt.Sprintf(`apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://%s
cgroupDriver: cgroupfs
# This machine has cgroup v1 (hybrid); kubelet v1.35+ refuses it unless told otherwise.
failCgroupV1: false
failSwapOn: false
address: %s
port: %d
readOnlyPort: 0
healthzPort: 0
# The API server's logs, exec and port-forward calls come without a client certificate
# (envtest has none for it): anonymous and allowed, on an address only the node's own bridge
# reaches. A test cluster only.
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
authorization:
  mode: AlwaysAllow
clusterDNS: [%s]
clusterDomain: cluster.local
resolvConf: ""
serializeImagePulls: false
# Downward API files (the backup step's hold annotation) follow their pod within this, not
# the default minute.
syncFrequency: 10s
# Container logs in the test's directory, not /var/log/pods.
podLogsDir: %s
# A test machine's disk and memory fill with other work: never evict the test's pods for it,
# and never garbage-collect the images built here (there is no registry to pull them again).
evictionHard: {memory.available: "1Mi", nodefs.available: "1%%", imagefs.available: "1%%", nodefs.inodesFree: "1%%"}
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
`, criEndpoint, NodeIP, testenv.FreePort(t), NodeIP, filepath.Join(c.dir, "pod-logs")))
	c.run(t, "kubelet", kubelet,
		"--kubeconfig="+c.Kubeconfig,
		"--config="+config,
		"--root-dir="+root,
		"--hostname-override="+NodeName,
		"--node-ip="+NodeIP,
	)
	// Pods still running when the kubelet stops are stopped through the runtime, which
	// releases their addresses; then nothing of the kubelet stays mounted.
	c.afterStop = append(c.afterStop, func() {
		if t.Failed() {
			logPodLogs(t, filepath.Join(c.dir, "pod-logs"))
		}
		c.removeSandboxes(t, c.started)
		unmountUnder(t, root)
		removeCgroups(t, "kubepods")
		removeKubeletChains()
	})

	c.addVolumes(t, volumes)
	c.waitNodeReady(t)
}

// lockHost waits until no other real node runs on this machine (they would share the bridge,
// the CNI configuration and containerd) and holds the machine until this one's teardown ends.
func (c *Cluster) lockHost(t testing.TB) {
	t.Helper()
	f, err := os.OpenFile(hostLock, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("lock %s: %v", hostLock, err)
	}
	c.afterStop = append(c.afterStop, func() { _ = f.Close() })
}

// saveKernelSettings records the host settings the node changes and restores them on stop.
func (c *Cluster) saveKernelSettings(t testing.TB) {
	saved := map[string]string{}
	for _, k := range kernelSettings {
		if b, err := os.ReadFile(filepath.Join("/proc/sys", k)); err == nil {
			saved[k] = strings.TrimSpace(string(b))
		}
	}
	c.afterStop = append(c.afterStop, func() {
		for k, v := range saved {
			writeSysctl(t, k, v)
		}
	})
}

func writeSysctl(t testing.TB, key, value string) {
	if err := os.WriteFile(filepath.Join("/proc/sys", key), []byte(value), 0o644); err != nil {
		t.Errorf("set %s=%s: %v", key, value, err)
	}
}

// startBridge creates the pod bridge with the node's address (so CoreDNS and the kubelet
// can bind to it before the first pod) and the CNI configuration that attaches pods to it.
// Pods get a route to the Service range only: nothing else is reachable from them.
func (c *Cluster) startBridge(t testing.TB) {
	t.Helper()
	_ = exec.Command("ip", "link", "del", bridgeName).Run() // left by a killed test run
	// Unreachable routes under the bridge's, kept until everything else is undone: while the
	// bridge is missing (not yet made, already deleted, or kube-proxy gone), packets for the
	// test's ranges fail here instead of leaving by the host's default route.
	for _, cidr := range []string{podCIDR, serviceCIDR} {
		_ = exec.Command("ip", "route", "del", "unreachable", cidr, "metric", unreachableMetric).Run() // left by a killed run
		if out, err := exec.Command("ip", "route", "add", "unreachable", cidr, "metric", unreachableMetric).CombinedOutput(); err != nil {
			t.Fatalf("ip route add unreachable %s: %v: %s", cidr, err, out)
		}
		c.afterStop = append(c.afterStop, func() {
			if out, err := exec.Command("ip", "route", "del", "unreachable", cidr, "metric", unreachableMetric).CombinedOutput(); err != nil {
				t.Errorf("ip route del unreachable %s: %v: %s", cidr, err, out)
			}
		})
	}
	for _, args := range [][]string{
		{"link", "add", bridgeName, "type", "bridge"},
		{"addr", "add", NodeIP + "/24", "dev", bridgeName},
		{"link", "set", bridgeName, "up"},
		// Service addresses from the host go to the bridge (kube-proxy rewrites them to pods),
		// never out of the host's own interfaces.
		{"route", "add", serviceCIDR, "dev", bridgeName},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	c.afterStop = append(c.afterStop, func() {
		if out, err := exec.Command("ip", "link", "del", bridgeName).CombinedOutput(); err != nil {
			t.Errorf("delete bridge %s: %v: %s", bridgeName, err, out)
		}
	})
	if err := os.MkdirAll(CNIConfDir, 0o755); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(CNIConfDir, "10-kubetest.conflist")
	writeFile(t, conf, fmt.Sprintf(`{
  "cniVersion": "1.0.0",
  "name": "kubetest",
  "plugins": [
    {
      "type": "bridge",
      "bridge": %q,
      "isGateway": true,
      "ipMasq": false,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "dataDir": %q,
        "ranges": [[{"subnet": %q, "gateway": %q}]],
        "routes": [{"dst": %q}]
      }
    },
    {"type": "portmap", "capabilities": {"portMappings": true}}
  ]
}
`, bridgeName, filepath.Join(c.dir, "cni-ipam"), podCIDR, NodeIP, serviceCIDR))
	c.afterStop = append(c.afterStop, func() { _ = os.Remove(conf) })
}

// cleanupProxy removes kube-proxy's iptables chains once it has stopped.
func (c *Cluster) cleanupProxy(t testing.TB, proxy string) {
	if out, err := exec.Command(proxy, "--cleanup").CombinedOutput(); err != nil {
		t.Errorf("kube-proxy --cleanup: %v: %s", err, out)
	}
}

// removeSandboxes stops and removes, through containerd's CRI API, every pod sandbox made
// since a time: their containers end and CNI releases their addresses.
func (c *Cluster) removeSandboxes(t testing.TB, since time.Time) {
	conn, err := grpc.NewClient("unix://"+criEndpoint, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Errorf("connect to containerd: %v", err)
		return
	}
	defer conn.Close()
	rt := cri.NewRuntimeServiceClient(conn)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	list, err := rt.ListPodSandbox(ctx, &cri.ListPodSandboxRequest{})
	if err != nil {
		t.Errorf("list pod sandboxes: %v", err)
		return
	}
	for _, s := range list.Items {
		if time.Unix(0, s.CreatedAt).Before(since) {
			continue
		}
		if _, err := rt.StopPodSandbox(ctx, &cri.StopPodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			t.Errorf("stop sandbox of pod %s/%s: %v", s.Metadata.Namespace, s.Metadata.Name, err)
		}
		if _, err := rt.RemovePodSandbox(ctx, &cri.RemovePodSandboxRequest{PodSandboxId: s.Id}); err != nil {
			t.Errorf("remove sandbox of pod %s/%s: %v", s.Metadata.Namespace, s.Metadata.Name, err)
		}
	}
}

// unmountUnder unmounts whatever is still mounted below dir (deepest first), so the test's
// temporary directory can be removed.
func unmountUnder(t testing.TB, dir string) {
	b, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Errorf("read mounts: %v", err)
		return
	}
	var points []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) > 4 && (f[4] == dir || strings.HasPrefix(f[4], dir+"/")) {
			points = append(points, f[4])
		}
	}
	for i := len(points) - 1; i >= 0; i-- {
		if out, err := exec.Command("umount", "-l", points[i]).CombinedOutput(); err != nil {
			t.Errorf("umount %s: %v: %s", points[i], err, out)
		}
	}
}

// removeKubeletChains removes the iptables chains the kubelet makes at start and never
// removes (kube-proxy --cleanup leaves them): its canaries, the iptables hint and the
// firewall chain dropping non-local packets to 127.0.0.0/8, with the jumps to it.
func removeKubeletChains() {
	for _, cmd := range []string{"iptables", "ip6tables"} {
		for _, args := range [][]string{
			{"-t", "filter", "-D", "INPUT", "-j", "KUBE-FIREWALL"},
			{"-t", "filter", "-D", "OUTPUT", "-j", "KUBE-FIREWALL"},
			{"-t", "filter", "-F", "KUBE-FIREWALL"},
			{"-t", "filter", "-X", "KUBE-FIREWALL"},
			{"-t", "filter", "-X", "KUBE-KUBELET-CANARY"},
			{"-t", "nat", "-X", "KUBE-KUBELET-CANARY"},
			{"-t", "mangle", "-X", "KUBE-KUBELET-CANARY"},
			{"-t", "mangle", "-X", "KUBE-IPTABLES-HINT"},
		} {
			_ = exec.Command(cmd, args...).Run() // absent when the kubelet did not get that far
		}
	}
}

// removeCgroups removes the kubelet's (by then empty) cgroup tree name from every cgroup v1
// hierarchy, deepest first.
func removeCgroups(t testing.TB, name string) {
	roots, _ := filepath.Glob(filepath.Join("/sys/fs/cgroup", "*", name))
	for _, root := range roots {
		var dirs []string
		_ = filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
			if err == nil && d.IsDir() {
				dirs = append(dirs, path)
			}
			return nil
		})
		for i := len(dirs) - 1; i >= 0; i-- {
			if err := os.Remove(dirs[i]); err != nil {
				t.Errorf("remove cgroup: %v", err)
			}
		}
	}
}

// addVolumes creates hostPath PersistentVolumes in the test's directory: the volumes a
// storage provisioner would make, bound to claims by kube-controller-manager.
func (c *Cluster) addVolumes(t testing.TB, n int) {
	t.Helper()
	ctx := context.Background()
	for i := range n {
		dir := filepath.Join(c.dir, "volumes", strconv.Itoa(i))
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		// Any container user may write: hostPath volumes get no fsGroup ownership.
		if err := os.Chmod(dir, 0o777); err != nil {
			t.Fatal(err)
		}
		pv := &corev1.PersistentVolume{
			ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("kubetest-%d", i)},
			Spec: corev1.PersistentVolumeSpec{
				Capacity:                      corev1.ResourceList{corev1.ResourceStorage: resource.MustParse("1Ti")},
				AccessModes:                   []corev1.PersistentVolumeAccessMode{corev1.ReadWriteOnce},
				PersistentVolumeReclaimPolicy: corev1.PersistentVolumeReclaimRetain,
				PersistentVolumeSource: corev1.PersistentVolumeSource{
					HostPath: &corev1.HostPathVolumeSource{Path: dir},
				},
			},
		}
		if err := c.Client.Create(ctx, pv); err != nil {
			t.Fatalf("create volume %s: %v", pv.Name, err)
		}
	}
}

// waitNodeReady waits until the kubelet has registered the node and reports it Ready.
func (c *Cluster) waitNodeReady(t testing.TB) {
	t.Helper()
	testenv.Eventually(t, 2*time.Minute, "node "+NodeName+" Ready", func() (bool, error) {
		var node corev1.Node
		if err := c.Client.Get(context.Background(), clientKey(NodeName), &node); err != nil {
			return false, err
		}
		for _, cond := range node.Status.Conditions {
			if cond.Type == corev1.NodeReady {
				return cond.Status == corev1.ConditionTrue, fmt.Errorf("%s: %s", cond.Reason, cond.Message)
			}
		}
		return false, nil
	})
}

// logPodLogs logs the tail of every container log the kubelet kept (every restart has its
// own file), so a failed test shows what its pods said.
func logPodLogs(t testing.TB, dir string) {
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(path, ".log") {
			rel, _ := filepath.Rel(dir, path)
			t.Logf("pod log %s (tail):\n%s", rel, tail(path, 25))
		}
		return nil
	})
}
