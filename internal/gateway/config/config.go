// Package config is the RPC gateway's configuration: its types, defaults, loading from YAML
// or JSON and validation with field paths. See docs/gateway.md for the format.
package config

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"net"
	"net/url"
	"os"
	"slices"
	"strings"
	"time"

	"sigs.k8s.io/yaml"

	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/problem"
)

// Config is the whole gateway configuration.
type Config struct {
	// Listen is the address JSON-RPC clients connect to (HTTP POST and WebSocket on one port).
	Listen string `json:"listen"`
	// MetricsListen, if set, serves Prometheus metrics at /metrics on a separate address.
	MetricsListen string `json:"metricsListen,omitempty"`
	TLS           *TLS   `json:"tls,omitempty"`

	Upstreams   []Upstream  `json:"upstreams"`
	HealthCheck HealthCheck `json:"healthCheck,omitempty"`

	Auth Auth `json:"auth"`
	// Roles map role names to method allow/deny lists.
	Roles map[string]Role `json:"roles,omitempty"`
	// Public routes serve callers without credentials, under the given role and the per-IP limits.
	Public []PublicRoute `json:"public,omitempty"`

	Limits Limits `json:"limits,omitempty"`
}

// TLS enables HTTPS/WSS with a certificate and key file.
type TLS struct {
	CertFile string `json:"certFile"`
	KeyFile  string `json:"keyFile"`
}

// Upstream is one RPC node. Give http and/or ws; a missing one is derived from the other by
// switching the scheme (polkadot-sdk serves both on one port; gossamer needs both).
type Upstream struct {
	Name string `json:"name"`
	HTTP string `json:"http,omitempty"`
	WS   string `json:"ws,omitempty"`
}

// HealthCheck configures the system_health probe that keeps down or syncing nodes out.
type HealthCheck struct {
	Interval Duration `json:"interval,omitempty"`
	Timeout  Duration `json:"timeout,omitempty"`
}

// Auth configures credentials. At least one of APIKeys and JWT is required unless every
// route is public.
type Auth struct {
	APIKeys *APIKeys `json:"apiKeys,omitempty"`
	JWT     *JWT     `json:"jwt,omitempty"`
	// AllowQueryKey accepts the API key in the ?apikey= query parameter (browsers cannot set
	// WebSocket headers). Off by default: URLs end up in proxies' logs.
	AllowQueryKey bool `json:"allowQueryKey,omitempty"`
}

// APIKeys loads hashed API keys from a file (a mounted Kubernetes Secret is a file too),
// re-read when it changes.
type APIKeys struct {
	File           string   `json:"file"`
	ReloadInterval Duration `json:"reloadInterval,omitempty"`
}

// JWT accepts bearer JWTs signed with HS256 (shared secret) and/or EdDSA (Ed25519 public key).
type JWT struct {
	HS256SecretFile    string `json:"hs256SecretFile,omitempty"`
	EdDSAPublicKeyFile string `json:"eddsaPublicKeyFile,omitempty"`
	Issuer             string `json:"issuer,omitempty"`
	Audience           string `json:"audience,omitempty"`
	// DefaultRole applies to tokens without a "role" claim.
	DefaultRole string `json:"defaultRole,omitempty"`
}

// Role is a method policy. Patterns are exact names, "prefix_*" or "*". Deny wins over
// allow. Unsafe node-admin methods (author_insertKey, author_rotateKeys,
// system_addReservedPeer, ...) are allowed only when named exactly in Allow.
type Role struct {
	Allow []string `json:"allow,omitempty"`
	Deny  []string `json:"deny,omitempty"`
}

// PublicRoute serves unauthenticated callers at Path with Role.
type PublicRoute struct {
	Path string `json:"path"`
	Role string `json:"role"`
}

// Limits bound each caller; zero means the default.
type Limits struct {
	PerKey LimitSet `json:"perKey,omitempty"`
	PerIP  LimitSet `json:"perIP,omitempty"`
	// MaxRequestBytes bounds one HTTP body or WebSocket message.
	MaxRequestBytes int64 `json:"maxRequestBytes,omitempty"`
	// MaxBatch bounds the calls in one batch.
	MaxBatch int `json:"maxBatch,omitempty"`
	// MaxResponseBytes bounds the result of one call: a node's larger answer is replaced by
	// an error to that caller (amplification: a 100-byte call must not fetch megabytes).
	MaxResponseBytes int64 `json:"maxResponseBytes,omitempty"`
}

// LimitSet is what one key (or one client IP) may use.
type LimitSet struct {
	CallsPerSecond   float64 `json:"callsPerSecond,omitempty"`
	Burst            int     `json:"burst,omitempty"`
	MaxConnections   int     `json:"maxConnections,omitempty"`
	MaxSubscriptions int     `json:"maxSubscriptions,omitempty"`
}

// Defaults.
const (
	DefaultListen          = "127.0.0.1:8545"
	DefaultMaxRequestBytes = 1 << 20
	DefaultMaxBatch        = 100
	// DefaultMaxResponseBytes leaves room for runtime metadata (about 1.2 MB as hex for
	// Polkadot's, 0.6 MB for westend-dev on gossamer) and refuses state dumps.
	DefaultMaxResponseBytes = 4 << 20
	// MaxAnswerBytes bounds what the gateway reads from a node in one answer, so no
	// maxResponseBytes can exceed it.
	MaxAnswerBytes = 64 << 20
	DefaultRole    = "default"
)

// DefaultPerKey and DefaultPerIP are the limits when none are configured.
var (
	DefaultPerKey = LimitSet{CallsPerSecond: 100, Burst: 200, MaxConnections: 50, MaxSubscriptions: 200}
	DefaultPerIP  = LimitSet{CallsPerSecond: 200, Burst: 400, MaxConnections: 100, MaxSubscriptions: 400}
)

// Load reads a YAML or JSON config file, applies defaults and validates it.
func Load(file string) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read gateway config: %w", err)
	}
	c, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return c, nil
}

// Parse decodes YAML or JSON strictly (unknown fields are errors), applies defaults and validates.
func Parse(data []byte) (*Config, error) {
	var c Config
	if err := DecodeStrict(data, &c); err != nil {
		return nil, err
	}
	c.Default()
	if err := c.Validate(); err != nil {
		return nil, err
	}
	return &c, nil
}

// LoadFor reads a gateway config that leaves the upstreams out (for example the gateway
// section of a network spec) and puts it in front of the given nodes: `onf up` calls it with
// the RPC group's endpoints. Upstreams listed in the file are an error, so a config cannot
// silently point somewhere else.
func LoadFor(file string, upstreams []Upstream) (*Config, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read gateway config: %w", err)
	}
	var c Config
	if err := DecodeStrict(data, &c); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if len(c.Upstreams) > 0 {
		return nil, fmt.Errorf("%s: upstreams: must be left out, they come from the network's RPC group", file)
	}
	c.Upstreams = upstreams
	c.Default()
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	return &c, nil
}

// DecodeStrict decodes YAML or JSON into v, rejecting unknown fields.
func DecodeStrict(data []byte, v any) error {
	doc, err := yaml.YAMLToJSON(data)
	if err != nil {
		return fmt.Errorf("not valid YAML or JSON: %w", err)
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	return nil
}

// Default fills unset fields. Upstream URLs missing one scheme are derived from the other.
func (c *Config) Default() {
	if c.Listen == "" {
		c.Listen = DefaultListen
	}
	if c.HealthCheck.Interval == 0 {
		c.HealthCheck.Interval = Duration(5 * time.Second)
	}
	if c.HealthCheck.Timeout == 0 {
		c.HealthCheck.Timeout = Duration(2 * time.Second)
	}
	if c.Auth.APIKeys != nil && c.Auth.APIKeys.ReloadInterval == 0 {
		c.Auth.APIKeys.ReloadInterval = Duration(5 * time.Second)
	}
	if c.Auth.JWT != nil && c.Auth.JWT.DefaultRole == "" {
		c.Auth.JWT.DefaultRole = DefaultRole
	}
	if len(c.Roles) == 0 {
		c.Roles = map[string]Role{DefaultRole: {Allow: []string{"*"}}}
	}
	c.Limits.PerKey = c.Limits.PerKey.WithDefaults(DefaultPerKey)
	c.Limits.PerIP = c.Limits.PerIP.WithDefaults(DefaultPerIP)
	if c.Limits.MaxRequestBytes == 0 {
		c.Limits.MaxRequestBytes = DefaultMaxRequestBytes
	}
	if c.Limits.MaxBatch == 0 {
		c.Limits.MaxBatch = DefaultMaxBatch
	}
	if c.Limits.MaxResponseBytes == 0 {
		c.Limits.MaxResponseBytes = DefaultMaxResponseBytes
	}
	for i := range c.Upstreams {
		u := &c.Upstreams[i]
		if u.HTTP == "" {
			u.HTTP = swapScheme(u.WS, map[string]string{"ws": "http", "wss": "https"})
		}
		if u.WS == "" {
			u.WS = swapScheme(u.HTTP, map[string]string{"http": "ws", "https": "wss"})
		}
		if u.Name == "" {
			u.Name = fmt.Sprintf("upstream-%d", i)
		}
	}
}

// WithDefaults returns l with zero fields taken from d.
func (l LimitSet) WithDefaults(d LimitSet) LimitSet {
	if l.CallsPerSecond == 0 {
		l.CallsPerSecond = d.CallsPerSecond
	}
	if l.Burst == 0 {
		l.Burst = d.Burst
	}
	if l.MaxConnections == 0 {
		l.MaxConnections = d.MaxConnections
	}
	if l.MaxSubscriptions == 0 {
		l.MaxSubscriptions = d.MaxSubscriptions
	}
	return l
}

func swapScheme(raw string, to map[string]string) string {
	u, err := url.Parse(raw)
	if err != nil || to[u.Scheme] == "" {
		return ""
	}
	u.Scheme = to[u.Scheme]
	return u.String()
}

// Validate reports every problem with its field path.
func (c *Config) Validate() error {
	var ps problem.List
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		ps.Add("listen", "must be host:port: %v", err)
	}
	if c.MetricsListen != "" {
		if _, _, err := net.SplitHostPort(c.MetricsListen); err != nil {
			ps.Add("metricsListen", "must be host:port: %v", err)
		}
	}
	if c.TLS != nil && (c.TLS.CertFile == "" || c.TLS.KeyFile == "") {
		ps.Add("tls", "certFile and keyFile are both required")
	}
	if len(c.Upstreams) == 0 {
		ps.Add("upstreams", "at least one upstream is required")
	}
	names := map[string]bool{}
	for i, u := range c.Upstreams {
		f := fmt.Sprintf("upstreams[%d]", i)
		if names[u.Name] {
			ps.Add(f+".name", "duplicate name %q", u.Name)
		}
		names[u.Name] = true
		checkURL(&ps, f+".http", u.HTTP, "http", "https")
		checkURL(&ps, f+".ws", u.WS, "ws", "wss")
	}
	if c.HealthCheck.Interval < Duration(100*time.Millisecond) {
		ps.Add("healthCheck.interval", "must be at least 100ms")
	}
	if c.HealthCheck.Timeout <= 0 || c.HealthCheck.Timeout > c.HealthCheck.Interval {
		ps.Add("healthCheck.timeout", "must be positive and at most the interval")
	}
	if c.Auth.APIKeys == nil && c.Auth.JWT == nil {
		ps.Add("auth", "configure apiKeys and/or jwt (public routes alone need no auth, but the main route always does)")
	}
	if k := c.Auth.APIKeys; k != nil {
		if k.File == "" {
			ps.Add("auth.apiKeys.file", "is required")
		}
		if k.ReloadInterval < Duration(100*time.Millisecond) {
			ps.Add("auth.apiKeys.reloadInterval", "must be at least 100ms")
		}
	}
	if j := c.Auth.JWT; j != nil {
		if j.HS256SecretFile == "" && j.EdDSAPublicKeyFile == "" {
			ps.Add("auth.jwt", "set hs256SecretFile and/or eddsaPublicKeyFile")
		}
		if _, ok := c.Roles[j.DefaultRole]; !ok {
			ps.Add("auth.jwt.defaultRole", "role %q is not defined in roles", j.DefaultRole)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.Roles)) {
		r := c.Roles[name]
		if _, err := policy.Compile(r.Allow, r.Deny); err != nil {
			ps.Add("roles."+name, "%v", err)
		}
	}
	paths := map[string]bool{"/": true, "/healthz": true}
	for i, p := range c.Public {
		f := fmt.Sprintf("public[%d]", i)
		if !strings.HasPrefix(p.Path, "/") || paths[p.Path] {
			ps.Add(f+".path", "must start with / and be unique (not /, /healthz): %q", p.Path)
		}
		paths[p.Path] = true
		if _, ok := c.Roles[p.Role]; !ok {
			ps.Add(f+".role", "role %q is not defined in roles", p.Role)
		}
	}
	CheckLimits(&ps, "limits.perKey", c.Limits.PerKey)
	CheckLimits(&ps, "limits.perIP", c.Limits.PerIP)
	if c.Limits.MaxRequestBytes < 256 {
		ps.Add("limits.maxRequestBytes", "must be at least 256")
	}
	if c.Limits.MaxBatch < 1 {
		ps.Add("limits.maxBatch", "must be at least 1")
	}
	if r := c.Limits.MaxResponseBytes; r < 1024 || r > MaxAnswerBytes {
		ps.Add("limits.maxResponseBytes", "must be between 1024 and %d, got %d", MaxAnswerBytes, r)
	}
	return ps.Err("gateway config")
}

// CheckLimits adds the problems of a limit set at field path f to ps (used for per-key
// overrides too).
func CheckLimits(ps *problem.List, f string, l LimitSet) {
	if l.CallsPerSecond < 0 {
		ps.Add(f+".callsPerSecond", "must be >= 0")
	}
	if l.Burst < 0 {
		ps.Add(f+".burst", "must be >= 0")
	}
	if l.MaxConnections < 0 {
		ps.Add(f+".maxConnections", "must be >= 0")
	}
	if l.MaxSubscriptions < 0 {
		ps.Add(f+".maxSubscriptions", "must be >= 0")
	}
}

func checkURL(ps *problem.List, f, raw string, schemes ...string) {
	u, err := url.Parse(raw)
	if raw == "" || err != nil || u.Host == "" {
		ps.Add(f, "must be a URL with scheme %s and a host (got %q)", strings.Join(schemes, " or "), raw)
		return
	}
	for _, s := range schemes {
		if u.Scheme == s {
			return
		}
	}
	ps.Add(f, "scheme must be %s (got %q)", strings.Join(schemes, " or "), u.Scheme)
}

// Duration is a time.Duration written as a Go duration string ("5s", "250ms").
type Duration time.Duration

// UnmarshalJSON accepts a duration string.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("duration must be a string such as \"5s\": %w", err)
	}
	v, err := time.ParseDuration(s)
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// MarshalJSON writes the duration string.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }
