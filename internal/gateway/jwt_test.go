package gateway

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"encoding/pem"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
)

func TestJWTCallers(t *testing.T) { eachServer(t, testJWTCallers) }

func testJWTCallers(t *testing.T, srv Option) {
	pub, priv, _ := ed25519.GenerateKey(rand.Reader)
	der, _ := x509.MarshalPKIXPublicKey(pub)
	dir := t.TempDir()
	pubFile := filepath.Join(dir, "jwt.pub.pem")
	if err := os.WriteFile(pubFile, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
	e := newEnv(t, func(c *config.Config) {
		c.Auth.JWT = &config.JWT{EdDSAPublicKeyFile: pubFile, Audience: "rpc"}
	}, srv)
	token := func(role string, ttl time.Duration) string {
		claims := jwt.MapClaims{"sub": "svc-1", "aud": "rpc", "exp": time.Now().Add(ttl).Unix()}
		if role != "" {
			claims["role"] = role
		}
		s, err := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims).SignedString(priv)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	if status, body := e.post("/", token("", time.Hour), req(1, "author_insertKey", "a", "b", "c")); status != 200 || decode(t, body).code() != CodeMethodDenied {
		t.Fatalf("default role inserting a key: %d %s", status, body)
	}
	if status, body := e.post("/", token("admin", time.Hour), req(1, "author_insertKey", "a", "b", "c")); status != 200 || decode(t, body).code() != 0 {
		t.Fatalf("admin role inserting a key: %d %s", status, body)
	}
	if status, _ := e.post("/", token("", -time.Minute), req(1, "system_name")); status != http.StatusUnauthorized {
		t.Fatalf("expired token: %d", status)
	}
	// A WebSocket opened with a token is closed when the token expires. exp has one-second
	// resolution, so the token lives 1 to 2 seconds.
	h := http.Header{"Authorization": {"Bearer " + token("", 2*time.Second)}}
	c, _, err := websocket.DefaultDialer.Dial(e.wsURL("/"), h)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetReadDeadline(time.Now().Add(10 * time.Second))
	_, _, err = c.ReadMessage()
	if ce, ok := err.(*websocket.CloseError); !ok || ce.Code != websocket.ClosePolicyViolation {
		t.Fatalf("connection end at token expiry: %v", err)
	}
}
