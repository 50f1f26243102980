package gateway

import (
	"encoding/json"
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

// connect authenticates the credential (unless public names the route's role), and takes a
// connection slot (release it with c.limits.ReleaseConn). A refused caller gets nil, the
// HTTP status and the error to answer with.
func (g *Gateway) connect(cred, ip string, public *config.PublicRoute) (*caller, int, *rpc.Error) {
	var c *caller
	if public != nil {
		c = &caller{ident: auth.Identity{ID: "public"}, role: g.roles[public.Role], limits: limit.Pair{IP: g.limits.IP(ip)}}
	} else {
		id, err := g.auth.Check(cred)
		if err != nil {
			reason := "invalid"
			if errors.Is(err, auth.ErrNoCredentials) {
				reason = "missing"
			}
			g.metrics.authFailure(reason)
			// The error names no credential; the remote address helps find a misconfigured client.
			g.log.Debug("authentication failed", "remote", ip, "reason", err.Error())
			return nil, http.StatusUnauthorized, errUnauth
		}
		c = &caller{ident: id, role: g.roles[id.Role],
			limits: limit.Pair{Key: g.limits.Key(id.ID, id.Limits), IP: g.limits.IP(ip)}}
	}
	if !c.limits.AcquireConn() {
		g.metrics.reject("connection_limit")
		return nil, http.StatusTooManyRequests, errConnLimit
	}
	return c, 0, nil
}

// connectHTTP is connect for a net/http request; it answers a refusal itself.
func (g *Gateway) connectHTTP(w http.ResponseWriter, r *http.Request, public *config.PublicRoute) *caller {
	c, status, e := g.connect(auth.Credential(r, g.auth.AllowQueryKey), clientIP(r), public)
	if c == nil {
		writeHTTPError(w, status, e)
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
	switch c.role.Decide(cl.method) {
	case policy.NotFound:
		return outcomeNotFound, errNotFound
	case policy.Denied:
		return outcomeDenied, errDenied
	}
	if cl.method == "state_subscribeStorage" && !namesKeys(cl.params) && !c.role.Grants(cl.method) {
		return outcomeDenied, errAllStorage
	}
	return "", nil
}

// namesKeys reports whether state_subscribeStorage params name at least one key:
// [["0x..", ...]] (gossamer also takes ["0x..", ...]). Without keys the subscription is to
// every storage change: polkadot-sdk allows that only with unsafe RPC, and gossamer then
// sends every storage entry (megabytes) on every block.
func namesKeys(params json.RawMessage) bool {
	var ps, keys []json.RawMessage
	if json.Unmarshal(params, &ps) != nil || len(ps) == 0 {
		return false
	}
	return ps[0][0] == '"' || json.Unmarshal(ps[0], &keys) == nil && len(keys) > 0
}

// admitHTTP is admit for a call over HTTP, where no call may start, end or use state kept
// per connection: over the shared node connections it would touch other clients' state.
func (g *Gateway) admitHTTP(c *caller, cl *call) (string, *rpc.Error) {
	if cl.invalid == nil && !stateless(cl.method) {
		return outcomeInvalid, errNeedsWS
	}
	return g.admit(c, cl)
}

// checkSize refuses a node's answer whose result is over limits.maxResponseBytes.
func (g *Gateway) checkSize(m *upstreamMessage) *rpc.Error {
	if max := g.cfg.Limits.MaxResponseBytes; int64(len(m.Result)) > max {
		return errResponseTooLarge(max)
	}
	return nil
}

// reject records a refused call and returns its answer (nil for a notification).
func (g *Gateway) reject(c *caller, cl *call, outcome string, e *rpc.Error) []byte {
	g.metrics.call(metricMethod(cl, outcome), c.ident.ID, outcome)
	if cl.notification() {
		return nil
	}
	return appendError(nil, cl.id, e)
}

// metricMethod labels a call in metrics; names the gateway does not know are not labels, so
// a client cannot fill the label space with made-up names.
func metricMethod(cl *call, outcome string) string {
	switch {
	case cl.invalid != nil:
		return "(invalid)"
	case outcome == outcomeNotFound:
		return "(unknown)"
	}
	return cl.method
}

func clientIP(r *http.Request) string { return hostOf(r.RemoteAddr) }

func hostOf(addr string) string {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
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
