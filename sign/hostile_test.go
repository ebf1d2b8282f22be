package sign

import (
	"bytes"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/binary"
	"encoding/pem"
	"math/big"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Hostile key files, made in code. Each would cost a library minutes of CPU
// in signature checks or key validation if it got that far; the bounded
// tests run them in a child process under a CPU and memory ceiling.

var hostileBounds = testutil.Bounds{AddressSpace: 2 << 30, MaxRSS: 256 << 20, CPU: 20 * time.Second}

// pgpPacket frames body as a new-format packet with a 4-byte length.
func pgpPacket(tag byte, body []byte) []byte {
	p := []byte{0xc0 | tag, 0xff, 0, 0, 0, 0}
	binary.BigEndian.PutUint32(p[2:], uint32(len(body)))
	return append(p, body...)
}

// mpi encodes x as an OpenPGP multiprecision integer.
func mpi(x *big.Int) []byte {
	b := x.Bytes()
	return append([]byte{byte(x.BitLen() >> 8), byte(x.BitLen())}, b...)
}

// ones returns 2^bits - 1: odd, so usable as a modulus.
func ones(bits int) *big.Int {
	return new(big.Int).Sub(new(big.Int).Lsh(big.NewInt(1), uint(bits)), big.NewInt(1))
}

var hostileTime = []byte{0x60, 0, 0, 0}

// hostileDSAKey is a v4 DSA public key with a 65,535-bit p and a
// 65,528-bit q (crypto/dsa wants whole bytes), a user id and a
// positive-certification self-signature whose hash tag is right and whose r
// and s pass DSA's range and inverse checks, so verifying it runs two
// modular exponentiations of that size.
func hostileDSAKey() []byte {
	p, q := ones(65535), ones(65528)
	keyBody := append([]byte{4}, hostileTime...)
	keyBody = append(keyBody, 17) // DSA
	for _, x := range []*big.Int{p, q, big.NewInt(2), big.NewInt(3)} {
		keyBody = append(keyBody, mpi(x)...)
	}
	uid := []byte("hostile <h@x>")
	hashed := []byte{4, 0x13, 17, 8} // v4, positive certification, DSA, SHA-256
	subs := append([]byte{5, 2}, hostileTime...)
	hashed = append(hashed, byte(len(subs)>>8), byte(len(subs)))
	hashed = append(hashed, subs...)
	h := sha256.New()
	h.Write([]byte{0x99, byte(len(keyBody) >> 8), byte(len(keyBody))})
	h.Write(keyBody)
	h.Write([]byte{0xb4})
	binary.Write(h, binary.BigEndian, uint32(len(uid)))
	h.Write(uid)
	h.Write(hashed)
	h.Write([]byte{4, 0xff})
	binary.Write(h, binary.BigEndian, uint32(len(hashed)))
	tag := h.Sum(nil)[:2]
	fp := sha1.New()
	fp.Write([]byte{0x99, byte(len(keyBody) >> 8), byte(len(keyBody))})
	fp.Write(keyBody)
	issuer := append([]byte{9, 16}, fp.Sum(nil)[12:]...)
	sig := append(bytes.Clone(hashed), 0, byte(len(issuer)))
	sig = append(sig, issuer...)
	sig = append(sig, tag...)
	sig = append(sig, mpi(big.NewInt(3))...) // r
	sig = append(sig, mpi(big.NewInt(2))...) // s: invertible mod the odd q
	var out []byte
	out = append(out, pgpPacket(6, keyBody)...)
	out = append(out, pgpPacket(13, uid)...)
	return append(out, pgpPacket(2, sig)...)
}

// hostileRSASecretKey is a v4 unencrypted RSA secret key with a 4096-bit
// modulus and a 60,000-bit "prime" q (go-crypto hands q to crypto/rsa as
// the first prime): validating it computes p^(q-2) mod q.
func hostileRSASecretKey() []byte {
	body := append([]byte{4}, hostileTime...)
	body = append(body, 1) // RSA
	body = append(body, mpi(ones(4096))...)
	body = append(body, mpi(big.NewInt(65537))...)
	body = append(body, 0) // not encrypted
	var secret []byte
	for _, x := range []*big.Int{big.NewInt(5), big.NewInt(3), ones(60000), big.NewInt(1)} { // d, p, q, u
		secret = append(secret, mpi(x)...)
	}
	var sum uint16
	for _, b := range secret {
		sum += uint16(b)
	}
	body = append(body, secret...)
	body = append(body, byte(sum>>8), byte(sum))
	return append(pgpPacket(5, body), pgpPacket(13, []byte("hostile <h@x>"))...)
}

// hostilePKCS1 is a PKCS#1 RSA private key with an nBits modulus and a
// pBits odd "prime" p.
func hostilePKCS1(nBits, pBits int) []byte {
	k := struct {
		Version                     int
		N, E, D, P, Q, Dp, Dq, Qinv *big.Int
	}{0, ones(nBits), big.NewInt(65537), big.NewInt(5), ones(pBits), big.NewInt(3), big.NewInt(1), big.NewInt(1), big.NewInt(1)}
	der, err := asn1.Marshal(k)
	if err != nil {
		panic(err)
	}
	return der
}

func pkcs8Wrap(pkcs1 []byte) []byte {
	der, err := asn1.Marshal(struct {
		Version    int
		Algo       pkix.AlgorithmIdentifier
		PrivateKey []byte
	}{0, pkix.AlgorithmIdentifier{Algorithm: oidRSAEncryption, Parameters: asn1.NullRawValue}, pkcs1})
	if err != nil {
		panic(err)
	}
	return der
}

// TestBoundedOpenPGPDSAKey: DSA (and ElGamal) keys are refused before any
// signature check; a 65,535-bit DSA key with a matching self-signature used
// to take minutes of CPU before a typed error.
func TestBoundedOpenPGPDSAKey(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		key := hostileDSAKey()
		require.Less(t, len(key), 40<<10)
		_, err := LoadPublicKey(key, PurposeUpdate)
		require.ErrorIs(t, err, ErrUnsupported)
		assert.Contains(t, err.Error(), "algorithm 17")
		armored := must(armorBytes(pgpPublicBlock, key))
		_, err = LoadPublicKey(armored, PurposeUpdate)
		require.ErrorIs(t, err, ErrUnsupported)
	})
}

// TestBoundedOpenPGPRSAKey: OpenPGP RSA keys get the same size limit as
// X.509 ones, and a clear secret key whose parameters cannot belong to its
// modulus is refused before go-crypto validates it (which would take
// minutes for a 60,000-bit p).
func TestBoundedOpenPGPRSAKey(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		_, err := LoadSigner(hostileRSASecretKey(), PurposeUpdate, nil)
		require.ErrorIs(t, err, ErrMalformed)
		assert.Contains(t, err.Error(), "do not fit")

		body := append([]byte{4}, hostileTime...)
		body = append(body, 1)
		body = append(body, mpi(ones(65535))...)
		body = append(body, mpi(big.NewInt(65537))...)
		key := append(pgpPacket(6, body), pgpPacket(13, []byte("big <b@x>"))...)
		_, err = LoadPublicKey(key, PurposeUpdate)
		require.ErrorIs(t, err, ErrUnsupported)
		assert.Contains(t, err.Error(), "65535 bits")
	})
}

// TestBoundedPEMRSAKey: a PEM private key block is size-capped, and an RSA
// key's parameters are checked against its modulus, before crypto/x509
// parses and validates it (a 1 MiB bogus key took 49 s).
func TestBoundedPEMRSAKey(t *testing.T) {
	testutil.Bounded(t, hostileBounds, func(t *testing.T) {
		huge := hostilePKCS1(3_000_000, 2_900_000) // ~730 KB of DER, under 1 MiB as PEM
		small := hostilePKCS1(4096, 100_000)       // 13 KB: p cannot fit the modulus
		require.Less(t, len(small), maxPEMKeyBlock)
		for _, c := range []struct {
			name, typ string
			der       []byte
			want      error
		}{
			{"huge PKCS#1", "RSA PRIVATE KEY", huge, ErrTooLarge},
			{"huge PKCS#8", pemPrivateKey, pkcs8Wrap(huge), ErrTooLarge},
			{"PKCS#1 whose p cannot fit", "RSA PRIVATE KEY", small, ErrMalformed},
			{"PKCS#8 whose p cannot fit", pemPrivateKey, pkcs8Wrap(small), ErrMalformed},
			{"PKCS#1 with a 9000-bit modulus", "RSA PRIVATE KEY", hostilePKCS1(9000, 4500), ErrUnsupported},
		} {
			data := pem.EncodeToMemory(&pem.Block{Type: c.typ, Bytes: c.der})
			require.LessOrEqual(t, len(data), MaxKeyFileSize, c.name)
			_, err := LoadSigner(data, PurposeOVA, nil)
			require.ErrorIs(t, err, c.want, c.name)
			_, err = LoadX509Signer(data, nil, PurposeOVA)
			require.ErrorIs(t, err, c.want, c.name)
		}
		// Public keys and certificates get block caps too.
		big := pem.EncodeToMemory(&pem.Block{Type: pemPublicKey, Bytes: make([]byte, maxPEMKeyBlock+1)})
		_, err := LoadPublicKey(big, PurposeOVA)
		require.ErrorIs(t, err, ErrTooLarge)
		bigCert := pem.EncodeToMemory(&pem.Block{Type: pemCert, Bytes: make([]byte, maxPEMCertBlock+1)})
		_, err = ParseCertificates(bigCert)
		require.ErrorIs(t, err, ErrTooLarge)
		_, err = LoadPublicKey(bigCert, PurposeOVA)
		require.ErrorIs(t, err, ErrTooLarge)
	})
}

func armorBytes(typ string, body []byte) ([]byte, error) {
	var b bytes.Buffer
	w, err := armor.Encode(&b, typ, nil)
	if err != nil {
		return nil, err
	}
	if _, err := w.Write(body); err != nil {
		return nil, err
	}
	if err := w.Close(); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// TestPGPKeyPacketLimits: the packet walk that runs before go-crypto.
func TestPGPKeyPacketLimits(t *testing.T) {
	good := testPGP(t, 120, PurposeUpdate)
	pub := must(dearmor(must(EncodePublicKey(good.Public())), pgpPublicBlock))
	require.NoError(t, checkPGPKeyPackets(pub))
	priv := must(dearmor(must(EncodePrivateKey(good, nil)), pgpPrivateBlock))
	require.NoError(t, checkPGPKeyPackets(priv))
	v6, err := GenerateOpenPGP("v6", "v6@x", PurposeUpdate, &OpenPGPOptions{Time: testTime, RFC9580: true, Rand: seeded(121)})
	require.NoError(t, err)
	require.NoError(t, checkPGPKeyPackets(must(dearmor(must(EncodePrivateKey(v6, nil)), pgpPrivateBlock))))

	// An ElGamal subkey (tag 14, algorithm 16) on a good key is refused.
	elg := append([]byte{4}, hostileTime...)
	elg = append(elg, 16)
	for _, x := range []*big.Int{ones(4096), big.NewInt(2), big.NewInt(3)} {
		elg = append(elg, mpi(x)...)
	}
	_, err = LoadPublicKey(append(bytes.Clone(pub), pgpPacket(14, elg)...), PurposeUpdate)
	require.ErrorIs(t, err, ErrUnsupported)

	for name, c := range map[string]struct {
		data []byte
		want error
	}{
		"v3 key":          {pgpPacket(6, append([]byte{3}, make([]byte, 20)...)), ErrUnsupported},
		"v5 key":          {pgpPacket(6, append([]byte{5}, make([]byte, 20)...)), ErrUnsupported},
		"truncated key":   {pgpPacket(6, []byte{4, 0, 0}), ErrMalformed},
		"partial length":  {append([]byte{0xc6, 0xe1}, make([]byte, 2)...), ErrMalformed},
		"past the end":    {[]byte{0xc6, 0x10, 4}, ErrMalformed},
		"not a packet":    {[]byte{0x06, 0x00}, ErrMalformed},
		"huge key packet": {pgpPacket(6, append([]byte{4, 0, 0, 0, 0, 22}, make([]byte, maxPGPKeyPacket)...)), ErrTooLarge},
		"RSA 1024":        {pgpPacket(6, append(append([]byte{4, 0, 0, 0, 0, 1}, mpi(ones(1024))...), mpi(big.NewInt(65537))...)), ErrUnsupported},
	} {
		t.Run(name, func(t *testing.T) {
			require.ErrorIs(t, checkPGPKeyPackets(c.data), c.want)
			_, err := LoadPublicKey(c.data, PurposeUpdate)
			require.Error(t, err)
		})
	}
}
