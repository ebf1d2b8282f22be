package main

import (
	"crypto/x509"
	"errors"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/fogkit/fogkit/sign"
)

// keySet holds the three keys a vendor signs with, as sign.LoadKeyDir
// reads them (file names in sign's KeyFile constants, the ones
// examples/keygen writes, so vendors can bring their own keys).
type keySet struct {
	license    sign.Signer
	licensePub []byte
	update     sign.Signer
	updatePub  []byte
	ova        *sign.X509Signer
	ovaCerts   []*x509.Certificate
}

// loadOrCreateKeys loads the key directory, creating a fresh key set when
// it has none yet (sign.CreateKeyDir refuses a directory holding other
// files). Keys are random: a reproducible build reuses a key directory.
func loadOrCreateKeys(dir, name string) (*keySet, bool, error) {
	created := false
	var ks *sign.KeySet
	var err error
	if _, serr := os.Stat(filepath.Join(dir, sign.LicenseKeyFile)); errors.Is(serr, fs.ErrNotExist) {
		ks, err = sign.CreateKeyDir(dir, &sign.KeyDirOptions{Name: name})
		created = true
	} else {
		ks, err = sign.LoadKeyDir(dir)
	}
	if err != nil {
		return nil, false, err
	}
	return &keySet{
		license: ks.License, licensePub: ks.LicensePublic,
		update: ks.Update, updatePub: ks.UpdatePublic,
		ova: ks.OVA, ovaCerts: ks.OVACertificates(),
	}, created, nil
}
