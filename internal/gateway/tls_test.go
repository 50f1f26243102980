package gateway

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/gorilla/websocket"

	"github.com/dinfra/stack/internal/gateway/config"
	"github.com/dinfra/stack/internal/rpc"
)

// selfSigned writes a certificate for 127.0.0.1 and its key, and returns their files and a
// pool trusting the certificate.
func selfSigned(t *testing.T) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "onf-gateway-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "tls.crt"), filepath.Join(dir, "tls.key")
	if os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o600) != nil ||
		os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder}), 0o600) != nil {
		t.Fatal("write certificate")
	}
	cert, _ := x509.ParseCertificate(der)
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

func TestTLSAndRun(t *testing.T) { eachServer(t, testTLSAndRun) }

func testTLSAndRun(t *testing.T, srv Option) {
	certFile, keyFile, pool := selfSigned(t)
	e := newEnv(t, nil, srv) // for its fake node and key file
	cfg := *e.g.cfg
	cfg.TLS = &config.TLS{CertFile: certFile, KeyFile: keyFile}
	cfg.MetricsListen = "127.0.0.1:0"
	g, err := New(&cfg, srv)
	if err != nil {
		t.Fatal(err)
	}
	addr, cancel, done := startServe(t, g)
	ctx := t.Context()
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	c, err := rpc.Dial(ctx, "https://"+addr+"/", rpc.WithHTTPClient(hc), rpc.WithHeader("Authorization", "Bearer "+readerKey))
	if err != nil {
		t.Fatal(err)
	}
	if name, err := c.SystemName(ctx); err != nil || name != "Gossamer" {
		t.Fatalf("over TLS: %q, %v", name, err)
	}
	// WebSocket over TLS: answers go through the session's flusher (no direct socket writes).
	d := websocket.Dialer{TLSClientConfig: &tls.Config{RootCAs: pool}}
	ws, _, err := d.DialContext(ctx, "wss://"+addr+"/", http.Header{"X-Api-Key": {readerKey}})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 3 {
		if err := ws.WriteMessage(websocket.TextMessage, []byte(req(i, "system_name"))); err != nil {
			t.Fatal(err)
		}
	}
	_ = ws.SetReadDeadline(time.Now().Add(5 * time.Second))
	for range 3 {
		_, b, err := ws.ReadMessage()
		if err != nil || string(decode(t, string(b)).Result) != `"Gossamer"` {
			t.Fatalf("wss answer %s: %v", b, err)
		}
	}
	_ = ws.Close()
	cancel()
	waitServed(t, done)
}
