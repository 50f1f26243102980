package console

import (
	"context"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"mime"
	"net/http"
	"net/url"
	"time"

	"github.com/dinfra/stack/internal/gateway/auth"
	"github.com/dinfra/stack/internal/network"
)

//go:embed assets
var assets embed.FS

// RoleOperator is the role an API key needs for actions; keys without a role have it.
const RoleOperator = "operator"

// Server serves the cache and the actions.
type Server struct {
	Cache *Cache
	// Keys and JWT authenticate actions (API keys, bearer JWTs as the gateway checks them);
	// both nil make the console read-only.
	Keys *auth.KeyStore
	JWT  *auth.JWTVerifier
	// ActionTimeout bounds an action, waiting for the network to converge included.
	ActionTimeout time.Duration
	// RotateKeys rotates session keys; nil refuses it.
	RotateKeys KeyRotator
	Log        *slog.Logger
}

// Handler is the console's HTTP handler.
func (s *Server) Handler() http.Handler {
	static, err := fs.Sub(assets, "assets")
	if err != nil {
		panic(err)
	}
	mux := http.NewServeMux()
	mux.Handle("GET /", http.FileServerFS(static))
	mux.HandleFunc("GET /api/info", s.info)
	mux.HandleFunc("GET /api/overview", s.overview)
	mux.HandleFunc("GET /api/network", s.network)
	mux.HandleFunc("GET /api/events", s.events)
	mux.HandleFunc("POST /api/scale", s.scale)
	mux.HandleFunc("POST /api/backup", s.backup)
	mux.HandleFunc("POST /api/restart", s.restart)
	mux.HandleFunc("POST /api/rotate-keys", s.rotateKeys)
	return secureHeaders(mux)
}

// secureHeaders keeps the page from being framed or fed other origins' scripts.
func secureHeaders(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; frame-ancestors 'none'; form-action 'none'; base-uri 'none'")
		hd.Set("X-Content-Type-Options", "nosniff")
		hd.Set("Referrer-Policy", "no-referrer")
		h.ServeHTTP(w, r)
	})
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}

type problem struct {
	Error string `json:"error"`
}

func fail(w http.ResponseWriter, code int, format string, args ...any) {
	writeJSON(w, code, problem{Error: fmt.Sprintf(format, args...)})
}

func (s *Server) actions() bool { return s.Keys != nil || s.JWT != nil }

// info tells the page whether actions are possible.
func (s *Server) info(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, map[string]bool{"actions": s.actions()})
}

func (s *Server) overview(w http.ResponseWriter, _ *http.Request) {
	data, _ := s.Cache.Overview()
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	_, _ = w.Write(data)
}

func (s *Server) network(w http.ResponseWriter, r *http.Request) {
	site, id := r.URL.Query().Get("site"), r.URL.Query().Get("id")
	d, ok := s.Cache.Detail(site, id)
	if !ok {
		fail(w, http.StatusNotFound, "site %q has no network %q", site, id)
		return
	}
	writeJSON(w, http.StatusOK, d)
}

// events streams the overview as server-sent events: at once, then after every poll.
func (s *Server) events(w http.ResponseWriter, r *http.Request) {
	rc := http.NewResponseController(w)
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-store")
	keepalive := time.NewTicker(30 * time.Second)
	defer keepalive.Stop()
	for {
		data, changed := s.Cache.Overview()
		if _, err := fmt.Fprintf(w, "event: overview\ndata: %s\n\n", data); err != nil {
			return
		}
		if rc.Flush() != nil {
			return
		}
		for wait := true; wait; {
			select {
			case <-r.Context().Done():
				return
			case <-changed:
				wait = false
			case <-keepalive.C:
				if _, err := fmt.Fprint(w, ": keepalive\n\n"); err != nil || rc.Flush() != nil {
					return
				}
			}
		}
	}
}

// Target is the network an action is for, in every action's body.
type Target struct {
	Site    string `json:"site"`
	Network string `json:"network"` // the network's ID in its site
	// Confirm repeats Network: the page sends it only after the user typed the name.
	Confirm string `json:"confirm"`
}

// ScaleRequest is the body of POST /api/scale.
type ScaleRequest struct {
	Target
	Group    string `json:"group"`
	Replicas int    `json:"replicas"`
}

// NodeRequest is the body of POST /api/backup and /api/restart.
type NodeRequest struct {
	Target
	Node string `json:"node"`
}

// RotateRequest is the body of POST /api/rotate-keys.
type RotateRequest struct {
	NodeRequest
	// SURI is the validator's controller secret URI, which signs session.setKeys. It is used
	// for this call only: never logged, stored or sent back.
	SURI string `json:"suri"`
}

// LogValue keeps the secret URI out of the log.
func (q *RotateRequest) LogValue() slog.Value {
	return slog.GroupValue(slog.String("network", q.Network), slog.String("node", q.Node))
}

// action is a request body: its target and a check of its own fields.
type action interface {
	target() *Target
	check() error
}

func (t *Target) target() *Target { return t }

func (q *ScaleRequest) check() error {
	switch {
	case q.Group == "":
		return errors.New("group: required")
	case q.Replicas < 0 || q.Replicas > network.MaxReplicas:
		return fmt.Errorf("replicas: must be between 0 and %d, got %d", network.MaxReplicas, q.Replicas)
	}
	return nil
}

func (q *NodeRequest) check() error {
	if q.Node == "" {
		return errors.New("node: required")
	}
	return nil
}

func (q *RotateRequest) check() error {
	if q.SURI == "" {
		return errors.Join(q.NodeRequest.check(), errors.New("suri: required: the controller's secret URI signs session.setKeys"))
	}
	return q.NodeRequest.check()
}

// scale is `onf scale`.
func (s *Server) scale(w http.ResponseWriter, r *http.Request) {
	var req ScaleRequest
	s.act(w, r, "scale", &req, func(ctx context.Context, site Site, sum Summary) (string, error) {
		if err := site.Scale(ctx, sum.Namespace, sum.Name, req.Group, req.Replicas); err != nil {
			return "", fmt.Errorf("scale %s group %s: %w", req.Network, req.Group, err)
		}
		return fmt.Sprintf("network %s: group %s has %d nodes", req.Network, req.Group, req.Replicas), nil
	})
}

// backup is `onf backup create`.
func (s *Server) backup(w http.ResponseWriter, r *http.Request) {
	var req NodeRequest
	s.act(w, r, "backup", &req, func(ctx context.Context, site Site, sum Summary) (string, error) {
		m, err := site.Backup(ctx, sum.Namespace, sum.Name, req.Node)
		if err != nil {
			return "", fmt.Errorf("backup %s node %s: %w", req.Network, req.Node, err)
		}
		return fmt.Sprintf("network %s: backup %s of %s at block %d (finalized %d)", req.Network, m.ID, m.Node, m.Best.Number, m.Finalized.Number), nil
	})
}

// restart is `onf restart`.
func (s *Server) restart(w http.ResponseWriter, r *http.Request) {
	var req NodeRequest
	s.act(w, r, "restart", &req, func(ctx context.Context, site Site, sum Summary) (string, error) {
		if err := site.Restart(ctx, sum.Namespace, sum.Name, req.Node); err != nil {
			return "", fmt.Errorf("restart %s node %s: %w", req.Network, req.Node, err)
		}
		if sum.Namespace != "" { // a cluster's: its pod made anew
			return fmt.Sprintf("network %s: %s restarted, its new pod is Ready", req.Network, req.Node), nil
		}
		return fmt.Sprintf("network %s: %s restarted and answers RPC", req.Network, req.Node), nil
	})
}

// rotateKeys is `onf keys rotate`.
func (s *Server) rotateKeys(w http.ResponseWriter, r *http.Request) {
	var req RotateRequest
	s.act(w, r, "rotate-keys", &req, func(ctx context.Context, _ Site, sum Summary) (string, error) {
		if s.RotateKeys == nil {
			return "", fmt.Errorf("rotate keys: %w", ErrUnsupported)
		}
		out, err := s.RotateKeys(ctx, req.Site, sum.Namespace, sum.Name, req.Node, req.SURI)
		if err != nil {
			return "", fmt.Errorf("rotate keys of %s node %s: %w", req.Network, req.Node, err)
		}
		return out, nil
	})
}

// act runs an action for a caller with an operator's API key. The key comes in a header
// (X-Api-Key or Authorization: Bearer), never a cookie, and a request from another origin is
// refused, so another site's page cannot make a browser act here (CSRF). Everything is
// checked, naming the field, before run asks anything of a site.
func (s *Server) act(w http.ResponseWriter, r *http.Request, verb string, req action, run func(context.Context, Site, Summary) (string, error)) {
	if !s.actions() {
		fail(w, http.StatusForbidden, "the console is read-only: start it with --api-keys or --jwt-* to allow actions")
		return
	}
	if !sameOrigin(r) {
		fail(w, http.StatusForbidden, "request from another origin refused")
		return
	}
	if ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type")); ct != "application/json" {
		fail(w, http.StatusUnsupportedMediaType, "Content-Type: want application/json")
		return
	}
	// Keys rotate without a restart: the file is re-read when it changed.
	if s.Keys != nil {
		if _, err := s.Keys.Reload(); err != nil {
			s.Log.Error("API keys not reloaded; the previous keys stay in force", "err", err)
		}
	}
	who, err := (&auth.Authenticator{Keys: s.Keys, JWT: s.JWT}).Authenticate(r)
	if err != nil {
		w.Header().Set("WWW-Authenticate", `Bearer realm="onf console"`)
		fail(w, http.StatusUnauthorized, "%v: actions need an API key or a JWT in the X-Api-Key or Authorization: Bearer header", err)
		return
	}
	if who.Role != RoleOperator {
		fail(w, http.StatusForbidden, "key %s has role %q; actions need role %q", who.ID, who.Role, RoleOperator)
		return
	}
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 4096))
	dec.DisallowUnknownFields()
	if err := dec.Decode(req); err != nil {
		fail(w, http.StatusBadRequest, "body: %v", err)
		return
	}
	t := req.target()
	if err := errors.Join(t.check(), req.check()); err != nil {
		fail(w, http.StatusBadRequest, "%v", err)
		return
	}
	site, sum, ok := s.Cache.lookup(t.Site, t.Network)
	if !ok {
		fail(w, http.StatusNotFound, "network: site %q has no network %q", t.Site, t.Network)
		return
	}
	s.Log.Info(verb, "key", who.ID, "site", t.Site, "request", req)
	ctx, cancel := context.WithTimeout(r.Context(), s.ActionTimeout)
	defer cancel()
	result, err := run(ctx, site, sum)
	s.Cache.Refresh(t.Site)
	switch {
	case errors.Is(err, ErrUnsupported):
		fail(w, http.StatusNotImplemented, "%v", err)
	case err != nil:
		s.Log.Warn(verb+" failed", "key", who.ID, "site", t.Site, "network", t.Network, "err", err)
		fail(w, http.StatusConflict, "%v", err)
	default:
		writeJSON(w, http.StatusOK, map[string]string{"result": result})
	}
}

// check refuses a target that is incomplete or unconfirmed, naming the field.
func (t *Target) check() error {
	switch {
	case t.Site == "":
		return errors.New("site: required")
	case t.Network == "":
		return errors.New("network: required")
	case t.Confirm != t.Network:
		return fmt.Errorf("confirm: must repeat the network's name %q to confirm the action", t.Network)
	}
	return nil
}

// sameOrigin accepts a request without Origin (not sent by a browser page) or whose Origin is
// this console's own host.
func sameOrigin(r *http.Request) bool {
	o := r.Header.Get("Origin")
	if o == "" {
		return true
	}
	u, err := url.Parse(o)
	return err == nil && u.Host == r.Host
}
