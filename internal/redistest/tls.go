package redistest

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
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/plumelog-otel/otelcol-plumelog/internal/testenv"
)

// CA is a throwaway certificate authority for TLS tests.
type CA struct {
	// CertPEM and CertFile hold the CA certificate, for a client's or server's trust store.
	CertPEM  []byte
	CertFile string

	cert *x509.Certificate
	key  *ecdsa.PrivateKey
	dir  string
}

// Cert is a certificate issued by a CA with its private key, as PEM and as files.
type Cert struct {
	CertPEM, KeyPEM   []byte
	CertFile, KeyFile string

	// host is the first host the certificate is valid for, which StartTLS verifies.
	host string
}

// NewCA creates a CA whose files live in the test's temporary directory.
func NewCA(t testing.TB, name string) *CA {
	t.Helper()
	key := newKey(t)
	tmpl := template(t, name)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating CA certificate: %v", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatalf("parsing CA certificate: %v", err)
	}
	ca := &CA{cert: cert, key: key, dir: t.TempDir()}
	ca.CertPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	ca.CertFile = writeFile(t, ca.dir, name+".crt", ca.CertPEM)
	return ca
}

// Issue creates a certificate for both server and client use. hosts are the IP addresses and
// DNS names it is valid for; a client certificate needs none.
func (ca *CA) Issue(t testing.TB, name string, hosts ...string) Cert {
	t.Helper()
	key := newKey(t)
	tmpl := template(t, name)
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	// Redis presents its own certificate as a client too (replication, cluster bus).
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
	for _, h := range hosts {
		if ip := net.ParseIP(h); ip != nil {
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		} else {
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		t.Fatalf("issuing certificate %s: %v", name, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatalf("encoding key of %s: %v", name, err)
	}
	c := Cert{
		CertPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		KeyPEM:  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}),
	}
	if len(hosts) > 0 {
		c.host = hosts[0]
	}
	c.CertFile = writeFile(t, ca.dir, name+".crt", c.CertPEM)
	c.KeyFile = writeFile(t, ca.dir, name+".key", c.KeyPEM)
	return c
}

// StartTLS starts a redis-server that accepts only TLS connections, presenting cert and
// trusting ca for client certificates. Extra directives follow, e.g. "--tls-auth-clients", "no"
// (Redis requires client certificates unless told otherwise).
func StartTLS(t testing.TB, ca *CA, cert Cert, args ...string) *Server {
	t.Helper()
	clientTLS := ca.clientConfig(t, ca.Issue(t, "redistest-client"))
	clientTLS.ServerName = cert.host
	return startServer(t, func(addr string) *Process {
		return &Process{
			Addr: addr,
			Dir:  t.TempDir(),
			args: append([]string{
				"--port", "0", "--tls-port", testenv.Port(addr),
				"--tls-cert-file", cert.CertFile, "--tls-key-file", cert.KeyFile,
				"--tls-ca-cert-file", ca.CertFile,
			}, args...),
			tls: clientTLS,
		}
	})
}

// template is a certificate for name, valid from an hour ago for a day, with a random serial.
func template(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	return &x509.Certificate{
		SerialNumber: serial(t),
		Subject:      pkix.Name{CommonName: name},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
}

// clientConfig is how a test reaches a server of ca's over TLS, presenting cert.
func (ca *CA) clientConfig(t testing.TB, cert Cert) *tls.Config {
	t.Helper()
	pair, err := tls.X509KeyPair(cert.CertPEM, cert.KeyPEM)
	if err != nil {
		t.Fatalf("loading certificate %s: %v", cert.CertFile, err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.cert)
	return &tls.Config{RootCAs: roots, Certificates: []tls.Certificate{pair}, ServerName: cert.host, MinVersion: tls.VersionTLS12}
}

func newKey(t testing.TB) *ecdsa.PrivateKey {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatalf("generating a key: %v", err)
	}
	return key
}

func serial(t testing.TB) *big.Int {
	t.Helper()
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		t.Fatalf("generating a serial number: %v", err)
	}
	return n
}

func writeFile(t testing.TB, dir, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatalf("writing %s: %v", path, err)
	}
	return path
}
