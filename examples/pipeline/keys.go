package main

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// keySet holds the three keys a vendor signs with. The file names are the
// ones examples/keygen writes, so vendors can bring their own keys:
//
//	license.key / license.pub   Ed25519 (PKCS#8 / SPKI PEM): licenses
//	update.key  / update.pub    OpenPGP (armored): update packages
//	ova.key     / ova.crt       RSA-3072 + self-signed code-signing certificate: the OVA
type keySet struct {
	license    sign.Signer
	licensePub []byte
	update     sign.Signer
	updatePub  []byte
	ova        *sign.X509Signer
	ovaCerts   []*x509.Certificate
}

func loadOrCreateKeys(dir, name string) (*keySet, bool, error) {
	created := false
	if _, err := os.Stat(filepath.Join(dir, "license.key")); errors.Is(err, fs.ErrNotExist) {
		if names, _ := os.ReadDir(dir); len(names) > 0 {
			return nil, false, fmt.Errorf("%s holds files but no license.key: refusing to mix fresh keys with old ones", dir)
		}
		if err := createKeys(dir, name); err != nil {
			return nil, false, err
		}
		created = true
	}
	read := func(f string) ([]byte, error) { return os.ReadFile(filepath.Join(dir, f)) }
	k := &keySet{}
	var err error
	var b []byte
	if b, err = read("license.key"); err != nil {
		return nil, false, err
	}
	if k.license, err = sign.LoadSigner(b, sign.PurposeLicense, nil); err != nil {
		return nil, false, fmt.Errorf("license.key: %w", err)
	}
	if k.licensePub, err = read("license.pub"); err != nil {
		return nil, false, err
	}
	if b, err = read("update.key"); err != nil {
		return nil, false, err
	}
	if k.update, err = sign.LoadSigner(b, sign.PurposeUpdate, nil); err != nil {
		return nil, false, fmt.Errorf("update.key: %w", err)
	}
	if k.updatePub, err = read("update.pub"); err != nil {
		return nil, false, err
	}
	keyPEM, err := read("ova.key")
	if err != nil {
		return nil, false, err
	}
	certPEM, err := read("ova.crt")
	if err != nil {
		return nil, false, err
	}
	if k.ova, err = sign.LoadX509Signer(keyPEM, certPEM, sign.PurposeOVA); err != nil {
		return nil, false, fmt.Errorf("ova.key/ova.crt: %w", err)
	}
	k.ovaCerts = k.ova.Certificates()
	return k, created, nil
}

// createKeys makes fresh keys in a temporary directory beside dir and
// renames it into place, so an interrupted run never leaves half a key set.
// Keys are random: a reproducible build reuses a key directory.
func createKeys(dir, name string) error {
	final := dir
	if err := os.MkdirAll(filepath.Dir(filepath.Clean(final)), 0o755); err != nil {
		return err
	}
	_ = os.Remove(final) // an empty directory; ReadDir checked it
	dir, err := os.MkdirTemp(filepath.Dir(filepath.Clean(final)), ".keys-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir) // gone after the rename; cleans up on failure
	if err := os.Chmod(dir, 0o700); err != nil {
		return err
	}
	lic, err := sign.GenerateEd25519(nil, sign.PurposeLicense)
	if err != nil {
		return err
	}
	upd, err := sign.GenerateOpenPGP(name+" updates", "updates@"+name+".invalid", sign.PurposeUpdate,
		&sign.OpenPGPOptions{Time: time.Unix(0, 0).UTC()})
	if err != nil {
		return err
	}
	rsaKey, err := sign.GenerateRSA(nil, 0)
	if err != nil {
		return err
	}
	cert, err := sign.SelfSignedCertificate(rsaKey, &sign.CertOptions{CommonName: name + " code signing"})
	if err != nil {
		return err
	}
	ovaSigner, err := sign.NewX509Signer(rsaKey, []*x509.Certificate{cert}, sign.PurposeOVA)
	if err != nil {
		return err
	}
	files := map[string]func() ([]byte, error){
		"license.key": func() ([]byte, error) { return sign.EncodePrivateKey(lic, nil) },
		"license.pub": func() ([]byte, error) { return sign.EncodePublicKey(lic.Public()) },
		"update.key":  func() ([]byte, error) { return sign.EncodePrivateKey(upd, nil) },
		"update.pub":  func() ([]byte, error) { return sign.EncodePublicKey(upd.Public()) },
		"ova.key":     func() ([]byte, error) { return sign.EncodePrivateKey(ovaSigner, nil) },
		"ova.crt":     func() ([]byte, error) { return sign.EncodeCertificates([]*x509.Certificate{cert}), nil },
	}
	for f, enc := range files {
		b, err := enc()
		if err != nil {
			return fmt.Errorf("%s: %w", f, err)
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(f) == ".key" {
			mode = 0o600
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, mode); err != nil {
			return err
		}
	}
	return os.Rename(dir, final)
}
