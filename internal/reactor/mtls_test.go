package reactor_test

import (
	"context"
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
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/dinfra/stack/internal/descriptor"
	"github.com/dinfra/stack/internal/reactor"
	"github.com/dinfra/stack/internal/reactor/conformance"
	"github.com/dinfra/stack/internal/reactor/reactortest"
)

type testCA struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	pem  []byte
}

func newCA(t *testing.T) testCA {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test CA"}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, _ := x509.ParseCertificate(der)
	return testCA{cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})}
}

// issue returns a PEM certificate and key signed by ca.
func (ca testCA) issue(t *testing.T, cn string, usage x509.ExtKeyUsage) (certPEM, keyPEM []byte) {
	t.Helper()
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(time.Now().UnixNano()), Subject: pkix.Name{CommonName: cn}, NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		ExtKeyUsage: []x509.ExtKeyUsage{usage}, KeyUsage: x509.KeyUsageDigitalSignature, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalECPrivateKey(key)
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kder})
}

func write(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestMutualTLS runs the conformance suite with a client certificate and no token, and
// checks that a certificate from another CA is refused.
func TestMutualTLS(t *testing.T) {
	dir := t.TempDir()
	ca, rogue := newCA(t), newCA(t)
	srvCert, srvKey := ca.issue(t, "reactor", x509.ExtKeyUsageServerAuth)
	cliCert, cliKey := ca.issue(t, "watcher", x509.ExtKeyUsageClientAuth)
	rogueCert, rogueKey := rogue.issue(t, "intruder", x509.ExtKeyUsageClientAuth)

	pool, err := reactor.LoadClientCAs(write(t, dir, "ca.pem", ca.pem))
	if err != nil {
		t.Fatal(err)
	}
	auth := reactor.Auth{ClientCAs: pool}
	tlsCfg, err := auth.TLSConfig(write(t, dir, "srv.pem", srvCert), write(t, dir, "srv.key", srvKey))
	if err != nil {
		t.Fatal(err)
	}
	reg, _ := descriptor.NewRegistry()
	srv, err := reactor.New(reactor.Config{Driver: reactortest.NewDriver(3), Registry: reg, Auth: auth})
	if err != nil {
		t.Fatal(err)
	}
	hs := httptest.NewUnstartedServer(srv.Handler())
	hs.TLS = tlsCfg
	hs.StartTLS()
	t.Cleanup(func() { hs.Close(); srv.Close() })

	client := func(certPEM, keyPEM []byte) *http.Client {
		cert, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			t.Fatal(err)
		}
		roots := x509.NewCertPool()
		roots.AddCert(ca.cert)
		return &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{cert}}}}
	}
	report, err := conformance.Run(context.Background(), conformance.Config{URL: hs.URL, HTTP: client(cliCert, cliKey), DeployTimeout: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range report {
		if r.Err != nil {
			t.Errorf("%s: %v", r.Name, r.Err)
		}
	}
	// A certificate from another CA fails the TLS handshake or is refused.
	resp, err := client(rogueCert, rogueKey).Get(hs.URL + "/v1/capabilities")
	if err == nil {
		resp.Body.Close()
		if resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("rogue client certificate: HTTP %d", resp.StatusCode)
		}
	}
}
