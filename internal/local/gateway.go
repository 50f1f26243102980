package local

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"slices"

	"github.com/dinfra/stack/api/v1alpha1"
	"github.com/dinfra/stack/internal/gateway"
	gwconfig "github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/network"
)

// gatewayRun is the network's RPC gateway, served by the supervisor in front of one group.
type gatewayRun struct {
	fingerprint string // config content and upstreams: a change restarts the gateway
	listen      string
	cancel      context.CancelFunc
	done        chan struct{}
}

// gatewayUpstreams are the RPC endpoints of the gateway group's planned nodes.
func gatewayUpstreams(p *network.Plan, group string) []gwconfig.Upstream {
	var ups []gwconfig.Upstream
	for _, np := range p.Nodes {
		if np.Group == group {
			ups = append(ups, gwconfig.Upstream{
				Name: np.Name,
				HTTP: fmt.Sprintf("http://127.0.0.1:%d", np.Ports.RPC),
				WS:   fmt.Sprintf("ws://127.0.0.1:%d", wsPort(np)),
			})
		}
	}
	return ups
}

// loadGatewayConfig reads the spec's gateway config for the given upstreams. With no upstreams
// (a group scaled to zero) it still checks the file, against a placeholder upstream.
func loadGatewayConfig(gw *v1alpha1.Gateway, ups []gwconfig.Upstream) (*gwconfig.Config, error) {
	if len(ups) == 0 {
		ups = []gwconfig.Upstream{{Name: "none", HTTP: "http://127.0.0.1:1"}}
	}
	cfg, err := gwconfig.LoadFor(gw.Config, ups)
	if err != nil {
		return nil, fmt.Errorf("spec.gateway.config: %w", err)
	}
	return cfg, nil
}

// reconcileGateway starts, restarts or stops the gateway to match the spec and the plan.
func (s *Supervisor) reconcileGateway(ctx context.Context, gw *v1alpha1.Gateway, p *network.Plan) error {
	if gw == nil {
		s.stopGateway()
		return nil
	}
	// A node whose port another process holds gets no calls: they would reach that process.
	ups := slices.DeleteFunc(gatewayUpstreams(p, gw.Group), func(u gwconfig.Upstream) bool {
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
	cfg, err := loadGatewayConfig(gw, ups)
	if err != nil {
		return err
	}
	g, err := gateway.New(cfg, gateway.WithLogger(s.log.With("component", "gateway")))
	if err != nil {
		return fmt.Errorf("gateway: %w", err)
	}
	s.stopGateway() // frees the listen address for the new one
	ln, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("gateway listen %s: %w", cfg.Listen, err)
	}
	gctx, cancel := context.WithCancel(ctx)
	run := &gatewayRun{fingerprint: fingerprint, listen: cfg.Listen, cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(run.done)
		if err := g.Serve(gctx, ln); err != nil && gctx.Err() == nil {
			s.log.Error("gateway stopped", "err", err)
		}
	}()
	s.gateway = run
	s.log.Info("gateway serving", "listen", cfg.Listen, "group", gw.Group, "upstreams", len(ups))
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
