package ova

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/hex"
	"encoding/pem"
	"sync"
	"testing"

	"github.com/fogkit/fogkit/sign"
)

// The archive fuzzers take compact edit scripts applied to a small signed
// OVA built once per process (smallOVA), so that each input is a few bytes,
// every exec starts from an archive that verifies, and the signature, the
// manifest and the descriptor are reached on every run.
//
// An input is a selector byte and then 4-byte edits:
//
//	selector%3: 0 the small signed OVA, 1 the same members with .mf and
//	      .cert last (unsigned), 2 the rest of the input is the archive
//	      itself; selector&0x80: check with ForeignHeaders (one mode per
//	      exec keeps execs cheap; the default mode is checked against the
//	      foreign one whenever it accepts)
//	edit: op, offset (big-endian uint16, modulo the length), value
//	  op%5 == 0: set the byte at offset to value
//	  op%5 == 1: xor the byte at offset with value
//	  op%5 == 2: truncate the archive to offset
//	  op%5 == 3: recompute the checksum of the header block holding offset
//	  op%5 == 4: append value%4 zero blocks and value/4%4 bytes of value

var (
	lastOnce sync.Once
	lastData []byte
)

// fuzzBases returns the archives edits apply to.
func fuzzBases(t testing.TB) [2][]byte {
	base, _ := smallOVA(t)
	lastOnce.Do(func() {
		files := smallFiles()
		var b bytes.Buffer
		if _, err := Write(context.Background(), &b, smallDescriptor(files), files, &Options{Name: "app", ManifestLast: true}); err == nil {
			lastData = b.Bytes()
		}
	})
	return [2][]byte{base, lastData}
}

// Only the first maxEdits edits (maxRaw raw bytes) count: bytes past them
// change nothing, so the fuzzer's minimiser drops them at once instead of
// spending a minute on the long inputs mutation grows.
const (
	maxEdits = 8
	maxRaw   = 1024
)

// expandArchive turns a fuzz input into an archive (see above).
func expandArchive(t testing.TB, in []byte) []byte {
	if len(in) == 0 {
		return nil
	}
	sel, edits := in[0]%3, in[1:]
	if sel == 2 {
		return edits[:min(len(edits), maxRaw)]
	}
	edits = edits[:min(len(edits), 4*maxEdits)]
	data := bytes.Clone(fuzzBases(t)[sel])
	for len(edits) >= 4 && len(data) > 0 {
		op, off, v := edits[0]%5, int(edits[1])<<8|int(edits[2]), edits[3]
		edits = edits[4:]
		switch op {
		case 0:
			data[off%len(data)] = v
		case 1:
			data[off%len(data)] ^= v
		case 2:
			data = data[:off%len(data)]
		case 3:
			start := off % len(data) / blockSize * blockSize
			if start+blockSize <= len(data) {
				fixChecksum(data[start:start+blockSize], false)
			}
		case 4:
			data = append(data, make([]byte, int(v%4)*blockSize)...)
			data = append(data, bytes.Repeat([]byte{v}, int(v/4%4))...)
		}
	}
	return data
}

// edit encodes one edit for a seed.
func edit(op byte, off int, v byte) []byte { return []byte{op, byte(off >> 8), byte(off), v} }

// archiveSeeds are compact inputs: the bases, known attacks and a few
// small raw archives.
func archiveSeeds(t testing.TB) [][]byte {
	_, res := smallOVA(t)
	disk1, cert := int(res.Entries[3].Offset), int(res.Entries[2].Offset)
	seeds := [][]byte{{0}, {1}, {2}, {0x80}, {0x81}, nil}
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	// GNU magic and a realsize on disk1, checksum fixed.
	seeds = append(seeds, cat([]byte{0}, edit(0, disk1+262, ' '), edit(0, disk1+263, ' '), edit(0, disk1+264, 0),
		edit(0, disk1+483, '7'), edit(3, disk1, 0)))
	// isextended on the .cert.
	seeds = append(seeds, cat([]byte{0}, edit(0, cert+262, ' '), edit(0, cert+482, 1), edit(3, cert, 0)))
	// uid changed (other writers), checksum fixed, in both modes.
	seeds = append(seeds, cat([]byte{0}, edit(0, disk1+114, '1'), edit(3, disk1, 0)))
	seeds = append(seeds, cat([]byte{0x80}, edit(0, disk1+114, '1'), edit(3, disk1, 0)))
	// Non-zero padding, data after the end, truncation, a .cert byte.
	seeds = append(seeds, cat([]byte{0}, edit(0, disk1+blockSize+3000+5, 'x')))
	seeds = append(seeds, cat([]byte{0}, edit(4, 0, 0x21)))
	seeds = append(seeds, cat([]byte{0}, edit(2, 2048, 0)))
	seeds = append(seeds, cat([]byte{0}, edit(1, cert+blockSize+600, 0x20)))
	seeds = append(seeds, cat([]byte{1}, edit(1, disk1+blockSize, 1)))
	// Raw input stays tiny: a big raw seed makes every minimisation of
	// what grows from it run for a minute.
	seeds = append(seeds, []byte{2, 'a', '.', 'o', 'v', 'f', 0})
	return seeds
}

func FuzzVerify(f *testing.F) {
	for _, s := range archiveSeeds(f) {
		f.Add(s)
	}
	roots := testSigner(f).Certificates()
	f.Fuzz(func(t *testing.T, in []byte) {
		data := expandArchive(t, in)
		if len(in) > 0 && in[0]&0x80 != 0 {
			rep, err := Verify(context.Background(), bytes.NewReader(data), &VerifyOptions{Roots: roots, ForeignHeaders: true, AllowUnsigned: true})
			if rep == nil {
				t.Fatal("nil report")
			}
			if err == nil {
				if _, err := Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: true}); err != nil {
					t.Fatalf("Verify accepts what Open refuses: %v", err)
				}
			}
			return
		}
		rep, err := Verify(context.Background(), bytes.NewReader(data), &VerifyOptions{Roots: roots})
		if rep == nil {
			t.Fatal("nil report")
		}
		if err != nil {
			return
		}
		if _, ferr := Verify(context.Background(), bytes.NewReader(data), &VerifyOptions{Roots: roots, ForeignHeaders: true}); ferr != nil {
			t.Fatalf("ForeignHeaders refuses what the default accepts: %v", ferr)
		}
		if !rep.Signed || !rep.Signer.Trusted {
			t.Fatal("accepted without a trusted signature")
		}
		// A valid archive opens, and Open agrees on its members.
		a, err := Open(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			t.Fatalf("Verify accepts what Open refuses: %v", err)
		}
		if len(a.Entries()) != len(rep.Entries) {
			t.Fatalf("Open sees %d members, Verify %d", len(a.Entries()), len(rep.Entries))
		}
	})
}

func FuzzOpen(f *testing.F) {
	for _, s := range archiveSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		data := expandArchive(t, in)
		foreign := len(in) > 0 && in[0]&0x80 != 0
		a, err := Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: foreign})
		if err != nil {
			return
		}
		if !foreign {
			if _, err := Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: true}); err != nil {
				t.Fatalf("ForeignHeaders refuses what the default accepts: %v", err)
			}
		}
		for _, e := range a.Entries() {
			r, err := a.Member(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != e.Size || e.Offset+blockSize+e.Size > int64(len(data)) {
				t.Fatalf("member %s out of bounds", e.Name)
			}
		}
		_ = a.Descriptor()
		_ = a.Manifest()
	})
}

// FuzzDecodeHeader checks the tar header checker on single blocks: what
// it accepts by default is exactly what encodeHeader writes, what it
// accepts with foreign headers archive/tar reads with the same name and
// size.
func FuzzDecodeHeader(f *testing.F) {
	base, res := smallOVA(f)
	for _, e := range res.Entries {
		f.Add(base[e.Offset : e.Offset+blockSize])
	}
	var big [blockSize]byte
	if err := encodeHeader(&big, "big.vmdk", 9<<30, 0); err != nil {
		f.Fatal(err)
	}
	f.Add(big[:])
	f.Fuzz(func(t *testing.T, in []byte) {
		var b [blockSize]byte
		copy(b[:], in)
		h, err := decodeHeader(b[:], 0, false)
		fh, ferr := decodeHeader(b[:], 0, true)
		if err == nil {
			if ferr != nil {
				t.Fatalf("foreign refuses what the default accepts: %v", ferr)
			}
			var want [blockSize]byte
			if err := encodeHeader(&want, h.Name, h.Size, h.Mtime); err != nil || want != b {
				t.Fatalf("accepted a header Write would not write (%v)", err)
			}
		}
		if ferr != nil {
			return
		}
		th, err := tar.NewReader(bytes.NewReader(append(b[:], make([]byte, 2*blockSize)...))).Next()
		if err != nil {
			t.Fatalf("archive/tar cannot read an accepted header: %v", err)
		}
		if th.Name != fh.Name || th.Size != fh.Size || th.Typeflag != tar.TypeReg {
			t.Fatalf("archive/tar reads %q (%d bytes, type %q), we read %q (%d bytes)", th.Name, th.Size, th.Typeflag, fh.Name, fh.Size)
		}
	})
}

// expandCert turns a fuzz input into a .cert: with an even first byte the
// rest is 4-byte edits (op, big-endian offset, value; op%4: set, xor,
// insert, delete) to a small valid .cert, so that inputs stay a few bytes
// and every exec starts from a certificate that parses; with an odd first
// byte the rest is the .cert itself.
func expandCert(t testing.TB, in []byte) []byte {
	if len(in) == 0 {
		return nil
	}
	if in[0]&1 == 1 {
		return in[1:min(len(in), 1+maxRaw)]
	}
	data := bytes.Clone(smallCertFile(t))
	for edits := in[1:min(len(in), 1+4*maxEdits)]; len(edits) >= 4 && len(data) > 0; edits = edits[4:] {
		op, off, v := edits[0]%4, (int(edits[1])<<8|int(edits[2]))%len(data), edits[3]
		switch op {
		case 0:
			data[off] = v
		case 1:
			data[off] ^= v
		case 2:
			data = append(data[:off], append([]byte{v}, data[off:]...)...)
		case 3:
			data = append(data[:off], data[off+1:]...)
		}
	}
	return data
}

// FuzzParseCertFile checks the .cert parser: an accepted file holds at
// least one certificate, and its certificates written back as PEM after the
// same signature line parse to the same thing.
func FuzzParseCertFile(f *testing.F) {
	f.Add([]byte{0})
	f.Add([]byte{0, 2, 0x02, 0x00, 'x'})                                   // text inserted
	f.Add([]byte{0, 0, 0x00, 0x10, '\r'})                                  // a CR in the signature line
	f.Add([]byte{0, 3, 0x00, 0x40, 0, 3, 0x00, 0x40, 0, 1, 0x00, 0x80, 1}) // bytes deleted and flipped
	f.Add(append([]byte{1}, "SHA256(a.mf)= 00\n-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"...))
	f.Fuzz(func(t *testing.T, in []byte) {
		data := expandCert(t, in)
		cf, err := parseCertFile("x.cert", data)
		if err != nil {
			return
		}
		if len(cf.Chain) == 0 {
			t.Fatal("accepted without a certificate")
		}
		var b bytes.Buffer
		b.WriteString(string(cf.Algorithm) + "(" + cf.Manifest + ")= " + hex.EncodeToString(cf.Signature) + "\n")
		for _, c := range cf.Chain {
			_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})
		}
		again, err := parseCertFile("x.cert", b.Bytes())
		if err != nil {
			t.Fatalf("re-encoded .cert does not parse: %v", err)
		}
		if len(again.Chain) != len(cf.Chain) || !bytes.Equal(again.Signature, cf.Signature) || again.Manifest != cf.Manifest {
			t.Fatal("re-encoded .cert parses differently")
		}
	})
}

var (
	ecOnce sync.Once
	ecCert []byte
	ecErr  error
)

// smallCertFile returns a .cert with a made-up signature line and a small
// self-signed P-256 certificate, made once per process.
func smallCertFile(t testing.TB) []byte {
	ecOnce.Do(func() {
		k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			ecErr = err
			return
		}
		c, err := sign.SelfSignedCertificate(k, &sign.CertOptions{CommonName: "f"})
		if err != nil {
			ecErr = err
			return
		}
		ecCert = append([]byte("SHA256(a.mf)= 0011\n"), pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	})
	if ecErr != nil {
		t.Fatal(ecErr)
	}
	return ecCert
}

// FuzzDescriptorReferences checks the References reader: every href it
// returns is a plain, unique member name.
func FuzzDescriptorReferences(f *testing.F) {
	f.Add(smallDescriptor(smallFiles()))
	f.Add([]byte(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="../x" ovf:id="f"/></References></Envelope>`))
	f.Add([]byte(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1"><References><File ovf:href="a" ovf:id="f" ovf:chunkSize="5"/></References></Envelope>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		refs, err := descriptorReferences(data)
		if err != nil {
			return
		}
		seen := map[string]bool{}
		for _, r := range refs {
			if err := checkName(r.Href); err != nil || seen[r.Href] {
				t.Fatalf("href %q accepted: %v", r.Href, err)
			}
			seen[r.Href] = true
		}
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("SHA256(a.ovf)= " + "ab" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddee" + "\n"))
	f.Add([]byte("SHA1(x)= 0011223344556677889900112233445566778899\nSHA512(y)= 00\n"))
	f.Add([]byte("SHA256 (a) = 00\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseManifest(data)
		if err != nil {
			return
		}
		again, err := ParseManifest(FormatManifest(lines))
		if err != nil {
			t.Fatalf("reformatted manifest does not parse: %v", err)
		}
		if len(again) != len(lines) {
			t.Fatal("round trip changed the line count")
		}
		for i := range lines {
			if lines[i] != again[i] {
				t.Fatalf("round trip changed line %d: %+v vs %+v", i, lines[i], again[i])
			}
		}
	})
}
