package esp

import (
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// tinyFAT32 is a hand-made FAT32 volume of 110 sectors (100 clusters of
// 512 bytes): /HELLO.TXT (700 bytes, two clusters) and /DIR/A.TXT (10
// bytes), with FSInfo and a backup boot sector. Small enough to fuzz.
func tinyFAT32() []byte {
	const bps, resv, fatSz, nfats, total = 512, 8, 1, 2, 110
	b := make([]byte, total*bps)
	le := binary.LittleEndian
	bs := b[:512]
	copy(bs, []byte{0xEB, 0x58, 0x90})
	copy(bs[3:], "mkfs.fat")
	le.PutUint16(bs[11:], bps)
	bs[13] = 1
	le.PutUint16(bs[14:], resv)
	bs[16] = nfats
	bs[21] = 0xF8
	le.PutUint32(bs[32:], total)
	le.PutUint32(bs[36:], fatSz)
	le.PutUint32(bs[44:], 2)
	le.PutUint16(bs[48:], 1)
	le.PutUint16(bs[50:], 6)
	bs[64], bs[66] = 0x80, 0x29
	copy(bs[71:], "NO NAME    FAT32   ")
	bs[510], bs[511] = 0x55, 0xAA
	copy(b[6*bps:], bs)
	fi := b[bps : 2*bps]
	le.PutUint32(fi[0:], 0x41615252)
	le.PutUint32(fi[484:], 0x61417272)
	le.PutUint32(fi[488:], 95)
	le.PutUint32(fi[492:], 7)
	le.PutUint32(fi[508:], 0xAA550000)
	for k := 0; k < nfats; k++ {
		fat := b[(resv+k*fatSz)*bps:]
		for c, v := range []uint32{0x0FFFFFF8, 0x0FFFFFFF, fatEOF, 4, fatEOF, fatEOF, fatEOF} {
			le.PutUint32(fat[4*c:], v)
		}
	}
	data := (resv + nfats*fatSz) * bps
	ent := func(at int, name string, attr byte, start, size uint32) {
		e := b[at : at+32]
		copy(e, name)
		e[11] = attr
		le.PutUint16(e[20:], uint16(start>>16))
		le.PutUint16(e[26:], uint16(start))
		le.PutUint32(e[28:], size)
	}
	root := data
	ent(root, "HELLO   TXT", 0x20, 3, 700)
	ent(root+32, "DIR        ", 0x10, 5, 0)
	for i := 0; i < 700; i++ {
		b[data+bps+i] = byte(i)
	}
	dir := data + 3*bps
	ent(dir, ".          ", 0x10, 5, 0)
	ent(dir+32, "..         ", 0x10, 0, 0)
	ent(dir+64, "A       TXT", 0x20, 6, 10)
	copy(b[data+4*bps:], "0123456789")
	return b
}

type memDev []byte

func (m memDev) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off > int64(len(m)) {
		return 0, io.EOF
	}
	n := copy(p, m[off:])
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

func (m memDev) WriteAt(p []byte, off int64) (int, error) {
	if off < 0 || off+int64(len(p)) > int64(len(m)) {
		return 0, io.ErrShortWrite
	}
	return copy(m[off:], p), nil
}

func TestTinyFAT32(t *testing.T) {
	b := tinyFAT32()
	rep, err := CheckFAT(memDev(b), int64(len(b)))
	require.NoError(t, err)
	require.True(t, rep.Clean(), "%q", rep.Problems)
	img := filepath.Join(t.TempDir(), "tiny.img")
	require.NoError(t, os.WriteFile(img, b, 0o644))
	require.Equal(t, 0, fsckFAT(t, img), "fsck.fat agrees the tiny volume is clean")
}

// Garbage, other FAT types and volumes larger than the device are
// refused with ErrFAT, never a panic.
func TestCheckFATRefuses(t *testing.T) {
	good := tinyFAT32()
	for name, mut := range map[string]func(b []byte) int64{
		"empty":           func(b []byte) int64 { return 0 },
		"no signature":    func(b []byte) int64 { b[510] = 0; return int64(len(b)) },
		"FAT16":           func(b []byte) int64 { b[22] = 1; return int64(len(b)) },
		"bad sector size": func(b []byte) int64 { b[11] = 3; return int64(len(b)) },
		"truncated":       func(b []byte) int64 { return int64(len(b)) / 2 },
		"root outside":    func(b []byte) int64 { b[44] = 200; return int64(len(b)) },
		"root free": func(b []byte) int64 {
			binary.LittleEndian.PutUint32(b[8*512+8:], 0)
			return int64(len(b))
		},
	} {
		t.Run(name, func(t *testing.T) {
			b := append([]byte(nil), good...)
			size := mut(b)
			_, err := CheckFAT(memDev(b[:size]), size)
			require.ErrorIs(t, err, ErrFAT)
			var fe *FATError
			require.True(t, errors.As(err, &fe))
		})
	}
}

// FuzzCheckFAT: any bytes are refused with ErrFAT or checked; a checked
// volume, once repaired, checks clean (the repair reaches a fixed point
// in one pass).
func FuzzCheckFAT(f *testing.F) {
	good := tinyFAT32()
	f.Add(good)
	for _, off := range []int{0x41, 512 + 488, 8*512 + 16, 8*512 + 12, 10*512 + 26, 10*512 + 28, 13*512 + 64 + 26} {
		b := append([]byte(nil), good...)
		b[off] ^= 0x41
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		rep, err := CheckFAT(memDev(b), int64(len(b)))
		if err != nil {
			if !errors.Is(err, ErrFAT) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		c := append([]byte(nil), b...)
		rep2, err := RepairFAT(memDev(c), int64(len(c)))
		if err != nil {
			t.Fatalf("repair failed after a check succeeded: %v", err)
		}
		if len(rep2.Problems) != len(rep.Problems) {
			t.Fatalf("check and repair disagree: %q vs %q", rep.Problems, rep2.Problems)
		}
		rep3, err := CheckFAT(memDev(c), int64(len(c)))
		if err != nil || !rep3.Clean() {
			t.Fatalf("not clean after repair (%v): %v, first %q", err, rep3, rep.Problems)
		}
	})
}

// Random damage to the tiny volume's metadata is refused with ErrFAT or
// repaired in one pass to a volume CheckFAT finds clean.
func TestRepairFATRandomDamage(t *testing.T) {
	good := tinyFAT32()
	rng := rand.New(rand.NewPCG(1, 2))
	for i := 0; i < 3000; i++ {
		b := append([]byte(nil), good...)
		for k := 0; k < 1+rng.IntN(4); k++ {
			b[rng.IntN(16*512)] = byte(rng.Uint32())
		}
		rep, err := CheckFAT(memDev(b), int64(len(b)))
		if err != nil {
			require.ErrorIs(t, err, ErrFAT)
			continue
		}
		_, err = RepairFAT(memDev(b), int64(len(b)))
		require.NoError(t, err)
		again, err := CheckFAT(memDev(b), int64(len(b)))
		require.NoError(t, err)
		require.True(t, again.Clean(), "case %d: %q after %q", i, again.Problems, rep.Problems)
	}
}
