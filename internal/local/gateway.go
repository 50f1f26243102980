package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/network"
)

// Gateways makes the RPC gateway of spec.gateway, which the supervisor serves in front of a
// group. The gateway is a part of its own: internal/local/localgateway wires internal/gateway
// in, and a binary that serves no gateway (dinfra) passes none, links none and has a spec
// with a gateway refused.
type Gateways interface {
	// Check reads the config file for the upstreams and reports what is wrong with it.
	Check(config string, ups []GatewayUpstream) error
	// New makes the gateway the config file describes for the upstreams.
	New(config string, ups []GatewayUpstream, log *slog.Logger) (Gateway, error)
}

// Gateway is one gateway made by Gateways.
type Gateway interface {
	// Listen is the address the gateway's config asks it to listen on.
	Listen() string
	// Serve serves the gateway on ln until ctx ends.
	Serve(ctx context.Context, ln net.Listener) error
}

// GatewayUpstream is one node behind the gateway, by its RPC endpoints.
type GatewayUpstream struct{ Name, HTTP, WS string }

// errNoGateways refuses a gateway in a binary that serves none.
var errNoGateways = errors.New("spec.gateway: this program serves no RPC gateway (onf does)")

// gatewayRun is the network's RPC gateway, served by the supervisor in front of one group.
type gatewayRun struct {
	fingerprint string // config content and upstreams: a change restarts the gateway
	listen      string
	cancel      context.CancelFunc
	done        chan struct{}
}

// gatewayUpstreams are the RPC endpoints of the gateway group's planned nodes.
func gatewayUpstreams(p *network.Plan, group string) []GatewayUpstream {
	var ups []GatewayUpstream
	for _, np := range p.Nodes {
		if np.Group == group {
			ups = append(ups, GatewayUpstream{
				Name: np.Name,
				HTTP: fmt.Sprintf("http://127.0.0.1:%d", np.Ports.RPC),
				WS:   fmt.Sprintf("ws://127.0.0.1:%d", wsPort(np)),
			})
		}
	}
	return ups
}

// checkGateway checks the spec's gateway config for the plan, before the spec is stored.
func checkGateway(gws Gateways, gw *v1alpha1.Gateway, p *network.Plan) error {
	if gw == nil {
		return nil
	}
	if gws == nil {
		return errNoGateways
	}
	return gws.Check(gw.Config, gatewayUpstreams(p, gw.Group))
}

// reconcileGateway starts, restarts or stops the gateway to match the spec and the plan.
func (s *Supervisor) reconcileGateway(ctx context.Context, gw *v1alpha1.Gateway, p *network.Plan) error {
	if gw == nil {
		s.stopGateway()
		return nil
	}
	// A node whose port another process holds gets no calls: they would reach that process.
	if s.gateways == nil {
		return errNoGateways
	}
	ups := slices.DeleteFunc(gatewayUpstreams(p, gw.Group), func(u GatewayUpstream) bool {
		pr := s.procs[u.Name]
		return pr != nil && pr.conflict != ""
	})
	content, err := os.ReadFile(gw.Config)
	if err != nil {
		return fmt.Errorf("spec.gateway.config: %w", err)
	}
	sum := sha256.New()
	sum.Write(content)
	_ = json.NewEncoder(sum).Encode(ups)
	fingerprint := hex.EncodeToString(sum.Sum(nil))
	if s.gateway != nil && s.gateway.fingerprint == fingerprint {
		return nil
	}
	g, err := s.gateways.New(gw.Config, ups, s.log.With("component", "gateway"))
	if err != nil {
		return err
	}
	s.stopGateway() // frees the listen address for the new one
	listen := g.Listen()
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return fmt.Errorf("gateway listen %s: %w", listen, err)
	}
	gctx, cancel := context.WithCancel(ctx)
	run := &gatewayRun{fingerprint: fingerprint, listen: listen, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(run.done)
		if err := g.Serve(gctx, ln); err != nil && gctx.Err() == nil {
			s.log.Error("gateway stopped", "err", err)
		}
	}()
	s.gateway = run
	s.log.Info("gateway serving", "listen", listen, "group", gw.Group, "upstreams", len(ups))
	return nil
}

func (s *Supervisor) stopGateway() {
	if s.gateway == nil {
		return
	}
	s.gateway.cancel()
	<-s.gateway.done
	s.gateway = nil
}

// absGatewayConfig makes the gateway config path absolute, so the supervisor finds it from
// its own working directory.
func absGatewayConfig(gw *v1alpha1.Gateway) error {
	if gw == nil {
		return nil
	}
	if gw.Config == "" {
		return errors.New("spec.gateway.config: a local gateway needs its config file (keysSecret is for clusters)")
	}
	abs, err := filepath.Abs(gw.Config)
	gw.Config = abs
	return err
}
