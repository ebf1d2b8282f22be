package delta

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"testing"

	dbzip2 "github.com/dsnet/compress/bzip2"
	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/require"
)

// rawSeg frames a segment by hand: streams stored as given with methods.
func rawSeg(newLen int, raw [3]int, stored [3][]byte, method [3]byte) []byte {
	out := binary.AppendUvarint(nil, uint64(newLen))
	for i := range 3 {
		out = binary.AppendUvarint(out, uint64(raw[i]))
		out = binary.AppendUvarint(out, uint64(len(stored[i])))
		out = append(out, method[i])
	}
	for i := range 3 {
		out = append(out, stored[i]...)
	}
	return out
}

// plainSeg frames a segment with raw (uncompressed) streams.
func plainSeg(newLen int, ctrl, diff, lit []byte) []byte {
	var m [3]byte
	return rawSeg(newLen, [3]int{len(ctrl), len(diff), len(lit)}, [3][]byte{ctrl, diff, lit}, m)
}

func ops(v ...int64) []byte {
	var b []byte
	for i := 0; i+2 < len(v); i += 3 {
		b = binary.AppendUvarint(b, uint64(v[i]))
		b = binary.AppendUvarint(b, uint64(v[i+1]))
		b = binary.AppendVarint(b, v[i+2])
	}
	return b
}

func header(old []byte, newSize int64, newSum [32]byte) []byte {
	h := Header{OldSize: int64(len(old)), NewSize: newSize, Segment: SegmentSize, OldSHA256: sha256.Sum256(old), NewSHA256: newSum}
	return h.marshal()
}

func cat(parts ...[]byte) []byte { return bytes.Join(parts, nil) }

func TestHostilePatches(t *testing.T) {
	old := bytes.Repeat([]byte("fogkit old file "), 64) // 1 KiB
	newb := bytes.Repeat([]byte{'x'}, 100)
	sum := sha256.Sum256(newb)
	hdr := header(old, 100, sum)
	good := cat(hdr, plainSeg(100, ops(0, 100, 0), nil, newb))
	got, err := applyBytes(t, old, good)
	require.NoError(t, err, "the hand-made base case must apply")
	require.Equal(t, newb, got)

	zenc, _ := zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest))
	bomb := zenc.EncodeAll(make([]byte, 64<<20), nil)
	var bz bytes.Buffer
	bw, _ := dbzip2.NewWriter(&bz, nil)
	bw.Write(make([]byte, 8<<20))
	bw.Close()

	badMagic := bytes.Clone(good)
	badMagic[0] = 'X'
	newer := bytes.Clone(good)
	newer[7] = '2'
	wrongOld := bytes.Clone(good)
	wrongOld[30] ^= 1
	wrongNew := bytes.Clone(good)
	wrongNew[70] ^= 1
	hugeNew := bytes.Clone(good)
	binary.BigEndian.PutUint64(hugeNew[16:], 1<<40)
	for _, tc := range []struct {
		name  string
		patch []byte
		want  error
	}{
		{"empty", nil, ErrMalformed},
		{"bad magic", badMagic, ErrMalformed},
		{"newer version", newer, ErrUnsupported},
		{"truncated header", good[:50], ErrMalformed},
		{"wrong old digest", wrongOld, ErrWrongBase},
		{"wrong new digest", wrongNew, ErrDigest},
		{"huge new size", hugeNew, ErrTooLarge},
		{"truncated segment", good[:len(good)-10], ErrMalformed},
		{"no segment", hdr, ErrMalformed},
		{"trailing garbage", cat(good, []byte{0}), ErrMalformed},
		{"trailing segment", cat(good, plainSeg(1, ops(0, 1, 0), nil, []byte{1})), ErrMalformed},
		{"empty segment", cat(hdr, plainSeg(0, nil, nil, nil)), ErrMalformed},
		{"segment longer than the file", cat(hdr, plainSeg(101, ops(0, 101, 0), nil, bytes.Repeat([]byte{'x'}, 101))), ErrMalformed},
		{"huge varint", cat(hdr, binary.AppendUvarint(nil, 1<<62)), ErrTooLarge},
		{"huge control stream", cat(hdr, rawSeg(100, [3]int{1 << 30, 0, 100}, [3][]byte{{1}, nil, newb}, [3]byte{1, 0, 0})), ErrTooLarge},
		{"streams do not add up", cat(hdr, plainSeg(100, ops(0, 100, 0), nil, newb[:99])), ErrMalformed},
		{"stored larger than raw", cat(hdr, rawSeg(100, [3]int{3, 0, 100}, [3][]byte{{0, 100, 0, 0}, nil, newb}, [3]byte{})), ErrMalformed},
		{"unknown method", cat(hdr, rawSeg(100, [3]int{3, 0, 100}, [3][]byte{{0, 100, 0}, nil, newb}, [3]byte{0, 0, 9})), ErrMalformed},
		{"copy beyond old", cat(hdr, plainSeg(100, ops(0, 0, 1000, 100, 0, 0), make([]byte, 100), nil)), ErrMalformed},
		{"seek beyond old", cat(hdr, plainSeg(100, ops(0, 50, 2000, 50, 0, 0), make([]byte, 50), newb[:50])), ErrMalformed},
		{"seek before old", cat(hdr, plainSeg(100, ops(0, 50, -1, 0, 50, 0), nil, newb)), ErrMalformed},
		{"operation longer than segment", cat(hdr, plainSeg(100, ops(0, 200, 0), nil, newb)), ErrMalformed},
		{"control ends early", cat(hdr, plainSeg(100, ops(0, 50, 0), nil, newb)), ErrMalformed},
		{"unused control", cat(hdr, plainSeg(100, ops(0, 100, 0, 0, 0, 0), nil, newb)), ErrMalformed},
		{"empty operations", cat(hdr, plainSeg(100, ops(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 100, 0), nil, newb)), ErrMalformed},
		{"zstd bomb", cat(hdr, rawSeg(100, [3]int{3, 0, 100}, [3][]byte{ops(0, 100, 0), nil, bomb[:min(len(bomb), 99)]}, [3]byte{0, 0, 1})), ErrTooLarge},
		{"bzip2 bomb", cat(hdr, rawSeg(100, [3]int{3, 0, 100}, [3][]byte{ops(0, 100, 0), nil, bz.Bytes()}, [3]byte{0, 0, 2})), ErrTooLarge},
		{"corrupt zstd", cat(hdr, rawSeg(100, [3]int{3, 0, 100}, [3][]byte{ops(0, 100, 0), nil, []byte("not zstd")}, [3]byte{0, 0, 1})), ErrMalformed},
		{"corrupt bzip2", cat(hdr, rawSeg(100, [3]int{3, 0, 100}, [3][]byte{ops(0, 100, 0), nil, []byte("BZh9 not bzip2")}, [3]byte{0, 0, 2})), ErrMalformed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := applyBytes(t, old, tc.patch)
			require.Error(t, err)
			require.ErrorIs(t, err, tc.want, "got %v", err)
			var pe *PatchError
			require.True(t, errors.As(err, &pe), "want a *PatchError, got %T", err)
		})
	}
	// The zstd bomb frame must actually be larger than the declared size
	// when whole, so the test exercises the bound, not a short frame.
	require.Less(t, 99, len(bomb)+1)
}

func TestWrongBaseBeforeWriting(t *testing.T) {
	old, nw := genPair("insertions", 100_000, 3)
	patch := diffBytes(t, old, nw, nil)
	other := bytes.Clone(old)
	other[500] ^= 1
	var out bytes.Buffer
	n, err := Apply(t.Context(), &out, bytes.NewReader(other), int64(len(other)), bytes.NewReader(patch), nil)
	require.ErrorIs(t, err, ErrWrongBase)
	require.Zero(t, n)
	require.Zero(t, out.Len(), "nothing may be written for a wrong base")
	_, err = Apply(t.Context(), &out, bytes.NewReader(old[1:]), int64(len(old)-1), bytes.NewReader(patch), nil)
	require.ErrorIs(t, err, ErrWrongBase)
	_, err = Apply(t.Context(), &out, bytes.NewReader(old), int64(len(old)), bytes.NewReader(patch), &ApplyOptions{MaxNewSize: 1000})
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestDiffRefusesHugeInput(t *testing.T) {
	err := Diff(t.Context(), &bytes.Buffer{}, bytes.NewReader(nil), MaxInputSize+1, bytes.NewReader(nil), 0, nil)
	require.ErrorIs(t, err, ErrTooLarge)
}

func TestCancel(t *testing.T) {
	old, nw := genPair("insertions", 3*SegmentSize, 5)
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err := Diff(ctx, &bytes.Buffer{}, bytes.NewReader(old), int64(len(old)), bytes.NewReader(nw), int64(len(nw)), nil)
	require.ErrorIs(t, err, context.Canceled)
}
