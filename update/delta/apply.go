package delta

import (
	"bufio"
	"bytes"
	"compress/bzip2"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"slices"

	"github.com/klauspost/compress/zstd"
)

// ApplyOptions configure Apply. nil means the defaults.
type ApplyOptions struct {
	// MaxNewSize refuses patches that declare a larger new file (default
	// MaxInputSize).
	MaxNewSize int64 `json:"maxNewSize,omitempty"`
	// Progress, when set, gets stage "check" (old file hashed) and "apply"
	// (new bytes written) events.
	Progress func(Event) `json:"-"`
}

// maxCtrl bounds a segment's raw control stream: the differ emits at most
// one operation per minMatch bytes, at most 20 bytes each.
func maxCtrl(newLen int) int { return newLen + 64 }

// maxZeroOps bounds operations in a row that produce nothing.
const maxZeroOps = 16

// Apply reads a patch from patch and writes the new file to w, reading
// the old file (oldSize bytes) through old. It checks the old file's size
// and SHA-256 against the header before writing anything, then streams
// segment by segment: memory is bounded by one segment's streams (a few
// MiB) whatever the file sizes. Every length is checked before use and
// every compressed stream must decode to exactly its declared length, so
// a hostile patch is refused with ErrMalformed or ErrTooLarge instead of
// making Apply allocate, read outside old, or write more than the header
// declares. The patch must end exactly after its last segment. The new
// file's SHA-256 is checked at the end (ErrDigest): what Apply wrote
// before an error must be discarded. It returns the bytes written.
func Apply(ctx context.Context, w io.Writer, old io.ReaderAt, oldSize int64, patch io.Reader, o *ApplyOptions) (int64, error) {
	var opt ApplyOptions
	if o != nil {
		opt = *o
	}
	if opt.MaxNewSize <= 0 || opt.MaxNewSize > MaxInputSize {
		opt.MaxNewSize = MaxInputSize
	}
	progress := func(e Event) {
		if opt.Progress != nil {
			opt.Progress(e)
		}
	}
	br := bufio.NewReaderSize(patch, 64<<10)
	hdr, err := ReadHeader(br)
	if err != nil {
		return 0, err
	}
	if hdr.NewSize > opt.MaxNewSize {
		return 0, perr(ErrTooLarge, -1, "new size %d above the limit %d", hdr.NewSize, opt.MaxNewSize)
	}
	if hdr.OldSize != oldSize {
		return 0, perr(ErrWrongBase, -1, "old file has %d bytes, patch wants %d", oldSize, hdr.OldSize)
	}
	// The base is checked whole before the first byte is written.
	oh := sha256.New()
	buf := make([]byte, 1<<20)
	for off := int64(0); off < oldSize; {
		if err := ctx.Err(); err != nil {
			return 0, err
		}
		k := min(int64(len(buf)), oldSize-off)
		if _, err := old.ReadAt(buf[:k], off); err != nil && !(err == io.EOF && off+k == oldSize) {
			return 0, fmt.Errorf("delta: reading old file: %w", err)
		}
		oh.Write(buf[:k])
		off += k
		progress(Event{Stage: "check", Done: off, Total: oldSize})
	}
	if !bytes.Equal(oh.Sum(nil), hdr.OldSHA256[:]) {
		return 0, perr(ErrWrongBase, -1, "old file is sha256:%x, patch wants sha256:%s", oh.Sum(nil), hdr.OldDigest())
	}
	buf = nil
	dec, err := zstd.NewReader(nil, zstd.WithDecoderConcurrency(1), zstd.WithDecoderLowmem(true),
		zstd.WithDecoderMaxWindow(SegmentSize), zstd.WithDecoderMaxMemory(SegmentSize+64))
	if err != nil {
		return 0, err
	}
	defer dec.Close()
	a := &applier{ctx: ctx, br: br, old: old, oldSize: oldSize, dec: dec}
	nh := sha256.New()
	var done int64
	for done < hdr.NewSize {
		if err := ctx.Err(); err != nil {
			return done, err
		}
		seg, err := a.segment(done, hdr.NewSize-done)
		if err != nil {
			return done, err
		}
		nh.Write(seg)
		if _, err := w.Write(seg); err != nil {
			return done, err
		}
		done += int64(len(seg))
		progress(Event{Stage: "apply", Done: done, Total: hdr.NewSize})
	}
	if _, err := br.ReadByte(); err != io.EOF {
		if err == nil {
			return done, perr(ErrMalformed, done, "data after the last segment")
		}
		return done, perr(ErrMalformed, done, "reading patch end: %v", err)
	}
	if !bytes.Equal(nh.Sum(nil), hdr.NewSHA256[:]) {
		return done, perr(ErrDigest, -1, "new file is sha256:%x, patch declares sha256:%s", nh.Sum(nil), hdr.NewDigest())
	}
	return done, nil
}

type applier struct {
	ctx     context.Context
	br      *bufio.Reader
	old     io.ReaderAt
	oldSize int64
	dec     *zstd.Decoder
	// Reused across segments, so memory stays at one segment's worth.
	z, raw [3][]byte
	out    []byte
}

func (a *applier) uvarint(off int64, what string) (int, error) {
	v, err := binary.ReadUvarint(a.br)
	if err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return 0, perr(ErrMalformed, off, "%s: %v", what, err)
	}
	if v > 1<<40 {
		return 0, perr(ErrTooLarge, off, "%s %d", what, v)
	}
	return int(v), nil
}

// segment reads, checks and applies the next segment; at most left bytes
// of new file remain.
func (a *applier) segment(off, left int64) ([]byte, error) {
	newLen, err := a.uvarint(off, "segment length")
	if err != nil {
		return nil, err
	}
	if newLen == 0 || newLen > SegmentSize || int64(newLen) > left {
		return nil, perr(ErrMalformed, off, "segment of %d bytes (at most %d, %d left)", newLen, SegmentSize, left)
	}
	var rawLen, zLen [3]int
	var method [3]byte
	for i, name := range []string{"control", "diff", "literal"} {
		if rawLen[i], err = a.uvarint(off, name+" length"); err != nil {
			return nil, err
		}
		if zLen[i], err = a.uvarint(off, name+" stored length"); err != nil {
			return nil, err
		}
		m, err := a.br.ReadByte()
		if err != nil {
			return nil, perr(ErrMalformed, off, "%s method: %v", name, err)
		}
		method[i] = m
		switch {
		case m > methodBzip2:
			return nil, perr(ErrMalformed, off, "%s stream method %d", name, m)
		case (m == methodRaw) != (zLen[i] == rawLen[i]), zLen[i] > rawLen[i], (zLen[i] == 0) != (rawLen[i] == 0):
			return nil, perr(ErrMalformed, off, "%s stream stored in %d bytes for %d (method %d)", name, zLen[i], rawLen[i], m)
		}
	}
	if rawLen[0] > maxCtrl(newLen) {
		return nil, perr(ErrTooLarge, off, "control stream of %d bytes for a %d-byte segment", rawLen[0], newLen)
	}
	if rawLen[1]+rawLen[2] != newLen {
		return nil, perr(ErrMalformed, off, "diff %d + literal %d bytes for a %d-byte segment", rawLen[1], rawLen[2], newLen)
	}
	var s [3][]byte
	for i := range 3 {
		// Buffers grow with what the patch really holds, not with what
		// it declares: a short hostile patch costs little.
		zb := bytes.NewBuffer(a.z[i][:0])
		if _, err := zb.ReadFrom(io.LimitReader(a.br, int64(zLen[i]))); err != nil {
			return nil, perr(ErrMalformed, off, "stream %d: %v", i, err)
		}
		z := zb.Bytes()
		a.z[i] = z
		if len(z) != zLen[i] {
			return nil, perr(ErrMalformed, off, "stream %d: %v", i, io.ErrUnexpectedEOF)
		}
		if method[i] == methodRaw {
			s[i] = z
			continue
		}
		d, kind, err := a.decode(method[i], z, a.raw[i][:0], rawLen[i])
		if err != nil {
			return nil, perr(kind, off, "stream %d: %v", i, err)
		}
		a.raw[i] = d
		s[i] = d
	}
	ctrl, diff, lit := s[0], s[1], s[2]
	out := a.out[:0]
	var oldPos int64
	zeros := 0
	for len(out) < newLen {
		at := off + int64(len(out))
		add, k1 := binary.Uvarint(ctrl)
		if k1 <= 0 {
			return nil, perr(ErrMalformed, at, "control stream ends early")
		}
		ctrl = ctrl[k1:]
		litN, k2 := binary.Uvarint(ctrl)
		if k2 <= 0 {
			return nil, perr(ErrMalformed, at, "control stream ends early")
		}
		ctrl = ctrl[k2:]
		seek, k3 := binary.Varint(ctrl)
		if k3 <= 0 {
			return nil, perr(ErrMalformed, at, "control stream ends early")
		}
		ctrl = ctrl[k3:]
		room := uint64(newLen - len(out))
		if add > room || litN > room-add {
			return nil, perr(ErrMalformed, at, "operation of %d+%d bytes, %d left in segment", add, litN, room)
		}
		if add > uint64(len(diff)) || litN > uint64(len(lit)) {
			return nil, perr(ErrMalformed, at, "operation needs more diff or literal bytes than the segment has")
		}
		if add == 0 && litN == 0 {
			if zeros++; zeros > maxZeroOps {
				return nil, perr(ErrMalformed, at, "too many empty operations")
			}
		} else {
			zeros = 0
		}
		if int64(add) > a.oldSize-oldPos {
			return nil, perr(ErrMalformed, at, "copy of %d bytes from old offset %d beyond its %d bytes", add, oldPos, a.oldSize)
		}
		if add > 0 {
			n := len(out)
			out = slices.Grow(out, int(add))[:n+int(add)]
			if _, err := a.old.ReadAt(out[n:], oldPos); err != nil && !(err == io.EOF && oldPos+int64(add) == a.oldSize) {
				return nil, fmt.Errorf("delta: reading old file: %w", err)
			}
			for j, d := range diff[:add] {
				out[n+j] += d
			}
			diff = diff[add:]
			oldPos += int64(add)
		}
		out = append(out, lit[:litN]...)
		lit = lit[litN:]
		if seek < -oldPos || seek > a.oldSize-oldPos {
			return nil, perr(ErrMalformed, at, "seek %d from old offset %d outside the old file", seek, oldPos)
		}
		oldPos += seek
	}
	if len(ctrl) != 0 || len(diff) != 0 || len(lit) != 0 {
		return nil, perr(ErrMalformed, off, "segment streams hold unused data")
	}
	a.out = out
	return out, nil
}

// decode expands one stored stream into dst, which must come out exactly
// n bytes long: the decoders stop at n+1 bytes, so a stream that expands
// further (a decompression bomb) costs no more than its declared size.
func (a *applier) decode(method byte, z, dst []byte, n int) (d []byte, kind error, err error) {
	if method == methodZstd {
		d, err = a.dec.DecodeAll(z, dst)
		if err != nil {
			if errors.Is(err, zstd.ErrDecoderSizeExceeded) || errors.Is(err, zstd.ErrWindowSizeExceeded) {
				return nil, ErrTooLarge, err
			}
			return nil, ErrMalformed, fmt.Errorf("zstd: %v", err)
		}
		if len(d) != n {
			return nil, ErrTooLarge, fmt.Errorf("decodes to %d bytes, declared %d", len(d), n)
		}
		return d, nil, nil
	}
	// bzip2: compress/bzip2's work is linear in its input and output.
	buf := bytes.NewBuffer(dst)
	if _, err := buf.ReadFrom(io.LimitReader(bzip2.NewReader(bytes.NewReader(z)), int64(n)+1)); err != nil {
		return nil, ErrMalformed, fmt.Errorf("bzip2: %v", err)
	}
	switch d = buf.Bytes(); {
	case len(d) > n:
		return nil, ErrTooLarge, fmt.Errorf("bzip2 stream decodes to more than %d bytes", n)
	case len(d) < n:
		return nil, ErrMalformed, fmt.Errorf("bzip2 stream decodes to %d bytes, declared %d", len(d), n)
	}
	return d, nil, nil
}
