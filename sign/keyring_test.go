package sign

import (
	"bytes"
	"crypto/x509"
	"fmt"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPurposeSeparation(t *testing.T) {
	ctx := t.Context()
	msg := []byte("same bytes, two purposes")
	// One Ed25519 private key bound to two purposes: the prefix keeps the
	// signatures apart.
	lic := testEd25519(t, 60, PurposeLicense)
	upd, err := NewEd25519Signer(lic.PrivateKey(), PurposeUpdate)
	require.NoError(t, err)
	assert.Equal(t, lic.KeyID(), upd.KeyID(), "key id comes from the key alone")
	licSig, err := lic.Sign(ctx, msg)
	require.NoError(t, err)
	updSig, err := upd.Sign(ctx, msg)
	require.NoError(t, err)
	assert.NotEqual(t, licSig, updSig)
	_, err = upd.Public().Verify(ctx, msg, licSig)
	require.ErrorIs(t, err, ErrBadSignature)
	_, err = lic.Public().Verify(ctx, msg, updSig)
	require.ErrorIs(t, err, ErrBadSignature)
	_, err = lic.Public().Verify(ctx, msg, licSig)
	require.NoError(t, err)

	// A keyring with keys of every purpose verifies each signature only for
	// its own purpose.
	ova := testX509(t, PurposeOVA)
	pgpS := testPGP(t, 61, PurposeUpdate)
	ring, err := NewKeyring(lic.Public(), ova.Public(), pgpS.Public())
	require.NoError(t, err)
	ovaSig, err := ova.Sign(ctx, msg)
	require.NoError(t, err)
	pgpSig, err := pgpS.Sign(ctx, msg)
	require.NoError(t, err)
	for _, c := range []struct {
		sig  []byte
		good Purpose
		id   string
	}{{licSig, PurposeLicense, lic.KeyID()}, {ovaSig, PurposeOVA, ova.KeyID()}, {pgpSig, PurposeUpdate, pgpS.KeyID()}} {
		for _, p := range []Purpose{PurposeLicense, PurposeUpdate, PurposeOVA} {
			id, err := ring.Verify(ctx, p, msg, c.sig)
			if p == c.good {
				require.NoError(t, err)
				assert.Equal(t, c.id, id)
			} else {
				require.ErrorIs(t, err, ErrWrongPurpose, "signature for %s verified as %s", c.good, p)
			}
		}
	}
	// Verifier(p) is the same check behind the Verifier interface.
	var v Verifier = ring.Verifier(PurposeOVA)
	_, err = v.Verify(ctx, msg, ovaSig)
	require.NoError(t, err)
	_, err = v.Verify(ctx, msg, licSig)
	require.Error(t, err)
}

func TestRotation(t *testing.T) {
	ctx := t.Context()
	msg := []byte("license v2")
	type pair struct {
		old, new Signer
		pubs     func() (PublicKey, PublicKey)
	}
	edOld, edNew := testEd25519(t, 70, PurposeLicense), testEd25519(t, 71, PurposeLicense)
	pgOld, pgNew := testPGP(t, 72, PurposeUpdate), testPGP(t, 73, PurposeUpdate)
	xOld := testX509(t, PurposeOVA)
	cert2, err := SelfSignedCertificate(testRSA(t), &CertOptions{CommonName: "new", Serial: big.NewInt(2)})
	require.NoError(t, err)
	// A new certificate for the same key keeps the key id; use an ECDSA key
	// for a genuinely new X.509 key.
	xSame, err := NewX509Signer(testRSA(t), []*x509.Certificate{cert2}, PurposeOVA)
	require.NoError(t, err)
	assert.Equal(t, xOld.KeyID(), xSame.KeyID())

	for name, c := range map[string]pair{
		"ed25519": {edOld, edNew, func() (PublicKey, PublicKey) { return edOld.Public(), edNew.Public() }},
		"openpgp": {pgOld, pgNew, func() (PublicKey, PublicKey) { return pgOld.Public(), pgNew.Public() }},
	} {
		t.Run(name, func(t *testing.T) {
			p := c.old.Purpose()
			oldPub, newPub := c.pubs()
			ring, err := NewKeyring(oldPub, newPub)
			require.NoError(t, err)
			assert.Len(t, ring.Keys(), 2)
			oldSig, err := c.old.Sign(ctx, msg)
			require.NoError(t, err)
			newSig, err := c.new.Sign(ctx, msg)
			require.NoError(t, err)
			id, err := ring.Verify(ctx, p, msg, oldSig)
			require.NoError(t, err)
			assert.Equal(t, c.old.KeyID(), id)
			id, err = ring.Verify(ctx, p, msg, newSig)
			require.NoError(t, err)
			assert.Equal(t, c.new.KeyID(), id)

			require.NoError(t, ring.Revoke(c.old.KeyID()))
			assert.True(t, ring.Revoked(c.old.KeyID()))
			_, err = ring.Verify(ctx, p, msg, oldSig)
			require.ErrorIs(t, err, ErrRevoked)
			assert.Equal(t, c.old.KeyID(), keyErrorID(t, err))
			id, err = ring.Verify(ctx, p, msg, newSig)
			require.NoError(t, err)
			assert.Equal(t, c.new.KeyID(), id)
			// Adding the revoked key again does not bring it back.
			require.NoError(t, ring.Add(oldPub))
			_, err = ring.Verify(ctx, p, msg, oldSig)
			require.ErrorIs(t, err, ErrRevoked)
			_, err = ring.Lookup(c.old.KeyID(), p)
			require.ErrorIs(t, err, ErrRevoked)
			_, err = ring.Lookup(c.new.KeyID(), p)
			require.NoError(t, err)
		})
	}
}

func TestKeyringConcurrent(t *testing.T) {
	ctx := t.Context()
	s := testEd25519(t, 80, PurposeLicense)
	sig, _ := s.Sign(ctx, []byte("m"))
	ring, _ := NewKeyring(s.Public())
	var wg sync.WaitGroup
	for i := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 50 {
				_, err := ring.Verify(ctx, PurposeLicense, []byte("m"), sig)
				assert.NoError(t, err)
				_ = ring.Add(testEd25519(t, uint64(100+i), PurposeUpdate).Public())
			}
		}()
	}
	wg.Wait()
}

// TestReproducible is the build-twice test: the same inputs give the same
// bytes for keys, certificates and signatures.
func TestReproducible(t *testing.T) {
	ctx := t.Context()
	msg := []byte("reproducible")
	build := func() [][]byte {
		var out [][]byte
		ed := testEd25519(t, 90, PurposeLicense)
		edSig, _ := ed.Sign(ctx, msg)
		edPriv, _ := EncodePrivateKey(ed, nil)
		edPub, _ := EncodePublicKey(ed.Public())
		x := testX509(t, PurposeOVA)
		xSig, _ := x.Sign(ctx, msg)
		xPub, _ := EncodePublicKey(x.Public())
		pg := testPGP(t, 91, PurposeUpdate)
		pgSig, _ := pg.Sign(ctx, msg)
		pgPriv, _ := EncodePrivateKey(pg, nil)
		pgPub, _ := EncodePublicKey(pg.Public())
		later, _ := pg.WithTime(testTime.AddDate(1, 0, 0)).Sign(ctx, msg)
		return append(out, edSig, edPriv, edPub, xSig, xPub, pgSig, pgPriv, pgPub, later)
	}
	a, b := build(), build()
	require.Equal(t, a, b)
	for i, x := range a {
		require.NotEmpty(t, x, i)
	}

	// A loaded OpenPGP key signs at its creation time by default: the same
	// bytes as the generated signer with the same Time.
	pg := testPGP(t, 91, PurposeUpdate)
	priv, _ := EncodePrivateKey(pg, nil)
	loaded, err := LoadSigner(priv, PurposeUpdate, nil)
	require.NoError(t, err)
	s1, _ := pg.Sign(ctx, msg)
	s2, _ := loaded.Sign(ctx, msg)
	assert.Equal(t, s1, s2)
	assert.Equal(t, testTime, loaded.(*OpenPGPSigner).SigningTime())

	// A passphrase-protected export re-loads to the same key.
	enc, err := EncodePrivateKey(pg, []byte("pw"))
	require.NoError(t, err)
	assert.False(t, bytes.Equal(enc, priv))
	back, err := LoadSigner(enc, PurposeUpdate, []byte("pw"))
	require.NoError(t, err)
	s3, _ := back.Sign(ctx, msg)
	assert.Equal(t, s1, s3)
}

func TestRFC9580(t *testing.T) {
	ctx := t.Context()
	s, err := GenerateOpenPGP("v6", "v6@example.com", PurposeUpdate, &OpenPGPOptions{Time: testTime, RFC9580: true, Rand: seeded(95)})
	require.NoError(t, err)
	assert.Equal(t, 6, s.entity.PrimaryKey.Version)
	assert.Len(t, s.KeyID(), 64, "v6 fingerprints are SHA-256")
	msg := []byte("v6")
	sig, err := s.Sign(ctx, msg)
	require.NoError(t, err)
	pub, err := EncodePublicKey(s.Public())
	require.NoError(t, err)
	k, err := LoadPublicKey(pub, PurposeUpdate)
	require.NoError(t, err)
	_, err = k.Verify(ctx, msg, sig)
	require.NoError(t, err)

	var ct bytes.Buffer
	require.NoError(t, Encrypt(ctx, &ct, bytes.NewReader(msg), []*OpenPGPPublicKey{s.Public()}, nil))
	assert.Equal(t, 2, seipdVersion(t, ct.Bytes()), "v6 recipients get SEIPDv2 (AEAD)")
	var out bytes.Buffer
	require.NoError(t, Decrypt(ctx, &out, &ct, s, nil))
	assert.Equal(t, msg, out.Bytes())

	// A passphrase-protected v6 key round-trips.
	enc, err := EncodePrivateKey(s, []byte("pw"))
	require.NoError(t, err)
	back, err := LoadSigner(enc, PurposeUpdate, []byte("pw"))
	require.NoError(t, err)
	assert.Equal(t, s.KeyID(), back.KeyID())
	_, err = LoadSigner(enc, PurposeUpdate, []byte("wrong"))
	require.ErrorIs(t, err, ErrDecrypt)

	// The v4 default key does not use AEAD, so gpg 2.2 reads its messages,
	// also when a v6 key is among the recipients.
	v4 := testPGP(t, 96, PurposeUpdate)
	assert.Equal(t, 4, v4.entity.PrimaryKey.Version)
	assert.Len(t, v4.KeyID(), 40)
	ct.Reset()
	require.NoError(t, Encrypt(ctx, &ct, bytes.NewReader(msg), []*OpenPGPPublicKey{v4.Public()}, nil))
	assert.Equal(t, 1, seipdVersion(t, ct.Bytes()))
	ct.Reset()
	require.NoError(t, Encrypt(ctx, &ct, bytes.NewReader(msg), []*OpenPGPPublicKey{v4.Public(), s.Public()}, nil))
	assert.Equal(t, 1, seipdVersion(t, ct.Bytes()))
	for _, k := range []*OpenPGPSigner{v4, s} {
		out.Reset()
		require.NoError(t, Decrypt(ctx, &out, bytes.NewReader(ct.Bytes()), k, nil))
		assert.Equal(t, msg, out.Bytes())
	}
}

// seipdVersion returns the version of the encrypted data packet in msg.
func seipdVersion(t *testing.T, msg []byte) int {
	t.Helper()
	r := packet.NewReader(bytes.NewReader(msg))
	for {
		p, err := r.Next()
		require.NoError(t, err)
		if se, ok := p.(*packet.SymmetricallyEncrypted); ok {
			require.True(t, se.IntegrityProtected)
			return se.Version
		}
	}
}

func TestEncryptErrors(t *testing.T) {
	ctx := t.Context()
	// A sign-only key (as `gpg --quick-gen-key ... sign` makes) cannot be a
	// recipient.
	s := testPGP(t, 97, PurposeUpdate)
	signOnly := *s.Public()
	e := *signOnly.entity
	e.Subkeys = nil
	signOnly.entity = &e
	err := Encrypt(ctx, &bytes.Buffer{}, bytes.NewReader([]byte("m")), []*OpenPGPPublicKey{&signOnly}, nil)
	require.ErrorIs(t, err, ErrUnsupported)
	assert.Equal(t, s.KeyID(), keyErrorID(t, err))

	// An expired recipient.
	exp, err := GenerateOpenPGP("e", "e@example.com", PurposeUpdate, &OpenPGPOptions{Time: testTime, Lifetime: time.Hour, Rand: seeded(98)})
	require.NoError(t, err)
	err = Encrypt(ctx, &bytes.Buffer{}, bytes.NewReader([]byte("m")), []*OpenPGPPublicKey{exp.Public()}, &EncryptOptions{Time: testTime.Add(2 * time.Hour)})
	require.ErrorIs(t, err, ErrExpired)
	require.NoError(t, Encrypt(ctx, &bytes.Buffer{}, bytes.NewReader([]byte("m")), []*OpenPGPPublicKey{exp.Public()}, &EncryptOptions{Time: testTime.Add(time.Minute)}))

	// A typed nil key never reaches a keyring.
	ring, _ := NewKeyring()
	var nilKey *Ed25519PublicKey
	require.ErrorIs(t, ring.Add(nilKey), ErrMalformed)
	require.ErrorIs(t, ring.Add(&Ed25519PublicKey{}), ErrMalformed)
}

// A crafted key file must not make LoadSigner run Argon2 with the memory
// the file asks for.
func TestArgon2Limits(t *testing.T) {
	s, err := GenerateOpenPGP("a", "a@example.com", PurposeUpdate, &OpenPGPOptions{Time: testTime, RFC9580: true, Rand: seeded(99)})
	require.NoError(t, err)
	var raw bytes.Buffer
	require.NoError(t, s.entity.SerializePrivateWithoutSigning(&raw, nil))
	el, err := pgp.ReadKeyRing(&raw)
	require.NoError(t, err)
	e := el[0]
	cfg := &packet.Config{
		AEADConfig: &packet.AEADConfig{DefaultMode: packet.AEADModeOCB},
		S2KConfig:  &s2k.Config{S2KMode: s2k.Argon2S2K, Argon2Config: &s2k.Argon2Config{NumberOfPasses: 3, DegreeOfParallelism: 4, Memory: 1 << 12}},
	}
	require.NoError(t, e.EncryptPrivateKeys([]byte("pw"), cfg))
	small, err := armorEntity(e, true)
	require.NoError(t, err)
	_, err = LoadSigner(small, PurposeUpdate, []byte("pw"))
	require.NoError(t, err)

	bin, err := dearmor(small, pgpPrivateBlock)
	require.NoError(t, err)
	params := []byte{3, 4, 12} // passes, parallelism, 2^12 KiB
	require.Equal(t, 2, bytes.Count(bin, params), "primary key and subkey")
	huge := bytes.ReplaceAll(bin, params, []byte{3, 4, 30})
	_, err = LoadSigner(huge, PurposeUpdate, []byte("pw"))
	require.ErrorIs(t, err, ErrUnsupported)
	many := bytes.ReplaceAll(bin, params, []byte{200, 4, 12})
	_, err = LoadSigner(many, PurposeUpdate, []byte("pw"))
	require.ErrorIs(t, err, ErrUnsupported)
}

// TestKeyringOneKeyOnePurpose: key ids derive from the public key only, so
// adding the same key for a second purpose must fail instead of replacing
// the first binding.
func TestKeyringOneKeyOnePurpose(t *testing.T) {
	lic, err := GenerateEd25519(nil, PurposeLicense)
	require.NoError(t, err)
	upd, err := NewEd25519PublicKey(lic.Public().Key(), PurposeUpdate)
	require.NoError(t, err)
	ring, err := NewKeyring(lic.Public())
	require.NoError(t, err)
	require.ErrorIs(t, ring.Add(upd), ErrWrongPurpose)
	require.NoError(t, ring.Add(lic.Public()), "the same binding again is fine")
	sig, err := lic.Sign(t.Context(), []byte("m"))
	require.NoError(t, err)
	id, err := ring.Verify(t.Context(), PurposeLicense, []byte("m"), sig)
	require.NoError(t, err)
	require.Equal(t, lic.KeyID(), id)
}

// TestKeyringRevokeForms: Revoke accepts a key id however an operator
// pastes it and refuses ids that name no key instead of doing nothing.
func TestKeyringRevokeForms(t *testing.T) {
	ctx := t.Context()
	msg := []byte("m")
	pg := testPGP(t, 110, PurposeUpdate)
	other := testPGP(t, 111, PurposeUpdate)
	ed := testEd25519(t, 112, PurposeUpdate)
	pgSig, err := pg.Sign(ctx, msg)
	require.NoError(t, err)
	edSig, err := ed.Sign(ctx, msg)
	require.NoError(t, err)
	e := pg.Public().Entity()
	require.Len(t, e.Subkeys, 1)
	fpr := pg.KeyID()
	subFpr := fmt.Sprintf("%x", e.Subkeys[0].PublicKey.Fingerprint)
	grouped := func(s string) string { // gpg's "ABCD 1234 ...  ..." layout
		s = strings.ToUpper(s)
		var b strings.Builder
		for i := 0; i < len(s); i += 4 {
			if i == len(s)/2 {
				b.WriteString(" ")
			}
			if i > 0 {
				b.WriteString(" ")
			}
			b.WriteString(s[i:min(i+4, len(s))])
		}
		return b.String()
	}
	for name, c := range map[string]struct {
		id  string
		key PublicKey
		sig []byte
	}{
		"fingerprint":            {fpr, pg.Public(), pgSig},
		"upper-case fingerprint": {strings.ToUpper(fpr), pg.Public(), pgSig},
		"grouped fingerprint":    {"  " + grouped(fpr) + "\n", pg.Public(), pgSig},
		"0x fingerprint":         {"0x" + strings.ToUpper(fpr), pg.Public(), pgSig},
		"long key id":            {fmt.Sprintf("%016X", e.PrimaryKey.KeyId), pg.Public(), pgSig},
		"0x long key id":         {fmt.Sprintf("0x%016X", e.PrimaryKey.KeyId), pg.Public(), pgSig},
		"subkey fingerprint":     {grouped(subFpr), pg.Public(), pgSig},
		"subkey long key id":     {fmt.Sprintf("0x%016x", e.Subkeys[0].PublicKey.KeyId), pg.Public(), pgSig},
		"ed25519 key id":         {ed.KeyID(), ed.Public(), edSig},
		"upper-case ed25519 id":  {strings.ToUpper(ed.KeyID()), ed.Public(), edSig},
	} {
		t.Run(name, func(t *testing.T) {
			ring, err := NewKeyring(pg.Public(), other.Public(), ed.Public())
			require.NoError(t, err)
			got, err := ring.Resolve(c.id)
			require.NoError(t, err)
			assert.Equal(t, c.key.KeyID(), got)
			require.NoError(t, ring.Revoke(c.id))
			assert.True(t, ring.Revoked(c.key.KeyID()))
			assert.True(t, ring.Revoked(c.id))
			_, err = ring.Verify(ctx, PurposeUpdate, msg, c.sig)
			require.ErrorIs(t, err, ErrRevoked)
			assert.Equal(t, c.key.KeyID(), keyErrorID(t, err))
			for _, k := range []Signer{pg, other, ed} {
				if k.KeyID() == c.key.KeyID() {
					continue
				}
				assert.False(t, ring.Revoked(k.KeyID()), "revoking %s revoked %s", c.id, k.KeyID())
			}
		})
	}

	ring, err := NewKeyring(pg.Public(), ed.Public())
	require.NoError(t, err)
	for _, bad := range []string{"", "   ", "0x", "xyz", fpr[:39], fpr + "0", "g" + fpr[1:], fpr[:8], "0x" + fpr[:8], strings.Repeat("a", 1000)} {
		require.ErrorIs(t, ring.Revoke(bad), ErrMalformed, "%q", bad)
	}
	for _, unknown := range []string{other.KeyID(), strings.Repeat("0", 40), strings.Repeat("1", 16), strings.Repeat("2", 32), strings.Repeat("3", 64)} {
		err := ring.Revoke(unknown)
		require.ErrorIs(t, err, ErrUnknownKey, "%q", unknown)
		assert.False(t, ring.Revoked(unknown))
	}
	for _, k := range []Signer{pg, ed} {
		assert.False(t, ring.Revoked(k.KeyID()), "a refused Revoke revoked %s", k.KeyID())
	}
	// A 64-bit key id two keys share is refused: the fingerprint decides.
	twin := *other.Public()
	twinEntity := *twin.entity
	twinPrimary := *twinEntity.PrimaryKey
	twinPrimary.KeyId = e.PrimaryKey.KeyId
	twinEntity.PrimaryKey = &twinPrimary
	twin.entity = &twinEntity
	ring, err = NewKeyring(pg.Public(), &twin)
	require.NoError(t, err)
	require.ErrorIs(t, ring.Revoke(fmt.Sprintf("%016x", e.PrimaryKey.KeyId)), ErrMalformed)
	require.NoError(t, ring.Revoke(strings.ToUpper(fpr)))
}
