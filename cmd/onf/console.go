package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/dinfra/stack/internal/backup"
	"github.com/dinfra/stack/internal/cluster"
	"github.com/dinfra/stack/internal/console"
	"github.com/dinfra/stack/internal/console/site"
	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/sessionkeys"
)

func init() {
	var (
		contexts      []string
		kubeconfig    string
		listen        string
		keys          string
		interval      time.Duration
		history       int
		noLocal       bool
		timeout       time.Duration
		backups       string
		jwtc          config.JWT
		proms         []string
		alertmanagers []string
	)
	cmd := &cobra.Command{
		Use:   "console",
		Short: "Serve a web console of every network: local ones and those in any number of clusters",
		Long: `console serves one web page for every network it is pointed at: the local networks
under the ONF home (one site) and the SubstrateNetworks in every namespace of each kubeconfig
context (one site each: a data centre, a cloud). The overview shows each network's
ready/desired nodes, best and finalized block, finality lag, fewest peers, chain and version;
a network's page shows its nodes by group (with their registered session keys and last
backup), the firing alerts of its Alertmanager (onf monitor up locally, --alertmanager for a
cluster), and plots block height, finality lag, peers over time, a block time histogram and
the RPC calls and refusals at the network's gateway (read from its metricsListen). The page
updates itself (server-sent events).

A background poller asks each site once per --interval: local networks as onf status does
(the supervisor's state and the nodes' RPC), clusters from the SubstrateNetworks' status and
their pods only (two list calls per site, never the nodes). Pages read that cache. A site whose
poll fails is shown unreachable with its last known networks. With --prometheus SITE=URL the
site's block heights, peers and sync state come from that Prometheus's query API (instant
queries of the onf recording rules) and its plots from query_range.

The console is read-only unless --api-keys names an API key file (the gateway's format, see
onf gateway key new) or --jwt-* accept bearer JWTs (as the gateway checks them: EdDSA or
HS256, issuer and audience). Then a key with role operator (the default role of a key; a JWT
needs the claim "role": "operator") may act from a network's page, after the user confirms
by typing the network's name: scale a group (onf scale), restart a node (onf restart), back
up a node (onf backup create: locally into --backups, in a cluster the backup CronJob), rotate a validator's session keys
(onf keys rotate; the controller's secret URI is typed into the confirmation, used for that
call only, never logged). The key travels in the X-Api-Key header, never in a cookie;
requests from other origins are refused. The console serves plain HTTP on loopback only: put
a TLS proxy in front of it to reach it from elsewhere. See docs/console.md.`,
		Example: `  onf console                                   # local networks, http://127.0.0.1:8080
  onf console --context eu-1 --context us-1     # plus two clusters of ~/.kube/config
  onf console --kubeconfig ~/.kube/fleet --context dc-a --context dc-b --no-local
  (echo keys:; onf gateway key new --id alice --role operator) > console-keys.yaml
  onf console --api-keys console-keys.yaml --listen 127.0.0.1:9090   # alice's key may act
  onf console --api-keys console-keys.yaml --backups 's3://chain-backups?region=eu-west-1'
  onf console --jwt-eddsa-public-key idp.pem --jwt-issuer https://idp.example --jwt-audience onf
  onf console --context eu-1 --prometheus eu-1=http://127.0.0.1:9090 --alertmanager eu-1=http://127.0.0.1:9093
  onf console --prometheus local=http://127.0.0.1:9091   # onf monitor status dev names it`,
		Args: cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := loopbackOnly(listen); err != nil {
				return err
			}
			log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), nil))
			var sites []console.NamedSite
			where := map[string]clusterFlags{} // how onf keys finds each site's networks
			if !noLocal {
				rt, err := localRuntime()
				if err != nil {
					return err
				}
				if backups == "" {
					backups = filepath.Join(rt.Home, "backups") // onf backup's default --dest
				}
				store, err := backup.Open(c.Context(), backups)
				if err != nil {
					return fmt.Errorf("--backups: %w", err)
				}
				defer store.Close()
				sites = append(sites, console.NamedSite{Name: "local", Site: site.NewLocal(rt, timeout, store)})
				where["local"] = clusterFlags{}
			}
			if kubeconfig != "" && len(contexts) == 0 {
				contexts = []string{""} // the kubeconfig's current context
			}
			for _, ctx := range contexts {
				cl, err := cluster.New(cluster.Options{Kubeconfig: kubeconfig, Context: ctx})
				if err != nil {
					return fmt.Errorf("--context %s: %w", ctx, err)
				}
				cl.Namespace = "" // every namespace
				name := ctx
				if name == "" {
					name = "cluster"
				}
				sites = append(sites, console.NamedSite{Name: name, Site: site.Cluster{Client: cl, ScaleTimeout: timeout}})
				where[name] = clusterFlags{cluster: true, kubeconfig: kubeconfig, context: ctx}
			}
			if len(sites) == 0 {
				return errors.New("no site: drop --no-local or give --context or --kubeconfig")
			}
			if err := attachAlertmanagers(sites, alertmanagers); err != nil {
				return err
			}
			if err := attachPrometheus(sites, proms, time.Duration(history)*interval, interval); err != nil {
				return err
			}
			srv := &console.Server{ActionTimeout: timeout, Log: log, RotateKeys: rotateKeys(where)}
			if keys != "" {
				ks, err := auth.NewKeyStore(keys, console.RoleOperator, func(string) bool { return true })
				if err != nil {
					return fmt.Errorf("--api-keys: %w", err)
				}
				srv.Keys = ks
			}
			if jwtc.HS256SecretFile != "" || jwtc.EdDSAPublicKeyFile != "" {
				// No default role: a token acts only with "role": "operator" in its claims.
				v, err := auth.NewJWTVerifier(&jwtc, func(string) bool { return true })
				if err != nil {
					return fmt.Errorf("--jwt: %w", err)
				}
				srv.JWT = v
			} else if jwtc.Issuer != "" || jwtc.Audience != "" {
				return errors.New("--jwt-issuer and --jwt-audience need --jwt-eddsa-public-key or --jwt-hs256-secret-file")
			}
			srv.Cache = console.NewCache(sites, console.Options{Interval: interval, History: history, Log: log})
			return serveConsole(c.Context(), srv, listen, c.OutOrStdout(), log)
		},
	}
	f := cmd.Flags()
	f.StringArrayVar(&contexts, "context", nil, "kubeconfig context of a cluster to show (repeat for each cluster)")
	f.StringVar(&kubeconfig, "kubeconfig", "", "kubeconfig file of the contexts (default $KUBECONFIG or ~/.kube/config)")
	f.StringVar(&listen, "listen", "127.0.0.1:8080", "loopback address and port to serve on")
	f.StringVar(&keys, "api-keys", "", "API key file (the gateway's format) whose keys with role operator may act; none: read-only")
	f.DurationVar(&interval, "interval", 5*time.Second, "how often each site is polled")
	f.IntVar(&history, "history", 360, "samples kept per network for the plots")
	f.BoolVar(&noLocal, "no-local", false, "leave out the local networks under --home")
	f.DurationVar(&timeout, "action-timeout", 3*time.Minute, "how long an action may wait for the network to converge or a backup to finish")
	f.StringVar(&jwtc.EdDSAPublicKeyFile, "jwt-eddsa-public-key", "", "accept bearer JWTs signed with this Ed25519 public key (PEM); role claim operator may act")
	f.StringVar(&jwtc.HS256SecretFile, "jwt-hs256-secret-file", "", "accept bearer JWTs signed with the HS256 secret in this file (32 bytes or more)")
	f.StringVar(&jwtc.Issuer, "jwt-issuer", "", "the iss claim a JWT must carry")
	f.StringVar(&jwtc.Audience, "jwt-audience", "", "the aud claim a JWT must carry")
	f.StringArrayVar(&alertmanagers, "alertmanager", nil, "SITE=URL: the firing alerts of a cluster site's networks from this Alertmanager (labels network, namespace; repeatable)")
	f.StringArrayVar(&proms, "prometheus", nil, "SITE=URL: read that site's chain facts and plots from this Prometheus's query API (repeatable)")
	f.StringVar(&backups, "backups", "", "backup destination of the local networks, as onf backup --dest (default <home>/backups)")
	rootCmd.AddCommand(cmd)
}

// attachPrometheus puts each site named in proms (--prometheus SITE=URL) behind its
// Prometheus, checking every name and URL before anything starts.
func attachPrometheus(sites []console.NamedSite, proms []string, window, step time.Duration) error {
	for _, arg := range proms {
		i, u, err := siteURL("--prometheus", arg, sites)
		if err != nil {
			return err
		}
		if sites[i].Site, err = site.NewPrometheus(sites[i].Site, u, window, step); err != nil {
			return fmt.Errorf("--prometheus %s: %w", arg, err)
		}
	}
	return nil
}

// attachAlertmanagers gives each cluster site named in ams (--alertmanager SITE=URL) its
// Alertmanager.
func attachAlertmanagers(sites []console.NamedSite, ams []string) error {
	for _, arg := range ams {
		i, u, err := siteURL("--alertmanager", arg, sites)
		if err != nil {
			return err
		}
		cl, ok := sites[i].Site.(site.Cluster)
		if !ok {
			return fmt.Errorf("--alertmanager %s: %s is not a cluster site (a local network's Alertmanager is its onf monitor up stack's)", arg, sites[i].Name)
		}
		cl.Alertmanager = u
		sites[i].Site = cl
	}
	return nil
}

// siteURL splits a SITE=URL flag value: the index of the site and the http(s) URL.
func siteURL(flag, arg string, sites []console.NamedSite) (int, string, error) {
	name, raw, ok := strings.Cut(arg, "=")
	if !ok {
		return 0, "", fmt.Errorf("%s %s: must be SITE=URL", flag, arg)
	}
	i := slices.IndexFunc(sites, func(s console.NamedSite) bool { return s.Name == name })
	if i < 0 {
		names := make([]string, len(sites))
		for j, s := range sites {
			names[j] = s.Name
		}
		return 0, "", fmt.Errorf("%s %s: no site %q (the sites: %s)", flag, arg, name, strings.Join(names, ", "))
	}
	if u, err := url.Parse(raw); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return 0, "", fmt.Errorf("%s %s: must be an http:// or https:// URL", flag, arg)
	}
	return i, strings.TrimSuffix(raw, "/"), nil
}

// rotateKeys is onf keys rotate for the console: the verb's own steps (keysTarget and the
// node's custodian through withCustodian, Rotate, then reportCheck, which records the keys
// for the operator's status) on the network of a site, its printed check as the result.
func rotateKeys(where map[string]clusterFlags) console.KeyRotator {
	return func(ctx context.Context, site, namespace, name, node, suri string) (string, error) {
		f := keysFlags{where: where[site], output: "table"}
		f.where.namespace = namespace
		var out bytes.Buffer
		c := &cobra.Command{}
		c.SetContext(ctx)
		c.SetOut(&out)
		err := withCustodian(c, &f, []string{name, node}, func(ctx context.Context, k *keysNet, cu *sessionkeys.Custodian, node string) error {
			if _, err := cu.Rotate(ctx, suri); err != nil {
				return err
			}
			return k.reportCheck(ctx, c, &f, cu, node, suri)
		})
		return strings.TrimSpace(out.String()), err
	}
}

// loopbackOnly refuses to serve plain HTTP (and API keys in it) beyond this machine.
func loopbackOnly(listen string) error {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return fmt.Errorf("--listen: %w", err)
	}
	if ip := net.ParseIP(host); host != "localhost" && (ip == nil || !ip.IsLoopback()) {
		return fmt.Errorf("--listen: %s is not a loopback address; the console serves plain HTTP, so put a TLS proxy in front of it to reach it from elsewhere", host)
	}
	return nil
}

// serveConsole polls the sites and serves the console until ctx ends.
func serveConsole(ctx context.Context, srv *console.Server, listen string, out io.Writer, log *slog.Logger) error {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go srv.Cache.Run(ctx)
	hs := &http.Server{Handler: srv.Handler(), ReadHeaderTimeout: 10 * time.Second}
	go func() {
		<-ctx.Done()
		shut, done := context.WithTimeout(context.Background(), 5*time.Second)
		defer done()
		_ = hs.Shutdown(shut)
	}()
	log.Info("console serving", "url", "http://"+ln.Addr().String())
	fmt.Fprintf(out, "console: http://%s\n", ln.Addr())
	if err := hs.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
