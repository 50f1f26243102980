package auth

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dinfra/stack/internal/gateway/config"
)

var hsSecret = []byte("0123456789abcdef0123456789abcdef-test")

func roles(r string) bool { return r == "default" || r == "admin" }

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	f := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(f, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

func newVerifier(t *testing.T, pub ed25519.PublicKey, edit func(*config.JWT)) *JWTVerifier {
	t.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatal(err)
	}
	c := &config.JWT{
		HS256SecretFile:    writeFile(t, "secret", append(hsSecret, '\n')),
		EdDSAPublicKeyFile: writeFile(t, "pub.pem", pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})),
		DefaultRole:        "default",
	}
	if edit != nil {
		edit(c)
	}
	v, err := NewJWTVerifier(c, roles)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(method, claims).SignedString(key)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestJWT(t *testing.T) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	v := newVerifier(t, pub, func(c *config.JWT) { c.Issuer = "onf-test"; c.Audience = "rpc" })
	exp := time.Now().Add(time.Hour).Unix()
	ok := jwt.MapClaims{"sub": "alice", "exp": exp, "iss": "onf-test", "aud": "rpc"}
	with := func(k string, val any) jwt.MapClaims {
		c := jwt.MapClaims{}
		for a, b := range ok {
			c[a] = b
		}
		if val == nil {
			delete(c, k)
		} else {
			c[k] = val
		}
		return c
	}
	unsigned, _ := jwt.NewWithClaims(jwt.SigningMethodNone, ok).SignedString(jwt.UnsafeAllowNoneSignatureType)
	tests := []struct {
		name     string
		token    string
		wantRole string
	}{
		{"HS256", sign(t, jwt.SigningMethodHS256, hsSecret, ok), "default"},
		{"EdDSA", sign(t, jwt.SigningMethodEdDSA, priv, ok), "default"},
		{"role claim", sign(t, jwt.SigningMethodEdDSA, priv, with("role", "admin")), "admin"},
		{"unknown role", sign(t, jwt.SigningMethodEdDSA, priv, with("role", "root")), ""},
		{"expired", sign(t, jwt.SigningMethodHS256, hsSecret, with("exp", time.Now().Add(-time.Minute).Unix())), ""},
		{"no exp", sign(t, jwt.SigningMethodHS256, hsSecret, with("exp", nil)), ""},
		{"no sub", sign(t, jwt.SigningMethodHS256, hsSecret, with("sub", nil)), ""},
		{"wrong issuer", sign(t, jwt.SigningMethodHS256, hsSecret, with("iss", "evil")), ""},
		{"wrong audience", sign(t, jwt.SigningMethodHS256, hsSecret, with("aud", "other")), ""},
		{"wrong HS secret", sign(t, jwt.SigningMethodHS256, []byte("another-secret-another-secret-xx"), ok), ""},
		{"wrong Ed25519 key", sign(t, jwt.SigningMethodEdDSA, otherPriv, ok), ""},
		{"alg none", unsigned, ""},
		{"HS384 not accepted", sign(t, jwt.SigningMethodHS384, hsSecret, ok), ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			id, err := v.Verify(tt.token)
			if tt.wantRole == "" {
				if !errors.Is(err, ErrInvalidCredentials) {
					t.Fatalf("accepted: %+v, %v", id, err)
				}
				if strings.Contains(err.Error(), tt.token) {
					t.Fatal("the error quotes the token")
				}
				return
			}
			if err != nil || id.Role != tt.wantRole || id.ID != "jwt:alice" || id.Expires.Unix() != exp {
				t.Fatalf("got %+v, %v", id, err)
			}
		})
	}
}

func TestHS256SecretTooShort(t *testing.T) {
	_, err := NewJWTVerifier(&config.JWT{HS256SecretFile: writeFile(t, "s", []byte("short")), DefaultRole: "default"}, roles)
	if err == nil {
		t.Fatal("a 5-byte HS256 secret was accepted")
	}
}

func TestKeyFileValidation(t *testing.T) {
	good := HashKey("k1")
	tests := []struct {
		name, file, wantField string
	}{
		{"ok", "keys: [{id: a, sha256: " + good + "}]", ""},
		{"bad id", "keys: [{id: 'a b', sha256: " + good + "}]", "keys[0].id"},
		{"duplicate id", "keys: [{id: a, sha256: " + good + "}, {id: a, sha256: " + HashKey("k2") + "}]", "keys[1].id"},
		{"bad hash", "keys: [{id: a, sha256: abc}]", "keys[0].sha256"},
		{"same key twice", "keys: [{id: a, sha256: " + good + "}, {id: b, sha256: " + good + "}]", "keys[1].sha256"},
		{"unknown role", "keys: [{id: a, sha256: " + good + ", role: root}]", "keys[0].role"},
		{"bad limits", "keys: [{id: a, sha256: " + good + ", limits: {burst: -1}}]", "keys[0].limits.burst"},
		{"unknown field", "keys: [{id: a, sha256: " + good + ", secret: x}]", "unknown field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keys, err := ParseKeyFile([]byte(tt.file), "default", roles)
			if tt.wantField == "" {
				if err != nil || len(keys) != 1 {
					t.Fatalf("%v, %d keys", err, len(keys))
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantField) {
				t.Fatalf("error %v, want one naming %s", err, tt.wantField)
			}
		})
	}
}

func TestCredentialSources(t *testing.T) {
	tests := []struct {
		name       string
		header     map[string]string
		query      string
		allowQuery bool
		want       string
	}{
		{"bearer", map[string]string{"Authorization": "Bearer abc"}, "", false, "abc"},
		{"bearer lower case", map[string]string{"Authorization": "bearer abc"}, "", false, "abc"},
		{"basic is not a key", map[string]string{"Authorization": "Basic abc"}, "", false, ""},
		{"x-api-key", map[string]string{"X-Api-Key": "abc"}, "", false, "abc"},
		{"query refused by default", nil, "apikey=abc", false, ""},
		{"query when allowed", nil, "apikey=abc", true, "abc"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest("GET", "/?"+tt.query, nil)
			for k, v := range tt.header {
				r.Header.Set(k, v)
			}
			if got := Credential(r, tt.allowQuery); got != tt.want {
				t.Fatalf("got %q, want %q", got, tt.want)
			}
		})
	}
}

func TestNewKey(t *testing.T) {
	a, _ := NewKey()
	b, _ := NewKey()
	if a == b || !strings.HasPrefix(a, KeyPrefix) || len(a) != len(KeyPrefix)+43 || looksLikeJWT(a) {
		t.Fatalf("keys %q %q", a, b)
	}
}
