// Command kube-network-policies is sigs.k8s.io/kube-network-policies' NetworkPolicy engine
// (nftables sends the first packet of each connection of a pod that a policy selects to an
// NFQUEUE, where the controller accepts or drops it) for the real-pod tests' node. Unlike
// upstream's command, which runs in a pod, it reads a kubeconfig, names its nftables table
// and queue, removes the table on SIGTERM as well as SIGINT, and --cleanup removes a table a
// killed run left behind.
//
// Kernels built without nftables' queue expression (CONFIG_NFT_QUEUE) refuse upstream's
// rules ("netlink receive: no such file or directory"): --steer-cidr then sends the new
// connections from or to that range to the queue with iptables' NFQUEUE target instead, in
// a mangle chain of its own that the command removes on exit and with --cleanup.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/google/nftables"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/klog/v2"
	"sigs.k8s.io/kube-network-policies/pkg/networkpolicy"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kube-network-policies:", err)
		os.Exit(1)
	}
}

func run() error {
	kubeconfig := flag.String("kubeconfig", "", "kubeconfig of the cluster whose NetworkPolicies are enforced (required)")
	node := flag.String("hostname-override", "", "name of the Node whose pods are policed (required)")
	table := flag.String("nftables-table", "kube-network-policies", "name of the inet nftables table the rules go in")
	queue := flag.Int("nfqueue-id", 100, "NFQUEUE number the packets are judged on")
	metrics := flag.String("metrics-bind-address", "127.0.0.1:0", "address:port of the metrics server")
	cleanup := flag.Bool("cleanup", false, "delete the nftables table (and the --steer-cidr chain) and exit")
	steer := flag.String("steer-cidr", "", "send new connections from or to this range to the queue with iptables (for kernels without nft_queue)")
	klog.InitFlags(nil)
	flag.Usage = func() {
		fmt.Fprint(os.Stderr, `Usage: kube-network-policies --kubeconfig FILE --hostname-override NODE [options]

Examples:
  kube-network-policies --kubeconfig kubeconfig --hostname-override node-1 --nftables-table test
  kube-network-policies --cleanup --nftables-table test

`)
		flag.PrintDefaults()
	}
	flag.Parse()
	chain := steerChain(*queue)
	if *cleanup {
		return errors.Join(deleteTable(*table), unsteer(chain))
	}
	if *kubeconfig == "" || *node == "" {
		return errors.New("--kubeconfig and --hostname-override are required")
	}
	if _, _, err := net.SplitHostPort(*metrics); err != nil {
		return fmt.Errorf("--metrics-bind-address: %w", err)
	}
	config, err := clientcmd.BuildConfigFromFlags("", *kubeconfig)
	if err != nil {
		return fmt.Errorf("--kubeconfig: %w", err)
	}
	client, err := kubernetes.NewForConfig(config)
	if err != nil {
		return err
	}

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGINT, syscall.SIGTERM)
	defer stop()

	http.Handle("/metrics", promhttp.Handler())
	go func() { klog.Error(http.ListenAndServe(*metrics, nil)) }()

	factory := informers.NewSharedInformerFactory(client, 0)
	controller, err := networkpolicy.NewController(client,
		factory.Networking().V1().NetworkPolicies(),
		factory.Core().V1().Namespaces(),
		factory.Core().V1().Pods(),
		nil, nil, nil, nil, // no (Baseline)AdminNetworkPolicy
		networkpolicy.Config{
			QueueID:     *queue,
			NodeName:    *node,
			NFTableName: *table,
			// Kernels 6.12+ carry the conntrack fix for DNS races: no prerouting workaround.
			NetfilterBug1766Fix: false,
			// NRI stays "enabled" although the runtime has none (its plugin just fails to
			// connect): v0.8.0 dereferences the nil plugin when NRI is disabled and a packet's
			// address belongs to no known pod.
		})
	if err != nil {
		return err
	}
	if *steer != "" {
		if _, err := netip.ParsePrefix(*steer); err != nil {
			return fmt.Errorf("--steer-cidr: %w", err)
		}
		if err := steerTo(chain, *steer, *queue); err != nil {
			return errors.Join(err, unsteer(chain))
		}
		defer func() { _ = unsteer(chain) }()
	}
	done := make(chan error, 1)
	go func() { done <- controller.Run(ctx) }()
	factory.Start(ctx.Done())

	select {
	case err := <-done: // the queue could not be opened: Run has removed its table
		return err
	case <-ctx.Done():
	}
	// Run removes its table when it returns.
	select {
	case err := <-done:
		return err
	case <-time.After(3 * time.Second):
		return deleteTable(*table)
	}
}

// steerChain names the mangle chain that steers packets to queue.
func steerChain(queue int) string { return fmt.Sprintf("NETPOL-QUEUE-%d", queue) }

// steerTo makes chain send the first packet of each connection from or to cidr, except those
// the host's root processes (kubelet probes, the tests) send, to queue, as upstream's nftables
// rules do, and hooks it into mangle POSTROUTING (after DNAT, before SNAT).
func steerTo(chain, cidr string, queue int) error {
	q := strconv.Itoa(queue)
	for _, args := range [][]string{
		{"-N", chain},
		{"-A", chain, "-m", "conntrack", "--ctstate", "ESTABLISHED,RELATED", "-j", "RETURN"},
		{"-A", chain, "-m", "owner", "--uid-owner", "0", "-j", "RETURN"},
		{"-A", chain, "-s", cidr, "-j", "NFQUEUE", "--queue-num", q},
		{"-A", chain, "-d", cidr, "-j", "NFQUEUE", "--queue-num", q},
		{"-I", "POSTROUTING", "-j", chain},
	} {
		if out, err := exec.Command("iptables", append([]string{"-w", "-t", "mangle"}, args...)...).CombinedOutput(); err != nil {
			return fmt.Errorf("iptables %s: %v: %s", strings.Join(args, " "), err, out)
		}
	}
	return nil
}

// unsteer removes chain and its jump; an absent one is no error.
func unsteer(chain string) error {
	mangle := func(args ...string) error {
		return exec.Command("iptables", append([]string{"-w", "-t", "mangle"}, args...)...).Run()
	}
	for mangle("-D", "POSTROUTING", "-j", chain) == nil {
	}
	if mangle("-L", chain, "-n") != nil {
		return nil
	}
	if err := errors.Join(mangle("-F", chain), mangle("-X", chain)); err != nil {
		return fmt.Errorf("remove iptables chain %s: %w", chain, err)
	}
	return nil
}

// deleteTable removes the inet table name (adding it first, so that a missing one is no error).
func deleteTable(name string) error {
	nft, err := nftables.New()
	if err != nil {
		return err
	}
	t := &nftables.Table{Name: name, Family: nftables.TableFamilyINet}
	nft.AddTable(t)
	nft.DelTable(t)
	return nft.Flush()
}
