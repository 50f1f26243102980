// Package localgateway serves a local network's RPC gateway (spec.gateway) with
// internal/gateway, for the supervisor of internal/local. It is the only arrow from the local
// runtime to the gateway, so a binary that does not import it (dinfra) links no gateway.
package localgateway

import (
	"fmt"
	"log/slog"

	"github.com/dinfra/stack/internal/gateway"
	gwconfig "github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/local"
)

// Gateways makes gateways from their config files; pass it to local.Runtime and
// local.Supervise.
type Gateways struct{}

var _ local.Gateways = Gateways{}

// Check reads the config file for the upstreams and reports its problems at spec.gateway.config.
func (Gateways) Check(file string, ups []local.GatewayUpstream) error {
	_, err := load(file, ups)
	return err
}

// New makes the gateway a config file describes for the upstreams.
func (Gateways) New(file string, ups []local.GatewayUpstream, log *slog.Logger) (local.Gateway, error) {
	cfg, err := load(file, ups)
	if err != nil {
		return nil, err
	}
	g, err := gateway.New(cfg, gateway.WithLogger(log))
	if err != nil {
		return nil, fmt.Errorf("gateway: %w", err)
	}
	return served{g, cfg.Listen}, nil
}

// served is a gateway and the address its config names.
type served struct {
	*gateway.Gateway
	listen string
}

func (s served) Listen() string { return s.listen }

// load reads the config for the upstreams. With no upstreams (a group scaled to zero) it still
// checks the file, against a placeholder upstream.
func load(file string, ups []local.GatewayUpstream) (*gwconfig.Config, error) {
	upstreams := []gwconfig.Upstream{{Name: "none", HTTP: "http://127.0.0.1:1"}}
	if len(ups) > 0 {
		upstreams = make([]gwconfig.Upstream, len(ups))
		for i, u := range ups {
			upstreams[i] = gwconfig.Upstream{Name: u.Name, HTTP: u.HTTP, WS: u.WS}
		}
	}
	cfg, err := gwconfig.LoadFor(file, upstreams)
	if err != nil {
		return nil, fmt.Errorf("spec.gateway.config: %w", err)
	}
	return cfg, nil
}
