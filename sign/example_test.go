package sign_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// A license is signed with Ed25519 and verified against a keyring. The
// purpose is folded into the signed bytes, so the same signature never
// passes as an update signature.
func Example() {
	ctx := context.Background()
	signer, err := sign.GenerateEd25519(nil, sign.PurposeLicense)
	if err != nil {
		panic(err)
	}
	license := []byte(`{"customer":"ACME","seats":25}`)
	sig, err := signer.Sign(ctx, license)
	if err != nil {
		panic(err)
	}

	ring, err := sign.NewKeyring(signer.Public())
	if err != nil {
		panic(err)
	}
	id, err := ring.Verify(ctx, sign.PurposeLicense, license, sig)
	fmt.Println("license verifies:", err == nil, id == signer.KeyID())
	_, err = ring.Verify(ctx, sign.PurposeUpdate, license, sig)
	fmt.Println("as an update:", errors.Is(err, sign.ErrWrongPurpose))
	_, err = ring.Verify(ctx, sign.PurposeLicense, []byte(`{"customer":"ACME","seats":250}`), sig)
	fmt.Println("tampered:", errors.Is(err, sign.ErrBadSignature))
	// Output:
	// license verifies: true true
	// as an update: true
	// tampered: true
}

// During a key rotation the old and the new key verify side by side; once
// the old key is revoked, its signatures fail with ErrRevoked.
func ExampleKeyring_Revoke() {
	ctx := context.Background()
	oldKey, _ := sign.GenerateEd25519(nil, sign.PurposeLicense)
	newKey, _ := sign.GenerateEd25519(nil, sign.PurposeLicense)
	msg := []byte("license")
	oldSig, _ := oldKey.Sign(ctx, msg)
	newSig, _ := newKey.Sign(ctx, msg)

	ring, _ := sign.NewKeyring(oldKey.Public(), newKey.Public())
	_, errOld := ring.Verify(ctx, sign.PurposeLicense, msg, oldSig)
	_, errNew := ring.Verify(ctx, sign.PurposeLicense, msg, newSig)
	fmt.Println("before:", errOld == nil, errNew == nil)

	if err := ring.Revoke(oldKey.KeyID()); err != nil {
		fmt.Println(err)
	}
	_, errOld = ring.Verify(ctx, sign.PurposeLicense, msg, oldSig)
	_, errNew = ring.Verify(ctx, sign.PurposeLicense, msg, newSig)
	fmt.Println("after:", errors.Is(errOld, sign.ErrRevoked), errNew == nil)
	// Output:
	// before: true true
	// after: true true
}

// An OVA is signed with an RSA key and a self-signed code-signing
// certificate; the signature is what `openssl dgst -sha256 -sign` makes.
func ExampleSelfSignedCertificate() {
	ctx := context.Background()
	key, err := sign.GenerateRSA(nil, 0)
	if err != nil {
		panic(err)
	}
	cert, err := sign.SelfSignedCertificate(key, &sign.CertOptions{
		CommonName: "Example Appliances code signing",
		NotBefore:  time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC),
		NotAfter:   time.Date(2035, 1, 1, 0, 0, 0, 0, time.UTC),
	})
	if err != nil {
		panic(err)
	}
	signer, err := sign.NewX509Signer(key, []*x509.Certificate{cert}, sign.PurposeOVA)
	if err != nil {
		panic(err)
	}
	manifest := []byte("SHA256(app.ovf)= 00\n")
	sig, _ := signer.Sign(ctx, manifest)
	_, err = signer.Public().Verify(ctx, manifest, sig)

	fmt.Println(cert.Subject.CommonName)
	fmt.Println(cert.ExtKeyUsage[0] == x509.ExtKeyUsageCodeSigning, cert.NotAfter.Year())
	fmt.Println(len(sig), err)
	// Output:
	// Example Appliances code signing
	// true 2035
	// 384 <nil>
}

// Update packages are signed with OpenPGP (gpg verifies the detached
// signature) and may be encrypted to the appliance's key.
func ExampleGenerateOpenPGP() {
	ctx := context.Background()
	vendor, err := sign.GenerateOpenPGP("Example Updates", "updates@example.com", sign.PurposeUpdate,
		&sign.OpenPGPOptions{Time: time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		panic(err)
	}
	appliance, err := sign.GenerateOpenPGP("Appliance", "appliance@example.com", sign.PurposeUpdate, nil)
	if err != nil {
		panic(err)
	}

	pkg := []byte("update package bytes")
	sig, _ := vendor.Sign(ctx, pkg)
	fmt.Println(strings.SplitN(string(sig), "\n", 2)[0])
	_, err = vendor.Public().Verify(ctx, pkg, sig)
	fmt.Println("verified:", err == nil)

	var sealed bytes.Buffer
	err = sign.Encrypt(ctx, &sealed, bytes.NewReader(pkg), []*sign.OpenPGPPublicKey{appliance.Public()},
		&sign.EncryptOptions{Signer: vendor})
	if err != nil {
		panic(err)
	}
	var opened bytes.Buffer
	err = sign.Decrypt(ctx, &opened, &sealed, appliance, &sign.DecryptOptions{
		MaxSize:  1 << 20,
		SignedBy: []*sign.OpenPGPPublicKey{vendor.Public()},
	})
	fmt.Println(opened.String(), err)
	// Output:
	// -----BEGIN PGP SIGNATURE-----
	// verified: true
	// update package bytes <nil>
}

// Key files round-trip through EncodePrivateKey / LoadSigner and
// EncodePublicKey / LoadPublicKey; the key id survives.
func ExampleLoadPublicKey() {
	signer, _ := sign.GenerateEd25519(nil, sign.PurposeLicense)
	pubPEM, _ := sign.EncodePublicKey(signer.Public())
	privPEM, _ := sign.EncodePrivateKey(signer, nil)

	pub, err := sign.LoadPublicKey(pubPEM, sign.PurposeLicense)
	if err != nil {
		panic(err)
	}
	back, err := sign.LoadSigner(privPEM, sign.PurposeLicense, nil)
	if err != nil {
		panic(err)
	}
	fmt.Println(strings.SplitN(string(pubPEM), "\n", 2)[0])
	fmt.Println(pub.Algorithm(), pub.KeyID() == signer.KeyID(), back.KeyID() == signer.KeyID())
	// Output:
	// -----BEGIN PUBLIC KEY-----
	// ed25519 true true
}

// A verifier takes its public keys and a passphrase from files named on
// its command line.
func ExampleReadKeyring() {
	dir, _ := os.MkdirTemp("", "sign-example")
	defer os.RemoveAll(dir)
	seed := bytes.Repeat([]byte{1}, ed25519.SeedSize)
	s, _ := sign.NewEd25519Signer(ed25519.NewKeyFromSeed(seed), sign.PurposeLicense)
	pub, _ := sign.EncodePublicKey(s.Public())
	os.WriteFile(filepath.Join(dir, "license.pub"), pub, 0o644)
	os.WriteFile(filepath.Join(dir, "pass.txt"), []byte("correct horse\r\n"), 0o600)

	ring, err := sign.ReadKeyring(sign.PurposeLicense, filepath.Join(dir, "license.pub"))
	if err != nil {
		panic(err)
	}
	pass, _ := sign.ReadPassphraseFile(filepath.Join(dir, "pass.txt"))
	fmt.Println(ring.Keys()[0] == s.KeyID(), strconv.Quote(string(pass)))
	// Output:
	// true "correct horse"
}
