package sign

import (
	"bytes"
	"context"
	"errors"
	"testing"
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

func keyFileSeeds(f *testing.F) {
	ed := testEd25519(f, 200, PurposeLicense)
	x := testX509(f, PurposeOVA)
	pg := testPGP(f, 201, PurposeUpdate)
	for _, s := range []Signer{ed, x, pg} {
		priv, err := EncodePrivateKey(s, nil)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(priv)
	}
	enc, _ := EncodePrivateKey(pg, []byte("pw"))
	f.Add(enc)
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
	x := testX509(f, PurposeOVA)
	cert := EncodeCertificates(x.Certificates())
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
	verifiers := []PublicKey{ed.Public(), x.Public(), pg.Public()}
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
	for _, o := range []*EncryptOptions{nil, {Armor: true}, {Compress: true, Signer: s}} {
		var ct bytes.Buffer
		if err := Encrypt(ctx, &ct, bytes.NewReader(bytes.Repeat([]byte("fogkit "), 100)), []*OpenPGPPublicKey{s.Public()}, o); err != nil {
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
