package reactor

import (
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"os"
	"strings"

	api "github.com/dinfra/stack/api/reactor"
)

// Auth says how clients authenticate: a bearer token, a client certificate (mutual TLS),
// or either. Health checks need no credentials.
type Auth struct {
	// Token is the shared bearer token; empty disables bearer authentication.
	Token string
	// ClientCAs, when set, accepts clients presenting a certificate signed by one of them
	// (the server must then run with TLSConfig).
	ClientCAs *x509.CertPool
}

// ReadToken reads a bearer token from a file (tokens never travel in arguments or the
// environment). Surrounding white space is ignored.
func ReadToken(path string) (string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read token: %w", err)
	}
	tok := strings.TrimSpace(string(raw))
	if tok == "" {
		return "", fmt.Errorf("token file %s is empty", path)
	}
	return tok, nil
}

// LoadClientCAs reads PEM certificates of the authorities that sign client certificates.
func LoadClientCAs(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read client CAs: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("client CAs %s: no PEM certificate found", path)
	}
	return pool, nil
}

// TLSConfig is the server TLS configuration for cert/key, asking clients for certificates
// signed by ClientCAs when mutual TLS is enabled (verified, but optional at the TLS layer so
// that bearer-token clients can still connect; the handler decides).
func (a Auth) TLSConfig(certFile, keyFile string) (*tls.Config, error) {
	cert, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load server certificate: %w", err)
	}
	cfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	if a.ClientCAs != nil {
		cfg.ClientCAs = a.ClientCAs
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
	}
	return cfg, nil
}

func (a Auth) enabled() bool { return a.Token != "" || a.ClientCAs != nil }

// authorized reports whether r carries valid credentials.
func (a Auth) authorized(r *http.Request) bool {
	if a.ClientCAs != nil && r.TLS != nil && len(r.TLS.VerifiedChains) > 0 {
		return true
	}
	if a.Token == "" {
		return false
	}
	got, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && subtle.ConstantTimeCompare([]byte(got), []byte(a.Token)) == 1
}

// middleware rejects unauthenticated requests to everything but the health endpoint.
func (a Auth) middleware(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/v1/health" || a.authorized(r) {
			next.ServeHTTP(w, r)
			return
		}
		w.Header().Set("WWW-Authenticate", `Bearer realm="dinfra-reactor"`)
		writeError(w, http.StatusUnauthorized, api.ErrorCodeUnauthorized, "missing or invalid credentials", nil)
	})
}
