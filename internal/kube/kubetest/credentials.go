package kubetest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/pem"
	"io"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"testing"

	certutil "k8s.io/client-go/util/cert"
	"k8s.io/client-go/util/keyutil"
	"sigs.k8s.io/controller-runtime/pkg/envtest"
)

// kubernetesServiceIP is the `kubernetes` Service's cluster IP: the first address of
// serviceCIDR, what pods' in-cluster configuration (KUBERNETES_SERVICE_HOST) dials.
const kubernetesServiceIP = "10.0.0.1"

// servePodCredentials prepares the real node's API server for pods that use it as pods of
// any cluster do, with a service account token and the cluster's CA. envtest turns the
// ServiceAccount admission plugin off, advertises whatever address the host's default route
// has and signs its serving certificate for loopback only; here the plugin is on (it adds the
// projected token, kube-root-ca.crt and namespace volume to every pod), the `kubernetes`
// Service's endpoint is the node's address (forwardAPIServer listens there) and the serving
// certificate also names what pods dial: the Service's cluster IP, the node's address and
// kubernetes.default.svc. envtest uses a certificate it finds in its CertDir, with
// SecureServing.CA as the CA its clients trust; it then also expects the service account
// signing key pair there. The kubelet gets tokens through TokenRequest with the admin
// kubeconfig; kube-controller-manager creates the `default` ServiceAccount of every
// namespace and publishes the CA (caFile) as kube-root-ca.crt (startControllers).
func (c *Cluster) servePodCredentials(t testing.TB, api *envtest.APIServer) {
	t.Helper()
	dir := filepath.Join(c.dir, "apiserver")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	chain, key, err := certutil.GenerateSelfSignedCertKey("localhost",
		[]net.IP{net.ParseIP("127.0.0.1"), net.ParseIP(kubernetesServiceIP), net.ParseIP(NodeIP)},
		[]string{"kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"})
	if err != nil {
		t.Fatalf("API server certificate: %v", err)
	}
	certs, err := certutil.ParseCertsPEM(chain) // the serving certificate, then its CA
	if err != nil || len(certs) != 2 {
		t.Fatalf("API server certificate chain: %d certificates, %v", len(certs), err)
	}
	ca, err := certutil.EncodeCertificates(certs[1])
	if err != nil {
		t.Fatal(err)
	}
	signer, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	signerKey, err := keyutil.MarshalPrivateKeyToPEM(signer)
	if err != nil {
		t.Fatal(err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&signer.PublicKey)
	if err != nil {
		t.Fatal(err)
	}
	signerPub := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})
	c.caFile = filepath.Join(dir, "ca.crt")
	for name, data := range map[string][]byte{
		"apiserver.crt": chain, "apiserver.key": key, "ca.crt": ca,
		// the names envtest passes as --service-account-(signing-)key-file
		"sa-signer.key": signerKey, "sa-signer.crt": signerPub,
	} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	api.CertDir = dir
	api.SecureServing.CA = ca
	api.Configure().
		Disable("disable-admission-plugins"). // envtest's default turns ServiceAccount off
		Set("advertise-address", NodeIP)
}

// forwardAPIServer listens on the node's address, on the cluster's own bridge, at the API
// server's secure port (where kube-proxy sends the `kubernetes` Service) and forwards each
// connection to the loopback API server, until the node stops. TLS passes through: pods
// verify the API server's own certificate.
func (c *Cluster) forwardAPIServer(t testing.TB) {
	t.Helper()
	u, err := url.Parse(c.Config.Host)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", net.JoinHostPort(NodeIP, u.Port()))
	if err != nil {
		t.Fatalf("forward the API server to pods: %v", err)
	}
	var (
		mu    sync.Mutex
		conns = map[net.Conn]bool{}
	)
	track := func(cs ...net.Conn) bool {
		mu.Lock()
		defer mu.Unlock()
		if conns == nil { // stopped
			return false
		}
		for _, c := range cs {
			conns[c] = true
		}
		return true
	}
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				out, err := net.Dial("tcp", u.Host)
				if err != nil || !track(in, out) {
					in.Close()
					if out != nil {
						out.Close()
					}
					return
				}
				go func() { _, _ = io.Copy(out, in); out.Close() }()
				_, _ = io.Copy(in, out)
				in.Close()
			}()
		}
	}()
	c.afterStop = append(c.afterStop, func() {
		ln.Close()
		mu.Lock()
		defer mu.Unlock()
		for conn := range conns {
			conn.Close()
		}
		conns = nil
	})
}
