package sign

import (
	"bytes"
	"context"
	"crypto"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// PurposeNotation is the name of the non-critical signature notation in
// which OpenPGP signatures made here carry their key's purpose. Verify
// rejects a signature whose notation names another purpose
// (ErrWrongPurpose); signatures without it (made by gpg) are accepted on the
// strength of the key's purpose alone. gpg ignores the notation.
const PurposeNotation = "purpose@fogkit"

// Armor block types. Armor is always written with its CRC-24 line: gpg
// 2.2 misreads CRC-less armor whose last line has no base64 padding (it
// parses the END line as data and rejects the packet).
const (
	pgpPublicBlock    = "PGP PUBLIC KEY BLOCK"
	pgpPrivateBlock   = "PGP PRIVATE KEY BLOCK"
	pgpSignatureBlock = "PGP SIGNATURE"
	pgpMessageBlock   = "PGP MESSAGE"
)

// OpenPGPOptions control GenerateOpenPGP. The zero value makes what gpg 2.2
// reads: a v4 key with a legacy EdDSA (algorithm 22) Ed25519 primary key for
// signing, a Curve25519 ECDH subkey for encryption, SHA-256 and AES-256
// preferences and no AEAD.
type OpenPGPOptions struct {
	// Time is the key's creation time, and the time stamped on the
	// signatures the returned signer makes. The zero time means the current
	// time at generation (keys are random anyway unless Rand is fixed).
	Time time.Time `json:"time,omitempty"`
	// Lifetime makes the key expire Lifetime after Time; 0 never expires.
	// Signing after expiry and verifying a signature made after it give
	// ErrExpired.
	Lifetime time.Duration `json:"lifetime,omitempty"`
	// RFC9580 makes a v6 key (Ed25519/X25519, algorithms 27/25) that
	// prefers AEAD (SEIPDv2, OCB). gpg 2.2 cannot read such keys. v6
	// signatures are salted, so never reproducible.
	RFC9580 bool `json:"rfc9580,omitempty"`
	// Rand is the randomness source; nil means crypto/rand.
	Rand io.Reader `json:"-"`
}

// OpenPGPSigner makes detached armored OpenPGP signatures and decrypts
// messages encrypted to its key. Its key id is the primary key's
// fingerprint in lower-case hex.
type OpenPGPSigner struct {
	entity  *pgp.Entity
	purpose Purpose
	id      string
	sigTime time.Time // zero: the key's creation time
}

// GenerateOpenPGP makes a new OpenPGP key with user id "name <email>" for
// purpose. o is never modified; nil means defaults.
func GenerateOpenPGP(name, email string, purpose Purpose, o *OpenPGPOptions) (*OpenPGPSigner, error) {
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	var opt OpenPGPOptions
	if o != nil {
		opt = *o
	}
	if strings.ContainsAny(name+email, "()<>\x00\r\n") || len(name)+len(email) > 1024 {
		return nil, fmt.Errorf("%w: OpenPGP name or email holds one of ()<> or a control character, or is too long", ErrMalformed)
	}
	if opt.Lifetime < 0 || opt.Lifetime/time.Second > 1<<32-1 {
		return nil, fmt.Errorf("%w: key lifetime %s", ErrMalformed, opt.Lifetime)
	}
	created := opt.Time
	if created.IsZero() {
		created = time.Now()
	}
	created = time.Unix(created.Unix(), 0).UTC()
	cfg := pgpConfig(created, opt.RFC9580, opt.Rand)
	cfg.KeyLifetimeSecs = uint32(opt.Lifetime / time.Second)
	// Preferences: no compression first, ZLIB accepted (EncryptOptions.Compress).
	cfg.DefaultCompressionAlgo = packet.CompressionZLIB
	e, err := pgp.NewEntity(name, "", email, cfg)
	if err != nil {
		return nil, fmt.Errorf("sign: generate OpenPGP key: %w", err)
	}
	s := newOpenPGPSigner(e, purpose)
	if !opt.Time.IsZero() {
		s.sigTime = created
	}
	return s, nil
}

func newOpenPGPSigner(e *pgp.Entity, purpose Purpose) *OpenPGPSigner {
	return &OpenPGPSigner{entity: e, purpose: purpose, id: hex.EncodeToString(e.PrimaryKey.Fingerprint)}
}

// pgpConfig is the go-crypto configuration for time t: SHA-256, AES-256, no
// salt notation (so v4 EdDSA signatures are reproducible), and either the
// gpg 2.2 profile or RFC 9580.
func pgpConfig(t time.Time, rfc9580 bool, rnd io.Reader) *packet.Config {
	cfg := &packet.Config{
		Rand:                                  rnd,
		DefaultHash:                           crypto.SHA256,
		DefaultCipher:                         packet.CipherAES256,
		NonDeterministicSignaturesViaNotation: packet.BoolPointer(false),
		Algorithm:                             packet.PubKeyAlgoEdDSA,
		Curve:                                 packet.Curve25519,
	}
	if !t.IsZero() {
		cfg.Time = func() time.Time { return t }
	}
	if rfc9580 {
		cfg.V6Keys = true
		cfg.Algorithm = packet.PubKeyAlgoEd25519
		cfg.Curve = ""
		cfg.AEADConfig = &packet.AEADConfig{DefaultMode: packet.AEADModeOCB}
	}
	return cfg
}

// LoadOpenPGPSigner reads one OpenPGP private key, armored or binary,
// decrypting its secret parts with passphrase when they are encrypted.
func LoadOpenPGPSigner(data []byte, purpose Purpose, passphrase []byte) (*OpenPGPSigner, error) {
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	e, err := readOneEntity(data, pgpPrivateBlock)
	if err != nil {
		return nil, err
	}
	if e.PrivateKey == nil {
		return nil, fmt.Errorf("%w: OpenPGP key has no private part", ErrMalformed)
	}
	if e.PrivateKey.Dummy() {
		return nil, fmt.Errorf("%w: OpenPGP primary private key is a stub (gpg --export-secret-subkeys)", ErrUnsupported)
	}
	if encrypted(e) {
		if len(passphrase) == 0 {
			return nil, fmt.Errorf("%w: OpenPGP private key is encrypted and no passphrase was given", ErrDecrypt)
		}
		if err := checkS2K(e.PrivateKey); err != nil {
			return nil, err
		}
		for _, sk := range e.Subkeys {
			if err := checkS2K(sk.PrivateKey); err != nil {
				return nil, err
			}
		}
		if err := e.DecryptPrivateKeys(passphrase); err != nil {
			return nil, fmt.Errorf("%w: OpenPGP private key: %v", ErrDecrypt, err)
		}
	}
	return newOpenPGPSigner(e, purpose), nil
}

func encrypted(e *pgp.Entity) bool {
	if e.PrivateKey != nil && e.PrivateKey.Encrypted {
		return true
	}
	for _, s := range e.Subkeys {
		if s.PrivateKey != nil && s.PrivateKey.Encrypted && !s.PrivateKey.Dummy() {
			return true
		}
	}
	return false
}

func (s *OpenPGPSigner) KeyID() string {
	if s == nil {
		return ""
	}
	return s.id
}

func (s *OpenPGPSigner) Purpose() Purpose {
	if s == nil {
		return ""
	}
	return s.purpose
}

func (s *OpenPGPSigner) Algorithm() Algorithm { return OpenPGP }

// Entity returns the go-crypto entity (with private keys). Do not modify it.
func (s *OpenPGPSigner) Entity() *pgp.Entity { return s.entity }

// CreationTime returns the primary key's creation time.
func (s *OpenPGPSigner) CreationTime() time.Time {
	if s.entity == nil {
		return time.Time{}
	}
	return s.entity.PrimaryKey.CreationTime.UTC()
}

// SigningTime returns the time Sign stamps on signatures: the time set with
// WithTime or GenerateOpenPGP's Options.Time, otherwise the key's creation
// time. Either way the output is reproducible.
func (s *OpenPGPSigner) SigningTime() time.Time {
	if s.sigTime.IsZero() {
		return s.CreationTime()
	}
	return s.sigTime
}

// WithTime returns a copy of s that stamps t (to the second) on its
// signatures. The key must be valid at t (not expired, not revoked, not yet
// created gives an error at Sign).
func (s *OpenPGPSigner) WithTime(t time.Time) *OpenPGPSigner {
	c := *s
	c.sigTime = time.Unix(t.Unix(), 0).UTC()
	return &c
}

// Public returns the verification and encryption key; nil for a zero
// OpenPGPSigner.
func (s *OpenPGPSigner) Public() *OpenPGPPublicKey {
	if s.entity == nil {
		return nil
	}
	return &OpenPGPPublicKey{entity: publicEntity(s.entity), purpose: s.purpose, id: s.id}
}

// publicEntity copies e without private key material.
func publicEntity(e *pgp.Entity) *pgp.Entity {
	c := *e
	c.PrivateKey = nil
	c.Subkeys = make([]pgp.Subkey, len(e.Subkeys))
	for i, sk := range e.Subkeys {
		sk.PrivateKey = nil
		sk.Primary = &c
		c.Subkeys[i] = sk
	}
	c.Identities = make(map[string]*pgp.Identity, len(e.Identities))
	for n, id := range e.Identities {
		cp := *id
		cp.Primary = &c
		c.Identities[n] = &cp
	}
	return &c
}

// Sign returns an armored detached signature ("-----BEGIN PGP
// SIGNATURE-----") of message, binary type, SHA-256, stamped with
// SigningTime and carrying the PurposeNotation. For v4 keys the output is
// byte-for-byte reproducible.
func (s *OpenPGPSigner) Sign(ctx context.Context, message []byte) ([]byte, error) {
	if s == nil {
		return nil, fmt.Errorf("%w: nil signer", ErrMalformed)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if len(message) > MaxMessageSize {
		return nil, fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	var b bytes.Buffer
	if err := s.SignReader(ctx, &b, bytes.NewReader(message)); err != nil {
		return nil, err
	}
	return b.Bytes(), nil
}

// SignReader streams r (of any size) and writes the armored detached
// signature to w.
func (s *OpenPGPSigner) SignReader(ctx context.Context, w io.Writer, r io.Reader) error {
	if s.entity == nil || s.entity.PrivateKey == nil {
		return fmt.Errorf("%w: OpenPGP signer without a key", ErrMalformed)
	}
	t := s.SigningTime()
	cfg := pgpConfig(t, false, nil)
	cfg.SignatureNotations = []*packet.Notation{{Name: PurposeNotation, Value: []byte(s.purpose), IsHumanReadable: true}}
	if t.Before(s.CreationTime()) {
		return &KeyError{KeyID: s.id, Err: fmt.Errorf("%w: signing time %s is before the key's creation", ErrExpired, t.Format(time.RFC3339))}
	}
	if _, err := s.entity.VerifyPrimaryKey(t, cfg); err != nil {
		return &KeyError{KeyID: s.id, Err: mapPGPError(err)}
	}
	aw, err := armor.Encode(w, pgpSignatureBlock, nil)
	if err != nil {
		return err
	}
	sw, err := pgp.DetachSignWriter(aw, []*pgp.Entity{s.entity}, &pgp.SignParams{Config: cfg})
	if err != nil {
		return &KeyError{KeyID: s.id, Err: mapPGPError(err)}
	}
	if _, err := io.Copy(sw, ctxReader{ctx, r}); err != nil {
		return err
	}
	if err := sw.Close(); err != nil {
		return &KeyError{KeyID: s.id, Err: mapPGPError(err)}
	}
	return aw.Close()
}

// encodePrivate writes the armored private key, encrypting a copy when a
// passphrase is given.
func (s *OpenPGPSigner) encodePrivate(passphrase []byte) ([]byte, error) {
	e := s.entity
	if len(passphrase) > 0 {
		var raw bytes.Buffer
		if err := e.SerializePrivateWithoutSigning(&raw, nil); err != nil {
			return nil, fmt.Errorf("sign: serialise OpenPGP key: %w", err)
		}
		el, err := pgp.ReadKeyRing(&raw)
		if err != nil || len(el) != 1 {
			return nil, fmt.Errorf("sign: re-read OpenPGP key: %v", err)
		}
		e = el[0]
		var cfg *packet.Config // v4: iterated-salted S2K, CFB, what gpg 2.2 reads
		if e.PrimaryKey.Version == 6 {
			// RFC 9580: Argon2 and AEAD-protected secret keys.
			cfg = &packet.Config{
				DefaultCipher: packet.CipherAES256,
				AEADConfig:    &packet.AEADConfig{DefaultMode: packet.AEADModeOCB},
				S2KConfig:     &s2k.Config{S2KMode: s2k.Argon2S2K},
			}
		}
		if err := e.EncryptPrivateKeys(passphrase, cfg); err != nil {
			return nil, fmt.Errorf("sign: encrypt OpenPGP key: %w", err)
		}
	}
	return armorEntity(e, true)
}

// armorEntity serialises e with identities in name order, so the output
// does not depend on map order.
func armorEntity(e *pgp.Entity, private bool) ([]byte, error) {
	var b bytes.Buffer
	typ := pgpPublicBlock
	if private {
		typ = pgpPrivateBlock
	}
	aw, err := armor.Encode(&b, typ, nil)
	if err != nil {
		return nil, err
	}
	if private {
		err = e.PrivateKey.Serialize(aw)
	} else {
		err = e.PrimaryKey.Serialize(aw)
	}
	if err != nil {
		return nil, fmt.Errorf("sign: serialise OpenPGP key: %w", err)
	}
	for _, r := range e.Revocations {
		if err := r.Packet.Serialize(aw); err != nil {
			return nil, err
		}
	}
	for _, d := range e.DirectSignatures {
		if err := d.Packet.Serialize(aw); err != nil {
			return nil, err
		}
	}
	names := make([]string, 0, len(e.Identities))
	for n := range e.Identities {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		if err := e.Identities[n].Serialize(aw); err != nil {
			return nil, err
		}
	}
	for _, sk := range e.Subkeys {
		if err := sk.Serialize(aw, private && sk.PrivateKey != nil); err != nil {
			return nil, err
		}
	}
	if err := aw.Close(); err != nil {
		return nil, err
	}
	b.WriteByte('\n')
	return b.Bytes(), nil
}

// OpenPGPPublicKey verifies detached OpenPGP signatures and is a recipient
// for Encrypt. Its key id is the primary key's fingerprint in lower-case
// hex.
type OpenPGPPublicKey struct {
	entity  *pgp.Entity
	purpose Purpose
	id      string
	clock   func() time.Time // nil: nothing depends on the verifier's time
}

// LoadOpenPGPPublicKey reads one OpenPGP public key (a transferable public
// key, as `gpg --export [--armor]` writes it), armored or binary.
func LoadOpenPGPPublicKey(data []byte, purpose Purpose) (*OpenPGPPublicKey, error) {
	if err := purpose.Valid(); err != nil {
		return nil, err
	}
	e, err := readOneEntity(data, pgpPublicBlock)
	if err != nil {
		return nil, err
	}
	if e.PrivateKey != nil {
		return nil, fmt.Errorf("%w: an OpenPGP private key where a public key was expected", ErrMalformed)
	}
	return &OpenPGPPublicKey{entity: e, purpose: purpose, id: hex.EncodeToString(e.PrimaryKey.Fingerprint)}, nil
}

func (k *OpenPGPPublicKey) KeyID() string        { return k.id }
func (k *OpenPGPPublicKey) Purpose() Purpose     { return k.purpose }
func (k *OpenPGPPublicKey) Algorithm() Algorithm { return OpenPGP }

// Entity returns the go-crypto entity. Do not modify it.
func (k *OpenPGPPublicKey) Entity() *pgp.Entity { return k.entity }

// aliases are the other names an operator may use for k, in lower-case
// hex: the 64-bit key ids of the primary key and of every subkey, and the
// subkeys' fingerprints (gpg names the signing subkey, not the primary).
func (k *OpenPGPPublicKey) aliases() []string {
	if k == nil || k.entity == nil {
		return nil
	}
	out := []string{fmt.Sprintf("%016x", k.entity.PrimaryKey.KeyId)}
	for _, sk := range k.entity.Subkeys {
		if sk.PublicKey == nil {
			continue
		}
		out = append(out, fmt.Sprintf("%016x", sk.PublicKey.KeyId), hex.EncodeToString(sk.PublicKey.Fingerprint))
	}
	return out
}

func (k *OpenPGPPublicKey) encode() ([]byte, error) { return armorEntity(k.entity, false) }

// WithClock returns a copy of k that verifies against a clock the caller
// trusts. Verify then also refuses a signature whose signing key (the
// primary key, and the subkey when a subkey signed) has expired (ErrExpired)
// or been revoked (ErrRevoked) by the time now returns, and checks a
// signature's own expiry against that time. Use it where the clock is
// trustworthy (synchronised time, a hardware clock the attacker cannot
// set): it is the only defence against a signature backdated into the
// lifetime of a key that has since expired. now == nil removes the clock.
func (k *OpenPGPPublicKey) WithClock(now func() time.Time) *OpenPGPPublicKey {
	c := *k
	c.clock = now
	return &c
}

// Verify checks a detached signature (armored or binary) over message and
// returns the key id (primary fingerprint).
//
// Key validity is judged at the signature's creation time: the signing key
// (primary or subkey) must have existed, not have expired and not have been
// revoked then; a signature made after the key or subkey expired gives
// ErrExpired, one by a revoked key ErrRevoked (a revocation for compromise
// or without a reason counts at every time), one by another key
// ErrUnknownKey, one with another fogkit purpose ErrWrongPurpose.
//
// The signature's creation time is chosen by the signer, so the holder of
// an expired key can backdate a signature into the key's lifetime; judged at
// signature time alone it verifies, as it does in gpg. Only a trusted clock
// tells the two apart: without one (the default, since an offline appliance
// has none) nothing Verify checks depends on the verifier's time, not even
// a signature's own expiry. With WithClock, the key and signing subkey must
// also be valid at the clock's time, and a signature's own expiry is checked
// against it.
func (k *OpenPGPPublicKey) Verify(ctx context.Context, message, signature []byte) (string, error) {
	if len(message) > MaxMessageSize {
		return "", fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	return k.VerifyReader(ctx, bytes.NewReader(message), signature)
}

// VerifyReader is Verify for a message of any size read from r.
func (k *OpenPGPPublicKey) VerifyReader(ctx context.Context, r io.Reader, signature []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(signature) > MaxSignatureSize {
		return "", fmt.Errorf("%w: signature of %d bytes (max %d)", ErrTooLarge, len(signature), MaxSignatureSize)
	}
	if k.entity == nil {
		return "", fmt.Errorf("%w: OpenPGP public key without a key", ErrMalformed)
	}
	body, err := dearmor(signature, pgpSignatureBlock)
	if err != nil {
		return "", &KeyError{KeyID: k.id, Err: err}
	}
	// go-crypto checks a signature's own expiry against Config.Time; the
	// zero time turns that check off unless the caller gave a clock.
	var now time.Time
	if k.clock != nil {
		now = k.clock()
		if now.IsZero() {
			return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: the verification clock returned the zero time", ErrMalformed)}
		}
	}
	cfg := &packet.Config{Time: func() time.Time { return now }}
	sig, _, err := pgp.VerifyDetachedSignature(pgp.EntityList{k.entity}, ctxReader{ctx, r}, bytes.NewReader(body), cfg)
	if err != nil {
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		// go-crypto checks the signing key's state at the signature's time
		// before the signature itself, and reports a subkey that had
		// expired then as "no valid signing key" and a signature older
		// than the key's self-signature as "no valid self signature":
		// say which key was not valid, and why.
		if e := k.diagnose(body); e != nil {
			return "", &KeyError{KeyID: k.id, Err: e}
		}
		return "", &KeyError{KeyID: k.id, Err: mapPGPError(err)}
	}
	for _, n := range sig.Notations {
		if n.Name == PurposeNotation && string(n.Value) != string(k.purpose) {
			return "", &KeyError{KeyID: k.id, Err: fmt.Errorf("%w: signature made for %q, key is for %q", ErrWrongPurpose, n.Value, k.purpose)}
		}
	}
	if !now.IsZero() {
		if err := k.keyValidAt(sig, now, "by the verifier's clock"); err != nil {
			return "", &KeyError{KeyID: k.id, Err: err}
		}
	}
	return k.id, nil
}

// diagnose explains why a signature in body that names this key did not
// verify, when the reason is the signing key's state at the signature's
// time; nil when it is not.
func (k *OpenPGPPublicKey) diagnose(body []byte) error {
	pr := packet.NewReader(bytes.NewReader(body))
	for range 16 {
		p, err := pr.Next()
		if err != nil {
			return nil
		}
		if sig, ok := p.(*packet.Signature); ok && k.signingKey(sig) != nil {
			return k.keyValidAt(sig, sig.CreationTime, "when it was made")
		}
	}
	return nil
}

// signingKey returns the primary key or subkey that sig names, or nil.
func (k *OpenPGPPublicKey) signingKey(sig *packet.Signature) *packet.PublicKey {
	match := func(pk *packet.PublicKey) bool {
		if pk == nil {
			return false
		}
		if len(sig.IssuerFingerprint) > 0 {
			return bytes.Equal(sig.IssuerFingerprint, pk.Fingerprint)
		}
		return sig.IssuerKeyId != nil && *sig.IssuerKeyId == pk.KeyId
	}
	if match(k.entity.PrimaryKey) {
		return k.entity.PrimaryKey
	}
	for _, sk := range k.entity.Subkeys {
		if match(sk.PublicKey) {
			return sk.PublicKey
		}
	}
	return nil
}

// keyValidAt checks that the key that made sig (the primary key and, for a
// subkey signature, the subkey) was valid at t: created, not expired, not
// revoked, with a self-signature in force.
func (k *OpenPGPPublicKey) keyValidAt(sig *packet.Signature, t time.Time, when string) error {
	at := t.UTC().Format(time.RFC3339)
	e := k.entity
	if _, err := e.VerifyPrimaryKey(t, &packet.Config{}); err != nil {
		if errors.Is(err, pgperrors.ErrKeyRevoked) {
			return fmt.Errorf("%w: primary key revoked at %s (%s)", ErrRevoked, at, when)
		}
		if self, _ := e.PrimarySelfSignature(time.Time{}, &packet.Config{}); self != nil && t.Before(self.CreationTime) && !t.Before(e.PrimaryKey.CreationTime) {
			return fmt.Errorf("%w: primary key not valid at %s (%s): its self-signature is dated %s, later (a key renewed with a new self-signature, as gpg exports it, verifies only signatures made after the renewal)",
				ErrExpired, at, when, self.CreationTime.UTC().Format(time.RFC3339))
		}
		return fmt.Errorf("%w: primary key not valid at %s (%s): %s", ErrExpired, at, when, keyLifetime(e.PrimaryKey, e))
	}
	signer := k.signingKey(sig)
	if signer == nil || signer == e.PrimaryKey {
		return nil
	}
	for _, sk := range e.Subkeys {
		if sk.PublicKey != signer {
			continue
		}
		if _, err := sk.Verify(t, &packet.Config{}); err != nil {
			if errors.Is(err, pgperrors.ErrKeyRevoked) {
				return fmt.Errorf("%w: signing subkey %X revoked at %s (%s)", ErrRevoked, signer.Fingerprint, at, when)
			}
			if b, _ := sk.LatestValidBindingSignature(time.Time{}, &packet.Config{}); b != nil && t.Before(b.CreationTime) && !t.Before(signer.CreationTime) {
				return fmt.Errorf("%w: signing subkey %X not valid at %s (%s): its binding signature is dated %s, later (a subkey renewed with a new binding signature verifies only signatures made after the renewal)",
					ErrExpired, signer.Fingerprint, at, when, b.CreationTime.UTC().Format(time.RFC3339))
			}
			return fmt.Errorf("%w: signing subkey %X not valid at %s (%s)", ErrExpired, signer.Fingerprint, at, when)
		}
	}
	return nil
}

// keyLifetime describes the primary key's validity for error messages.
func keyLifetime(pk *packet.PublicKey, e *pgp.Entity) string {
	created := pk.CreationTime.UTC().Format(time.RFC3339)
	sig, err := e.PrimarySelfSignature(time.Time{}, &packet.Config{})
	if err != nil || sig.KeyLifetimeSecs == nil || *sig.KeyLifetimeSecs == 0 {
		return "created " + created
	}
	exp := pk.CreationTime.Add(time.Duration(*sig.KeyLifetimeSecs) * time.Second)
	return "created " + created + ", expires " + exp.UTC().Format(time.RFC3339)
}

// mapPGPError turns go-crypto errors into this package's sentinels.
func mapPGPError(err error) error {
	var (
		structural pgperrors.StructuralError
		sigErr     pgperrors.SignatureError
		unsup      pgperrors.UnsupportedError
		weak       pgperrors.WeakAlgorithmError
		invalid    pgperrors.InvalidArgumentError
		keyInvalid pgperrors.KeyInvalidError
	)
	switch {
	case errors.Is(err, pgperrors.ErrKeyExpired), errors.Is(err, pgperrors.ErrSignatureExpired):
		return fmt.Errorf("%w: %v", ErrExpired, err)
	case errors.Is(err, pgperrors.ErrKeyRevoked):
		return fmt.Errorf("%w: %v", ErrRevoked, err)
	case errors.Is(err, pgperrors.ErrUnknownIssuer):
		return fmt.Errorf("%w: signature made by another key", ErrUnknownKey)
	case errors.Is(err, pgperrors.ErrKeyIncorrect):
		return fmt.Errorf("%w: %v", ErrDecrypt, err)
	case errors.Is(err, pgperrors.ErrMessageTooLarge):
		return fmt.Errorf("%w: %v", ErrTooLarge, err)
	case errors.As(err, &sigErr), errors.Is(err, pgperrors.ErrSignatureOlderThanKey):
		return fmt.Errorf("%w: %v", ErrBadSignature, err)
	case errors.As(err, &unsup), errors.As(err, &weak):
		return fmt.Errorf("%w: %v", ErrUnsupported, err)
	case errors.As(err, &structural), errors.As(err, &invalid), errors.As(err, &keyInvalid),
		errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return fmt.Errorf("%w: %v", ErrMalformed, err)
	}
	return fmt.Errorf("%w: %v", ErrBadSignature, err)
}

// readOneEntity parses exactly one transferable key from armored (of block
// type want) or binary data.
func readOneEntity(data []byte, want string) (*pgp.Entity, error) {
	if len(data) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: key file of %d bytes (max %d)", ErrTooLarge, len(data), MaxKeyFileSize)
	}
	body, err := dearmor(data, want)
	if err != nil {
		return nil, err
	}
	if err := checkPGPKeyPackets(body); err != nil {
		return nil, err
	}
	el, err := pgp.ReadKeyRing(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("%w: OpenPGP key: %v", ErrMalformed, err)
	}
	if len(el) != 1 {
		return nil, fmt.Errorf("%w: OpenPGP data holds %d keys, want exactly one", ErrMalformed, len(el))
	}
	e := el[0]
	if err := checkPGPEntity(e); err != nil {
		return nil, err
	}
	if _, err := e.PrimarySelfSignature(time.Time{}, nil); err != nil {
		return nil, fmt.Errorf("%w: OpenPGP key has no valid self-signature: %v", ErrMalformed, err)
	}
	return e, nil
}

// dearmor returns the binary body of armored data of type want, or data
// itself when it is not armored.
func dearmor(data []byte, want string) ([]byte, error) {
	if !isPGPArmor(data) {
		return data, nil
	}
	block, err := armor.Decode(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%w: OpenPGP armor: %v", ErrMalformed, err)
	}
	if block.Type != want {
		return nil, fmt.Errorf("%w: OpenPGP armor holds %q, want %q", ErrMalformed, block.Type, want)
	}
	body, err := io.ReadAll(io.LimitReader(block.Body, MaxKeyFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("%w: OpenPGP armor: %v", ErrMalformed, err)
	}
	if len(body) > MaxKeyFileSize {
		return nil, fmt.Errorf("%w: OpenPGP armor body over %d bytes", ErrTooLarge, MaxKeyFileSize)
	}
	return body, nil
}

func isPGPArmor(data []byte) bool {
	return bytes.Contains(data[:min(len(data), 4096)], []byte("-----BEGIN PGP "))
}

// looksLikePGPBinary reports whether data starts with an OpenPGP public
// or secret key packet header (tag 6 or 5, old or new format).
func looksLikePGPBinary(data []byte) bool {
	if len(data) == 0 {
		return false
	}
	b := data[0]
	return b&0xfc == 0x98 || b == 0xc6 || b&0xfc == 0x94 || b == 0xc5
}

// ctxReader fails reads once ctx is done.
type ctxReader struct {
	ctx context.Context
	r   io.Reader
}

func (c ctxReader) Read(p []byte) (int, error) {
	if err := c.ctx.Err(); err != nil {
		return 0, err
	}
	return c.r.Read(p)
}
