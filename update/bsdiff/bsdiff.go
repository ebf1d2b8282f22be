package bsdiff

import (
	"bytes"
	"compress/bzip2"
	"encoding/binary"
	"fmt"
	"io"
	"math"
)

// Magic starts every BSDIFF40 patch.
const Magic = "BSDIFF40"

// HeaderSize is the size of the fixed patch header.
const HeaderSize = 32

// MaxInputSize caps each input of Diff: the suffix sort needs several
// times the old file's size in memory.
const MaxInputSize = 1 << 30

// Header is the fixed 32-byte start of a patch.
type Header struct {
	CtrlLen int64 // compressed size of the control block
	DiffLen int64 // compressed size of the diff block
	NewSize int64 // size of the file the patch produces
}

// Diff returns a BSDIFF40 patch that turns old into new. The output is
// byte-identical to github.com/gabstv/go-bsdiff v1.0.5's and deterministic.
func Diff(old, new []byte) (patch []byte, err error) {
	if len(old) > MaxInputSize || len(new) > MaxInputSize {
		return nil, fmt.Errorf("%w: inputs of %d and %d bytes (max %d)", ErrTooLarge, len(old), len(new), MaxInputSize)
	}
	defer func() {
		if r := recover(); r != nil {
			patch, err = nil, fmt.Errorf("%w: diff engine panicked: %v", ErrInternal, r)
		}
	}()
	p, err := diffBytes(old, new)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInternal, err)
	}
	return p, nil
}

// ReadHeader parses and checks a patch header. NewSize above maxNewSize
// gives ErrTooLarge. A negative maxNewSize is an error matching ErrTooLarge
// (never "no limit"): every caller must know how big the file may get.
func ReadHeader(b []byte, maxNewSize int64) (Header, error) {
	if maxNewSize < 0 {
		return Header{}, errNegativeLimit(maxNewSize)
	}
	if len(b) < HeaderSize {
		return Header{}, corrupt(-1, "patch of %d bytes is shorter than its header", len(b))
	}
	if string(b[:8]) != Magic {
		return Header{}, corrupt(-1, "bad magic %q", b[:8])
	}
	h := Header{CtrlLen: offtin(b[8:]), DiffLen: offtin(b[16:]), NewSize: offtin(b[24:])}
	switch {
	case h.CtrlLen < 0 || h.DiffLen < 0 || h.NewSize < 0:
		return Header{}, corrupt(-1, "negative length in header (ctrl %d, diff %d, new %d)", h.CtrlLen, h.DiffLen, h.NewSize)
	case h.NewSize > maxNewSize:
		return Header{}, &PatchError{Offset: -1, Reason: fmt.Sprintf("new size %d exceeds limit %d", h.NewSize, maxNewSize), Err: ErrTooLarge}
	case h.CtrlLen > int64(len(b))-HeaderSize || h.DiffLen > int64(len(b))-HeaderSize-h.CtrlLen:
		return Header{}, corrupt(-1, "block lengths (ctrl %d, diff %d) exceed the patch's %d bytes", h.CtrlLen, h.DiffLen, len(b))
	}
	return h, nil
}

// MaxPatchSize returns the largest patch Patch reads for a given new-size
// limit: a patch never needs much more than the file it produces, so the
// cap is twice the limit plus 1 MiB. It saturates at math.MaxInt64-1 (so
// Patch's one-byte look-past still fits an int64) instead of overflowing
// for limits near math.MaxInt64/2, and is 0 for a negative limit.
func MaxPatchSize(maxNewSize int64) int64 {
	const slack = 1 << 20
	const ceiling = math.MaxInt64 - 1
	switch {
	case maxNewSize < 0:
		return 0
	case maxNewSize > (ceiling-slack)/2:
		return ceiling
	}
	return 2*maxNewSize + slack
}

func errNegativeLimit(n int64) error {
	return &PatchError{Offset: -1, Reason: fmt.Sprintf("negative new-size limit %d", n), Err: ErrTooLarge}
}

// Patch applies a BSDIFF40 patch to old and returns the new file. The
// patch's declared new size must be at most maxNewSize (the caller knows
// the expected size, for example from a signed manifest); it is checked
// before the output is allocated. At most MaxPatchSize(maxNewSize) bytes
// are read from patch. Hostile patches give an error matching ErrCorrupt
// or ErrTooLarge, never a panic.
func Patch(old []byte, patch io.Reader, maxNewSize int64) (out []byte, err error) {
	if maxNewSize < 0 {
		return nil, errNegativeLimit(maxNewSize)
	}
	limit := MaxPatchSize(maxNewSize)
	var buf bytes.Buffer
	n, err := buf.ReadFrom(io.LimitReader(patch, limit+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading patch: %v", ErrCorrupt, err)
	}
	if n > limit {
		return nil, &PatchError{Offset: -1, Reason: fmt.Sprintf("patch exceeds %d bytes", limit), Err: ErrTooLarge}
	}
	return PatchBytes(old, buf.Bytes(), maxNewSize)
}

// PatchBytes is Patch on a patch held in memory. As with Patch, the
// declared new size must be at most maxNewSize, and a negative maxNewSize
// is an error matching ErrTooLarge, not "no limit": the output is
// allocated from the header's claim, so an unlimited call would let a
// 74-byte patch ask for a terabyte.
func PatchBytes(old, patch []byte, maxNewSize int64) (out []byte, err error) {
	if maxNewSize < 0 {
		return nil, errNegativeLimit(maxNewSize)
	}
	defer func() {
		if r := recover(); r != nil {
			out, err = nil, corrupt(-1, "decoder failure: %v", r)
		}
	}()
	h, err := ReadHeader(patch, maxNewSize)
	if err != nil {
		return nil, err
	}
	ctrlStart := int64(HeaderSize)
	diffStart := ctrlStart + h.CtrlLen
	extraStart := diffStart + h.DiffLen
	// The streams are decoded with compress/bzip2, not the faster dsnet
	// decoder the differ's encoder comes from: dsnet canonicalises an
	// incomplete Huffman table by exploring every code up to 20 bits, so a
	// 39-byte hostile stream cost it over 15 ms of CPU (about 2 ms here),
	// and a patch can hold many such streams' worth of blocks.
	// Any panic a decoder has on hostile input is recovered above and in
	// the prefetchers.
	ctrl := newBz(patch[ctrlStart:diffStart])
	var diff, extra io.Reader = newBz(patch[diffStart:extraStart]), newBz(patch[extraStart:])
	if h.NewSize >= prefetchMin {
		diffP, extraP := newPrefetcher(diff), newPrefetcher(extra)
		defer diffP.close()
		defer extraP.close()
		diff, extra = diffP, extraP
	}

	out = make([]byte, h.NewSize)
	newPos, err := applyControl(out, old, ctrl, diff, extra)
	if err != nil {
		return nil, err
	}
	// Reading each stream to its end checks its CRC and that nothing
	// follows the data the control block used.
	for i, r := range []io.Reader{ctrl, diff, extra} {
		name := [...]string{"control", "diff", "extra"}[i]
		var one [1]byte
		if n, err := io.ReadFull(r, one[:]); n != 0 || err != io.EOF {
			if err == nil || err == io.ErrUnexpectedEOF {
				return nil, corrupt(newPos, "%s block holds unused data", name)
			}
			return nil, corrupt(newPos, "%s block: %v", name, err)
		}
	}
	return out, nil
}

// applyControl runs the control triples read from ctrl until out is full,
// taking diff bytes (added to the old file's) and extra bytes from their
// streams. It returns how much of out it filled. The streams are plain
// readers so the control decoding can be tested and fuzzed without bzip2.
func applyControl(out, old []byte, ctrl, diff, extra io.Reader) (newPos int64, err error) {
	newSize := int64(len(out))
	oldSize := int64(len(old))
	var oldPos int64
	var triple [24]byte
	// Each triple costs decoding 24 control bytes (which compress to
	// almost nothing) plus the bytes it produces, so a hostile patch could
	// spin on triples that produce little or nothing. bsdiff emits a triple
	// only after its match scan has moved at least 9 bytes past the
	// previous one, so a genuine patch needs at most about newSize/9
	// triples and never a run of empty ones: bound both.
	maxTriples := newSize/8 + 1<<16
	const maxEmptyRun = 1 << 10
	emptyRun := 0
	for triples := int64(0); newPos < newSize; triples++ {
		if triples > maxTriples {
			return newPos, corrupt(newPos, "more than %d control triples for %d bytes", maxTriples, newSize)
		}
		if _, err := io.ReadFull(ctrl, triple[:]); err != nil {
			return newPos, corrupt(newPos, "control block: %v", err)
		}
		x, y, z := offtin(triple[0:]), offtin(triple[8:]), offtin(triple[16:])
		if x < 0 || y < 0 {
			return newPos, corrupt(newPos, "negative length in control triple (%d, %d)", x, y)
		}
		if x == 0 && y == 0 {
			if emptyRun++; emptyRun > maxEmptyRun {
				return newPos, corrupt(newPos, "more than %d empty control triples in a row", maxEmptyRun)
			}
		} else {
			emptyRun = 0
		}
		if x > newSize-newPos {
			return newPos, corrupt(newPos, "diff length %d runs past the new size %d", x, newSize)
		}
		if _, err := io.ReadFull(diff, out[newPos:newPos+x]); err != nil {
			return newPos, corrupt(newPos, "diff block: %v", err)
		}
		// Add the old bytes that lie inside the old file; bytes outside
		// count as zero, as in the C bspatch.
		lo, hi := oldPos, oldPos+x
		if lo < 0 {
			lo = 0
		}
		if hi > oldSize {
			hi = oldSize
		}
		for i := lo; i < hi; i++ {
			out[newPos+(i-oldPos)] += old[i]
		}
		newPos += x
		oldPos += x
		if y > newSize-newPos {
			return newPos, corrupt(newPos, "extra length %d runs past the new size %d", y, newSize)
		}
		if _, err := io.ReadFull(extra, out[newPos:newPos+y]); err != nil {
			return newPos, corrupt(newPos, "extra block: %v", err)
		}
		newPos += y
		// Keep the old position within a range where no arithmetic can
		// overflow; a seek far outside the old file is meaningless anyway.
		const bound = 1 << 48
		if z > bound || z < -bound || oldPos+z > bound || oldPos+z < -bound {
			return newPos, corrupt(newPos, "old-file seek %d out of range", z)
		}
		oldPos += z
	}
	return newPos, nil
}

func newBz(b []byte) io.Reader {
	return bzip2.NewReader(bytes.NewReader(b))
}

// offtin decodes bsdiff's sign-magnitude little-endian 64-bit integer.
func offtin(b []byte) int64 {
	v := binary.LittleEndian.Uint64(b[:8])
	mag := int64(v &^ (1 << 63))
	if v&(1<<63) != 0 {
		return -mag
	}
	return mag
}

// offtout encodes x in bsdiff's sign-magnitude form.
func offtout(x int64, b []byte) {
	if x < 0 {
		binary.LittleEndian.PutUint64(b, uint64(-x)|1<<63)
		return
	}
	binary.LittleEndian.PutUint64(b, uint64(x))
}
