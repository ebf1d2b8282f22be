package update

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io/fs"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/fstest"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/update/updatetest"
)

// The fuzz targets take compact inputs (a base selector and a short edit
// script) that a helper expands into a package, so that every input stays
// a few bytes long: the fuzzer mutates and minimises them quickly, and an
// execution costs a re-serialised tar and one signature check. The keys,
// packages and the installed target they start from are made once per
// process.

var verifyErrors = []error{ErrMalformed, ErrUnsafeEntry, ErrTooLarge, ErrSignature, ErrWrongVendor, ErrWrongProduct,
	ErrWrongChannel, ErrDowngrade, ErrDigestMismatch, ErrDecrypt, ErrUnknownFormat}

var applyErrors = append(append([]error(nil), verifyErrors...), ErrBaseMismatch, ErrNotApplicable, ErrNotInstalled,
	ErrPending, ErrNoSpace, ErrUnsupported)

func typedError(err error, family []error) bool {
	for _, e := range family {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

func typedVerifyError(err error) bool { return typedError(err, verifyErrors) }

// fuzzTree returns version v (1 or 2) of a small tree: v2 patches big,
// changes d/b, adds n and keeps the rest.
func fuzzTree(v int) fstest.MapFS {
	big := testutil.TextBytes(5, 3000)
	m := fstest.MapFS{
		"a":   {Mode: 0o644, Data: []byte("hello")},
		"d":   {Mode: fs.ModeDir | 0o755},
		"d/b": {Mode: 0o600, Data: []byte("world")},
		"l":   {Mode: fs.ModeSymlink | 0o777, Data: []byte("a")},
		"big": {Mode: 0o644, Data: big},
	}
	if v == 2 {
		big2 := append([]byte(nil), big...)
		copy(big2[1000:], "version two")
		m["big"] = &fstest.MapFile{Mode: 0o644, Data: big2}
		m["d/b"] = &fstest.MapFile{Mode: 0o600, Data: []byte("world 2")}
		m["n"] = &fstest.MapFile{Mode: 0o755, Data: []byte("new")}
	}
	return m
}

// fuzzBase is a good package the edit scripts start from.
type fuzzBase struct {
	name     string
	pkg      []byte
	members  []tarMember // of the package
	manifest *Manifest
	payload  []tarMember // of the plain payload (nil when encrypted)
}

type fuzzFixtures struct {
	signer *sign.Ed25519Signer
	ring   *sign.Keyring
	dec    Decrypter
	bases  []fuzzBase
	// target holds version 1 installed, confirmed and durable; Reboot
	// gives each execution its own copy.
	target    *updatetest.MemFS
	installed string // its tree digest
}

var (
	fuzzOnce sync.Once
	fuzzFix  *fuzzFixtures
)

// fixtures builds the keys, packages and target once per process.
func fixtures(t testing.TB) *fuzzFixtures {
	fuzzOnce.Do(func() {
		k := testSigner(t, 1)
		fx := &fuzzFixtures{signer: k, ring: testRing(t, k)}
		enc, dec := testCipher(1)
		fx.dec = dec
		t1 := Tree{Version: "1", Sequence: 1, FS: fuzzTree(1)}
		t2 := Tree{Version: "2", Sequence: 2, FS: fuzzTree(2)}
		mk := func(name string, to Tree, from []Tree, o *BuildOptions) {
			o.Vendor, o.Product, o.Version, o.Sequence = "acme", "demo", to.Version, to.Sequence
			var buf bytes.Buffer
			if _, err := Build(context.Background(), &buf, signers(k), to, from, o); err != nil {
				t.Fatal(err)
			}
			b := fuzzBase{name: name, pkg: buf.Bytes(), members: untar(t, buf.Bytes()), manifest: readManifest(t, buf.Bytes())}
			if !b.manifest.Payload.Encrypted {
				b.payload = untar(t, payloadOf(t, b.pkg))
			}
			fx.bases = append(fx.bases, b)
		}
		mk("full", t1, nil, &BuildOptions{})
		mk("diff", t2, []Tree{t1}, &BuildOptions{Kind: KindDiff})
		mk("encrypted", t2, []Tree{t1}, &BuildOptions{Kind: KindDiff, Encrypt: enc})
		diff := fx.bases[1].pkg
		mk("nested", Tree{Version: "3", Sequence: 3}, nil, &BuildOptions{Kind: KindNested,
			Nested: []NestedInput{{Name: "node.fup", Data: bytes.NewReader(diff), Size: int64(len(diff))}}})
		fx.target = updatetest.NewMemFS()
		o := applyOpts(fx.ring)
		o.Confirmed = true
		if _, err := Apply(context.Background(), fx.target, bytes.NewReader(fx.bases[0].pkg), int64(len(fx.bases[0].pkg)), o); err != nil {
			t.Fatal(err)
		}
		fx.target.SyncAll()
		fx.installed = currentDigest(t, fx.target)
		fuzzFix = fx
	})
	if fuzzFix == nil {
		t.Fatal("fuzz fixtures failed")
	}
	return fuzzFix
}

func (fx *fuzzFixtures) base(sel uint8) *fuzzBase { return &fx.bases[int(sel)%len(fx.bases)] }

// Names and types the edit scripts choose from.
var (
	fuzzNames = []string{MemberMarker, MemberManifest, MemberSig, MemberSig + ".2", MemberPayload, "nested/node.fup",
		"0/a", "0/big", "0/d/b", "../payload", "/abs", "a//b", "0/../x", MemberSig + ".3", "x\\y", "0/" + strings.Repeat("n", 120)}
	fuzzTypes = []byte{tar.TypeReg, tar.TypeSymlink, tar.TypeLink, tar.TypeDir, tar.TypeChar, tar.TypeFifo, tar.TypeCont, tar.TypeReg}
)

// rawEdit sets one byte of a serialised tar header and fixes its checksum.
type rawEdit struct {
	header, off int
	val         byte
}

// editMembers applies a script to a copy of members. Each operation is 4
// bytes: op, member index, and two arguments; op 8 and 9 take a literal
// of the second argument's length (mod 64) from the script.
//
//	0 xor a byte of the data     1 truncate the data   2 delete the member
//	3 duplicate it               4 swap with the next  5 rename (table)
//	6 change the type (table)    7 set a header byte, checksum fixed
//	8 insert a literal member    9 replace the data with a literal
func editMembers(in []tarMember, script []byte) ([]tarMember, []rawEdit) {
	ms := make([]tarMember, len(in))
	for i, m := range in {
		m.data = append([]byte(nil), m.data...)
		ms[i] = m
	}
	var raw []rawEdit
	for len(script) >= 4 {
		op, idx, a, b := script[0]%10, int(script[1]), int(script[2]), script[3]
		script = script[4:]
		var lit []byte
		if op == 8 || op == 9 {
			n := min(int(b%64), len(script))
			lit, script = append([]byte(nil), script[:n]...), script[n:]
		}
		if len(ms) == 0 && op != 8 {
			continue
		}
		if len(ms) > 0 {
			idx %= len(ms)
		}
		switch op {
		case 0:
			if d := ms[idx].data; len(d) > 0 {
				d[(a<<8|int(b))%len(d)] ^= b | 1
			}
		case 1:
			d := ms[idx].data
			ms[idx].data = d[:(a<<8|int(b))%(len(d)+1)]
		case 2:
			ms = append(ms[:idx], ms[idx+1:]...)
		case 3:
			c := ms[idx]
			c.data = append([]byte(nil), c.data...)
			ms = append(ms[:idx+1], append([]tarMember{c}, ms[idx+1:]...)...)
		case 4:
			if idx+1 < len(ms) {
				ms[idx], ms[idx+1] = ms[idx+1], ms[idx]
			}
		case 5:
			ms[idx].name = fuzzNames[a%len(fuzzNames)]
		case 6:
			ms[idx].typ = fuzzTypes[a%len(fuzzTypes)]
			if ms[idx].typ == tar.TypeSymlink || ms[idx].typ == tar.TypeLink {
				ms[idx].link = fuzzNames[int(b)%len(fuzzNames)]
			}
		case 7:
			raw = append(raw, rawEdit{header: idx, off: a<<1 | int(b&1), val: b})
		case 8:
			at := 0
			if len(ms) > 0 {
				at = idx + 1
			}
			m := tarMember{name: fuzzNames[a%len(fuzzNames)], data: lit}
			ms = append(ms[:at], append([]tarMember{m}, ms[at:]...)...)
		case 9:
			ms[idx].data = lit
		}
	}
	return ms, raw
}

// serialise writes members as a tar and applies the raw header edits. A
// member the tar writer refuses ends the archive early, which is itself a
// malformed input.
func serialise(ms []tarMember, raw []rawEdit) []byte {
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	var headers []int
	for _, m := range ms {
		typ := m.typ
		if typ == 0 {
			typ = tar.TypeReg
		}
		h := &tar.Header{Name: m.name, Typeflag: typ, Mode: 0o644, Linkname: m.link, ModTime: time.Unix(0, 0)}
		if typ == tar.TypeReg || typ == tar.TypeCont {
			h.Size = int64(len(m.data))
		}
		if tw.Flush() != nil {
			break
		}
		headers = append(headers, buf.Len())
		if tw.WriteHeader(h) != nil {
			headers = headers[:len(headers)-1]
			break
		}
		if h.Size > 0 {
			if _, err := tw.Write(m.data); err != nil {
				break
			}
		}
	}
	tw.Close()
	out := buf.Bytes()
	for _, e := range raw {
		if len(headers) == 0 {
			break
		}
		at := headers[e.header%len(headers)]
		off := e.off % 512
		if off >= 148 && off < 156 || at+512 > len(out) {
			continue
		}
		out[at+off] = e.val
		fixChecksum(out[at : at+512])
	}
	return out
}

// fixChecksum recomputes a ustar header's checksum.
func fixChecksum(h []byte) {
	for i := 148; i < 156; i++ {
		h[i] = ' '
	}
	var sum int64
	for _, c := range h {
		sum += int64(c)
	}
	copy(h[148:], []byte(strings.Repeat("0", 6-len(octal(sum)))+octal(sum)+"\x00 "))
}

func octal(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 8 {
		b = append([]byte{byte('0' + n%8)}, b...)
	}
	return string(b)
}

// fuzzMaxScript caps an edit script: bytes beyond it change nothing, so
// the fuzzer's minimiser cuts them off at once instead of spending its
// quadratic search on long inputs.
const fuzzMaxScript = 48

func capScript(b []byte) []byte { return b[:min(len(b), fuzzMaxScript)] }

var fuzzLimits = &Limits{MaxPayloadSize: 1 << 20, MaxFileSize: 1 << 20, MaxPatchFileSize: 1 << 20, MaxEntries: 1000}

// FuzzReadPackage edits the members (and raw headers) of a good package
// and verifies the result; the top bit of sel extracts the nested package
// instead.
func FuzzReadPackage(f *testing.F) {
	fx := fixtures(f)
	for i := range fx.bases {
		f.Add(uint8(i), []byte{})
	}
	f.Add(uint8(0), []byte{0, 3, 0, 7})                // payload byte flipped
	f.Add(uint8(1), []byte{4, 1, 0, 0})                // manifest and signature swapped
	f.Add(uint8(2), []byte{2, 2, 0, 0})                // signature deleted
	f.Add(uint8(0), []byte{7, 3, 62, 0x37})            // payload size field edited
	f.Add(uint8(0), []byte{8, 3, 2, 3, 'a', 'b', 'c'}) // a member after the payload
	f.Add(uint8(0x83), []byte{})
	f.Fuzz(func(t *testing.T, sel uint8, script []byte) {
		b := fx.base(sel & 0x7f)
		script = capScript(script)
		ms, raw := editMembers(b.members, script)
		pkg := serialise(ms, raw)
		o := &VerifyOptions{Keyring: fx.ring, Decrypt: fx.dec, Limits: fuzzLimits}
		var err error
		if sel&0x80 != 0 {
			var out bytes.Buffer
			_, err = ExtractNested(context.Background(), bytes.NewReader(pkg), int64(len(pkg)), "node.fup", &out, o)
			if err == nil && !bytes.Equal(out.Bytes(), fx.bases[1].pkg) {
				t.Fatalf("extracted %d bytes from an edited %s package", out.Len(), b.name)
			}
			if errors.Is(err, ErrNotApplicable) {
				return
			}
		} else {
			_, err = Verify(context.Background(), bytes.NewReader(pkg), int64(len(pkg)), o)
		}
		if err != nil && !typedVerifyError(err) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// mutateManifest applies field edits to a manifest: each operation is 3
// bytes (field, index, value). Labels come from a table of hostile
// strings; fix then repairs what the fuzzer cannot compute (tree digests,
// whole-file data hashes, the payload digest) so it reaches the checks
// behind them.
var fuzzLabels = []string{"", "acme", "demo", "stable", "1", "2", "../x", "a/b", "x\x00", strings.Repeat("v", 129), "d/b", "big", "a", "n", "0/a", "l"}

func mutateManifest(m *Manifest, script []byte) {
	for len(script) >= 3 {
		op, idx, v := script[0]%20, int(script[1]), script[2]
		script = script[3:]
		lbl := fuzzLabels[int(v)%len(fuzzLabels)]
		var s *Step
		var f *File
		if len(m.Steps) > 0 {
			s = &m.Steps[idx%len(m.Steps)]
			if len(s.Files) > 0 {
				f = &s.Files[int(v)%len(s.Files)]
			}
		}
		switch op {
		case 0:
			m.Sequence = uint64(v)
		case 1:
			m.Kind = []Kind{KindFull, KindDiff, KindBundle, KindNested, "bogus"}[int(v)%5]
		case 2:
			m.Vendor, m.Product, m.Channel = []string{lbl, m.Vendor, m.Vendor}[idx%3], []string{m.Product, lbl, m.Product}[idx%3], []string{m.Channel, m.Channel, lbl}[idx%3]
		case 3:
			m.Payload.Encrypted = v&1 == 1
		case 4:
			m.SpaceNeeded = int64(int8(v)) << (idx % 40)
		case 5:
			if f != nil {
				f.Op = []Op{OpData, OpPatch, OpKeep, "", "x"}[idx%5]
			}
		case 6:
			if f != nil {
				f.Size = int64(int8(v)) << (idx % 40)
			}
		case 7:
			if f != nil {
				f.DataSize = int64(int8(v)) << (idx % 40)
			}
		case 8:
			if f != nil {
				f.DataSHA256 = strings.Repeat(string("0123456789abcdef"[v%16]), 64)
			}
		case 9:
			if f != nil {
				f.Path = lbl
			}
		case 10:
			if f != nil {
				f.Type = []string{TypeFile, TypeDir, TypeSymlink, "other"}[idx%4]
				f.Target = lbl
			}
		case 11:
			if s != nil && len(s.Files) > 0 {
				i := int(v) % len(s.Files)
				s.Files = append(s.Files[:i], s.Files[i+1:]...)
			}
		case 12:
			if f != nil {
				s.Files = append(s.Files, *f)
			}
		case 13:
			if s != nil {
				s.Deleted = append(s.Deleted, lbl)
			}
		case 14:
			if s != nil && s.From != nil && len(s.From.Files) > 0 {
				bf := &s.From.Files[int(v)%len(s.From.Files)]
				switch idx % 3 {
				case 0:
					bf.Size = int64(int8(v))
				case 1:
					bf.SHA256 = strings.Repeat("f", 64)
				case 2:
					bf.Path = lbl
				}
			}
		case 15:
			if s != nil {
				if idx%2 == 0 {
					s.From = nil
				} else if s.From == nil {
					s.From = &Base{Version: lbl, Sequence: 1, Tree: m.Tree}
				}
			}
		case 16:
			if len(m.Steps) > 0 {
				m.Steps = append(m.Steps, m.Steps[idx%len(m.Steps)])
			} else {
				m.Steps = []Step{{Version: lbl}}
			}
		case 17:
			if len(m.Nested) > 0 {
				n := &m.Nested[idx%len(m.Nested)]
				switch v % 5 {
				case 0:
					n.Product = lbl
				case 1:
					n.Version = lbl
				case 2:
					n.Sequence = uint64(idx)
				case 3:
					n.Size = int64(int8(idx))
				case 4:
					n.Name = lbl
				}
			}
		case 18:
			if len(m.Nested) > 0 {
				m.Nested = append(m.Nested, m.Nested[0])
			}
		case 19:
			if s != nil {
				s.Version = lbl
				m.Version = lbl
			}
		}
	}
}

// cloneManifest deep-copies the parts of m that mutateManifest edits.
func cloneManifest(in *Manifest) *Manifest {
	m := *in
	m.Steps = slices.Clone(in.Steps)
	for i := range m.Steps {
		s := &m.Steps[i]
		s.Files = slices.Clone(s.Files)
		s.Deleted = slices.Clone(s.Deleted)
		if s.From != nil {
			from := *s.From
			from.Files = slices.Clone(from.Files)
			s.From = &from
		}
	}
	m.Nested = slices.Clone(in.Nested)
	return &m
}

// fixManifest repairs derived fields: bit 0 the step and package tree
// digests, bit 1 whole-file data sizes and hashes.
func fixManifest(m *Manifest, fix uint8) {
	if fix&2 != 0 {
		for i := range m.Steps {
			for j := range m.Steps[i].Files {
				if f := &m.Steps[i].Files[j]; f.Op == OpData {
					f.DataSize, f.DataSHA256 = f.Size, f.SHA256
				}
			}
		}
	}
	if fix&1 != 0 {
		for i := range m.Steps {
			s := &m.Steps[i]
			entries := make([]Entry, len(s.Files))
			for j, f := range s.Files {
				entries[j] = f.Entry
			}
			s.Tree = TreeDigest(entries)
			if i+1 < len(m.Steps) && m.Steps[i+1].From != nil {
				m.Steps[i+1].From.Tree = s.Tree
			}
		}
		if len(m.Steps) > 0 {
			m.Tree = m.Steps[len(m.Steps)-1].Tree
		}
	}
}

// FuzzSignedManifest signs edited manifests with a trusted key around an
// edited payload, so the fuzzer reaches the manifest validation, the
// payload walk and (with bit 2 of fix) a whole apply onto an installed
// target, behind the signature. Bit 3 keeps the payload digest as it was
// instead of recomputing it.
func FuzzSignedManifest(f *testing.F) {
	fx := fixtures(f)
	for i := range fx.bases {
		f.Add(uint8(i), []byte{}, []byte{}, uint8(0))
		f.Add(uint8(i), []byte{}, []byte{}, uint8(4))
	}
	f.Add(uint8(1), []byte{5, 1, 0}, []byte{}, uint8(7))           // an op changed
	f.Add(uint8(1), []byte{}, []byte{0, 1, 0, 9}, uint8(4))        // a patch corrupted
	f.Add(uint8(1), []byte{6, 3, 200}, []byte{}, uint8(7))         // a size changed
	f.Add(uint8(3), []byte{17, 0, 1}, []byte{}, uint8(3))          // a nested entry edited
	f.Add(uint8(0), []byte{9, 0, 6}, []byte{}, uint8(7))           // a traversal path
	f.Add(uint8(0), []byte{16, 0, 0, 1, 0, 2}, []byte{}, uint8(7)) // an extra step
	f.Fuzz(func(t *testing.T, sel uint8, mscript, pscript []byte, fix uint8) {
		b := fx.base(sel)
		mscript, pscript = capScript(mscript), capScript(pscript)
		m := cloneManifest(b.manifest)
		mutateManifest(m, mscript)
		fixManifest(m, fix)
		var payload []byte
		if b.payload != nil {
			ms, raw := editMembers(b.payload, pscript)
			payload = serialise(ms, raw)
		} else {
			payload = payloadOf(t, b.pkg)
			// The encrypted payload is one opaque member to edit.
			ms, _ := editMembers([]tarMember{{name: MemberPayload, data: payload}}, pscript)
			if len(ms) > 0 {
				payload = ms[0].data
			}
		}
		if fix&8 == 0 {
			m.Payload.Size = int64(len(payload))
			sum := sha256.Sum256(payload)
			m.Payload.SHA256 = "sha256:" + hex.EncodeToString(sum[:])
		}
		manifest, err := m.Marshal()
		if err != nil {
			return
		}
		sig, err := fx.signer.Sign(context.Background(), manifest)
		if err != nil {
			t.Fatal(err)
		}
		pkg := serialise([]tarMember{{name: MemberMarker, data: []byte(Marker)}, {name: MemberManifest, data: manifest},
			{name: MemberSig, data: sig}, {name: MemberPayload, data: payload}}, nil)
		vo := VerifyOptions{Keyring: fx.ring, Decrypt: fx.dec, Limits: fuzzLimits}
		if fix&4 == 0 {
			_, err = Verify(context.Background(), bytes.NewReader(pkg), int64(len(pkg)), &vo)
			if err != nil && !typedVerifyError(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		target := fx.target.Reboot()
		before := fx.installed
		rep, err := Apply(context.Background(), target, bytes.NewReader(pkg), int64(len(pkg)), &ApplyOptions{VerifyOptions: vo})
		if err != nil {
			if !typedError(err, applyErrors) {
				t.Fatalf("untyped error: %v", err)
			}
			if got := currentDigest(t, target); got != before {
				t.Fatalf("a refused package changed the installed tree")
			}
			return
		}
		if rep.AlreadyInstalled {
			return
		}
		if got := currentDigest(t, target); got != m.Tree {
			t.Fatalf("applied tree is %s, manifest says %s", got, m.Tree)
		}
	})
}

// FuzzManifest feeds raw bytes to the manifest decoder: it must refuse
// with a typed error, or return a manifest whose canonical encoding is
// exactly the input.
func FuzzManifest(f *testing.F) {
	fx := fixtures(f)
	for _, m := range tinyManifests() {
		mb, err := m.Marshal()
		if err != nil {
			f.Fatal(err)
		}
		f.Add(mb)
	}
	mb, _ := fx.bases[3].manifest.Marshal() // nested, 400 bytes
	f.Add(mb)
	f.Add([]byte(`{"format":1}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) > 1024 {
			return // keep inputs short: the minimiser's search is quadratic
		}
		m, err := ParseManifest(b, fuzzLimits)
		if err != nil {
			if !typedError(err, []error{ErrMalformed, ErrUnsafeEntry, ErrTooLarge, ErrUnknownFormat}) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		again, err := m.Marshal()
		if err != nil || !bytes.Equal(again, b) {
			t.Fatalf("accepted a manifest that does not re-encode to itself")
		}
	})
}

// tinyManifests returns a one-file full and a one-file diff manifest, the
// smallest valid seeds for the manifest parser.
func tinyManifests() []*Manifest {
	sum := func(s string) string { h := sha256.Sum256([]byte(s)); return hex.EncodeToString(h[:]) }
	file := func(content string, op Op) File {
		f := File{Entry: Entry{Path: "a", Type: TypeFile, Mode: 0o644, Size: int64(len(content)), SHA256: sum(content)}, Op: op}
		if op == OpData {
			f.DataSize, f.DataSHA256 = f.Size, f.SHA256
		}
		return f
	}
	step := func(f File, from *Base) Step {
		return Step{From: from, Version: "1", Tree: TreeDigest([]Entry{f.Entry}), Files: []File{f}}
	}
	full := step(file("x", OpData), nil)
	base := &Base{Version: "0", Sequence: 1, Tree: full.Tree, Files: []BaseFile{{Path: "a", Size: 1, SHA256: sum("x")}}}
	diff := step(file("x", OpKeep), base)
	diff.Version = "2"
	// An fkdelta1 patch and the requirement that declares it.
	pf := file("y", OpPatch)
	pf.DataSize, pf.DataSHA256, pf.PatchFormat = 100, sum("patch"), PatchFormatDelta
	delta1 := step(pf, base)
	delta1.Version = "3"
	payload := Payload{SHA256: "sha256:" + sum("")}
	return []*Manifest{
		{Format: FormatVersion, Vendor: "v", Product: "p", Channel: "c", Version: "1", Sequence: 1, Kind: KindFull, Tree: full.Tree, Steps: []Step{full}, Payload: payload},
		{Format: FormatVersion, Vendor: "v", Product: "p", Channel: "c", Version: "2", Sequence: 2, Kind: KindDiff, Tree: diff.Tree, Steps: []Step{diff}, Payload: payload},
		{Format: FormatVersion, Vendor: "v", Product: "p", Channel: "c", Version: "3", Sequence: 3, Kind: KindDiff, Tree: delta1.Tree, Steps: []Step{delta1}, Payload: payload,
			Requires: []Requirement{{Feature: "patchFormat:" + PatchFormatDelta, Since: "1.1"}}},
	}
}

// FuzzState feeds raw bytes as the state and journal files: ReadState
// refuses with ErrState or returns a state that writes back to an equal
// one, and Recover neither panics nor deletes the slot the state names.
func FuzzState(f *testing.F) {
	fx := fixtures(f)
	st, err := ReadState(fx.target)
	if err != nil {
		f.Fatal(err)
	}
	good, _ := readFileFS(fx.target, StateFile, 1<<20)
	f.Add(good, []byte{})
	f.Add(good, []byte(`{"op":"apply","slot":"`+st.Current.Name+`","phase":"stage"}`))
	f.Add([]byte(`{"format":1,"vendor":"","product":"p","channel":"c","current":{"name":"1-a","version":"1","sequence":1,"tree":"sha256:`+strings.Repeat("0", 64)+`"}}`), []byte(`{"slot":"../x"}`))
	f.Fuzz(func(t *testing.T, state, jb []byte) {
		if len(state) > 1024 || len(jb) > 256 {
			return // keep inputs short: the minimiser's search is quadratic
		}
		st, err := parseState(state)
		if err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("untyped error: %v", err)
			}
		} else {
			b, err := json.MarshalIndent(st, "", "  ")
			if err != nil {
				t.Fatal(err)
			}
			again, err := parseState(b)
			if err != nil {
				t.Fatalf("a written state does not read back: %v", err)
			}
			if again.Current != st.Current || again.HighestSequence != st.HighestSequence {
				t.Fatalf("state changed on the way through the file")
			}
		}
		target := fx.target.Reboot()
		cur, _ := ReadState(target)
		if err := writeFileAtomic(target, StateFile, state); err != nil {
			t.Fatal(err)
		}
		if err := writeFileAtomic(target, JournalFile, jb); err != nil {
			t.Fatal(err)
		}
		if _, err := Recover(context.Background(), target); err == nil && st != nil && st.Current.Name == cur.Current.Name {
			if _, err := target.Lstat(cur.Current.Dir()); err != nil {
				t.Fatalf("recover removed the current slot")
			}
		}
	})
}
