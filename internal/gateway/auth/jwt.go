package auth

import (
	"crypto/ed25519"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/dinfra/stack/internal/gateway/config"
)

// JWTVerifier checks bearer JWTs signed with HS256 or EdDSA.
type JWTVerifier struct {
	hsSecret    []byte
	edKey       ed25519.PublicKey
	parser      *jwt.Parser
	defaultRole string
	roleExists  func(string) bool
}

// Claims are the claims the gateway reads: the registered ones plus "role".
type Claims struct {
	jwt.RegisteredClaims
	Role string `json:"role,omitempty"`
}

// NewJWTVerifier reads the configured key files.
func NewJWTVerifier(c *config.JWT, roleExists func(string) bool) (*JWTVerifier, error) {
	v := &JWTVerifier{defaultRole: c.DefaultRole, roleExists: roleExists}
	var methods []string
	if c.HS256SecretFile != "" {
		b, err := os.ReadFile(c.HS256SecretFile)
		if err != nil {
			return nil, fmt.Errorf("auth.jwt.hs256SecretFile: %w", err)
		}
		v.hsSecret = []byte(strings.TrimSpace(string(b)))
		if len(v.hsSecret) < 32 {
			return nil, errors.New("auth.jwt.hs256SecretFile: the secret must be at least 32 bytes")
		}
		methods = append(methods, jwt.SigningMethodHS256.Alg())
	}
	if c.EdDSAPublicKeyFile != "" {
		key, err := readEd25519PublicKey(c.EdDSAPublicKeyFile)
		if err != nil {
			return nil, fmt.Errorf("auth.jwt.eddsaPublicKeyFile: %w", err)
		}
		v.edKey = key
		methods = append(methods, jwt.SigningMethodEdDSA.Alg())
	}
	// Strict decoding: a token is accepted in exactly one spelling (no alternative trailing base64 bits).
	opts := []jwt.ParserOption{jwt.WithValidMethods(methods), jwt.WithExpirationRequired(), jwt.WithLeeway(5 * time.Second),
		jwt.WithStrictDecoding()}
	if c.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(c.Issuer))
	}
	if c.Audience != "" {
		opts = append(opts, jwt.WithAudience(c.Audience))
	}
	v.parser = jwt.NewParser(opts...)
	return v, nil
}

func readEd25519PublicKey(file string) (ed25519.PublicKey, error) {
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	block, _ := pem.Decode(b)
	if block == nil {
		return nil, errors.New("no PEM block (want a PUBLIC KEY in PKIX form)")
	}
	key, err := x509.ParsePKIXPublicKey(block.Bytes)
	if err != nil {
		return nil, err
	}
	ed, ok := key.(ed25519.PublicKey)
	if !ok {
		return nil, fmt.Errorf("public key is %T, want Ed25519", key)
	}
	return ed, nil
}

func (v *JWTVerifier) key(t *jwt.Token) (any, error) {
	switch t.Method.Alg() {
	case jwt.SigningMethodHS256.Alg():
		if v.hsSecret != nil {
			return v.hsSecret, nil
		}
	case jwt.SigningMethodEdDSA.Alg():
		if v.edKey != nil {
			return v.edKey, nil
		}
	}
	return nil, fmt.Errorf("signing method %s not accepted", t.Method.Alg())
}

// Verify checks the token's signature, expiry (required), issuer and audience and returns
// the caller. The subject ("sub") is required; "role" defaults to the configured role.
func (v *JWTVerifier) Verify(token string) (Identity, error) {
	var c Claims
	if _, err := v.parser.ParseWithClaims(token, &c, v.key); err != nil {
		return Identity{}, fmt.Errorf("%w: jwt: %v", ErrInvalidCredentials, err)
	}
	if c.Subject == "" || !idPattern.MatchString(c.Subject) {
		return Identity{}, fmt.Errorf("%w: jwt: sub must be 1-64 letters, digits, '.', '_' or '-'", ErrInvalidCredentials)
	}
	role := c.Role
	if role == "" {
		role = v.defaultRole
	}
	if !v.roleExists(role) {
		return Identity{}, fmt.Errorf("%w: jwt: role %q is not defined", ErrInvalidCredentials, role)
	}
	return Identity{ID: "jwt:" + c.Subject, Role: role, Expires: c.ExpiresAt.Time}, nil
}
