package ova

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// mutant is an edited copy of a signed OVA and how it was edited.
type mutant struct {
	desc string
	data []byte
}

// mutFields are the header fields the mutator edits, USTAR and old-GNU
// views of the same block.
var mutFields = []struct {
	name   string
	off, n int
}{
	{"name", 0, 100}, {"mode", 100, 8}, {"uid", 108, 8}, {"gid", 116, 8}, {"size", 124, 12}, {"mtime", 136, 12},
	{"checksum", 148, 8}, {"typeflag", 156, 1}, {"linkname", 157, 100}, {"magic", 257, 6}, {"version", 263, 2},
	{"uname", 265, 32}, {"gname", 297, 32}, {"devmajor", 329, 8}, {"devminor", 337, 8}, {"prefix", 345, 155},
	{"pad", 500, 12}, {"atime", 345, 12}, {"ctime", 357, 12}, {"offset", 369, 12}, {"longnames", 381, 4},
	{"sparse", 386, 96}, {"isextended", 482, 1}, {"realsize", 483, 12},
}

// fixChecksum rewrites the checksum of the header at h the way GNU tar
// and this package write it (or, when signed, as the signed byte sum).
func fixChecksum(h []byte, signed bool) {
	copy(h[148:156], "        ")
	var sum int64
	for _, c := range h[:blockSize] {
		if signed {
			sum += int64(int8(c))
		} else {
			sum += int64(c)
		}
	}
	copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum&0o777777))
}

// numericVariant spells v in one of the ways tar writers (and attackers)
// fill an n-byte numeric field.
func numericVariant(rng *rand.Rand, v int64, n int) []byte {
	f := make([]byte, n)
	switch rng.IntN(8) {
	case 0: // what we write: zero-padded digits, NUL
		copy(f, fmt.Sprintf("%0*o\x00", n-1, v))
	case 1: // digits, space
		copy(f, fmt.Sprintf("%0*o ", n-1, v))
	case 2: // leading spaces
		copy(f, fmt.Sprintf("%*o\x00", n-1, v))
	case 3: // every byte a digit, no terminator
		copy(f, fmt.Sprintf("%0*o", n, v))
	case 4: // short, NUL padded
		copy(f, fmt.Sprintf("%o", v))
	case 5: // GNU base-256
		f[0] = 0x80
		for i := n - 1; i > 0; i-- {
			f[i] = byte(v)
			v >>= 8
		}
	case 6: // digits, space, NUL (old writers)
		copy(f, fmt.Sprintf("%0*o \x00", n-2, v))
	case 7: // trailing garbage after the terminator
		copy(f, fmt.Sprintf("%0*o\x00", n-2, v))
		f[n-1] = byte('0' + rng.IntN(8))
	}
	return f[:n]
}

// fieldValue makes a new value for the field at mutFields[i] of header h.
func fieldValue(rng *rand.Rand, i int, h []byte, size int64) []byte {
	fl := mutFields[i]
	cur, _ := parseNumeric(h[fl.off : fl.off+fl.n])
	if rng.IntN(6) == 0 {
		b := make([]byte, fl.n)
		for j := range b {
			b[j] = byte(rng.IntN(256))
		}
		return b
	}
	if rng.IntN(8) == 0 {
		return make([]byte, fl.n)
	}
	switch fl.name {
	case "name", "linkname", "uname", "gname", "prefix":
		cands := []string{"x", "root", "..", "../app-disk1.vmdk", "/tmp/x", "a/b", "app-disk1.vmdk", "app.ovf\x00junk", "app-disk2.vmdk", "d/"}
		s := cands[rng.IntN(len(cands))]
		if fl.name == "name" && rng.IntN(2) == 0 {
			s = cString(h[0:100]) + "\x00" + s
		}
		b := make([]byte, fl.n)
		copy(b, s)
		return b
	case "typeflag":
		flags := "0\x001234567xgLKSMNVDAEIX"
		return []byte{flags[rng.IntN(len(flags))]}
	case "magic":
		cands := []string{"ustar\x00", "ustar ", "GNUtar", "\x00\x00\x00\x00\x00\x00", "USTAR\x00"}
		return []byte(cands[rng.IntN(len(cands))])
	case "version":
		cands := []string{"00", " \x00", "\x00\x00", "  ", "01"}
		return []byte(cands[rng.IntN(len(cands))])
	case "isextended":
		return []byte{byte(rng.IntN(3))}
	case "sparse":
		b := make([]byte, fl.n)
		for e := 0; e < 1+rng.IntN(4); e++ {
			off := int64(rng.IntN(4)) * 512
			copy(b[e*24:], numericVariant(rng, off, 12))
			copy(b[e*24+12:], numericVariant(rng, int64(rng.IntN(int(size)+1)), 12))
		}
		return b
	case "size":
		vals := []int64{size, size + 1, size - 1, size + 512, size - 512, size + 1024, 0, int64(rng.IntN(8192)), 1<<33 + size}
		return numericVariant(rng, max(vals[rng.IntN(len(vals))], 0), fl.n)
	case "realsize":
		vals := []int64{size, size - 100, size + 4096, 0, 1}
		return numericVariant(rng, max(vals[rng.IntN(len(vals))], 0), fl.n)
	case "mode":
		vals := []int64{0o644, 0o755, 0o4755, 0o100644, 0o777, cur, 0o1777}
		return numericVariant(rng, vals[rng.IntN(len(vals))], fl.n)
	}
	vals := []int64{0, cur, cur + 1, 1000, int64(rng.IntN(1 << 20)), 1767323045}
	return numericVariant(rng, vals[rng.IntN(len(vals))], fl.n)
}

// headerMutant edits one to three fields (or raw bytes) of random member
// headers of base, usually fixing the checksum afterwards.
func headerMutant(rng *rand.Rand, base []byte, entries []Entry) mutant {
	data := bytes.Clone(base)
	var desc []string
	for range 1 + rng.IntN(3) {
		e := entries[rng.IntN(len(entries))]
		h := data[e.Offset : e.Offset+blockSize]
		if rng.IntN(5) == 0 {
			i := rng.IntN(blockSize)
			h[i] = byte(rng.IntN(256))
			desc = append(desc, fmt.Sprintf("%s: byte %d = %#x", e.Name, i, h[i]))
		} else {
			i := rng.IntN(len(mutFields))
			v := fieldValue(rng, i, h, e.Size)
			copy(h[mutFields[i].off:], v)
			desc = append(desc, fmt.Sprintf("%s: %s = %q", e.Name, mutFields[i].name, v))
		}
		switch rng.IntN(10) {
		case 0:
			desc = append(desc, "checksum stale")
		case 1:
			fixChecksum(h, true)
			desc = append(desc, "signed checksum")
		default:
			fixChecksum(h, false)
		}
	}
	return mutant{strings.Join(desc, "; "), data}
}

// singleFieldMutant rewrites one field of one header, with the checksum
// fixed: the edits a careful attacker makes.
func singleFieldMutant(rng *rand.Rand, base []byte, entries []Entry) mutant {
	data := bytes.Clone(base)
	e := entries[rng.IntN(len(entries))]
	h := data[e.Offset : e.Offset+blockSize]
	i := rng.IntN(len(mutFields))
	v := fieldValue(rng, i, h, e.Size)
	copy(h[mutFields[i].off:], v)
	fixChecksum(h, false)
	return mutant{fmt.Sprintf("%s: %s = %q", e.Name, mutFields[i].name, v), data}
}

// mtimeMutant gives every member one new mtime, spelled as Write spells it
// or (sometimes) otherwise.
func mtimeMutant(rng *rand.Rand, base []byte, entries []Entry) mutant {
	data := bytes.Clone(base)
	v := rng.Int64N(maxOctalSize + 1)
	f := fmt.Appendf(nil, "%011o\x00", v)
	if rng.IntN(3) == 0 {
		f = numericVariant(rng, v, 12)
	}
	for _, e := range entries {
		h := data[e.Offset : e.Offset+blockSize]
		copy(h[136:148], f)
		fixChecksum(h, false)
	}
	return mutant{fmt.Sprintf("every mtime = %q", f), data}
}

// paddingMutant sets a non-zero byte in a member's padding or in the
// end-of-archive blocks.
func paddingMutant(rng *rand.Rand, base []byte, entries []Entry) mutant {
	data := bytes.Clone(base)
	var lo, hi int64
	for {
		if k := rng.IntN(len(entries) + 1); k == len(entries) {
			lo, hi = int64(len(base))-2*blockSize, int64(len(base))
		} else {
			e := entries[k]
			lo = e.Offset + blockSize + e.Size
			hi = lo + padding(e.Size)
		}
		if hi > lo {
			break
		}
	}
	i := lo + rng.Int64N(hi-lo)
	data[i] = byte(1 + rng.IntN(255))
	return mutant{fmt.Sprintf("padding byte at %d = %#x", i, data[i]), data}
}

// certMutant flips bits of one byte of the .cert member's data.
func certMutant(rng *rand.Rand, base []byte, cert Entry) mutant {
	data := bytes.Clone(base)
	i := cert.Offset + blockSize + rng.Int64N(cert.Size)
	data[i] ^= byte(1 + rng.IntN(255))
	return mutant{fmt.Sprintf(".cert byte %d ^= -> %q", i-cert.Offset-blockSize, data[i]), data}
}

// hiddenMember is a whole tar member (header and data) to smuggle.
func hiddenMember(t testing.TB) []byte {
	return rawTar(t, []member{{name: "evil.sh", data: []byte("#!/bin/sh\necho owned\n")}})[:2*blockSize]
}

// rebuild writes members as Write would (mtime 0), with per-member header
// edits applied after encoding.
func rebuild(t testing.TB, ms []member, edit func(i int, h []byte)) []byte {
	var b bytes.Buffer
	var hdr [blockSize]byte
	for i, m := range ms {
		require.NoError(t, encodeHeader(&hdr, m.name, int64(len(m.data)), 0))
		if edit != nil {
			edit(i, hdr[:])
			fixChecksum(hdr[:], false)
		}
		b.Write(hdr[:])
		b.Write(m.data)
		b.Write(make([]byte, padding(int64(len(m.data)))))
	}
	b.Write(make([]byte, 2*blockSize))
	return b.Bytes()
}

// attackMutants are hand-made edits aimed at known reader differences.
func attackMutants(t testing.TB, base []byte) []mutant {
	ms := members(t, base)
	require.Equal(t, "app.cert", ms[2].name)
	var out []mutant
	add := func(desc string, data []byte) { out = append(out, mutant{desc, data}) }
	gnu := func(h []byte) { copy(h[257:265], "ustar  \x00"); clear(h[329:345]) }

	// A sparse map with a hole: libarchive extracts other bytes.
	add("disk1: GNU magic, sparse map with a hole, realsize", rebuild(t, ms, func(i int, h []byte) {
		if i != 3 {
			return
		}
		gnu(h)
		n := int64(len(ms[3].data))
		copy(h[386:], fmt.Sprintf("%011o\x00%011o\x00", 0, 1024))
		copy(h[410:], fmt.Sprintf("%011o\x00%011o\x00", 8192, n-1024))
		copy(h[483:], fmt.Sprintf("%011o\x00", n+8192-1024))
	}))
	// realsize alone.
	add("disk1: GNU magic, realsize shorter", rebuild(t, ms, func(i int, h []byte) {
		if i == 3 {
			gnu(h)
			copy(h[483:], fmt.Sprintf("%011o\x00", len(ms[3].data)-100))
		}
	}))
	// isextended makes libarchive eat the next block as a sparse
	// extension; the .cert carries junk that ends the chain and a whole
	// member after its PEM block.
	cert := bytes.Clone(ms[2].data)
	cert = append(cert, make([]byte, padding(int64(len(cert))))...)
	cert = append(cert, hiddenMember(t)...)
	withTail := slices.Clone(ms)
	withTail[2] = member{ms[2].name, cert}
	add(".cert: member hidden after the PEM block", rebuild(t, withTail, nil))
	add(".cert: GNU magic, isextended, member hidden after the PEM block", rebuild(t, withTail, func(i int, h []byte) {
		if i == 2 {
			gnu(h)
			copy(h[386:], fmt.Sprintf("%011o\x00%011o\x00", 0, len(cert)))
			h[482] = 1
		}
	}))
	// Text between the signature line and the certificate.
	sigLine, pemPart, _ := bytes.Cut(ms[2].data, []byte("\n"))
	junk := slices.Clone(ms)
	junk[2] = member{ms[2].name, append(append(append(bytes.Clone(sigLine), '\n'), "junk\n"...), pemPart...)}
	add(".cert: text before the PEM block", rebuild(t, junk, nil))
	// A member after the end-of-archive blocks; a member in the trailer
	// after one zero block.
	add("member after the end blocks", append(bytes.Clone(base), hiddenMember(t)...))
	add("member after one zero block", append(bytes.Clone(base[:len(base)-blockSize]), hiddenMember(t)...))
	add("no end blocks", bytes.Clone(base[:len(base)-2*blockSize]))
	add("one end block", bytes.Clone(base[:len(base)-blockSize]))
	add("10 KiB record padding", append(bytes.Clone(base), make([]byte, 10240-len(base)%10240)...))
	// Member order and duplicates.
	dup := append(slices.Clone(ms[:4]), ms[3], ms[4])
	add("duplicate disk1", rebuild(t, dup, nil))
	swap := slices.Clone(ms)
	swap[3], swap[4] = swap[4], swap[3]
	add("disks swapped", rebuild(t, swap, nil))
	// A member whose header names a directory or a parent.
	for _, name := range []string{"./app-disk1.vmdk", "x/../app-disk1.vmdk", "/app-disk1.vmdk"} {
		add("disk1 renamed "+name, rebuild(t, ms, func(i int, h []byte) {
			if i == 3 {
				clear(h[0:100])
				copy(h, name)
			}
		}))
	}
	add("disk1 in the ustar prefix", rebuild(t, ms, func(i int, h []byte) {
		if i == 3 {
			copy(h[345:], ".")
		}
	}))
	// Size field spelled with a space instead of the NUL.
	add("disk1 size with a trailing space", rebuild(t, ms, func(i int, h []byte) {
		if i == 3 {
			h[135] = ' '
		}
	}))
	return out
}

// tree reads every entry under dir: regular files with their bytes, other
// kinds by a marker.
func tree(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || p == dir {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		switch {
		case d.Type().IsRegular():
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(b)
			out[rel] = fmt.Sprintf("file %d %x", len(b), sum[:8])
		case d.IsDir():
			out[rel] = "dir"
		default:
			out[rel] = d.Type().String()
		}
		return nil
	}))
	return out
}

// TestDifferentialMutations edits a signed OVA's tar headers, padding,
// trailer and .cert at random (seeded) and by hand; for every mutant that
// Verify accepts with the signer's certificate as the only root, bsdtar
// and GNU tar must extract exactly the names and bytes ova.Extract does.
func TestDifferentialMutations(t *testing.T) {
	bsdtar := testutil.RequireTool(t, "bsdtar")
	gnutar := testutil.RequireTool(t, "tar")
	base, res := smallOVA(t)
	roots := testSigner(t).Certificates()[:1]
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	_, err := Verify(t.Context(), bytes.NewReader(base), &VerifyOptions{Roots: roots, Now: func() time.Time { return now }})
	require.NoError(t, err)

	rng := rand.New(rand.NewPCG(13, 2026))
	mutants := attackMutants(t, base)
	for range 600 {
		mutants = append(mutants, headerMutant(rng, base, res.Entries))
	}
	for range 100 {
		mutants = append(mutants, singleFieldMutant(rng, base, res.Entries))
	}
	for range 30 {
		mutants = append(mutants, mtimeMutant(rng, base, res.Entries))
	}
	for range 100 {
		mutants = append(mutants, paddingMutant(rng, base, res.Entries))
	}
	for range 100 {
		mutants = append(mutants, certMutant(rng, base, res.Entries[2]))
	}

	work := t.TempDir()
	in := filepath.Join(work, "in.ova")
	seen := map[[32]byte]bool{}
	var accepted, acceptedForeign, refused, same, diverged int
	for _, m := range mutants {
		key := sha256.Sum256(m.data)
		if bytes.Equal(m.data, base) || seen[key] {
			same++
			continue
		}
		seen[key] = true
		// Write's headers only (the default), then other writers' too.
		foreign := false
		_, err := Verify(t.Context(), bytes.NewReader(m.data), &VerifyOptions{Roots: roots, Now: func() time.Time { return now }})
		if err != nil {
			foreign = true
			_, err = Verify(t.Context(), bytes.NewReader(m.data), &VerifyOptions{Roots: roots, Now: func() time.Time { return now }, ForeignHeaders: true})
		}
		if err != nil {
			refused++
			continue
		}
		if foreign {
			acceptedForeign++
		} else {
			accepted++
		}
		require.NoError(t, os.RemoveAll(filepath.Join(work, "x")))
		ours, bsd, gnu := filepath.Join(work, "x", "ours"), filepath.Join(work, "x", "bsd"), filepath.Join(work, "x", "gnu")
		for _, d := range []string{ours, bsd, gnu} {
			require.NoError(t, os.MkdirAll(d, 0o755))
		}
		require.NoError(t, os.WriteFile(in, m.data, 0o644))
		a, err := Open(bytes.NewReader(m.data), int64(len(m.data)), &OpenOptions{ForeignHeaders: foreign})
		require.NoError(t, err, "Verify accepts what Open refuses: %s", m.desc)
		require.NoError(t, a.Extract(t.Context(), ours, nil), "Verify accepts what Extract refuses: %s", m.desc)
		want := tree(t, ours)
		rb := testutil.Run(t, "", nil, bsdtar, "-xf", in, "-C", bsd)
		rg := testutil.Run(t, "", nil, gnutar, "-xf", in, "-C", gnu)
		gotB, gotG := tree(t, bsd), tree(t, gnu)
		if fmt.Sprint(gotB) != fmt.Sprint(want) || fmt.Sprint(gotG) != fmt.Sprint(want) {
			diverged++
			t.Errorf("accepted mutant (foreign headers %v) extracts differently: %s\n  ours:   %v\n  bsdtar: %v (exit %d: %s)\n  tar:    %v (exit %d: %s)",
				foreign, m.desc, want, gotB, rb.ExitCode, strings.TrimSpace(string(rb.Stderr)), gotG, rg.ExitCode, strings.TrimSpace(string(rg.Stderr)))
		}
	}
	t.Logf("%d mutants: %d accepted by Verify, %d more with ForeignHeaders (%d of them extract differently in bsdtar or GNU tar), %d refused, %d identical to the original or repeated",
		len(mutants), accepted, acceptedForeign, diverged, refused, same)
	require.NotZero(t, accepted+acceptedForeign, "no mutant accepted: the comparison never ran")
}
