package auth

import (
	"fmt"
	"net/http"
	"strings"
)

// Authenticator finds and checks the credential of an HTTP request or WebSocket handshake.
type Authenticator struct {
	Keys          *KeyStore    // nil: API keys are not accepted
	JWT           *JWTVerifier // nil: JWTs are not accepted
	AllowQueryKey bool
}

// Credential extracts the credential: "Authorization: Bearer <x>", "X-Api-Key: <x>" or, when
// allowed, the "apikey" query parameter.
func Credential(r *http.Request, allowQuery bool) string {
	if h := r.Header.Get("Authorization"); h != "" {
		if scheme, cred, ok := strings.Cut(h, " "); ok && strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(cred)
		}
		return ""
	}
	if k := r.Header.Get("X-Api-Key"); k != "" {
		return k
	}
	if allowQuery {
		return r.URL.Query().Get("apikey")
	}
	return ""
}

// Authenticate checks the request's credential.
func (a *Authenticator) Authenticate(r *http.Request) (Identity, error) {
	return a.Check(Credential(r, a.AllowQueryKey))
}

// Check authenticates one credential string: a JWT if it has the JWT shape, else an API key.
func (a *Authenticator) Check(cred string) (Identity, error) {
	if cred == "" {
		return Identity{}, ErrNoCredentials
	}
	if looksLikeJWT(cred) {
		if a.JWT == nil {
			return Identity{}, fmt.Errorf("%w: JWTs are not accepted here", ErrInvalidCredentials)
		}
		return a.JWT.Verify(cred)
	}
	if a.Keys != nil {
		if id, ok := a.Keys.Lookup(cred); ok {
			return id, nil
		}
	}
	return Identity{}, ErrInvalidCredentials
}
