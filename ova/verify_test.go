package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"fmt"
	"io"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flipHex changes the hex digit at s[i] into another hex digit.
func flipHex(b []byte, i int) {
	if b[i] == '0' {
		b[i] = '1'
	} else {
		b[i] = '0'
	}
}

// tamperCase is one way of breaking a good signed OVA.
type tamperCase struct {
	name     string
	mutate   func(m []member) []member
	sentinel error
	file     string
	// what the external tools must say (interop test): sha256sum -c over
	// the manifest and openssl's signature check.
	shaOK, sslOK bool
}

func tamperCases() []tamperCase {
	return []tamperCase{
		{"disk byte", func(m []member) []member { m[3].data[100] ^= 0x01; return m }, ErrDigestMismatch, "app-disk1.vmdk", false, true},
		{"manifest byte", func(m []member) []member {
			// A digit of the last line's digest.
			flipHex(m[1].data, len(m[1].data)-2)
			return m
		}, ErrBadSignature, "app.cert", false, false},
		{"certificate byte", func(m []member) []member { flipHex(m[2].data, len("SHA256(app.mf)= ")+10); return m }, ErrBadSignature, "app.cert", true, false},
		{"descriptor byte", func(m []member) []member {
			i := bytes.Index(m[0].data, []byte("fogkit test appliance"))
			m[0].data[i] = 'F'
			return m
		}, ErrDigestMismatch, "app.ovf", false, true},
		{"ovf not first", func(m []member) []member { m[0], m[1] = m[1], m[0]; return m }, ErrOrder, "app.mf", true, true},
		{"mf after cert", func(m []member) []member { m[1], m[2] = m[2], m[1]; return m }, ErrOrder, "app.cert", true, true},
		{"extra unlisted member", func(m []member) []member { return append(m, member{"extra.txt", []byte("hi")}) }, ErrUnlisted, "extra.txt", true, true},
		{"missing member", func(m []member) []member { return m[:4] }, ErrMissing, "app-disk2.vmdk", false, true},
		{"disks out of order", func(m []member) []member { m[3], m[4] = m[4], m[3]; return m }, ErrOrder, "app-disk1.vmdk", true, true},
	}
}

func TestVerifyGood(t *testing.T) {
	ova, res := buildOVA(t, nil)
	rep, err := Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	assert.Equal(t, "app", rep.Name)
	assert.Equal(t, int64(len(ova)), rep.Size)
	assert.True(t, rep.Signed)
	assert.Equal(t, []string{"app-disk1.vmdk", "app-disk2.vmdk"}, rep.References)
	require.NotNil(t, rep.Signer)
	assert.Equal(t, "RSA-2048", rep.Signer.KeyType)
	assert.True(t, rep.Signer.SelfSigned)
	assert.False(t, rep.Signer.Trusted)
	assert.Contains(t, rep.Signer.Subject, "CN=fogkit test")
	assert.True(t, rep.Finding(FindingSelfSigned))
	assert.True(t, rep.Finding(FindingNoRoots))
	assert.False(t, rep.Finding(FindingExpired))
	for i, e := range res.Entries {
		assert.Equal(t, e, rep.Entries[i])
	}
}

func TestVerifyTamper(t *testing.T) {
	good, _ := buildOVA(t, nil)
	for _, c := range tamperCases() {
		t.Run(c.name, func(t *testing.T) {
			bad := rawTar(t, c.mutate(members(t, good)))
			_, err := Verify(t.Context(), bytes.NewReader(bad), nil)
			assertFileErr(t, err, c.sentinel, c.file)
		})
	}
}

func TestVerifyDigestError(t *testing.T) {
	good, _ := buildOVA(t, nil)
	m := members(t, good)
	m[4].data[0] ^= 0xff
	_, err := Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	var de *DigestError
	require.ErrorAs(t, err, &de)
	assert.Equal(t, "app-disk2.vmdk", de.File)
	assert.Equal(t, SHA256, de.Algorithm)
	assert.Len(t, de.Want, 64)
	assert.NotEqual(t, de.Want, de.Got)
}

// unsigned builds an unsigned OVA from a descriptor and files, skipping the
// descriptor check so that inconsistent archives can be made.
func unsigned(t *testing.T, desc []byte, files []File) []byte {
	var b bytes.Buffer
	_, err := Write(t.Context(), &b, desc, files, &Options{Name: "app", NoDescriptorCheck: true})
	require.NoError(t, err)
	return b.Bytes()
}

func TestVerifyCoverage(t *testing.T) {
	files := testFiles()
	// ovf:size disagrees with the member.
	wrong := []File{files[0], {Name: files[1].Name, Size: files[1].Size + 1}}
	_, err := Verify(t.Context(), bytes.NewReader(unsigned(t, testDescriptor("app", wrong), files)), nil)
	assertFileErr(t, err, ErrSizeMismatch, "app-disk2.vmdk")

	// The manifest lacks a line for a member.
	ova := unsigned(t, testDescriptor("app", files), files)
	m := members(t, ova)
	lines := strings.SplitAfter(string(m[1].data), "\n")
	m[1].data = []byte(lines[0] + lines[1])
	_, err = Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	assertFileErr(t, err, ErrUnlisted, "app-disk2.vmdk")

	// The manifest lists a file nobody references.
	m = members(t, ova)
	m[1].data = append(m[1].data, "SHA256(ghost.vmdk)= "+strings.Repeat("ab", 32)+"\n"...)
	_, err = Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	assertFileErr(t, err, ErrUnlisted, "ghost.vmdk")

	// No manifest at all.
	m = members(t, ova)
	_, err = Verify(t.Context(), bytes.NewReader(rawTar(t, append(m[:1:1], m[2:]...))), nil)
	assertFileErr(t, err, ErrMissing, "app.mf")

	// Malformed manifest lines: sha256sum --tag and OpenSSL 3 spellings.
	for _, line := range []string{"SHA256 (app.ovf) = ", "SHA2-256(app.ovf)= "} {
		m = members(t, ova)
		m[1].data = []byte(line + strings.Repeat("ab", 32) + "\n")
		_, err = Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
		require.ErrorIs(t, err, ErrManifest, line)
	}

}

// TestVerifyFailsClosed: an unsigned archive is ErrUnsigned unless the
// caller opts in with AllowUnsigned, which makes it a finding.
func TestVerifyFailsClosed(t *testing.T) {
	files := testFiles()
	ova := unsigned(t, testDescriptor("app", files), files)
	for _, o := range []*VerifyOptions{nil, {}, {RequireSignature: true}, {ForeignHeaders: true}} {
		rep, err := Verify(t.Context(), bytes.NewReader(ova), o)
		assertFileErr(t, err, ErrUnsigned, "app.cert")
		assert.False(t, rep.Signed)
	}
	rep, err := Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{AllowUnsigned: true})
	require.NoError(t, err)
	assert.True(t, rep.Finding(FindingUnsigned))
	assert.False(t, rep.Signed)
	_, err = Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{AllowUnsigned: true, RequireSignature: true})
	require.ErrorIs(t, err, ErrInvalid)
}

func TestVerifyFormat(t *testing.T) {
	good, _ := buildOVA(t, nil)

	// Truncated inside a member and at a header.
	for _, n := range []int{len(good) / 2, 1000, 700} {
		_, err := Verify(t.Context(), bytes.NewReader(good[:n]), nil)
		require.ErrorIs(t, err, ErrFormat, "cut at %d", n)
	}
	// No end marker or only one end block: Write writes two, so they are
	// refused; from other writers a missing marker is a finding only.
	_, err := Verify(t.Context(), bytes.NewReader(good[:len(good)-2*blockSize]), nil)
	require.ErrorIs(t, err, ErrFormat)
	_, err = Verify(t.Context(), bytes.NewReader(good[:len(good)-blockSize]), nil)
	require.ErrorIs(t, err, ErrFormat)
	for _, n := range []int{len(good) - 2*blockSize, len(good) - blockSize} {
		_, err = Open(bytes.NewReader(good[:n]), int64(n), nil)
		require.ErrorIs(t, err, ErrFormat)
	}
	rep, err := Verify(t.Context(), bytes.NewReader(good[:len(good)-2*blockSize]), &VerifyOptions{ForeignHeaders: true})
	require.NoError(t, err)
	assert.True(t, rep.Finding(FindingNoEndMarker))

	// A bad header checksum.
	bad := bytes.Clone(good)
	bad[0] = 'X'
	_, err = Verify(t.Context(), bytes.NewReader(bad), nil)
	require.ErrorIs(t, err, ErrFormat)

	// PAX and GNU long-name entries, directories, links.
	m := members(t, good)
	for _, c := range []struct {
		name     string
		hdr      tar.Header
		sentinel error
	}{
		{"pax", tar.Header{Name: "app-disk1.vmdk", Mode: 0o644, Typeflag: tar.TypeReg, PAXRecords: map[string]string{"comment": "x"}, Format: tar.FormatPAX}, ErrFormat},
		{"gnu long name", tar.Header{Name: strings.Repeat("l", 120), Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatGNU}, ErrFormat},
		{"directory", tar.Header{Name: "dir/", Mode: 0o755, Typeflag: tar.TypeDir, Format: tar.FormatUSTAR}, ErrFormat},
		{"symlink", tar.Header{Name: "link", Linkname: "/etc/passwd", Mode: 0o777, Typeflag: tar.TypeSymlink, Format: tar.FormatUSTAR}, ErrUnsafePath},
		{"traversal", tar.Header{Name: "../evil", Mode: 0o644, Typeflag: tar.TypeReg, Format: tar.FormatUSTAR}, ErrUnsafePath},
	} {
		t.Run(c.name, func(t *testing.T) {
			var b bytes.Buffer
			b.Write(rawTar(t, m[:3])[:len(rawTar(t, m[:3]))-2*blockSize])
			tw := tar.NewWriter(&b)
			require.NoError(t, tw.WriteHeader(&c.hdr))
			require.NoError(t, tw.Close())
			_, err := Verify(t.Context(), bytes.NewReader(b.Bytes()), nil)
			require.ErrorIs(t, err, c.sentinel)
		})
	}
}

func TestVerifyCertificates(t *testing.T) {
	s := testSigner(t)
	good, _ := buildOVA(t, nil)
	leaf := s.Certificates()[0]

	rep, err := Verify(t.Context(), bytes.NewReader(good), &VerifyOptions{Roots: []*x509.Certificate{leaf}, Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	assert.True(t, rep.Signer.Trusted)
	assert.False(t, rep.Finding(FindingSelfSigned))

	rep, err = Verify(t.Context(), bytes.NewReader(good), &VerifyOptions{Now: func() time.Time { return time.Date(2041, 1, 1, 0, 0, 0, 0, time.UTC) }, Roots: []*x509.Certificate{leaf}})
	require.NoError(t, err, "expiry is a finding")
	assert.True(t, rep.Finding(FindingExpired))
	assert.True(t, rep.Signer.Trusted)

	rep, err = Verify(t.Context(), bytes.NewReader(good), &VerifyOptions{Now: func() time.Time { return time.Date(2019, 1, 1, 0, 0, 0, 0, time.UTC) }})
	require.NoError(t, err)
	assert.True(t, rep.Finding(FindingNotYetValid))

	// Another root: untrusted.
	other := otherCert(t)
	_, err = Verify(t.Context(), bytes.NewReader(good), &VerifyOptions{Roots: []*x509.Certificate{other}})
	assertFileErr(t, err, ErrUntrusted, "app.cert")

	// A certificate that does not match the signing key is refused by Write.
	files := testFiles()
	_, err = Write(t.Context(), io.Discard, testDescriptor("app", files), files, &Options{Name: "app", Signer: s, Certificates: []*x509.Certificate{other}})
	assertFileErr(t, err, ErrBadSignature, "app.mf")

	// Non-X.509 signers are refused.
	ed, err := sign.GenerateEd25519(nil, sign.PurposeOVA)
	require.NoError(t, err)
	_, err = Write(t.Context(), io.Discard, testDescriptor("app", files), files, &Options{Name: "app", Signer: ed})
	require.ErrorIs(t, err, ErrInvalid)

	// The certificate line must name this archive's manifest.
	m := members(t, good)
	m[2].data = bytes.Replace(m[2].data, []byte("(app.mf)"), []byte("(xyz.mf)"), 1)
	_, err = Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	assertFileErr(t, err, ErrBadSignature, "app.cert")

	// A private key in the .cert is refused.
	m = members(t, good)
	m[2].data = append(m[2].data, "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"...)
	_, err = Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	require.ErrorIs(t, err, ErrCertificate)
}

var (
	otherOnce sync.Once
	other     *x509.Certificate
	otherErr  error
)

// otherCert is a certificate of an unrelated key.
func otherCert(t *testing.T) *x509.Certificate {
	otherOnce.Do(func() {
		k, err := sign.GenerateRSA(nil, 2048)
		if err != nil {
			otherErr = err
			return
		}
		other, otherErr = sign.SelfSignedCertificate(k, &sign.CertOptions{CommonName: "someone else"})
	})
	require.NoError(t, otherErr)
	return other
}

// makeChain makes a CA certificate and a code-signing leaf it issues.
func makeChain(t *testing.T, caKey, leafKey *rsa.PrivateKey) (ca, leaf *x509.Certificate) {
	nb, na := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC), time.Date(2040, 1, 1, 0, 0, 0, 0, time.UTC)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "fogkit test CA"},
		NotBefore: nb, NotAfter: na, IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign}
	der, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	ca, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	leafTmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "fogkit test vendor"},
		NotBefore: nb, NotAfter: na, KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageCodeSigning}}
	der, err = x509.CreateCertificate(rand.Reader, leafTmpl, ca, &leafKey.PublicKey, caKey)
	require.NoError(t, err)
	leaf, err = x509.ParseCertificate(der)
	require.NoError(t, err)
	return ca, leaf
}

// A chain: root CA → leaf; the .cert carries leaf and root, Verify trusts
// it with the root.
func TestVerifyChain(t *testing.T) {
	caKey, err := sign.GenerateRSA(nil, 2048)
	require.NoError(t, err)
	leafKey, err := sign.GenerateRSA(nil, 2048)
	require.NoError(t, err)
	ca, leaf := makeChain(t, caKey, leafKey)
	s, err := sign.NewX509Signer(leafKey, []*x509.Certificate{leaf, ca}, sign.PurposeOVA)
	require.NoError(t, err)
	ova, _ := buildOVA(t, &Options{Name: "app", Signer: s})
	rep, err := Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{Roots: []*x509.Certificate{ca}})
	require.NoError(t, err)
	assert.True(t, rep.Signer.Trusted)
	assert.Equal(t, 2, rep.Signer.Chain)
	assert.False(t, rep.Signer.SelfSigned)
	assert.Contains(t, rep.Signer.TrustedRoot, "fogkit test CA")
	_, err = Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{Roots: []*x509.Certificate{leaf}})
	require.NoError(t, err, "a pinned leaf is a root too")
	_, err = Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{Roots: []*x509.Certificate{otherCert(t)}})
	require.ErrorIs(t, err, ErrUntrusted)
}

func TestVerifyCancel(t *testing.T) {
	good, _ := buildOVA(t, nil)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	_, err := Verify(ctx, bytes.NewReader(good), nil)
	require.True(t, errors.Is(err, context.Canceled))
}

// ECDSA keys sign too (ASN.1 signatures, randomised), and verify.
func TestECDSASigner(t *testing.T) {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	c, err := sign.SelfSignedCertificate(k, &sign.CertOptions{CommonName: "ecdsa"})
	require.NoError(t, err)
	s, err := sign.NewX509Signer(k, []*x509.Certificate{c}, sign.PurposeOVA)
	require.NoError(t, err)
	for _, alg := range []Digest{SHA256, SHA512} {
		ova, _ := buildOVA(t, &Options{Name: "app", Digest: alg, Signer: s})
		rep, err := Verify(t.Context(), bytes.NewReader(ova), &VerifyOptions{Roots: []*x509.Certificate{c}})
		require.NoError(t, err)
		assert.Equal(t, "ECDSA-P256", rep.Signer.KeyType)
		assert.True(t, rep.Signer.Trusted)
	}
}

// TestVerifyDataAfterEnd: a member smuggled after the end-of-archive block
// would be skipped by a reader that stops there but extracted by tar tools
// that read on; Verify and Open refuse it, and accept the zero record
// padding other tar writers add only with ForeignHeaders.
func TestVerifyDataAfterEnd(t *testing.T) {
	good, _ := buildOVA(t, nil)
	end := len(good) - 2*blockSize // the first of the two zero blocks
	require.Equal(t, make([]byte, 2*blockSize), good[end:])

	smuggled := append([]byte(nil), good[:end+blockSize]...)
	smuggled = append(smuggled, rawTar(t, []member{{name: "evil.sh", data: []byte("#!/bin/sh\n")}})...)
	garbage := append(append([]byte(nil), good...), "trailing"...)
	padded := append(append([]byte(nil), good...), make([]byte, 10240)...)

	for name, c := range map[string]struct {
		data []byte
		ok   bool
	}{"smuggled member": {smuggled, false}, "garbage": {garbage, false}, "record padding": {padded, true}} {
		t.Run(name, func(t *testing.T) {
			// Write's archives end with exactly two zero blocks.
			_, err := Verify(t.Context(), bytes.NewReader(c.data), nil)
			require.ErrorIs(t, err, ErrFormat)
			_, err = Open(bytes.NewReader(c.data), int64(len(c.data)), nil)
			require.ErrorIs(t, err, ErrFormat)
			// Other writers pad with zero records.
			_, err = Verify(t.Context(), bytes.NewReader(c.data), &VerifyOptions{ForeignHeaders: true})
			_, oerr := Open(bytes.NewReader(c.data), int64(len(c.data)), &OpenOptions{ForeignHeaders: true})
			if c.ok {
				require.NoError(t, err)
				require.NoError(t, oerr)
				return
			}
			require.ErrorIs(t, err, ErrFormat)
			require.ErrorIs(t, oerr, ErrFormat)
		})
	}
}

// TestWriteRefusesOtherPurposes: X.509 signatures carry no purpose prefix,
// so the key's purpose is the only thing stopping a license or update key
// from signing an OVA.
func TestWriteRefusesOtherPurposes(t *testing.T) {
	ovaSigner := testSigner(t)
	for _, p := range []sign.Purpose{sign.PurposeLicense, sign.PurposeUpdate} {
		s, err := sign.NewX509Signer(ovaSigner.Signer(), ovaSigner.Certificates(), p)
		require.NoError(t, err)
		files := testFiles()
		var buf bytes.Buffer
		_, err = Write(t.Context(), &buf, testDescriptor("app", files), files, &Options{Name: "app", Signer: s})
		require.ErrorIs(t, err, ErrInvalid, "purpose %s", p)
		require.Zero(t, buf.Len(), "nothing written")
	}
}

// TestVerifyDescriptorCause: a bad References section fails with
// ErrDescriptor and keeps its cause reachable with errors.Is.
func TestVerifyDescriptorCause(t *testing.T) {
	files := testFiles()
	desc := testDescriptor("app", files)
	dup := bytes.Replace(desc, []byte(`ovf:href="app-disk2.vmdk"`), []byte(`ovf:href="app-disk1.vmdk"`), 1)
	require.NotEqual(t, desc, dup)
	m := []member{{name: "app.ovf", data: dup}}
	_, err := Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	require.ErrorIs(t, err, ErrDescriptor)
	require.ErrorIs(t, err, ErrDuplicate)
}

// TestVerifyMemberCap: a stream of members cannot grow the report forever.
func TestVerifyMemberCap(t *testing.T) {
	good, _ := buildOVA(t, nil)
	m := members(t, good) // a real descriptor first, so Verify reads on
	for i := 0; i <= maxVerifyEntries; i++ {
		m = append(m, member{name: fmt.Sprintf("extra%04d", i)})
	}
	_, err := Verify(t.Context(), bytes.NewReader(rawTar(t, m)), nil)
	require.ErrorIs(t, err, ErrTooLarge)
}
