package reactor

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"time"

	api "github.com/dinfra/stack/api/reactor"
)

// ClientConfig says how to reach a reactor.
type ClientConfig struct {
	URL   string
	Token string       // bearer token; empty for mTLS-only reactors
	HTTP  *http.Client // nil: a client with a 60 s timeout
}

// NewClient returns a generated API client that authenticates every call.
func NewClient(cfg ClientConfig) (*api.ClientWithResponses, error) {
	if !strings.HasPrefix(cfg.URL, "http://") && !strings.HasPrefix(cfg.URL, "https://") {
		return nil, fmt.Errorf("reactor URL %q: want http(s)://host:port", cfg.URL)
	}
	hc := cfg.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 60 * time.Second}
	}
	opts := []api.ClientOption{api.WithHTTPClient(hc)}
	if cfg.Token != "" {
		opts = append(opts, api.WithRequestEditorFn(Bearer(cfg.Token)))
	}
	return api.NewClientWithResponses(strings.TrimSuffix(cfg.URL, "/"), opts...)
}

// Bearer is a request editor adding a bearer token.
func Bearer(token string) api.RequestEditorFn {
	return func(_ context.Context, req *http.Request) error {
		req.Header.Set("Authorization", "Bearer "+token)
		return nil
	}
}
