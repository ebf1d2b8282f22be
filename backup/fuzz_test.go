package backup

import (
	"bytes"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

var (
	fuzzOnce  sync.Once
	fuzzBases [][]byte
)

// fuzzBase is a small valid plaintext backup, without and with zstd,
// built once per process.
func fuzzBase(tb testing.TB) [][]byte {
	fuzzOnce.Do(func() {
		dir, err := os.MkdirTemp("", "fkbackupfuzz")
		if err != nil {
			tb.Fatal(err)
		}
		defer os.RemoveAll(dir)
		src := filepath.Join(dir, "t")
		makeSmallTree(tb, src)
		for _, c := range []string{"none", "zstd"} {
			var buf bytes.Buffer
			o := &Options{Product: "p", Sequence: 1, Dir: src, Compression: c, Passphrase: testPass,
				Streams: []Stream{{Name: "s", Open: staticStream("dump")}}, Now: func() time.Time { return fixedTime }}
			if _, err := writePlain(tb.Context(), &buf, o); err != nil {
				tb.Fatal(err)
			}
			fuzzBases = append(fuzzBases, buf.Bytes())
		}
	})
	return fuzzBases
}

// applyEdits turns a fuzz input into a plaintext: byte 0 picks the base
// (plain tar or zstd), then 4-byte edits: op, 16-bit offset, value. Ops:
// 0 set, 1 insert, 2 delete, 3 truncate. Compact inputs keep Go's
// minimiser quick; the base keeps the reader past its first checks.
func applyEdits(bases [][]byte, in []byte) []byte {
	if len(in) == 0 {
		return bases[0]
	}
	b := bytes.Clone(bases[int(in[0])%len(bases)])
	for in = in[1:]; len(in) >= 4 && len(b) > 0; in = in[4:] {
		off := (int(in[1])<<8 | int(in[2])) % len(b)
		switch in[0] % 4 {
		case 0:
			b[off] = in[3]
		case 1:
			b = append(b[:off:off], append([]byte{in[3]}, b[off:]...)...)
		case 2:
			b = append(b[:off:off], b[off+1:]...)
		case 3:
			b = b[:off]
		}
	}
	return b
}

// FuzzReader feeds edited plaintexts (the decrypted stream) to the reader
// Verify and Restore share; decryption is left out so that each run is
// cheap. It must never panic, read past its caps or return an untyped
// error, and whatever it accepts has a root directory.
func FuzzReader(f *testing.F) {
	fuzzBase(f)
	f.Add([]byte{0})
	f.Add([]byte{1})
	f.Add([]byte{0, 0, 0, 10, 'x'})   // header name
	f.Add([]byte{0, 0, 2, 0, '7'})    // a member header
	f.Add([]byte{0, 3, 8, 0, 0})      // truncated
	f.Add([]byte{0, 1, 1, 0, 0})      // shifted
	f.Add([]byte{1, 0, 0, 20, 0xff})  // zstd frame
	f.Add([]byte{0, 0, 5, 0x9c, '.'}) // late member name
	f.Add([]byte{0, 2, 0, 200, 0, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, in []byte) {
		data := applyEdits(fuzzBase(t), in)
		rd := &reader{maxSize: 1 << 20, maxFiles: 100}
		m, err := rd.read(t.Context(), bytes.NewReader(data))
		if err != nil {
			if !typed(err) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if m.Format != FormatVersion || len(m.Files) == 0 || m.Files[0].Path != "." || m.Files[0].Type != TypeDir {
			t.Fatalf("accepted a manifest without a root: %+v", m)
		}
	})
}

// The unedited bases are accepted.
func TestFuzzBases(t *testing.T) {
	for _, b := range fuzzBase(t) {
		_, err := (&reader{maxSize: 1 << 20, maxFiles: 100}).read(t.Context(), bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
	}
}

// makeSmallTree is a few small entries, for fuzz seeds.
func makeSmallTree(t testing.TB, dir string) {
	t.Helper()
	for _, err := range []error{
		os.MkdirAll(filepath.Join(dir, "a"), 0o755),
		os.WriteFile(filepath.Join(dir, "a/f"), []byte("hello"), 0o644),
		os.Symlink("a/f", filepath.Join(dir, "l")),
	} {
		if err != nil {
			t.Fatal(err)
		}
	}
}
