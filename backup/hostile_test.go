package backup

import (
	"archive/tar"
	"bytes"
	"encoding/json"
	"io"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/sign"
)

type member struct {
	hdr  tar.Header
	body []byte
}

// validMembers is a valid plaintext backup (no compression) of the test
// tree, taken apart.
func validMembers(t *testing.T) []member {
	t.Helper()
	src := filepath.Join(t.TempDir(), "src")
	makeTree(t, src)
	var buf bytes.Buffer
	_, err := writePlain(t.Context(), &buf, &Options{Product: "acme-vault", Sequence: 24, Dir: src, Compression: "none", Passphrase: testPass})
	require.NoError(t, err)
	var ms []member
	tr := tar.NewReader(&buf)
	for {
		h, err := tr.Next()
		if err == io.EOF {
			return ms
		}
		require.NoError(t, err)
		b, err := io.ReadAll(tr)
		require.NoError(t, err)
		ms = append(ms, member{*h, b})
	}
}

func tarOf(t *testing.T, ms []member) []byte {
	t.Helper()
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, m := range ms {
		h := m.hdr
		require.NoError(t, tw.WriteHeader(&h))
		_, err := tw.Write(m.body)
		require.NoError(t, err)
	}
	require.NoError(t, tw.Close())
	return buf.Bytes()
}

func find(ms []member, name string) int {
	for i, m := range ms {
		if m.hdr.Name == name {
			return i
		}
	}
	return -1
}

func insert(ms []member, i int, m member) []member {
	return append(ms[:i:i], append([]member{m}, ms[i:]...)...)
}

// editManifest changes the manifest member.
func editManifest(t *testing.T, ms []member, f func(*Manifest)) []member {
	last := &ms[len(ms)-1]
	var m Manifest
	require.NoError(t, json.Unmarshal(last.body, &m))
	f(&m)
	b, err := json.Marshal(&m)
	require.NoError(t, err)
	last.body, last.hdr.Size = b, int64(len(b))
	return ms
}

func reg(name string, body string) member {
	return member{tar.Header{Typeflag: tar.TypeReg, Name: name, Mode: 0o644, Size: int64(len(body)), Format: tar.FormatPAX}, []byte(body)}
}

// Hand-made plaintexts, encrypted to the customer's key so that they
// reach the tar reader: each is refused with its error and nothing is
// restored.
func TestHostile(t *testing.T) {
	key := customerKey(t)
	manifestAt := func(ms []member) int { return len(ms) - 1 }
	cases := []struct {
		name  string
		plain func(t *testing.T) []byte
		want  error
	}{
		{"traversal in data", func(t *testing.T) []byte {
			ms := validMembers(t)
			return tarOf(t, insert(ms, 3, reg("data/../x", "x")))
		}, ErrUnsafePath},
		{"traversal at top", func(t *testing.T) []byte {
			ms := validMembers(t)
			return tarOf(t, insert(ms, 3, reg("../x", "x")))
		}, ErrUnsafePath},
		{"absolute", func(t *testing.T) []byte {
			ms := validMembers(t)
			return tarOf(t, insert(ms, 3, reg("/etc/cron.d/x", "x")))
		}, ErrUnsafePath},
		{"symlink out then through it", func(t *testing.T) []byte {
			ms := validMembers(t)
			l := member{tar.Header{Typeflag: tar.TypeSymlink, Name: "data/evil", Linkname: "/etc", Mode: 0o777, Format: tar.FormatPAX}, nil}
			ms = insert(ms, manifestAt(ms), l)
			ms = insert(ms, manifestAt(ms), reg("data/evil/passwd", "root::0:0::/:/bin/sh\n"))
			return tarOf(t, ms)
		}, ErrUnsafePath},
		{"relative symlink escaping", func(t *testing.T) []byte {
			ms := validMembers(t)
			l := member{tar.Header{Typeflag: tar.TypeSymlink, Name: "data/config/up", Linkname: "../../..", Mode: 0o777, Format: tar.FormatPAX}, nil}
			return tarOf(t, insert(ms, manifestAt(ms), l))
		}, ErrUnsafePath},
		{"file under an inside symlink", func(t *testing.T) []byte {
			ms := validMembers(t)
			i := find(ms, "data/current.yaml")
			require.GreaterOrEqual(t, i, 0)
			ms = insert(ms, manifestAt(ms), reg("data/db/cfg/x", "x"))
			return tarOf(t, ms)
		}, ErrUnsafePath},
		{"hard link", func(t *testing.T) []byte {
			ms := validMembers(t)
			l := member{tar.Header{Typeflag: tar.TypeLink, Name: "data/h", Linkname: "data/config/app.yaml", Mode: 0o644, Format: tar.FormatPAX}, nil}
			return tarOf(t, insert(ms, manifestAt(ms), l))
		}, ErrUnsafePath},
		{"fifo", func(t *testing.T) []byte {
			ms := validMembers(t)
			l := member{tar.Header{Typeflag: tar.TypeFifo, Name: "data/f", Mode: 0o644, Format: tar.FormatPAX}, nil}
			return tarOf(t, insert(ms, manifestAt(ms), l))
		}, ErrUnsafePath},
		{"huge declared size", func(t *testing.T) []byte {
			ms := validMembers(t)
			var buf bytes.Buffer
			buf.Write(tarOf(t, ms[:3])[:0])
			tw := tar.NewWriter(&buf)
			for _, m := range ms[:3] {
				h := m.hdr
				require.NoError(t, tw.WriteHeader(&h))
				_, err := tw.Write(m.body)
				require.NoError(t, err)
			}
			require.NoError(t, tw.WriteHeader(&tar.Header{Typeflag: tar.TypeReg, Name: "data/big", Mode: 0o644, Size: 1 << 41, Format: tar.FormatPAX}))
			buf.Write(make([]byte, 4096))
			return buf.Bytes()
		}, ErrTooLarge},
		{"truncated", func(t *testing.T) []byte {
			ms := validMembers(t)
			b := tarOf(t, ms)
			return b[:len(b)/2]
		}, ErrTruncated},
		{"reordered", func(t *testing.T) []byte {
			ms := validMembers(t)
			i, j := find(ms, "data/config/app.yaml"), find(ms, "data/config/empty")
			require.True(t, i > 0 && j > 0)
			ms[i], ms[j] = ms[j], ms[i]
			return tarOf(t, ms)
		}, ErrMalformed},
		{"member missing from the manifest", func(t *testing.T) []byte {
			ms := editManifest(t, validMembers(t), func(m *Manifest) { m.Files = m.Files[:len(m.Files)-1] })
			return tarOf(t, ms)
		}, ErrMalformed},
		{"manifest lists a missing member", func(t *testing.T) []byte {
			ms := validMembers(t)
			i := find(ms, "data/uploads/a b ü.txt")
			ms = append(ms[:i:i], ms[i+1:]...)
			return tarOf(t, ms)
		}, ErrMalformed},
		{"extra member after the manifest", func(t *testing.T) []byte {
			ms := validMembers(t)
			return tarOf(t, append(ms, reg("data/zz", "x")))
		}, ErrMalformed},
		{"duplicate member", func(t *testing.T) []byte {
			ms := validMembers(t)
			i := find(ms, "data/config/empty")
			return tarOf(t, insert(ms, i+1, ms[i]))
		}, ErrUnsafePath},
		{"changed content", func(t *testing.T) []byte {
			ms := validMembers(t)
			i := find(ms, "data/config/app.yaml")
			ms[i].body = bytes.ToUpper(ms[i].body)
			return tarOf(t, ms)
		}, ErrDigest},
		{"changed mode", func(t *testing.T) []byte {
			ms := validMembers(t)
			ms[find(ms, "data/db/tool")].hdr.Mode = 0o6777
			return tarOf(t, ms)
		}, ErrMalformed},
		{"trailing data", func(t *testing.T) []byte {
			return append(tarOf(t, validMembers(t)), "garbage"...)
		}, ErrMalformed},
		{"unknown header field", func(t *testing.T) []byte {
			ms := validMembers(t)
			b := []byte(`{"format":1,"product":"acme-vault","sequence":24,"created":"1970-01-01T00:00:00Z","extra":1}`)
			ms[0].body, ms[0].hdr.Size = b, int64(len(b))
			return tarOf(t, ms)
		}, ErrMalformed},
		{"not a backup", func(t *testing.T) []byte { return tarOf(t, []member{reg("hello.txt", "hi")}) }, ErrMalformed},
		{"owner names", func(t *testing.T) []byte {
			ms := validMembers(t)
			ms[find(ms, "data/db/tool")].hdr.Uname = "root"
			return tarOf(t, ms)
		}, ErrMalformed},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var ct bytes.Buffer
			require.NoError(t, sign.Encrypt(t.Context(), &ct, bytes.NewReader(tc.plain(t)), []*sign.OpenPGPPublicKey{key.Public()}, nil))
			_, err := Verify(t.Context(), bytes.NewReader(ct.Bytes()), &ReadOptions{Key: key})
			assert.ErrorIs(t, err, tc.want)
			_, dst, before := backupOf(t, nil)
			_, err = Restore(t.Context(), bytes.NewReader(ct.Bytes()), dst, &RestoreOptions{ReadOptions: ReadOptions{Key: key}, Product: "acme-vault", Sequence: 24})
			assert.ErrorIs(t, err, tc.want)
			assert.Equal(t, before, snapshot(t, dst))
			assert.Empty(t, leftovers(t, dst))
			_, err = (&reader{maxSize: DefaultMaxSize, maxFiles: DefaultMaxFiles}).read(t.Context(), bytes.NewReader(tc.plain(t)))
			assert.ErrorIs(t, err, tc.want, "plaintext reader")
		})
	}
}

// The caps: entries and total size.
func TestLimits(t *testing.T) {
	data, _, _ := backupOf(t, nil)
	_, err := Verify(t.Context(), bytes.NewReader(data), &ReadOptions{Passphrase: testPass, MaxFiles: 3})
	assert.ErrorIs(t, err, ErrTooLarge)
	_, err = Verify(t.Context(), bytes.NewReader(data), &ReadOptions{Passphrase: testPass, MaxSize: 1 << 20})
	assert.ErrorIs(t, err, ErrTooLarge)
}
