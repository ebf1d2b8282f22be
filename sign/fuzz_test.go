package sign

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// isSentinel reports whether err matches one of the package's sentinels.
func isSentinel(err error) bool {
	for _, s := range []error{ErrMalformed, ErrUnknownKey, ErrBadSignature, ErrWrongPurpose, ErrRevoked,
		ErrExpired, ErrTooLarge, ErrUnsupported, ErrDecrypt} {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// keyFileSeeds are whole key files in every format. RSA keys are left to
// FuzzPEMKey (as DER): a 2.5 KB RSA PEM seed makes every new input derived
// from it cost the fuzzer its whole minimisation budget (quadratic in the
// input's length) and milliseconds per run.
func keyFileSeeds(f *testing.F) {
	ed := testEd25519(f, 200, PurposeLicense)
	pg := testPGP(f, 201, PurposeUpdate)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), seeded(202))
	if err != nil {
		f.Fatal(err)
	}
	cert, err := SelfSignedCertificate(ec, nil)
	if err != nil {
		f.Fatal(err)
	}
	x, err := NewX509Signer(ec, []*x509.Certificate{cert}, PurposeOVA)
	if err != nil {
		f.Fatal(err)
	}
	for _, s := range []Signer{ed, x, pg} {
		priv, err := EncodePrivateKey(s, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(priv)
	}
	f.Add(append(must(EncodePrivateKey(x, nil)), EncodeCertificates(x.Certificates())...))
	f.Add(cheapEncryptedPGP(f, pg))
	plainPriv, _ := EncodePrivateKey(pg, nil)
	binPriv, _ := dearmor(plainPriv, pgpPrivateBlock)
	f.Add(binPriv)
	for _, k := range []PublicKey{ed.Public(), x.Public(), pg.Public()} {
		pub, err := EncodePublicKey(k)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(pub)
	}
	pub, _ := EncodePublicKey(pg.Public())
	bin, _ := dearmor(pub, pgpPublicBlock)
	f.Add(bin)
	f.Add([]byte("-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n"))
	f.Add([]byte{0x99, 0x00, 0x33, 0x04})
	f.Add([]byte{0xc6, 0xff, 0xff, 0xff, 0xff, 0xff})
}

func FuzzLoadPublicKey(f *testing.F) {
	keyFileSeeds(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		k, err := LoadPublicKey(data, PurposeUpdate)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if k.KeyID() == "" || k.Purpose() != PurposeUpdate {
			t.Fatalf("key without id or purpose: %+v", k)
		}
		_, _ = k.Verify(ctx, []byte("m"), []byte("s"))
		if _, err := EncodePublicKey(k); err != nil {
			t.Fatalf("cannot re-encode a loaded key: %v", err)
		}
	})
}

func FuzzLoadSigner(f *testing.F) {
	keyFileSeeds(f)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := LoadSigner(data, PurposeUpdate, []byte("pw"))
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		// A loaded key signs and its own public key verifies.
		sig, err := s.Sign(ctx, []byte("m"))
		if err != nil {
			return // e.g. an expired OpenPGP key
		}
		var pub PublicKey
		switch s := s.(type) {
		case *Ed25519Signer:
			pub = s.Public()
		case *X509Signer:
			pub = s.Public()
		case *OpenPGPSigner:
			pub = s.Public()
		}
		if _, err := pub.Verify(ctx, []byte("m"), sig); err != nil {
			t.Fatalf("own signature does not verify: %v", err)
		}
	})
}

func FuzzParseCertificates(f *testing.F) {
	// An Ed25519 certificate is a third of the size of the RSA-3072 one,
	// which FuzzPEMKey carries as DER: the fuzzer minimises every new input
	// in time quadratic in its length.
	c, err := SelfSignedCertificate(testEd25519(f, 232, PurposeOVA).PrivateKey(), nil)
	if err != nil {
		f.Fatal(err)
	}
	cert := EncodeCertificates([]*x509.Certificate{c})
	f.Add(cert)
	f.Add(append([]byte("SHA256(app.mf)= 00ff\n"), cert...))
	f.Add([]byte("-----BEGIN CERTIFICATE-----\nMAA=\n-----END CERTIFICATE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		certs, err := ParseCertificates(data)
		if err != nil {
			if !isSentinel(err) {
				t.Fatalf("error matches no sentinel: %v", err)
			}
			return
		}
		if len(certs) == 0 || len(certs) > MaxCertificates {
			t.Fatalf("%d certificates", len(certs))
		}
		for _, c := range certs {
			_, _ = NewX509PublicKey(c, PurposeOVA)
		}
	})
}

// FuzzVerify feeds every scheme's verifier, and a keyring holding all of
// them, arbitrary messages and signatures.
func FuzzVerify(f *testing.F) {
	ctx := context.Background()
	ed := testEd25519(f, 210, PurposeUpdate)
	x := testX509(f, PurposeUpdate)
	pg := testPGP(f, 211, PurposeUpdate)
	ring, err := NewKeyring(ed.Public(), x.Public(), pg.Public())
	if err != nil {
		f.Fatal(err)
	}
	for i, s := range []Signer{ed, x, pg} {
		msg := []byte{byte(i), 'm', 's', 'g'}
		sig, err := s.Sign(ctx, msg)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(msg, sig)
	}
	bin, _ := dearmor(must(pg.Sign(ctx, []byte("b"))), pgpSignatureBlock)
	f.Add([]byte("b"), bin)
	f.Add([]byte(""), []byte("-----BEGIN PGP SIGNATURE-----\n\n=AAAA\n-----END PGP SIGNATURE-----\n"))
	f.Add([]byte("x"), []byte{0x88, 0x00})
	// The clocked key also runs the key-validity checks at the clock's time.
	clocked := pg.Public().WithClock(func() time.Time { return testTime.Add(time.Hour) })
	verifiers := []PublicKey{ed.Public(), x.Public(), pg.Public(), clocked}
	f.Fuzz(func(t *testing.T, msg, sig []byte) {
		for _, v := range verifiers {
			id, err := v.Verify(ctx, msg, sig)
			if err == nil {
				if id != v.KeyID() {
					t.Fatalf("verified as %s, want %s", id, v.KeyID())
				}
			} else if !isSentinel(err) {
				t.Fatalf("%T: error matches no sentinel: %v", v, err)
			}
		}
		if _, err := ring.Verify(ctx, PurposeUpdate, msg, sig); err != nil && !isSentinel(err) {
			t.Fatalf("keyring: error matches no sentinel: %v", err)
		}
	})
}

func FuzzDecrypt(f *testing.F) {
	ctx := context.Background()
	s := testPGP(f, 220, PurposeUpdate)
	// Short messages keep the seeds small: the fuzzer minimises every new
	// input in time quadratic in its length.
	for _, o := range []*EncryptOptions{nil, {Armor: true}, {Compress: true, Signer: s}} {
		var ct bytes.Buffer
		if err := Encrypt(ctx, &ct, bytes.NewReader([]byte("fogkit")), []*OpenPGPPublicKey{s.Public()}, o); err != nil {
			f.Fatal(err)
		}
		f.Add(ct.Bytes())
	}
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := Decrypt(ctx, &out, bytes.NewReader(data), s, &DecryptOptions{MaxSize: 4096})
		if err != nil && !isSentinel(err) {
			t.Fatalf("error matches no sentinel: %v", err)
		}
		if out.Len() > 4096 {
			t.Fatalf("wrote %d bytes past the cap", out.Len())
		}
	})
}

func must(b []byte, err error) []byte {
	if err != nil {
		panic(err)
	}
	return b
}

// cheapEncryptedPGP returns s's private key encrypted with passphrase "pw"
// at the lowest iterated-S2K count: at the default count (16 MiB hashed)
// every fuzz input derived from it would take tens of milliseconds.
func cheapEncryptedPGP(t testing.TB, s *OpenPGPSigner) []byte {
	t.Helper()
	var raw bytes.Buffer
	if err := s.entity.SerializePrivateWithoutSigning(&raw, nil); err != nil {
		t.Fatal(err)
	}
	el, err := pgp.ReadKeyRing(&raw)
	if err != nil {
		t.Fatal(err)
	}
	if err := el[0].EncryptPrivateKeys([]byte("pw"), &packet.Config{S2KConfig: &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, S2KCount: 1024}}); err != nil {
		t.Fatal(err)
	}
	out, err := armorEntity(el[0], true)
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// FuzzLoadOpenPGPKey feeds binary OpenPGP key packets straight to the key
// loaders, past the armor and format detection, so that the packet walk
// that runs before go-crypto and go-crypto itself see mutated packets.
func FuzzLoadOpenPGPKey(f *testing.F) {
	pg := testPGP(f, 230, PurposeUpdate)
	f.Add(must(dearmor(must(EncodePublicKey(pg.Public())), pgpPublicBlock)))
	f.Add(must(dearmor(must(EncodePrivateKey(pg, nil)), pgpPrivateBlock)))
	f.Add(must(dearmor(cheapEncryptedPGP(f, pg), pgpPrivateBlock)))
	v6, err := GenerateOpenPGP("v6", "v6@x", PurposeUpdate, &OpenPGPOptions{Time: testTime, RFC9580: true, Rand: seeded(231)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(must(dearmor(must(EncodePublicKey(v6.Public())), pgpPublicBlock)))
	// An RSA public key packet and user id (no self-signature).
	rk := testRSA(f)
	rsaBody := append([]byte{4, 0x60, 0, 0, 0, 1}, mpi(rk.N)...)
	rsaBody = append(rsaBody, mpi(big.NewInt(int64(rk.E)))...)
	f.Add(append(pgpPacket(6, rsaBody), pgpPacket(13, []byte("r <r@x>"))...))
	f.Add([]byte{0x99, 0x00, 0x06, 0x04, 0, 0, 0, 0, 17})
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		if k, err := LoadOpenPGPPublicKey(data, PurposeUpdate); err != nil {
			if !isSentinel(err) {
				t.Fatalf("public key: error matches no sentinel: %v", err)
			}
		} else {
			if err := checkPGPEntity(k.entity); err != nil {
				t.Fatalf("loaded a key the limits refuse: %v", err)
			}
			_, _ = k.Verify(ctx, []byte("m"), []byte{0x88, 0x00})
		}
		if s, err := LoadOpenPGPSigner(data, PurposeUpdate, []byte("pw")); err != nil {
			if !isSentinel(err) {
				t.Fatalf("private key: error matches no sentinel: %v", err)
			}
		} else if sig, err := s.Sign(ctx, []byte("m")); err == nil {
			if _, err := s.Public().Verify(ctx, []byte("m"), sig); err != nil {
				t.Fatalf("own signature does not verify: %v", err)
			}
		}
	})
}

// FuzzPEMKey wraps the fuzzed DER in each PEM block type the loaders read,
// so mutations hit crypto/x509 and the size checks in front of it instead
// of breaking the base64.
func FuzzPEMKey(f *testing.F) {
	types := []string{pemPrivateKey, "RSA PRIVATE KEY", "EC PRIVATE KEY", pemPublicKey, pemCert}
	ed := testEd25519(f, 240, PurposeOVA)
	x := testX509(f, PurposeOVA)
	ec, err := ecdsa.GenerateKey(elliptic.P256(), seeded(241))
	if err != nil {
		f.Fatal(err)
	}
	add := func(typ string, der []byte, err error) {
		if err != nil {
			f.Fatal(err)
		}
		f.Add(uint8(slices.Index(types, typ)), der)
	}
	add(pemPrivateKey, must(x509.MarshalPKCS8PrivateKey(ed.PrivateKey())), nil)
	add(pemPrivateKey, must(x509.MarshalPKCS8PrivateKey(ec)), nil)
	add("RSA PRIVATE KEY", x509.MarshalPKCS1PrivateKey(testRSA(f)), nil)
	add("EC PRIVATE KEY", must(x509.MarshalECPrivateKey(ec)), nil)
	add(pemPublicKey, must(x509.MarshalPKIXPublicKey(ed.Public().Key())), nil)
	add(pemPublicKey, must(x509.MarshalPKIXPublicKey(&testRSA(f).PublicKey)), nil)
	add(pemCert, x.Certificates()[0].Raw, nil)
	add("RSA PRIVATE KEY", hostilePKCS1(4096, 100), nil)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, kind uint8, der []byte) {
		typ := types[int(kind)%len(types)]
		data := pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der})
		if s, err := LoadSigner(data, PurposeOVA, nil); err != nil {
			if !isSentinel(err) {
				t.Fatalf("LoadSigner %s: error matches no sentinel: %v", typ, err)
			}
		} else if _, err := s.Sign(ctx, []byte("m")); err != nil {
			t.Fatalf("loaded %s signer cannot sign: %v", typ, err)
		}
		if k, err := LoadPublicKey(data, PurposeOVA); err != nil {
			if !isSentinel(err) {
				t.Fatalf("LoadPublicKey %s: error matches no sentinel: %v", typ, err)
			}
		} else if k.KeyID() == "" {
			t.Fatal("key without id")
		}
		if _, err := ParseCertificates(data); err != nil && !isSentinel(err) {
			t.Fatalf("ParseCertificates: error matches no sentinel: %v", err)
		}
	})
}

// FuzzKeyringResolve: key ids pasted by an operator.
func FuzzKeyringResolve(f *testing.F) {
	pg := testPGP(f, 250, PurposeUpdate)
	ed := testEd25519(f, 251, PurposeUpdate)
	ring, err := NewKeyring(pg.Public(), ed.Public())
	if err != nil {
		f.Fatal(err)
	}
	e := pg.Public().Entity()
	for _, id := range []string{pg.KeyID(), strings.ToUpper(pg.KeyID()), "0x" + ed.KeyID(),
		fmt.Sprintf("%016X", e.PrimaryKey.KeyId), fmt.Sprintf("%X", e.Subkeys[0].PublicKey.Fingerprint),
		"ABCD 1234", ""} {
		f.Add(id)
	}
	f.Fuzz(func(t *testing.T, id string) {
		got, err := ring.Resolve(id)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnknownKey) {
				t.Fatalf("Resolve(%q): %v", id, err)
			}
			return
		}
		if got != pg.KeyID() && got != ed.KeyID() {
			t.Fatalf("Resolve(%q) = %q, not a key on the ring", id, got)
		}
	})
}
