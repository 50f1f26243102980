// Package auth authenticates gateway callers: API keys (stored as SHA-256 hashes in a file
// that is re-read when it changes) and JWTs (HS256 and EdDSA). Keys and tokens never appear
// in errors or logs; only key ids and token subjects do.
package auth

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/problem"
)

// Identity is an authenticated caller.
type Identity struct {
	// ID names the caller in metrics and logs: the key id, "jwt:<subject>", or "public".
	ID   string
	Role string
	// Limits overrides the per-key limits for this caller (nil: the configured defaults).
	Limits *config.LimitSet
	// Expires is when the credential stops being valid (zero: never). Long-lived WebSocket
	// connections are closed then.
	Expires time.Time
	// key is the SHA-256 of the API key that authenticated the caller (zero for others),
	// to tell after a reload whether the key is still in force.
	key [32]byte
}

// Errors returned by authentication; they never carry the credential.
var (
	ErrNoCredentials      = errors.New("no API key or token")
	ErrInvalidCredentials = errors.New("invalid API key or token")
)

// KeyPrefix starts every key NewKey generates.
const KeyPrefix = "onf_"

// NewKey returns a new random API key (256 bits) to hand to a client once; store only its
// HashKey in the key file.
func NewKey() (string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return "", fmt.Errorf("generate key: %w", err)
	}
	return KeyPrefix + base64.RawURLEncoding.EncodeToString(b), nil
}

// HashKey returns the hex SHA-256 of a key, the form the key file stores. A fast hash is
// right here: keys are 256-bit random values, not passwords, and every call is checked.
func HashKey(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// KeyFile is the document an API key file holds (YAML or JSON).
type KeyFile struct {
	Keys []KeyEntry `json:"keys"`
}

// KeyEntry is one API key.
type KeyEntry struct {
	ID     string           `json:"id"`
	SHA256 string           `json:"sha256"`
	Role   string           `json:"role,omitempty"`
	Limits *config.LimitSet `json:"limits,omitempty"`
}

var idPattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// ParseKeyFile decodes and validates a key file. Entries without a role get defaultRole;
// roleExists says which roles are defined.
func ParseKeyFile(data []byte, defaultRole string, roleExists func(string) bool) (map[[32]byte]Identity, error) {
	var kf KeyFile
	if err := config.DecodeStrict(data, &kf); err != nil {
		return nil, err
	}
	var ps problem.List
	add := ps.Add
	out := make(map[[32]byte]Identity, len(kf.Keys))
	ids := map[string]bool{}
	for i, k := range kf.Keys {
		f := fmt.Sprintf("keys[%d]", i)
		if !idPattern.MatchString(k.ID) {
			add(f+".id", "must be 1-64 letters, digits, '.', '_' or '-' (got %q)", k.ID)
		} else if ids[k.ID] {
			add(f+".id", "duplicate id %q", k.ID)
		}
		ids[k.ID] = true
		var sum [32]byte
		if b, err := hex.DecodeString(k.SHA256); err != nil || len(b) != 32 {
			add(f+".sha256", "must be 64 hex digits (the SHA-256 of the key; see `onf gateway key new`)")
		} else {
			copy(sum[:], b)
		}
		if _, dup := out[sum]; dup {
			add(f+".sha256", "the same key is listed twice")
		}
		role := k.Role
		if role == "" {
			role = defaultRole
		}
		if !roleExists(role) {
			add(f+".role", "role %q is not defined in the gateway config", role)
		}
		if k.Limits != nil {
			config.CheckLimits(&ps, f+".limits", *k.Limits)
		}
		out[sum] = Identity{ID: k.ID, Role: role, Limits: k.Limits, key: sum}
	}
	if err := ps.Err("API key file"); err != nil {
		return nil, err
	}
	return out, nil
}

// KeyStore holds the API keys of one file and swaps them atomically on reload.
type KeyStore struct {
	file        string
	defaultRole string
	roleExists  func(string) bool

	keys    atomic.Pointer[map[[32]byte]Identity]
	mu      sync.Mutex // serialises reloads
	lastSum [32]byte
}

// NewKeyStore loads file; an unreadable or invalid file is an error.
func NewKeyStore(file, defaultRole string, roleExists func(string) bool) (*KeyStore, error) {
	s := &KeyStore{file: file, defaultRole: defaultRole, roleExists: roleExists}
	if _, err := s.Reload(); err != nil {
		return nil, err
	}
	return s, nil
}

// Reload re-reads the file. An invalid file keeps the keys already loaded and returns the
// error; changed reports whether a new key set is in force.
func (s *KeyStore) Reload() (changed bool, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	data, err := os.ReadFile(s.file)
	if err != nil {
		return false, fmt.Errorf("read API key file: %w", err)
	}
	sum := sha256.Sum256(data)
	if s.keys.Load() != nil && bytes.Equal(sum[:], s.lastSum[:]) {
		return false, nil
	}
	keys, err := ParseKeyFile(data, s.defaultRole, s.roleExists)
	if err != nil {
		return false, fmt.Errorf("API key file %s: %w", s.file, err)
	}
	s.keys.Store(&keys)
	s.lastSum = sum
	return true, nil
}

// ReloadAndLog reloads, logs the outcome and reports whether a new key set is in force.
// Call it periodically: a mounted Kubernetes Secret is updated in place by the kubelet, so
// polling picks up rotated keys.
func (s *KeyStore) ReloadAndLog(log *slog.Logger) bool {
	changed, err := s.Reload()
	switch {
	case err != nil:
		log.Error("API keys not reloaded; the previous keys stay in force", "err", err)
	case changed:
		log.Info("API keys reloaded", "keys", s.Len())
	}
	return changed
}

// Len returns the number of keys in force.
func (s *KeyStore) Len() int { return len(*s.keys.Load()) }

// Lookup returns the identity of key.
func (s *KeyStore) Lookup(key string) (Identity, bool) {
	id, ok := (*s.keys.Load())[sha256.Sum256([]byte(key))]
	return id, ok
}

// Revoked reports whether id was authenticated by an API key that the keys in force no
// longer hold, or hold under another id or role. Other callers are never revoked here.
func (s *KeyStore) Revoked(id Identity) bool {
	if id.key == ([32]byte{}) {
		return false
	}
	cur, ok := (*s.keys.Load())[id.key]
	return !ok || cur.ID != id.ID || cur.Role != id.Role
}

// looksLikeJWT reports whether a credential has the three dot-separated parts of a JWT
// (API keys never contain dots).
func looksLikeJWT(s string) bool { return strings.Count(s, ".") == 2 }
