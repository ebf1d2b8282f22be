package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"strings"
	"time"
)

// loadOrCreateCert returns the admin API's certificate from dir, creating
// an ECDSA P-256 self-signed one (key 0600) on the first start. Clients
// trust it by the fingerprint printed on the console, not by a CA. hosts
// (names and IP addresses the appliance answers on) join localhost in the
// certificate, so a client that pinned it can also check the name.
func loadOrCreateCert(dir, name string, hosts []string, rand io.Reader, now time.Time) (tls.Certificate, error) {
	keyPEM, kerr := readState(dir, stateTLSKey, maxStateFile)
	certPEM, cerr := readState(dir, stateTLSCert, maxStateFile)
	if kerr == nil && cerr == nil {
		c, err := tls.X509KeyPair(certPEM, keyPEM)
		if err != nil {
			return tls.Certificate{}, fmt.Errorf("%w: TLS key pair: %w", ErrState, err)
		}
		return c, nil
	}
	if !errors.Is(kerr, os.ErrNotExist) && kerr != nil {
		return tls.Certificate{}, kerr
	}
	if !errors.Is(cerr, os.ErrNotExist) && cerr != nil {
		return tls.Certificate{}, cerr
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return tls.Certificate{}, err
	}
	serial := make([]byte, 16)
	if _, err := io.ReadFull(rand, serial); err != nil {
		return tls.Certificate{}, err
	}
	serial[0] &= 0x7f
	if name == "" {
		name = "fogkit appliance"
	}
	tmpl := &x509.Certificate{
		SerialNumber:          new(big.Int).SetBytes(serial),
		Subject:               pkix.Name{CommonName: name + " admin API"},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.AddDate(30, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	for _, h := range hosts {
		switch ip := net.ParseIP(h); {
		case ip != nil:
			tmpl.IPAddresses = append(tmpl.IPAddresses, ip)
		case h != "" && len(h) <= 253 && !strings.ContainsAny(h, " /\\:@\x00"):
			tmpl.DNSNames = append(tmpl.DNSNames, h)
		}
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, err
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	// Key first: a certificate without its key is never left behind.
	if err := writeStateFile(dir, stateTLSKey, keyPEM, 0o600); err != nil {
		return tls.Certificate{}, err
	}
	if err := writeStateFile(dir, stateTLSCert, certPEM, 0o644); err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// Fingerprint returns the SHA-256 of a DER certificate as upper-case hex
// pairs joined by colons (AB:CD:...), the form browsers and
// `openssl x509 -fingerprint -sha256` show.
func Fingerprint(der []byte) string {
	sum := sha256.Sum256(der)
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}
