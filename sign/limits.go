package sign

import (
	"crypto/rsa"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"math/big"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// Key material is checked before any library parses or validates it: the
// cost of checking a signature or validating a private key grows with the
// cube of the key's size, and a key file of a few kilobytes can name
// parameters that take minutes. A 16 KB OpenPGP key with 65,535-bit DSA
// parameters and a matching self-signature, or a 1 MiB PEM RSA key with
// bogus primes, would otherwise be worked through before any error.

// OpenPGP public-key algorithms (RFC 9580 section 9.1) accepted in key
// files: RSA, the elliptic-curve algorithms gpg and this package write, and
// RFC 9580's fixed-size ones. DSA and ElGamal (which fogkit never writes
// and whose parameters have no size bound) and anything else are refused.
var pgpAlgorithms = map[packet.PublicKeyAlgorithm]string{
	packet.PubKeyAlgoRSA:            "RSA",
	packet.PubKeyAlgoRSAEncryptOnly: "RSA",
	packet.PubKeyAlgoRSASignOnly:    "RSA",
	packet.PubKeyAlgoECDH:           "ECDH",
	packet.PubKeyAlgoECDSA:          "ECDSA",
	packet.PubKeyAlgoEdDSA:          "EdDSA",
	packet.PubKeyAlgoX25519:         "X25519",
	packet.PubKeyAlgoX448:           "X448",
	packet.PubKeyAlgoEd25519:        "Ed25519",
	packet.PubKeyAlgoEd448:          "Ed448",
}

func isPGPRSA(a packet.PublicKeyAlgorithm) bool {
	return a == packet.PubKeyAlgoRSA || a == packet.PubKeyAlgoRSAEncryptOnly || a == packet.PubKeyAlgoRSASignOnly
}

// maxPGPKeyPacket caps one key packet. The largest accepted key, an
// unencrypted RSA-8192 secret key, takes about 3.7 KB.
const maxPGPKeyPacket = 16 << 10

// OpenPGP packet tags of key packets.
const (
	tagSecretKey    = 5
	tagPublicKey    = 6
	tagSecretSubkey = 7
	tagPublicSubkey = 14
)

// checkPGPKeyPackets walks the packets of a binary key file, framing them
// as go-crypto does, and refuses key packets with an algorithm outside
// pgpAlgorithms, an RSA modulus outside MinRSABits..MaxRSABits, or RSA
// secret parameters larger than the modulus allows, before go-crypto
// parses (and, for a clear RSA secret key, validates) anything.
func checkPGPKeyPackets(data []byte) error {
	for off := 0; off < len(data); {
		tag, body, next, err := nextPGPPacket(data, off)
		if err != nil {
			return fmt.Errorf("%w: OpenPGP packet at offset %d: %v", ErrMalformed, off, err)
		}
		switch tag {
		case tagSecretKey, tagPublicKey, tagSecretSubkey, tagPublicSubkey:
			if err := checkPGPKeyPacket(tag, body); err != nil {
				return err
			}
		}
		off = next
	}
	return nil
}

// nextPGPPacket returns the tag and body of the packet at off and the
// offset after it. Partial body lengths, which only literal and encrypted
// data may use, are refused.
func nextPGPPacket(data []byte, off int) (tag int, body []byte, next int, err error) {
	p := data[off:]
	if len(p) < 2 || p[0]&0x80 == 0 {
		return 0, nil, 0, errors.New("bad packet header")
	}
	var hdr, n int
	if p[0]&0x40 == 0 { // old format
		tag = int(p[0]>>2) & 0xf
		switch p[0] & 3 {
		case 0:
			hdr, n = 2, int(p[1])
		case 1:
			if len(p) < 3 {
				return 0, nil, 0, errors.New("truncated packet header")
			}
			hdr, n = 3, int(p[1])<<8|int(p[2])
		case 2:
			if len(p) < 5 {
				return 0, nil, 0, errors.New("truncated packet header")
			}
			hdr, n = 5, int(uint32(p[1])<<24|uint32(p[2])<<16|uint32(p[3])<<8|uint32(p[4]))
		default: // indeterminate: to the end of the data
			hdr, n = 1, len(p)-1
		}
	} else {
		tag = int(p[0] & 0x3f)
		switch b := int(p[1]); {
		case b < 192:
			hdr, n = 2, b
		case b < 224:
			if len(p) < 3 {
				return 0, nil, 0, errors.New("truncated packet header")
			}
			hdr, n = 3, (b-192)<<8+int(p[2])+192
		case b == 255:
			if len(p) < 6 {
				return 0, nil, 0, errors.New("truncated packet header")
			}
			hdr, n = 6, int(uint32(p[2])<<24|uint32(p[3])<<16|uint32(p[4])<<8|uint32(p[5]))
		default:
			return 0, nil, 0, errors.New("partial body length in a key file")
		}
	}
	if n < 0 || n > len(p)-hdr {
		return 0, nil, 0, errors.New("packet runs past the end of the data")
	}
	return tag, p[hdr : hdr+n], off + hdr + n, nil
}

// checkPGPKeyPacket checks one public or secret key packet body.
func checkPGPKeyPacket(tag int, body []byte) error {
	if len(body) < 6 {
		return fmt.Errorf("%w: truncated OpenPGP key packet", ErrMalformed)
	}
	version := body[0]
	if version != 4 && version != 6 {
		return fmt.Errorf("%w: OpenPGP v%d key (want v4 or v6)", ErrUnsupported, version)
	}
	algo := packet.PublicKeyAlgorithm(body[5])
	if _, ok := pgpAlgorithms[algo]; !ok {
		return fmt.Errorf("%w: OpenPGP public-key algorithm %d (DSA, ElGamal and others fogkit does not use are refused)", ErrUnsupported, algo)
	}
	if len(body) > maxPGPKeyPacket {
		return fmt.Errorf("%w: OpenPGP key packet of %d bytes (max %d)", ErrTooLarge, len(body), maxPGPKeyPacket)
	}
	if !isPGPRSA(algo) {
		return nil
	}
	r := mpiReader{b: body[6:]}
	if version == 6 {
		r.b = r.b[min(len(r.b), 4):] // key material length; the MPIs follow
	}
	nBits := r.next()
	r.next() // e; go-crypto refuses exponents over 3 bytes
	if r.err != nil {
		return fmt.Errorf("%w: truncated OpenPGP RSA key", ErrMalformed)
	}
	if nBits < MinRSABits || nBits > MaxRSABits {
		return fmt.Errorf("%w: OpenPGP RSA key of %d bits (want %d to %d)", ErrUnsupported, nBits, MinRSABits, MaxRSABits)
	}
	if tag != tagSecretKey && tag != tagSecretSubkey {
		return nil
	}
	if len(r.b) == 0 {
		return fmt.Errorf("%w: truncated OpenPGP secret key", ErrMalformed)
	}
	if r.b[0] != 0 {
		// Encrypted: the parameters are checked by the RSA validation after
		// decryption; bound what they can be (d, p, q and u fit in about
		// 2.5 moduli) so that it stays cheap.
		if len(r.b) > 3*(nBits/8+2)+512 {
			return fmt.Errorf("%w: OpenPGP RSA secret key holds %d bytes of secret data for a %d-bit modulus", ErrMalformed, len(r.b), nBits)
		}
		return nil
	}
	r.b = r.b[1:]
	d, p, q, u := r.next(), r.next(), r.next(), r.next()
	if r.err != nil {
		return fmt.Errorf("%w: truncated OpenPGP RSA secret key", ErrMalformed)
	}
	return checkRSASecretSizes(nBits, d, p, q, u, u, u)
}

// checkRSASecretSizes refuses RSA private parameters (bit lengths) that
// cannot belong to an nBits modulus: the primes' lengths add up to the
// modulus' (give or take one), d and the CRT values are no longer than the
// modulus or the larger prime. Validating a key costs a modular
// exponentiation the size of a prime, so this bounds that work.
func checkRSASecretSizes(nBits, d, p, q, dp, dq, qinv int) error {
	pq := max(p, q)
	if d > nBits || p+q < nBits || p+q > nBits+1 || dp > pq || dq > pq || qinv > pq {
		return fmt.Errorf("%w: RSA private key parameters do not fit a %d-bit modulus", ErrMalformed, nBits)
	}
	return nil
}

// mpiReader reads the bit lengths of OpenPGP MPIs, skipping their bytes.
type mpiReader struct {
	b   []byte
	err error
}

func (r *mpiReader) next() int {
	if r.err != nil {
		return 0
	}
	if len(r.b) < 2 {
		r.err = errors.New("truncated")
		return 0
	}
	bits := int(r.b[0])<<8 | int(r.b[1])
	n := (bits + 7) / 8
	if len(r.b) < 2+n {
		r.err = errors.New("truncated")
		return 0
	}
	r.b = r.b[2+n:]
	return bits
}

// checkPGPEntity re-checks the parsed keys of e (primary and subkeys) with
// go-crypto's view of them, before any self-signature is verified.
func checkPGPEntity(e *pgp.Entity) error {
	keys := []*packet.PublicKey{e.PrimaryKey}
	for _, sk := range e.Subkeys {
		keys = append(keys, sk.PublicKey)
	}
	for _, pk := range keys {
		if pk == nil {
			return fmt.Errorf("%w: OpenPGP key without key material", ErrMalformed)
		}
		if _, ok := pgpAlgorithms[pk.PubKeyAlgo]; !ok {
			return fmt.Errorf("%w: OpenPGP public-key algorithm %d", ErrUnsupported, pk.PubKeyAlgo)
		}
		if isPGPRSA(pk.PubKeyAlgo) {
			rk, ok := pk.PublicKey.(*rsa.PublicKey)
			if !ok || rk.N == nil {
				return fmt.Errorf("%w: OpenPGP RSA key without a modulus", ErrMalformed)
			}
			if bits := rk.N.BitLen(); bits < MinRSABits || bits > MaxRSABits {
				return fmt.Errorf("%w: OpenPGP RSA key of %d bits (want %d to %d)", ErrUnsupported, bits, MinRSABits, MaxRSABits)
			}
		}
	}
	return nil
}

// PEM blocks are size-capped before their DER reaches crypto/x509: an
// RSA-8192 PKCS#8 key takes about 4.8 KB, a certificate rarely more than a
// few.
const (
	maxPEMKeyBlock  = 16 << 10
	maxPEMCertBlock = 64 << 10
)

func maxPEMBlock(typ string) int {
	if typ == pemCert {
		return maxPEMCertBlock
	}
	return maxPEMKeyBlock
}

var oidRSAEncryption = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 1, 1}

// checkPEMPrivateKey bounds a private key block before crypto/x509 parses
// it, which for RSA includes a full validation (a modular exponentiation
// the size of a prime): the DER size, and for RSA keys the modulus size
// and the secret parameters' sizes.
func checkPEMPrivateKey(typ string, der []byte) error {
	if len(der) > maxPEMKeyBlock {
		return fmt.Errorf("%w: %s PEM block of %d bytes (max %d)", ErrTooLarge, typ, len(der), maxPEMKeyBlock)
	}
	switch typ {
	case "RSA PRIVATE KEY":
		return checkPKCS1Sizes(der)
	case pemPrivateKey:
		var p8 struct {
			Version    int
			Algo       pkix.AlgorithmIdentifier
			PrivateKey []byte
		}
		if _, err := asn1.Unmarshal(der, &p8); err != nil {
			return nil // not PKCS#8 at all: crypto/x509 says why, cheaply
		}
		if p8.Algo.Algorithm.Equal(oidRSAEncryption) {
			return checkPKCS1Sizes(p8.PrivateKey)
		}
	}
	return nil
}

// checkPKCS1Sizes checks the sizes in a PKCS#1 RSAPrivateKey.
func checkPKCS1Sizes(der []byte) error {
	var k struct {
		Version          int
		N                *big.Int
		E                *big.Int
		D, P, Q          *big.Int
		Dp, Dq, Qinv     *big.Int
		AdditionalPrimes []asn1.RawValue `asn1:"optional,omitempty"`
	}
	if _, err := asn1.Unmarshal(der, &k); err != nil {
		return fmt.Errorf("%w: RSA private key: %v", ErrMalformed, err)
	}
	if len(k.AdditionalPrimes) > 0 {
		return fmt.Errorf("%w: multi-prime RSA keys", ErrUnsupported)
	}
	nBits := k.N.BitLen()
	if nBits < MinRSABits || nBits > MaxRSABits {
		return fmt.Errorf("%w: RSA key of %d bits (want %d to %d)", ErrUnsupported, nBits, MinRSABits, MaxRSABits)
	}
	if k.E.BitLen() > 31 {
		return fmt.Errorf("%w: RSA exponent of %d bits", ErrMalformed, k.E.BitLen())
	}
	return checkRSASecretSizes(nBits, k.D.BitLen(), k.P.BitLen(), k.Q.BitLen(), k.Dp.BitLen(), k.Dq.BitLen(), k.Qinv.BitLen())
}
