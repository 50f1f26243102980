package chainspec

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"slices"
	"strings"
	"syscall"
	"time"
)

// DefaultTimeout bounds a whole fetch (connect, headers and body) when Options.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// maxRedirects bounds the redirects Fetch follows when Options.FollowRedirects is set.
const maxRedirects = 5

// Options tune ReadFile and Fetch. The zero value is the safe default for a user's own
// sources: 64 MiB, 30 s, no redirects, any destination.
type Options struct {
	// MaxBytes caps the chain spec's size (default DefaultMaxBytes).
	MaxBytes int64
	// Timeout bounds a whole fetch (default DefaultTimeout).
	Timeout time.Duration
	// FollowRedirects follows up to 5 redirects to http(s) URLs; each hop is checked like
	// the first one (AllowHosts, DenyPrivate).
	FollowRedirects bool
	// DenyPrivate refuses to connect to any address that is not public unicast: loopback,
	// RFC 1918 and unique-local, link-local, CGNAT, unspecified, multicast, reserved ranges
	// and IPv6 forms embedding IPv4 (NAT64, 6to4). Proxies from the environment are not used,
	// so the check sees the real destination.
	DenyPrivate bool
	// AllowPrefixes are destination ranges DenyPrivate lets through.
	AllowPrefixes []netip.Prefix
	// AllowHosts, when not empty, are the only host names (or IP literals) Fetch asks,
	// compared without case and without port.
	AllowHosts []string
	// SHA256, when set, is the hex sha256 the content must have: anything else is refused
	// (a changed or tampered file), whatever it holds.
	SHA256 string
}

func (o Options) maxBytes() int64 {
	if o.MaxBytes > 0 {
		return o.MaxBytes
	}
	return DefaultMaxBytes
}

func (o Options) timeout() time.Duration {
	if o.Timeout > 0 {
		return o.Timeout
	}
	return DefaultTimeout
}

// Fetch downloads a chain spec from an http(s) URL and returns it once its checksum (when
// opts.SHA256 is set) and Check accept it.
func Fetch(ctx context.Context, rawURL string, opts Options) ([]byte, error) {
	data, err := fetch(ctx, rawURL, opts, accept)
	if err != nil {
		return nil, fmt.Errorf("fetch chain spec %s: %w", redact(rawURL), err)
	}
	return data, nil
}

// FetchFile downloads any other file a node reads (a WASM runtime) with Fetch's limits; its
// content is checked by opts.SHA256 alone, which is therefore required.
func FetchFile(ctx context.Context, rawURL string, opts Options) ([]byte, error) {
	if opts.SHA256 == "" {
		return nil, errors.New("a file other than a chain spec is fetched only with its sha256")
	}
	data, err := fetch(ctx, rawURL, opts, verifySum)
	if err != nil {
		return nil, fmt.Errorf("fetch %s: %w", redact(rawURL), err)
	}
	return data, nil
}

func fetch(parent context.Context, rawURL string, opts Options, check func([]byte, Options) error) ([]byte, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	if err := opts.checkURL(u); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(parent, opts.timeout())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		return nil, err
	}
	client := opts.client()
	defer client.CloseIdleConnections()
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL is already in the message
		}
		if ctx.Err() != nil && parent.Err() == nil {
			return nil, fmt.Errorf("no answer within %s", opts.timeout())
		}
		return nil, err
	}
	defer resp.Body.Close()
	switch {
	case resp.StatusCode >= 300 && resp.StatusCode < 400:
		return nil, fmt.Errorf("%s: redirects are not followed (to %s)", resp.Status, redact(resp.Header.Get("Location")))
	case resp.StatusCode != http.StatusOK:
		return nil, errors.New(resp.Status)
	case resp.ContentLength > opts.maxBytes():
		return nil, fmt.Errorf("%d bytes is larger than the chain spec size limit of %d bytes", resp.ContentLength, opts.maxBytes())
	}
	data, err := readCapped(resp.Body, opts.maxBytes())
	if err != nil {
		if ctx.Err() != nil && parent.Err() == nil {
			return nil, fmt.Errorf("body not received within %s", opts.timeout())
		}
		return nil, err
	}
	if err := check(data, opts); err != nil {
		return nil, err
	}
	return data, nil
}

// client is a fresh HTTP client whose every connection goes through opts' checks.
func (o Options) client() *http.Client {
	dialer := &net.Dialer{Timeout: o.timeout()}
	transport := &http.Transport{
		Proxy:               http.ProxyFromEnvironment,
		DialContext:         dialer.DialContext,
		TLSHandshakeTimeout: o.timeout(),
		MaxIdleConns:        1,
	}
	if o.DenyPrivate {
		transport.Proxy = nil // the proxy would be the address checked, not the destination
		dialer.Control = o.controlDial
	}
	return &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !o.FollowRedirects {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return fmt.Errorf("more than %d redirects", maxRedirects)
			}
			return o.checkURL(req.URL)
		},
	}
}

// checkURL refuses what no chain spec URL should be, before any connection.
func (o Options) checkURL(u *url.URL) error {
	if u.Scheme != "http" && u.Scheme != "https" {
		return fmt.Errorf("want an http or https URL, got scheme %q", u.Scheme)
	}
	if u.Hostname() == "" {
		return errors.New("the URL has no host")
	}
	if len(o.AllowHosts) > 0 && !slices.ContainsFunc(o.AllowHosts, func(h string) bool { return strings.EqualFold(h, u.Hostname()) }) {
		return fmt.Errorf("host %q is not in the allowed hosts", u.Hostname())
	}
	return nil
}

// controlDial runs on every connection attempt with the resolved address about to be dialled.
func (o Options) controlDial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return fmt.Errorf("dial %s: %w", address, err)
	}
	addr := ap.Addr().Unmap()
	if !public(addr) && !slices.ContainsFunc(o.AllowPrefixes, func(p netip.Prefix) bool { return p.Contains(addr) }) {
		return fmt.Errorf("dial %s: %s is not a public address (private destinations are refused)", address, addr)
	}
	return nil
}

// nonPublic are the ranges netip's predicates do not cover that no public server has or that
// embed an IPv4 address (which would otherwise smuggle 127.0.0.1 through as IPv6).
var nonPublic = []netip.Prefix{
	netip.MustParsePrefix("0.0.0.0/8"),       // "this network"
	netip.MustParsePrefix("100.64.0.0/10"),   // CGNAT
	netip.MustParsePrefix("192.0.0.0/24"),    // IETF protocol assignments
	netip.MustParsePrefix("192.0.2.0/24"),    // documentation
	netip.MustParsePrefix("198.18.0.0/15"),   // benchmarking
	netip.MustParsePrefix("198.51.100.0/24"), // documentation
	netip.MustParsePrefix("203.0.113.0/24"),  // documentation
	netip.MustParsePrefix("240.0.0.0/4"),     // reserved, broadcast
	netip.MustParsePrefix("64:ff9b::/96"),    // NAT64
	netip.MustParsePrefix("64:ff9b:1::/48"),  // local NAT64
	netip.MustParsePrefix("100::/64"),        // discard
	netip.MustParsePrefix("2001::/23"),       // IETF protocol assignments (Teredo, ...)
	netip.MustParsePrefix("2001:db8::/32"),   // documentation
	netip.MustParsePrefix("2002::/16"),       // 6to4
	netip.MustParsePrefix("::/96"),           // IPv4-compatible
}

// public says whether addr is a global unicast address a public server may have.
func public(addr netip.Addr) bool {
	if !addr.IsGlobalUnicast() || addr.IsPrivate() || addr.IsLoopback() || addr.IsLinkLocalUnicast() {
		return false
	}
	return !slices.ContainsFunc(nonPublic, func(p netip.Prefix) bool { return p.Contains(addr) })
}

// redact drops a URL's user information (a password) and query (a token) from messages.
func redact(rawURL string) string {
	u, err := url.Parse(rawURL)
	if err != nil {
		return "(unparsable URL)"
	}
	u.User = nil
	if u.RawQuery != "" {
		u.RawQuery = "..."
	}
	return u.String()
}
