package sign

import (
	"crypto/x509"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"runtime"
	"time"
)

// ErrKeyDir: a key directory is incomplete, mixes a fresh key with old
// ones, holds a private key other users can read, or a key in it does
// not load for its purpose.
var ErrKeyDir = errors.New("sign: bad key directory")

// The files of a key directory, as CreateKeyDir writes them and
// examples/keygen names them, so vendors can bring their own keys:
//
//	license.key / license.pub   Ed25519 (PKCS#8 / SPKI PEM): licenses
//	update.key  / update.pub    OpenPGP (armored): update packages
//	ova.key     / ova.crt       RSA-3072 + self-signed code-signing certificate: OVAs
//	support.key / support.pub   OpenPGP (armored): support bundles are encrypted to it
//	provenance.key / provenance.pub   Ed25519 (PKCS#8 / SPKI PEM): build provenance (DSSE)
//
// The support and provenance pairs are optional when loading, so key
// directories made before they existed still load (KeySet.Support or
// KeySet.Provenance is then nil); one half of a pair without the other is
// an error.
const (
	LicenseKeyFile       = "license.key"
	LicensePublicFile    = "license.pub"
	UpdateKeyFile        = "update.key"
	UpdatePublicFile     = "update.pub"
	OVAKeyFile           = "ova.key"
	OVACertFile          = "ova.crt"
	SupportKeyFile       = "support.key"
	SupportPublicFile    = "support.pub"
	ProvenanceKeyFile    = "provenance.key"
	ProvenancePublicFile = "provenance.pub"
)

var keyDirFiles = []string{LicenseKeyFile, LicensePublicFile, UpdateKeyFile, UpdatePublicFile, OVAKeyFile, OVACertFile}

// KeySet is a vendor's keys, one per purpose, with the
// public halves exactly as the directory holds them (the bytes an
// appliance image bakes in).
type KeySet struct {
	License       Signer // Ed25519, PurposeLicense
	LicensePublic []byte // license.pub (SPKI PEM)
	Update        Signer // OpenPGP, PurposeUpdate
	UpdatePublic  []byte // update.pub (armored)
	OVA           *X509Signer
	// Support is the key support bundles are encrypted to (its private
	// half decrypts them on the vendor's side); nil when the directory
	// predates it.
	Support       *OpenPGPSigner
	SupportPublic []byte // support.pub (armored)
	// Provenance signs build provenance (Ed25519, PurposeProvenance; it
	// implements DSSESigner); nil when the directory predates it.
	Provenance       Signer
	ProvenancePublic []byte // provenance.pub (SPKI PEM)
}

// KeyDirOptions says how CreateKeyDir makes fresh keys.
type KeyDirOptions struct {
	// Name goes into the OpenPGP user id ("<Name> updates") and the
	// certificate's common name ("<Name> code signing"). Required.
	Name string
	// Time is the OpenPGP key's creation time and the time its signatures
	// carry. Zero means the Unix epoch, so that update packages signed with
	// the key are byte-for-byte reproducible (the key itself is random).
	Time time.Time
}

// CreateKeyDir makes a fresh key set in dir, which must not exist or be
// empty. The keys are written into a private temporary directory beside
// dir and renamed into place, so an interrupted run never leaves half a
// key set; private keys are 0600 and the directory 0700.
func CreateKeyDir(dir string, opts *KeyDirOptions) (*KeySet, error) {
	var o KeyDirOptions
	if opts != nil {
		o = *opts
	}
	if o.Name == "" {
		return nil, fmt.Errorf("%w: a key set needs a name", ErrKeyDir)
	}
	if o.Time.IsZero() {
		o.Time = time.Unix(0, 0).UTC()
	}
	dir = filepath.Clean(dir)
	if names, err := os.ReadDir(dir); err == nil && len(names) > 0 {
		return nil, fmt.Errorf("%w: %s is not empty: refusing to mix fresh keys with old ones", ErrKeyDir, dir)
	} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w: %w", ErrKeyDir, err)
	}
	parent := filepath.Dir(dir)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, err
	}
	tmp, err := os.MkdirTemp(parent, ".keys-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp) // gone after the rename; cleans up on failure
	if err := os.Chmod(tmp, 0o700); err != nil {
		return nil, err
	}
	lic, err := GenerateEd25519(nil, PurposeLicense)
	if err != nil {
		return nil, err
	}
	upd, err := GenerateOpenPGP(o.Name+" updates", "updates@"+o.Name+".invalid", PurposeUpdate, &OpenPGPOptions{Time: o.Time})
	if err != nil {
		return nil, err
	}
	ova, err := GenerateX509(o.Name+" code signing", PurposeOVA, nil)
	if err != nil {
		return nil, err
	}
	sup, err := GenerateOpenPGP(o.Name+" support", "support@"+o.Name+".invalid", PurposeSupport, &OpenPGPOptions{Time: o.Time})
	if err != nil {
		return nil, err
	}
	prov, err := GenerateEd25519(nil, PurposeProvenance)
	if err != nil {
		return nil, err
	}
	enc := map[string]func() ([]byte, error){
		ProvenanceKeyFile:    func() ([]byte, error) { return EncodePrivateKey(prov, nil) },
		ProvenancePublicFile: func() ([]byte, error) { return EncodePublicKey(prov.Public()) },
		SupportKeyFile:       func() ([]byte, error) { return EncodePrivateKey(sup, nil) },
		SupportPublicFile:    func() ([]byte, error) { return EncodePublicKey(sup.Public()) },
		LicenseKeyFile:       func() ([]byte, error) { return EncodePrivateKey(lic, nil) },
		LicensePublicFile:    func() ([]byte, error) { return EncodePublicKey(lic.Public()) },
		UpdateKeyFile:        func() ([]byte, error) { return EncodePrivateKey(upd, nil) },
		UpdatePublicFile:     func() ([]byte, error) { return EncodePublicKey(upd.Public()) },
		OVAKeyFile:           func() ([]byte, error) { return EncodePrivateKey(ova, nil) },
		OVACertFile:          func() ([]byte, error) { return EncodeCertificates(ova.Certificates()), nil },
	}
	for _, f := range append(keyDirFiles, SupportKeyFile, SupportPublicFile, ProvenanceKeyFile, ProvenancePublicFile) {
		b, err := enc[f]()
		if err != nil {
			return nil, fmt.Errorf("%s: %w", f, err)
		}
		mode := os.FileMode(0o644)
		if filepath.Ext(f) == ".key" {
			mode = 0o600
		}
		if err := writeNew(filepath.Join(tmp, f), b, mode); err != nil {
			return nil, err
		}
	}
	_ = os.Remove(dir) // an empty directory, checked above
	if err := os.Rename(tmp, dir); err != nil {
		return nil, err
	}
	return LoadKeyDir(dir)
}

// writeNew writes a file that must not exist yet, with its final mode
// from the start (never briefly readable by others), and syncs it.
func writeNew(p string, b []byte, mode os.FileMode) error {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return err
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// LoadKeyDir loads the key set in dir. Every file must be there, each
// key must load for its purpose, and on Unix a private key file that
// its group or other users can read is refused, as ssh refuses one.
func LoadKeyDir(dir string) (*KeySet, error) {
	data := map[string][]byte{}
	files := keyDirFiles[:len(keyDirFiles):len(keyDirFiles)]
	// Optional pairs: either half present makes both required.
	for _, pair := range [][2]string{{SupportKeyFile, SupportPublicFile}, {ProvenanceKeyFile, ProvenancePublicFile}} {
		_, errKey := os.Lstat(filepath.Join(dir, pair[0]))
		_, errPub := os.Lstat(filepath.Join(dir, pair[1]))
		if errKey == nil || errPub == nil {
			files = append(files, pair[0], pair[1])
		}
	}
	for _, f := range files {
		p := filepath.Join(dir, f)
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyDir, err)
		}
		if !st.Mode().IsRegular() {
			return nil, fmt.Errorf("%w: %s is not a regular file", ErrKeyDir, p)
		}
		if filepath.Ext(f) == ".key" && runtime.GOOS != "windows" && st.Mode().Perm()&0o077 != 0 {
			return nil, fmt.Errorf("%w: %s is readable by others (mode %04o): chmod 600 it", ErrKeyDir, p, st.Mode().Perm())
		}
		if st.Size() > 1<<20 {
			return nil, fmt.Errorf("%w: %s is larger than 1 MiB", ErrKeyDir, p)
		}
		if data[f], err = os.ReadFile(p); err != nil {
			return nil, fmt.Errorf("%w: %w", ErrKeyDir, err)
		}
	}
	k := &KeySet{LicensePublic: data[LicensePublicFile], UpdatePublic: data[UpdatePublicFile]}
	var err error
	if k.License, err = LoadSigner(data[LicenseKeyFile], PurposeLicense, nil); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyDir, LicenseKeyFile, err)
	}
	if k.Update, err = LoadSigner(data[UpdateKeyFile], PurposeUpdate, nil); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrKeyDir, UpdateKeyFile, err)
	}
	if k.OVA, err = LoadX509Signer(data[OVAKeyFile], data[OVACertFile], PurposeOVA); err != nil {
		return nil, fmt.Errorf("%w: %s/%s: %w", ErrKeyDir, OVAKeyFile, OVACertFile, err)
	}
	if data[SupportKeyFile] != nil {
		if k.Support, err = LoadOpenPGPSigner(data[SupportKeyFile], PurposeSupport, nil); err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyDir, SupportKeyFile, err)
		}
		pk, err := LoadOpenPGPPublicKey(data[SupportPublicFile], PurposeSupport)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyDir, SupportPublicFile, err)
		}
		if pk.KeyID() != k.Support.KeyID() {
			return nil, fmt.Errorf("%w: %s is not the public half of its private key", ErrKeyDir, SupportPublicFile)
		}
		k.SupportPublic = data[SupportPublicFile]
	}
	type pair struct {
		file string
		pub  []byte
		s    Signer
		p    Purpose
	}
	pairs := []pair{{LicensePublicFile, k.LicensePublic, k.License, PurposeLicense}, {UpdatePublicFile, k.UpdatePublic, k.Update, PurposeUpdate}}
	if data[ProvenanceKeyFile] != nil {
		s, err := LoadSigner(data[ProvenanceKeyFile], PurposeProvenance, nil)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyDir, ProvenanceKeyFile, err)
		}
		// DSSE verifiers elsewhere expect plain Ed25519 over PAE.
		if _, ok := s.(*Ed25519Signer); !ok {
			return nil, fmt.Errorf("%w: %s: provenance keys are Ed25519, not %s", ErrKeyDir, ProvenanceKeyFile, s.Algorithm())
		}
		k.Provenance, k.ProvenancePublic = s, data[ProvenancePublicFile]
		pairs = append(pairs, pair{ProvenancePublicFile, k.ProvenancePublic, k.Provenance, PurposeProvenance})
	}
	// Each public file must be the public half of its private key: a
	// mismatched pair would bake a key into the image that can verify
	// nothing the build signs.
	for _, c := range pairs {
		pk, err := LoadPublicKey(c.pub, c.p)
		if err != nil {
			return nil, fmt.Errorf("%w: %s: %w", ErrKeyDir, c.file, err)
		}
		if pk.KeyID() != c.s.KeyID() {
			return nil, fmt.Errorf("%w: %s is not the public half of its private key", ErrKeyDir, c.file)
		}
	}
	return k, nil
}

// OVACertificates returns the OVA signing chain, leaf first.
func (k *KeySet) OVACertificates() []*x509.Certificate { return k.OVA.Certificates() }

// GenerateX509 makes a fresh RSA-3072 key with a self-signed certificate
// whose common name is name, ready to sign for purpose (an OVA's
// code-signing key). o may be nil for the defaults of
// SelfSignedCertificate.
func GenerateX509(name string, purpose Purpose, o *CertOptions) (*X509Signer, error) {
	key, err := GenerateRSA(nil, 0)
	if err != nil {
		return nil, err
	}
	var co CertOptions
	if o != nil {
		co = *o
	}
	if co.CommonName == "" {
		co.CommonName = name
	}
	cert, err := SelfSignedCertificate(key, &co)
	if err != nil {
		return nil, err
	}
	return NewX509Signer(key, []*x509.Certificate{cert}, purpose)
}

// AddProvenanceKey adds a fresh provenance key pair (provenance.key,
// provenance.pub) to the existing key directory dir, which must load and
// hold no provenance key yet, and returns the key set with it. Key
// directories made before provenance keys existed get one this way
// without touching their other keys, so builds that reuse their keys stay
// reproducible. Each file is written under a temporary name, synced and
// renamed into place, the private key first; were the second rename
// interrupted, LoadKeyDir refuses the half pair and names it.
func AddProvenanceKey(dir string) (*KeySet, error) {
	ks, err := LoadKeyDir(dir)
	if err != nil {
		return nil, err
	}
	if ks.Provenance != nil {
		return nil, fmt.Errorf("%w: %s already holds a provenance key", ErrKeyDir, dir)
	}
	prov, err := GenerateEd25519(nil, PurposeProvenance)
	if err != nil {
		return nil, err
	}
	priv, err := EncodePrivateKey(prov, nil)
	if err != nil {
		return nil, err
	}
	pub, err := EncodePublicKey(prov.Public())
	if err != nil {
		return nil, err
	}
	for _, f := range []struct {
		name string
		b    []byte
		mode os.FileMode
	}{{ProvenanceKeyFile, priv, 0o600}, {ProvenancePublicFile, pub, 0o644}} {
		final := filepath.Join(dir, f.name)
		if _, err := os.Lstat(final); !errors.Is(err, fs.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s exists already", ErrKeyDir, final)
		}
		tmp := filepath.Join(dir, "."+f.name+".tmp")
		_ = os.Remove(tmp) // left by an interrupted run
		if err := writeNew(tmp, f.b, f.mode); err != nil {
			return nil, err
		}
		if err := os.Rename(tmp, final); err != nil {
			os.Remove(tmp)
			return nil, err
		}
	}
	if d, err := os.Open(dir); err == nil {
		_ = d.Sync() // the renames reach the disk
		d.Close()
	}
	return LoadKeyDir(dir)
}
