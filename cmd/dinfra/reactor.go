package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/spf13/cobra"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/clientcmd"
	"sigs.k8s.io/controller-runtime/pkg/client"
	ctrlconfig "sigs.k8s.io/controller-runtime/pkg/client/config"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/keyring"
	onflocal "github.com/dinfra/stack/internal/local"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/boundary"
	"github.com/dinfra/stack/internal/reactor/cloudinit"
	"github.com/dinfra/stack/internal/reactor/cloudstack"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/kubernetes"
	reactorlocal "github.com/dinfra/stack/internal/reactor/local"
	"github.com/dinfra/stack/internal/reactor/machine"
	"github.com/dinfra/stack/internal/reactor/watcher"
)

func newReactorCmd() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "reactor",
		Short: "Run a Chain Reactor (the provider side of DINFRA) or check one for conformance",
		Example: `  dinfra reactor serve --driver local --token-file token
  dinfra reactor conformance --url http://127.0.0.1:8181 --token-file token`,
	}
	cmd.AddCommand(newReactorServeCmd(), newReactorWatchCmd(), newReactorConformanceCmd(), newReactorSuperviseCmd())
	return cmd
}

type serveFlags struct {
	driver     string
	listen     string
	tokenFile  string
	stateDir   string
	capacity   int64
	kubeconfig string
	tlsCert    string
	tlsKey     string
	clientCA   string
	gossamer   string
	readyWait  time.Duration
	// What consumers may ask for (the consumer boundary).
	nodesPerUnit int64
	chainHosts   []string
	chainNets    []string
	chainTimeout time.Duration
	// The machine driver (cloud-init/v1).
	machineImages  []string
	machineNetwork string
	machineAddr    string
	machineHost    string
	machineUnit    cloudinit.Unit
	podman         string
	// The cloudstack driver (cloud-init/v1).
	csURL, csCredentials, csZone     string
	csTemplates, csOfferings, csNets []string
	csForward                        bool
	csSSHSources                     []string
}

func newReactorServeCmd() *cobra.Command {
	var f serveFlags
	cmd := &cobra.Command{
		Use:   "serve",
		Short: "Serve the Chain Reactor API over a driver",
		Long: `Serves the Chain Reactor API (api/reactor/openapi.yaml) and runs what it accepts with a
driver. The local driver runs each substrate-network deployment as its own network of
local processes (the Open Node Framework local runtime, state under --state-dir) with the
provider's node binaries and reports every node's RPC endpoints. The kubernetes driver creates a namespace per deployment holding a SubstrateNetwork
object, a NetworkPolicy and a ResourceQuota of --capacity units in the cluster of --kubeconfig
(or the in-cluster / $KUBECONFIG configuration). The machine driver runs each cloud-init/v1
deployment as a podman container from an image with sshd (--machine-image, built by
scripts/images.sh build machine) on --machine-network, limited to the descriptor's CPUs and
memory (one unit buys --machine-unit-cpus and --machine-unit-memory-mib), and publishes its
SSH on --machine-address; consumers log in with 'dinfra ssh'. The cloudstack driver deploys
each cloud-init/v1 deployment as a virtual machine of the CloudStack at --cloudstack-url
(credentials from the 0600 JSON file --cloudstack-credentials) in --cloudstack-zone, from
the template --cloudstack-template maps its image to, on the smallest --cloudstack-offering
that holds it; the consumer's key is registered as its SSH key pair. On an isolated
network, --cloudstack-port-forwarding gives each machine a public address with SSH
forwarded to it from --cloudstack-ssh-source (docs/cloudstack.md).

Clients authenticate with the bearer token in --token-file, or with a client certificate
signed by --client-ca when TLS is on.

Consumers choose only what a descriptor may say (docs/reactor.md, "The consumer
boundary"): never binaries, files, node arguments, keys on disk or gateways. A deployment
runs at most --nodes-per-unit nodes per unit paid for. Chain spec URLs are refused unless
their host is listed with --chain-url-host; listed ones are fetched within
--chain-fetch-timeout, without redirects and never from loopback, private or link-local
addresses (a mirror of your own in such a range: --chain-url-allow-net).`,
		Example: `  head -c 32 /dev/urandom | base64 > reactor.token
  dinfra reactor serve --driver local --gossamer-bin "$GOSSAMER_BIN" --token-file reactor.token --capacity 2
  dinfra reactor serve --driver kubernetes --listen 127.0.0.1:8080 --token-file reactor.token --capacity 16
  podman network create --internal dinfra-machines
  dinfra reactor serve --driver machine --token-file reactor.token --capacity 8 \
    --machine-image debian-12=$(scripts/images.sh build machine) --machine-network dinfra-machines \
    --machine-address 203.0.113.7
  dinfra reactor serve --driver cloudstack --token-file reactor.token --capacity 16 \
    --cloudstack-url https://cloud.example.net/client/api --cloudstack-credentials cloudstack.json \
    --cloudstack-zone zone-1 --cloudstack-template debian-12=debian-12-cloudinit \
    --cloudstack-offering small --cloudstack-offering large
  dinfra reactor serve --driver cloudstack --token-file reactor.token --capacity 16 \
    --cloudstack-url https://cloud.example.net/client/api --cloudstack-credentials cloudstack.json \
    --cloudstack-zone zone-1 --cloudstack-template debian-12=debian-12-cloudinit --cloudstack-offering small \
    --cloudstack-network 9c0e4d2b-... --cloudstack-port-forwarding --cloudstack-ssh-source 0.0.0.0/0`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error { return serve(cmd.Context(), f) },
	}
	fl := cmd.Flags()
	fl.StringVar(&f.driver, "driver", "local", "infrastructure driver: local, kubernetes, machine or cloudstack")
	fl.StringVar(&f.listen, "listen", "127.0.0.1:8080", "address to listen on")
	fl.StringVar(&f.tokenFile, "token-file", "", "file holding the bearer token clients must present")
	fl.StringVar(&f.stateDir, "state-dir", "", "directory persisting the deployments (default: <data dir>/dinfra/reactor)")
	fl.Int64Var(&f.capacity, "capacity", 8, "units of capacity offered")
	fl.StringVar(&f.kubeconfig, "kubeconfig", "", "kubeconfig of the cluster (kubernetes driver)")
	fl.StringVar(&f.tlsCert, "tls-cert", "", "serve HTTPS with this certificate (PEM)")
	fl.StringVar(&f.tlsKey, "tls-key", "", "private key of --tls-cert (PEM)")
	fl.StringVar(&f.clientCA, "client-ca", "", "accept client certificates signed by these CAs (PEM; needs --tls-cert)")
	fl.StringVar(&f.gossamer, "gossamer-bin", "gossamer", "gossamer binary the local driver runs")
	fl.DurationVar(&f.readyWait, "ready-timeout", 2*time.Minute, "how long the local driver waits for a network's nodes to answer RPC")
	fl.Int64Var(&f.nodesPerUnit, "nodes-per-unit", boundary.DefaultNodesPerUnit, "nodes (and, on kubernetes, pods) one unit buys; a deployment needing more is refused")
	fl.StringArrayVar(&f.chainHosts, "chain-url-host", nil, "host consumers may name in chain spec URLs (repeatable; none: chain URLs are refused)")
	fl.StringArrayVar(&f.chainNets, "chain-url-allow-net", nil, "non-public address range (CIDR) chain spec URLs may still reach, such as your own mirror (repeatable)")
	fl.DurationVar(&f.chainTimeout, "chain-fetch-timeout", 30*time.Second, "how long fetching a consumer's chain spec may take")
	unit := cloudinit.DefaultUnit()
	fl.StringArrayVar(&f.machineImages, "machine-image", nil, "machine driver: NAME=IMAGE, an image consumers may name in a descriptor's image (repeatable)")
	fl.StringVar(&f.machineNetwork, "machine-network", "", "machine driver: podman network of the machines (create it with --internal to keep them off every other network)")
	fl.StringVar(&f.machineAddr, "machine-address", "127.0.0.1", "machine driver: address machines' SSH is published on")
	fl.StringVar(&f.machineHost, "machine-public-host", "", "machine driver: host name consumers reach --machine-address by (default: the address)")
	fl.Int64Var(&f.machineUnit.CPUs, "machine-unit-cpus", unit.CPUs, "machine driver: CPUs one unit buys")
	fl.Int64Var(&f.machineUnit.MemoryMiB, "machine-unit-memory-mib", unit.MemoryMiB, "machine driver: memory (MiB) one unit buys")
	fl.Int64Var(&f.machineUnit.DiskGiB, "machine-unit-disk-gib", unit.DiskGiB, "machine driver: disk (GiB) one unit buys (not enforced by podman's overlay storage)")
	fl.StringVar(&f.podman, "podman", "podman --runtime /usr/sbin/runc", "machine driver: the podman command line")
	fl.StringVar(&f.csURL, "cloudstack-url", "", "cloudstack driver: the CloudStack API endpoint (https://HOST/client/api)")
	fl.StringVar(&f.csCredentials, "cloudstack-credentials", "", `cloudstack driver: 0600 JSON file {"apiKey": "...", "secretKey": "..."} of the account machines are deployed in`)
	fl.StringVar(&f.csZone, "cloudstack-zone", "", "cloudstack driver: zone machines are deployed in (name or id)")
	fl.StringArrayVar(&f.csTemplates, "cloudstack-template", nil, "cloudstack driver: NAME=TEMPLATE, an image consumers may name and its template (name or id; repeatable)")
	fl.StringArrayVar(&f.csOfferings, "cloudstack-offering", nil, "cloudstack driver: service offering machines may run on (name or id; repeatable; the smallest that holds a machine is used)")
	fl.StringArrayVar(&f.csNets, "cloudstack-network", nil, "cloudstack driver: network id machines join (repeatable; none: the zone's default)")
	fl.BoolVar(&f.csForward, "cloudstack-port-forwarding", false, "cloudstack driver: give each machine a public address of its (isolated) network with port 22 forwarded to it, and report that address")
	fl.StringArrayVar(&f.csSSHSources, "cloudstack-ssh-source", nil, "cloudstack driver: with --cloudstack-port-forwarding, a CIDR the firewall lets reach SSH (repeatable; none: 0.0.0.0/0)")
	return cmd
}

func serve(ctx context.Context, f serveFlags) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	auth := reactor.Auth{}
	if f.tokenFile != "" {
		tok, err := reactor.ReadToken(f.tokenFile)
		if err != nil {
			return err
		}
		auth.Token = tok
	}
	if f.clientCA != "" {
		if f.tlsCert == "" {
			return errors.New("--client-ca needs --tls-cert and --tls-key")
		}
		pool, err := reactor.LoadClientCAs(f.clientCA)
		if err != nil {
			return err
		}
		auth.ClientCAs = pool
	}
	if f.stateDir == "" {
		f.stateDir = defaultReactorStateDir()
	}
	driver, err := newDriver(f)
	if err != nil {
		return err
	}
	reg, err := descriptor.NewRegistry()
	if err != nil {
		return err
	}
	srv, err := reactor.New(reactor.Config{Driver: driver, Registry: reg, Auth: auth, StateDir: filepath.Join(f.stateDir, "deployments"), Logger: log,
		Boundary: boundary.Policy{NodesPerUnit: f.nodesPerUnit, ChainHosts: f.chainHosts}})
	if err != nil {
		return err
	}
	defer srv.Close()
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	if f.tlsCert != "" {
		if hs.TLSConfig, err = auth.TLSConfig(f.tlsCert, f.tlsKey); err != nil {
			return err
		}
	}
	ln, err := net.Listen("tcp", f.listen)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	ctx, stop := signal.NotifyContext(ctx, os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		shutdown, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = hs.Shutdown(shutdown)
	}()
	log.Info("chain reactor serving", "driver", driver.Name(), "addr", ln.Addr().String(), "tls", hs.TLSConfig != nil)
	if hs.TLSConfig != nil {
		err = hs.ServeTLS(ln, "", "")
	} else {
		err = hs.Serve(ln)
	}
	if errors.Is(err, http.ErrServerClosed) {
		return nil
	}
	return err
}

func defaultReactorStateDir() string {
	return filepath.Join(filepath.Dir(descriptor.DefaultDir()), "reactor")
}

func newDriver(f serveFlags) (reactor.Driver, error) {
	switch f.driver {
	case "local":
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		rt := &onflocal.Runtime{Home: filepath.Join(f.stateDir, "onf"), Supervisor: []string{self, "reactor", "supervise"}}
		fetch := reactorlocal.DefaultChainFetch()
		fetch.Timeout = f.chainTimeout
		for _, n := range f.chainNets {
			p, err := netip.ParsePrefix(n)
			if err != nil {
				return nil, fmt.Errorf("--chain-url-allow-net %q: %w", n, err)
			}
			fetch.AllowPrefixes = append(fetch.AllowPrefixes, p)
		}
		return reactorlocal.New(rt, reactorlocal.Binaries{v1alpha1.FlavorGossamer: f.gossamer}, f.capacity, f.readyWait).WithChainFetch(fetch), nil
	case "kubernetes":
		cfg, err := ctrlconfig.GetConfig()
		if f.kubeconfig != "" {
			cfg, err = clientcmd.BuildConfigFromFlags("", f.kubeconfig)
		}
		if err != nil {
			return nil, fmt.Errorf("kubernetes configuration: %w", err)
		}
		c, err := client.New(cfg, client.Options{Scheme: scheme.Scheme})
		if err != nil {
			return nil, fmt.Errorf("kubernetes client: %w", err)
		}
		unit := kubernetes.DefaultUnitSize()
		unit.Pods = f.nodesPerUnit
		return kubernetes.New(c, f.capacity, unit), nil
	case "machine":
		images, err := namedValues("--machine-image", "NAME=IMAGE", f.machineImages)
		if err != nil {
			return nil, err
		}
		d, err := machine.New(machine.Config{Podman: strings.Fields(f.podman), Images: images, Capacity: f.capacity, Unit: f.machineUnit,
			Network: f.machineNetwork, PublishAddress: f.machineAddr, PublicHost: f.machineHost, ReadyTimeout: f.readyWait})
		if err != nil {
			return nil, fmt.Errorf("--driver machine: %w", err)
		}
		return d, nil
	case "cloudstack":
		templates, err := namedValues("--cloudstack-template", "NAME=TEMPLATE", f.csTemplates)
		if err != nil {
			return nil, err
		}
		raw, err := readPrivateFile(f.csCredentials)
		if err != nil {
			return nil, fmt.Errorf("--cloudstack-credentials: %w", err)
		}
		var cred struct {
			APIKey    string `json:"apiKey"`
			SecretKey string `json:"secretKey"`
		}
		if err := json.Unmarshal(raw, &cred); err != nil || cred.APIKey == "" || cred.SecretKey == "" {
			return nil, fmt.Errorf(`--cloudstack-credentials %s: want {"apiKey": "...", "secretKey": "..."}`, f.csCredentials)
		}
		d, err := cloudstack.New(cloudstack.Config{APIURL: f.csURL, APIKey: cred.APIKey, SecretKey: cred.SecretKey, Zone: f.csZone,
			Templates: templates, Offerings: f.csOfferings, Networks: f.csNets, PortForwarding: f.csForward, SSHSources: f.csSSHSources, Capacity: f.capacity, Unit: f.machineUnit, ReadyTimeout: f.readyWait})
		if err != nil {
			return nil, fmt.Errorf("--driver cloudstack: %w", err)
		}
		return d, nil
	}
	return nil, fmt.Errorf("--driver %q: want local, kubernetes, machine or cloudstack", f.driver)
}

// namedValues parses repeated NAME=VALUE flags into a map.
func namedValues(flag, form string, kvs []string) (map[string]string, error) {
	out := map[string]string{}
	for _, kv := range kvs {
		name, value, ok := strings.Cut(kv, "=")
		if !ok || name == "" || value == "" {
			return nil, fmt.Errorf("%s %q: want %s", flag, kv, form)
		}
		out[name] = value
	}
	return out, nil
}

func newReactorWatchCmd() *cobra.Command {
	var (
		nf                            nodeFlags
		kf                            keyFlags
		store                         storeFlags
		reactorURL, tokenFile, height string
		reconcile                     time.Duration
	)
	cmd := &cobra.Command{
		Use:   "watch",
		Short: "Follow the chain for a provider account and drive its Chain Reactor",
		Long: `Follows the chain at --node for the provider account --from: deploys every subscription
awarded to it through the Chain Reactor at --reactor-url, tears down what ends, reports
deployed (with endpoints) or failed status with signed transactions, and reconciles the
chain's live set with the reactor's list on start and every --reconcile. The last applied
height is kept in --height-file, so a restart catches up and never tears down what runs.
Descriptors are read from the descriptor store (see dinfra descriptor).`,
		Example: `  dinfra reactor watch --node http://127.0.0.1:26657 --from provider.secret \
    --reactor-url http://127.0.0.1:8080 --token-file reactor.token --ipfs-api http://127.0.0.1:5001`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, nil))
			pair, err := kf.pair(cmd)
			if err != nil {
				return err
			}
			token, err := reactor.ReadToken(tokenFile)
			if err != nil {
				return err
			}
			rc, err := reactor.NewClient(reactor.ClientConfig{URL: reactorURL, Token: token})
			if err != nil {
				return err
			}
			st, err := store.open()
			if err != nil {
				return err
			}
			reg, err := descriptor.NewRegistry()
			if err != nil {
				return err
			}
			cc, err := nf.client()
			if err != nil {
				return err
			}
			defer cc.Close()
			ctx, stop := signal.NotifyContext(cmd.Context(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			view, err := watcher.NewCometChain(ctx, cc, cc.Signer(pair))
			if err != nil {
				return err
			}
			w, err := watcher.New(watcher.Config{Provider: pair.Address(keyring.SubstratePrefix), Chain: view, Reactor: rc,
				Store: st, Registry: reg, StateFile: height, ReconcileEvery: reconcile, Logger: log})
			if err != nil {
				return err
			}
			log.Info("watching", "chain", view.ChainID(), "provider", pair.Address(keyring.SubstratePrefix), "reactor", reactorURL, "from_height", w.Height()+1)
			return w.Run(ctx)
		},
	}
	nf.register(cmd)
	kf.register(cmd, fromHelp)
	store.register(cmd.Flags())
	fl := cmd.Flags()
	fl.StringVar(&reactorURL, "reactor-url", "http://127.0.0.1:8080", "base URL of the Chain Reactor")
	fl.StringVar(&tokenFile, "token-file", "", "file holding the reactor's bearer token")
	fl.StringVar(&height, "height-file", filepath.Join(defaultReactorStateDir(), "watcher-height"), "file keeping the last applied height")
	fl.DurationVar(&reconcile, "reconcile", 30*time.Second, "period of the full comparison of chain and reactor")
	_ = cmd.MarkFlagRequired("token-file")
	return cmd
}

// newReactorSuperviseCmd is the process the local driver starts for each network: the Open
// Node Framework supervisor, run from the dinfra binary so providers need no second tool.
func newReactorSuperviseCmd() *cobra.Command {
	var home string
	cmd := &cobra.Command{
		Use:     "supervise --home DIR NETWORK",
		Short:   "Supervise one local network's node processes (started by the local driver)",
		Example: `  dinfra reactor supervise --home ~/.local/share/dinfra/reactor/onf dinfra-42`,
		Hidden:  true,
		Args:    cobra.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			log := slog.New(slog.NewTextHandler(os.Stderr, nil)).With("network", args[0])
			return onflocal.Supervise(cmd.Context(), home, args[0], log)
		},
	}
	cmd.Flags().StringVar(&home, "home", "", "the local runtime's home directory")
	_ = cmd.MarkFlagRequired("home")
	return cmd
}

func newReactorConformanceCmd() *cobra.Command {
	var (
		url, tokenFile, caFile, certFile, keyFile string
		failing                                   []string
		timeout                                   time.Duration
	)
	cmd := &cobra.Command{
		Use:   "conformance",
		Short: "Check a Chain Reactor API implementation against the specification",
		Long: `Runs the conformance checks against the reactor at --url: health without credentials,
authentication on every other endpoint, capabilities (schema CIDs of built-in types as on
chain), unknown type (422), invalid descriptor (400 with field paths and reasons), CID
mismatch (400), malformed requests (400), more units than the reactor has (507), unknown id
(404 / 204), idempotent deploy, id reuse (409), sorted list and capacity consistency, the
deployment reaching Running, and idempotent teardown (409 on a redeploy meanwhile, capacity
freed). It deploys one sample descriptor of a built-in type the reactor serves (and a second
one when there is room) and tears them down again. Exits non-zero when a check fails.

What makes a deployment fail is the provider's: give a descriptor that your reactor accepts
but cannot run with --failing-descriptor TYPE=FILE (an image you list whose template is
gone, a size no host has) and the suite checks that it ends Failed with a public reason,
keeps its units until torn down and tears down; without it that check is skipped.`,
		Example: `  dinfra reactor conformance --url http://127.0.0.1:8080 --token-file reactor.token
  dinfra reactor conformance --url http://127.0.0.1:8080 --token-file reactor.token \
    --failing-descriptor cloud-init/v1=failing-vm.json
  dinfra reactor conformance --url https://reactor.example.net --ca-file ca.pem --cert client.pem --key client-key.pem`,
		Args: cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg := conformance.Config{URL: url, DeployTimeout: timeout, Failing: map[string][]byte{}}
			for _, tf := range failing {
				typ, file, ok := strings.Cut(tf, "=")
				if !ok || typ == "" || file == "" {
					return fmt.Errorf("--failing-descriptor %q: want TYPE=FILE", tf)
				}
				doc, err := os.ReadFile(file)
				if err != nil {
					return fmt.Errorf("--failing-descriptor %s: %w", typ, err)
				}
				cfg.Failing[typ] = doc
			}
			if tokenFile != "" {
				tok, err := reactor.ReadToken(tokenFile)
				if err != nil {
					return err
				}
				cfg.Token = tok
			}
			if caFile != "" || certFile != "" {
				tlsCfg, err := clientTLS(caFile, certFile, keyFile)
				if err != nil {
					return err
				}
				cfg.HTTP = &http.Client{Timeout: time.Minute, Transport: &http.Transport{TLSClientConfig: tlsCfg}}
			}
			report, err := conformance.Run(cmd.Context(), cfg)
			if err != nil {
				return err
			}
			out := cmd.OutOrStdout()
			skips := 0
			for _, r := range report {
				switch {
				case r.Err != nil:
					fmt.Fprintf(out, "FAIL  %s\n      %v\n", r.Name, r.Err)
				case r.Skipped != "":
					skips++
					fmt.Fprintf(out, "SKIP  %s\n      %s\n", r.Name, r.Skipped)
				default:
					fmt.Fprintf(out, "ok    %s\n", r.Name)
				}
			}
			if n := report.Failed(); n > 0 {
				return fmt.Errorf("%d of %d conformance checks failed", n, len(report))
			}
			fmt.Fprintf(out, "all %d checks passed (%d skipped)\n", len(report)-skips, skips)
			return nil
		},
	}
	fl := cmd.Flags()
	fl.StringVar(&url, "url", "", "base URL of the reactor (required)")
	fl.StringVar(&tokenFile, "token-file", "", "file holding the bearer token")
	fl.StringVar(&caFile, "ca-file", "", "CA certificates (PEM) that sign the reactor's certificate")
	fl.StringVar(&certFile, "cert", "", "client certificate (PEM) for mutual TLS")
	fl.StringVar(&keyFile, "key", "", "private key of --cert (PEM)")
	fl.DurationVar(&timeout, "timeout", 2*time.Minute, "how long a deployment may take to run and to disappear")
	fl.StringArrayVar(&failing, "failing-descriptor", nil, "TYPE=FILE: a descriptor of TYPE the reactor accepts but cannot run, for the Failed check (repeatable)")
	_ = cmd.MarkFlagRequired("url")
	return cmd
}

func clientTLS(caFile, certFile, keyFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile != "" {
		pem, err := os.ReadFile(caFile)
		if err != nil {
			return nil, fmt.Errorf("read --ca-file: %w", err)
		}
		cfg.RootCAs = x509.NewCertPool()
		if !cfg.RootCAs.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("--ca-file %s: no PEM certificate", caFile)
		}
	}
	if certFile != "" {
		cert, err := tls.LoadX509KeyPair(certFile, keyFile)
		if err != nil {
			return nil, fmt.Errorf("client certificate: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	return cfg, nil
}

func init() { rootCmd.AddCommand(newReactorCmd()) }
