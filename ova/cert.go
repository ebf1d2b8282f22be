package ova

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"strings"

	"github.com/fogkit/fogkit/sign"
)

// maxSignatureHex caps the hex signature of a .cert line (RSA 16384 bits).
const maxSignatureHex = 4096

// maxCertificates caps the certificates read from a .cert.
const maxCertificates = 16

// signManifest signs mf and returns the .cert bytes: the line
// `ALG(<mfName>)= <hex signature>` and the PEM chain.
func signManifest(ctx context.Context, s sign.Signer, alg Digest, mfName string, mf []byte, chain []*x509.Certificate) ([]byte, error) {
	var sig []byte
	var err error
	if alg == SHA256 {
		sig, err = s.Sign(ctx, mf)
	} else {
		cs := s.(interface{ Signer() crypto.Signer }).Signer()
		h := alg.New()
		h.Write(mf)
		sig, err = cs.Sign(rand.Reader, h.Sum(nil), alg.crypto())
	}
	if err != nil {
		return nil, fmt.Errorf("ova: signing %s: %w", mfName, err)
	}
	if err := checkSignature(chain[0], alg, mf, sig); err != nil {
		return nil, fileErr(mfName, ErrBadSignature, "the signature does not verify with the leaf certificate's key (key and certificate do not match?)")
	}
	var b bytes.Buffer
	fmt.Fprintf(&b, "%s(%s)= %s\n", alg, mfName, hex.EncodeToString(sig))
	for _, c := range chain {
		if c == nil {
			continue
		}
		_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
	}
	return b.Bytes(), nil
}

// checkSignature verifies sig over msg hashed with alg using cert's RSA
// (PKCS#1 v1.5) or ECDSA key.
func checkSignature(cert *x509.Certificate, alg Digest, msg, sig []byte) error {
	h := alg.New()
	if h == nil {
		return fmt.Errorf("%w: digest %q", ErrUnsupported, alg)
	}
	h.Write(msg)
	sum := h.Sum(nil)
	switch pub := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		if len(sig) != pub.Size() {
			return ErrBadSignature
		}
		if rsa.VerifyPKCS1v15(pub, alg.crypto(), sum, sig) != nil {
			return ErrBadSignature
		}
		return nil
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(pub, sum, sig) {
			return ErrBadSignature
		}
		return nil
	}
	return fmt.Errorf("%w: certificate key of type %T", ErrUnsupported, cert.PublicKey)
}

// certFile is a parsed .cert.
type certFile struct {
	Algorithm Digest
	Manifest  string // the .mf name the line signs
	Signature []byte
	Chain     []*x509.Certificate
}

// parseCertFile parses a .cert strictly: the `ALG(<name>.mf)= hex` line,
// then one or more CERTIFICATE PEM blocks (without PEM headers), with only
// whitespace around them. Anything else is refused (ErrCertificate): the
// .cert is the one member neither the manifest nor the signature covers,
// so text a parser skips there is room for whatever another reader might
// make of it. A private key gets its own message.
func parseCertFile(name string, data []byte) (*certFile, error) {
	if len(data) > MaxManifestSize {
		return nil, fileErr(name, ErrTooLarge, "certificate file of %d bytes", len(data))
	}
	first, rest, _ := bytes.Cut(data, []byte("\n"))
	line, err := parseDigestLine(strings.TrimSuffix(string(first), "\r"))
	if err != nil {
		return nil, fileErr(name, ErrCertificate, "signature line: %v", err)
	}
	if len(line.Digest) > maxSignatureHex {
		return nil, fileErr(name, ErrTooLarge, "signature of %d hex digits", len(line.Digest))
	}
	sig, _ := hex.DecodeString(line.Digest)
	cf := &certFile{Algorithm: line.Algorithm, Manifest: line.Name, Signature: sig}
	const begin, end = "-----BEGIN ", "-----END "
	for {
		trimmed := bytes.TrimLeft(rest, " \t\r\n")
		at := len(data) - len(trimmed)
		if len(trimmed) == 0 {
			break
		}
		if !bytes.HasPrefix(trimmed, []byte(begin)) {
			return nil, fileErr(name, ErrCertificate, "byte %d: %q is neither whitespace nor a PEM block", at, clipString(string(trimmed[:min(len(trimmed), 40)])))
		}
		beginLine, _, _ := bytes.Cut(trimmed, []byte("\n"))
		if bytes.Contains(beginLine, []byte("PRIVATE KEY")) {
			return nil, fileErr(name, ErrCertificate, "the certificate file holds a private key")
		}
		// The block ends at the line after its END marker; pem.Decode sees
		// only that span, so it cannot skip text to reach a later block.
		e := bytes.Index(trimmed, []byte(end))
		if e < 0 {
			return nil, fileErr(name, ErrCertificate, "byte %d: PEM block without an END line", at)
		}
		stop := len(trimmed)
		if nl := bytes.IndexByte(trimmed[e:], '\n'); nl >= 0 {
			stop = e + nl + 1
		}
		span := trimmed[:stop]
		if bytes.Count(span, []byte(begin)) != 1 {
			return nil, fileErr(name, ErrCertificate, "byte %d: malformed PEM block", at)
		}
		block, tail := pem.Decode(span)
		if block == nil || len(bytes.TrimSpace(tail)) != 0 {
			return nil, fileErr(name, ErrCertificate, "byte %d: malformed PEM block", at)
		}
		if block.Type != "CERTIFICATE" || len(block.Headers) != 0 {
			return nil, fileErr(name, ErrCertificate, "byte %d: a %q PEM block (only CERTIFICATE blocks without headers belong here)", at, clipString(block.Type))
		}
		if len(cf.Chain) == maxCertificates {
			return nil, fileErr(name, ErrTooLarge, "more than %d certificates", maxCertificates)
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fileErr(name, ErrCertificate, "certificate %d: %v", len(cf.Chain)+1, err)
		}
		cf.Chain = append(cf.Chain, c)
		rest = trimmed[stop:]
	}
	if len(cf.Chain) == 0 {
		return nil, fileErr(name, ErrCertificate, "no CERTIFICATE PEM block")
	}
	return cf, nil
}

// SignerInfo describes the certificate that signed an OVA.
type SignerInfo struct {
	Subject     string `json:"subject"`
	Issuer      string `json:"issuer"`
	Serial      string `json:"serial"`                // hex
	NotBefore   string `json:"notBefore"`             // RFC 3339, UTC
	NotAfter    string `json:"notAfter"`              // RFC 3339, UTC
	KeyType     string `json:"keyType"`               // "RSA-3072", "ECDSA-P256"
	Fingerprint string `json:"fingerprint"`           // SHA-256 of the DER certificate, hex
	Algorithm   Digest `json:"algorithm"`             // of the .cert line
	Chain       int    `json:"chain"`                 // certificates in the .cert
	SelfSigned  bool   `json:"selfSigned"`            // the leaf signs itself
	Trusted     bool   `json:"trusted"`               // chains to VerifyOptions.Roots
	TrustedRoot string `json:"trustedRoot,omitempty"` // subject of the root it chains to
}

func signerInfo(cf *certFile) *SignerInfo {
	leaf := cf.Chain[0]
	fp := sha256.Sum256(leaf.Raw)
	si := &SignerInfo{
		Subject:     leaf.Subject.String(),
		Issuer:      leaf.Issuer.String(),
		Serial:      leaf.SerialNumber.Text(16),
		NotBefore:   leaf.NotBefore.UTC().Format("2006-01-02T15:04:05Z"),
		NotAfter:    leaf.NotAfter.UTC().Format("2006-01-02T15:04:05Z"),
		Fingerprint: hex.EncodeToString(fp[:]),
		Algorithm:   cf.Algorithm,
		Chain:       len(cf.Chain),
	}
	switch k := leaf.PublicKey.(type) {
	case *rsa.PublicKey:
		si.KeyType = fmt.Sprintf("RSA-%d", k.N.BitLen())
	case *ecdsa.PublicKey:
		si.KeyType = "ECDSA-" + strings.ReplaceAll(k.Curve.Params().Name, "-", "")
	default:
		si.KeyType = fmt.Sprintf("%T", leaf.PublicKey)
	}
	si.SelfSigned = bytes.Equal(leaf.RawIssuer, leaf.RawSubject) &&
		leaf.CheckSignature(leaf.SignatureAlgorithm, leaf.RawTBSCertificate, leaf.Signature) == nil
	return si
}
