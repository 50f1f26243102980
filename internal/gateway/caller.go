package gateway

import (
	"errors"
	"net"
	"net/http"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/gateway/limit"
	"github.com/dinfra/stack/internal/gateway/policy"
	"github.com/dinfra/stack/internal/rpc"
)

// caller is an authenticated (or public-route) client with its role and budgets.
type caller struct {
	ident  auth.Identity
	role   *policy.Role
	limits limit.Pair
}

// authenticate resolves the caller of r on a route (public is nil for the main route). It
// writes the refusal itself and returns nil when the caller may not proceed.
func (g *Gateway) authenticate(w http.ResponseWriter, r *http.Request, public *config.PublicRoute) *caller {
	ip := clientIP(r)
	if public != nil {
		return &caller{ident: auth.Identity{ID: "public"}, role: g.roles[public.Role], limits: limit.Pair{IP: g.limits.IP(ip)}}
	}
	id, err := g.auth.Authenticate(r)
	if err != nil {
		reason := "invalid"
		if errors.Is(err, auth.ErrNoCredentials) {
			reason = "missing"
		}
		g.metrics.authFailures.WithLabelValues(reason).Inc()
		// The error names no credential; the remote address helps find a misconfigured client.
		g.log.Debug("authentication failed", "remote", ip, "reason", err.Error())
		writeHTTPError(w, http.StatusUnauthorized, errUnauth)
		return nil
	}
	return &caller{ident: id, role: g.roles[id.Role],
		limits: limit.Pair{Key: g.limits.Key(id.ID, id.Limits), IP: g.limits.IP(ip)}}
}

// connect authenticates the caller and takes a connection slot (release it with
// c.limits.ReleaseConn). It answers a refusal itself and then returns nil.
func (g *Gateway) connect(w http.ResponseWriter, r *http.Request, public *config.PublicRoute) *caller {
	c := g.authenticate(w, r, public)
	if c == nil {
		return nil
	}
	if !c.limits.AcquireConn() {
		g.metrics.rejected.WithLabelValues("connection_limit").Inc()
		writeHTTPError(w, http.StatusTooManyRequests, errConnLimit)
		return nil
	}
	return c
}

// admit applies the rate limit and the method policy to one call. A nil error means forward.
func (g *Gateway) admit(c *caller, cl *call) (string, *rpc.Error) {
	if cl.invalid != nil {
		return outcomeInvalid, cl.invalid
	}
	if !c.limits.AllowCall(g.now()) {
		return outcomeRateLimited, errRateLimited
	}
	if !c.role.Allows(cl.method) {
		return outcomeDenied, errDenied
	}
	return "", nil
}

// reject records a refused call and returns its answer (nil for a notification).
func (g *Gateway) reject(c *caller, cl *call, outcome string, e *rpc.Error) []byte {
	g.metrics.call(metricMethod(cl), c.ident.ID, outcome)
	if cl.notification() {
		return nil
	}
	return appendError(nil, cl.id, e)
}

func metricMethod(cl *call) string {
	if cl.invalid != nil {
		return "(invalid)"
	}
	return cl.method
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeHTTPError(w http.ResponseWriter, status int, e *rpc.Error) {
	writeHTTP(w, status, appendError(nil, nullID, e))
}

func writeHTTP(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
