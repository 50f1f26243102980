package gateway

import (
	"sync"

	"github.com/gorilla/websocket"
)

// sessions are the open WebSocket sessions, so that a key file reload can close those whose
// key it revoked (HTTP requests are authenticated one by one).
type sessions struct {
	mu sync.Mutex
	m  map[*wsSession]struct{}
}

func (ss *sessions) add(s *wsSession) {
	ss.mu.Lock()
	if ss.m == nil {
		ss.m = map[*wsSession]struct{}{}
	}
	ss.m[s] = struct{}{}
	ss.mu.Unlock()
}

func (ss *sessions) remove(s *wsSession) {
	ss.mu.Lock()
	delete(ss.m, s)
	ss.mu.Unlock()
}

// reloadKeys re-reads the API key file (logging the outcome) and, if another key set is in
// force, closes the sessions whose key it no longer holds.
func (g *Gateway) reloadKeys() {
	if g.auth.Keys.ReloadAndLog(g.log) {
		g.closeRevoked()
	}
}

// closeRevoked closes, with a policy-violation close frame, every session whose API key is
// no longer in force (removed, or moved to another role).
func (g *Gateway) closeRevoked() {
	g.sessions.mu.Lock()
	defer g.sessions.mu.Unlock()
	for s := range g.sessions.m {
		if g.revoked(s.c) {
			g.log.Info("websocket closed: API key revoked", "key", s.c.ident.ID)
			s.closeClient(websocket.ClosePolicyViolation, "credential revoked")
		}
	}
}

func (g *Gateway) revoked(c *caller) bool {
	return g.auth.Keys != nil && g.auth.Keys.Revoked(c.ident)
}
