package ova

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// headerEdit is one change to the header of the small OVA's member m (an
// index into its entries), checksum fixed afterwards.
type headerEdit struct {
	name   string
	member int
	edit   func(h []byte)
	field  string // the field the error must name
}

// withHeaderEdit returns a copy of the small OVA with e applied.
func withHeaderEdit(t *testing.T, e headerEdit) []byte {
	base, res := smallOVA(t)
	data := bytes.Clone(base)
	off := res.Entries[e.member].Offset
	h := data[off : off+blockSize]
	e.edit(h)
	if e.field != "checksum" {
		fixChecksum(h, false)
	}
	return data
}

func setField(off int, v string) func(h []byte) {
	return func(h []byte) { copy(h[off:], v) }
}

func gnuMagic(h []byte) { copy(h[257:265], "ustar  \x00"); clear(h[329:345]) }

// Fields that other writers set differently without changing what any
// reader extracts: refused by default, accepted with ForeignHeaders.
var harmlessEdits = []headerEdit{
	{"uid", 3, setField(108, "0001750\x00"), "uid"},
	{"gid", 3, setField(116, "0001750 "), "gid"},
	{"uname", 0, setField(265, "builder"), "uname"},
	{"gname", 4, setField(297, "staff"), "gname"},
	{"mode 0755", 3, setField(100, "0000755\x00"), "mode"},
	{"mode with S_IFREG", 3, setField(100, "0100644\x00"), "mode"},
	{"mode spelled with a space", 3, setField(100, "000644 \x00"), "mode"},
	{"one member's mtime", 4, setField(136, "14723533136\x00"), "mtime"},
	{"mtime spelled with a space", 4, setField(136, "00000000000 "), "mtime"},
	{"size ends with a space", 3, func(h []byte) { h[135] = ' ' }, "size"},
	{"GNU magic on a small member", 3, gnuMagic, "magic"},
	{"devmajor all NUL", 3, func(h []byte) { clear(h[329:337]) }, "devmajor"},
	{"checksum spelled with space then NUL", 2, func(h []byte) {
		fixChecksum(h, false)
		h[154], h[155] = ' ', 0
	}, "checksum"},
}

// Fields another reader could interpret differently: refused always.
var dangerousEdits = []headerEdit{
	{"realsize (GNU magic)", 3, func(h []byte) { gnuMagic(h); copy(h[483:], "00000001000\x00") }, "realsize"},
	{"realsize (USTAR magic)", 3, setField(483, "00000001000\x00"), "prefix"},
	{"sparse map (GNU magic)", 3, func(h []byte) { gnuMagic(h); copy(h[386:], "00000000000\x0000000001000\x00") }, "sparse"},
	{"isextended (GNU magic)", 2, func(h []byte) { gnuMagic(h); h[482] = 1 }, "isextended"},
	{"atime (GNU magic)", 3, func(h []byte) { gnuMagic(h); copy(h[345:], "14723533136\x00") }, "atime"},
	{"GNU offset", 3, func(h []byte) { gnuMagic(h); copy(h[369:], "00000001000\x00") }, "offset"},
	{"prefix", 3, setField(345, "sub"), "prefix"},
	{"prefix dotdot", 3, setField(345, ".."), "prefix"},
	{"reserved bytes 500-511", 4, func(h []byte) { h[505] = 'x' }, "pad"},
	{"linkname", 3, setField(157, "app.ovf"), "linkname"},
	{"devmajor", 3, setField(329, "0000010\x00"), "devmajor"},
	{"setuid mode", 3, setField(100, "0004755\x00"), "mode"},
	{"uid base-256", 3, func(h []byte) { copy(h[108:116], "\x80\x00\x00\x00\x00\x00\x03\xe8") }, "uid"},
	{"mtime base-256", 3, func(h []byte) { copy(h[136:148], "\x80\x00\x00\x00\x00\x00\x00\x00\x00\x00\x03\xe8") }, "mtime"},
	{"size with a leading space", 3, func(h []byte) { copy(h[124:136], fmt.Sprintf(" %010o\x00", 3000)) }, "size"},
	{"size without terminator", 3, func(h []byte) { copy(h[124:136], fmt.Sprintf("%012o", 3000)) }, "size"},
	{"size NUL-padded", 3, func(h []byte) { clear(h[124:136]); copy(h[124:136], fmt.Sprintf("%o", 3000)) }, "size"},
	{"size base-256 under 8 GiB", 3, func(h []byte) {
		gnuMagic(h)
		clear(h[124:136])
		h[124], h[134], h[135] = 0x80, byte(3000>>8), byte(3000&0xff)
	}, "size"},
	{"typeflag NUL", 3, func(h []byte) { h[156] = 0 }, "typeflag"},
	{"typeflag contiguous file", 3, func(h []byte) { h[156] = '7' }, "typeflag"},
	{"typeflag GNU sparse", 3, func(h []byte) { gnuMagic(h); h[156] = 'S' }, "typeflag"},
	{"typeflag PAX", 3, func(h []byte) { h[156] = 'x' }, "typeflag"},
	{"version", 3, setField(263, " \x00"), "magic"},
	{"name bytes after the NUL", 3, setField(20, "junk"), "name"},
	{"uname without NUL", 3, setField(265, strings.Repeat("u", 32)), "uname"},
	{"bad checksum", 3, func(h []byte) { h[150]++ }, "checksum"},
}

func headerErrorOf(t *testing.T, err error) *HeaderError {
	t.Helper()
	var he *HeaderError
	require.ErrorAs(t, err, &he)
	return he
}

// TestHeaderExactlyWrite: Verify, Open and so Extract accept only the tar
// headers Write writes. Each refusal is a *HeaderError that names the
// member and the field.
func TestHeaderExactlyWrite(t *testing.T) {
	_, res := smallOVA(t)
	roots := testSigner(t).Certificates()
	for _, e := range append(append([]headerEdit(nil), harmlessEdits...), dangerousEdits...) {
		t.Run(e.name, func(t *testing.T) {
			data := withHeaderEdit(t, e)
			name := res.Entries[e.member].Name
			_, err := Verify(t.Context(), bytes.NewReader(data), &VerifyOptions{Roots: roots})
			require.ErrorIs(t, err, ErrFormat)
			he := headerErrorOf(t, err)
			assert.Equal(t, e.field, he.Field, "%v", err)
			if e.field != "name" {
				assert.Equal(t, name, he.File)
			}
			assert.Equal(t, res.Entries[e.member].Offset, he.Offset)
			assert.Contains(t, err.Error(), "field "+e.field)

			_, err = Open(bytes.NewReader(data), int64(len(data)), nil)
			require.ErrorIs(t, err, ErrFormat)
			assert.Equal(t, e.field, headerErrorOf(t, err).Field)
		})
	}
}

// TestForeignHeaders: with ForeignHeaders, the fields other writers fill
// differently verify, open and extract; every field another reader could
// read differently is still refused.
func TestForeignHeaders(t *testing.T) {
	roots := testSigner(t).Certificates()
	opt := &VerifyOptions{Roots: roots, ForeignHeaders: true}
	for _, e := range harmlessEdits {
		t.Run("accepts "+e.name, func(t *testing.T) {
			data := withHeaderEdit(t, e)
			rep, err := Verify(t.Context(), bytes.NewReader(data), opt)
			require.NoError(t, err)
			assert.True(t, rep.Signed)
			assert.True(t, rep.Signer.Trusted)
			a, err := Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: true})
			require.NoError(t, err)
			require.NoError(t, a.Extract(t.Context(), t.TempDir(), nil))
		})
	}
	for _, e := range dangerousEdits {
		t.Run("refuses "+e.name, func(t *testing.T) {
			data := withHeaderEdit(t, e)
			_, err := Verify(t.Context(), bytes.NewReader(data), opt)
			require.ErrorIs(t, err, ErrFormat)
			assert.Equal(t, e.field, headerErrorOf(t, err).Field, "%v", err)
			_, err = Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: true})
			require.ErrorIs(t, err, ErrFormat)
		})
	}
}

// TestPaddingMustBeZero: no tar reader looks at the bytes between a member
// and the next header, so nothing may be hidden there.
func TestPaddingMustBeZero(t *testing.T) {
	base, res := smallOVA(t)
	for _, e := range res.Entries {
		if padding(e.Size) == 0 {
			continue
		}
		for _, foreign := range []bool{false, true} {
			data := bytes.Clone(base)
			data[e.Offset+blockSize+e.Size+padding(e.Size)-1] = 'x'
			_, err := Verify(t.Context(), bytes.NewReader(data), &VerifyOptions{ForeignHeaders: foreign})
			assertFileErr(t, err, ErrFormat, e.Name)
			_, err = Open(bytes.NewReader(data), int64(len(data)), &OpenOptions{ForeignHeaders: foreign})
			assertFileErr(t, err, ErrFormat, e.Name)
		}
	}
}

// TestCertFileStrict: the .cert holds the signature line, CERTIFICATE PEM
// blocks and whitespace, nothing else.
func TestCertFileStrict(t *testing.T) {
	base, _ := smallOVA(t)
	ms := members(t, base)
	cert := ms[2].data
	sigLine, pemPart, _ := bytes.Cut(cert, []byte("\n"))
	sigLine = append(sigLine, '\n')
	hidden := hiddenMember(t)
	cat := func(parts ...[]byte) []byte { return bytes.Join(parts, nil) }
	keyBlock := []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n")
	otherBlock := []byte("-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n")
	withHeaders := bytes.Replace(pemPart, []byte("-----\n"), []byte("-----\nProc-Type: 4,ENCRYPTED\n\n"), 1)
	cases := []struct {
		name string
		data []byte
		ok   bool
	}{
		{"as written", cert, true},
		{"CRLF and blank lines", cat(bytes.TrimSuffix(sigLine, []byte("\n")), []byte("\r\n\r\n"), bytes.ReplaceAll(pemPart, []byte("\n"), []byte("\r\n")), []byte("\r\n \t\n")), true},
		{"certificate twice", cat(sigLine, pemPart, pemPart), true},
		{"tar member after the PEM block", cat(cert, hidden), false},
		{"text after the PEM block", cat(cert, []byte("hello\n")), false},
		{"text before the PEM block", cat(sigLine, []byte("Bag Attributes\n"), pemPart), false},
		{"text between PEM blocks", cat(sigLine, pemPart, []byte("subject=CN x\n"), pemPart), false},
		{"text after the END marker", cat(sigLine, bytes.TrimSuffix(pemPart, []byte("\n")), []byte("junk\n")), false},
		{"private key", cat(cert, keyBlock), false},
		{"public key block", cat(cert, otherBlock), false},
		{"PEM headers", cat(sigLine, withHeaders), false},
		{"second signature line", cat(sigLine, sigLine, pemPart), false},
		{"no certificate", sigLine, false},
		{"broken block then a good one", cat(sigLine, []byte("-----BEGIN CERTIFICATE-----\n!!!\n"), pemPart), false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := parseCertFile("app.cert", c.data)
			m := slicesClone(ms)
			m[2] = member{"app.cert", c.data}
			data := rawTar(t, m)
			_, verr := Verify(t.Context(), bytes.NewReader(data), nil)
			_, oerr := Open(bytes.NewReader(data), int64(len(data)), nil)
			if c.ok {
				require.NoError(t, err)
				require.NoError(t, verr)
				require.NoError(t, oerr)
				return
			}
			require.ErrorIs(t, err, ErrCertificate)
			assertFileErr(t, verr, ErrCertificate, "app.cert")
			assertFileErr(t, oerr, ErrCertificate, "app.cert")
		})
	}
}

func slicesClone(m []member) []member { return append([]member(nil), m...) }
