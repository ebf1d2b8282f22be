package gce

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"os"

	"github.com/klauspost/compress/gzip"
)

// Digest is a SHA-256 digest; it reads and writes as lower-case hex in
// JSON and prints as hex.
type Digest []byte

func (d Digest) String() string { return hex.EncodeToString(d) }

// MarshalText writes the digest as lower-case hex.
func (d Digest) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// Result describes a written archive.
type Result struct {
	Size     int64  `json:"size"`     // bytes of the .tar.gz
	SHA256   Digest `json:"sha256"`   // of those bytes
	DiskSize int64  `json:"diskSize"` // size of disk.raw: the input padded to a whole GiB
	Padding  int64  `json:"padding"`  // zero bytes added after the input
	Sparse   bool   `json:"sparse"`   // written as a GNU sparse entry
	Stored   int64  `json:"stored"`   // bytes of disk.raw stored in the tar
	Regions  int    `json:"regions"`  // data regions of the sparse map
}

// chunk is the granularity of hole detection: a 64 KiB run of zeros
// becomes a hole.
const chunk = 64 << 10

// maxRegions caps the sparse map (16 bytes each in memory, 24 in the
// archive); a disk more fragmented than that is written dense.
const maxRegions = 256 << 10

// Write writes the raw disk src of size bytes as a GCE image archive to w:
// a gzip'd tar in the old GNU format holding one member, disk.raw, the
// disk padded with zeros to a whole GiB. It reads src twice: first to map
// the data (64 KiB runs of zeros become holes of a GNU sparse entry, as
// `tar --format=oldgnu -S` writes them), then to copy it. The output is
// deterministic: same disk, same options, same bytes.
//
// A failed or cancelled write leaves w without the gzip trailer, which no
// gunzip accepts.
func Write(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, o *Options) (*Result, error) {
	c, err := resolve(o, size)
	if err != nil {
		return nil, err
	}
	if f, ok := src.(*os.File); ok {
		if st, err := f.Stat(); err == nil && st.Mode().IsRegular() && st.Size() < size {
			return nil, fmt.Errorf("%w: file %s has %d bytes, size is %d", ErrShortInput, f.Name(), st.Size(), size)
		}
	}
	buf := make([]byte, 1<<20)
	regions := []region{}
	dense := false
	sr := io.NewSectionReader(src, 0, size)
	hs := newHoles(src)
	defer hs.close()
	for off := int64(0); off < size && !dense; {
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		n := min(int64(len(buf)), size-off)
		if hs.hole(off, n) {
			off += n
			if _, err := sr.Seek(off, io.SeekStart); err != nil {
				return nil, err
			}
			c.report("scan", off)
			continue
		}
		if err := readFull(sr, buf[:n]); err != nil {
			return nil, err
		}
		for i := int64(0); i < n; i += chunk {
			b := buf[i:min(n, i+chunk)]
			if isZero(b) {
				continue
			}
			p := off + i
			if k := len(regions); k > 0 && regions[k-1].off+regions[k-1].n == p {
				regions[k-1].n += int64(len(b))
			} else if k < maxRegions {
				regions = append(regions, region{p, int64(len(b))})
			} else {
				dense = true // too fragmented for the map
				break
			}
		}
		off += n
		c.report("scan", off)
	}
	res := &Result{DiskSize: c.padded, Padding: c.padded - size, Sparse: !dense}
	var hdr []byte
	if !dense {
		res.Regions = len(regions)
		// GNU tar ends the map of a file ending in a hole with an empty
		// region at its end.
		m := regions
		if k := len(m); k == 0 || m[k-1].off+m[k-1].n < c.padded {
			m = append(m[:k:k], region{c.padded, 0})
		}
		hdr = header(c.mtime, c.padded, m)
	} else {
		regions = []region{{0, c.padded}}
		hdr = header(c.mtime, c.padded, nil)
	}
	return write(ctx, w, &c, hdr, regions, io.NewSectionReader(src, 0, size), res, buf)
}

// WriteStream is Write for a sequential reader holding exactly size bytes
// of raw disk. A stream cannot be mapped before its header is written, so
// disk.raw is a regular (dense) entry; gzip shrinks its zeros to about a
// thousandth.
func WriteStream(ctx context.Context, w io.Writer, src io.Reader, size int64, o *Options) (*Result, error) {
	c, err := resolve(o, size)
	if err != nil {
		return nil, err
	}
	res := &Result{DiskSize: c.padded, Padding: c.padded - size}
	return write(ctx, w, &c, header(c.mtime, c.padded, nil), []region{{0, c.padded}}, src, res, make([]byte, 1<<20))
}

// write emits header and the regions of the disk: src is read
// sequentially (skipping between regions), bytes past the input are
// zeros.
func write(ctx context.Context, w io.Writer, c *config, hdr []byte, regions []region, src io.Reader, res *Result, buf []byte) (*Result, error) {
	sum := sha256.New()
	cw := &countWriter{w: io.MultiWriter(w, sum)}
	zw, err := gzip.NewWriterLevel(cw, c.level)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	tw := &tarBody{w: zw}
	if err := tw.write(hdr); err != nil {
		return nil, err
	}
	pos := int64(0) // position in src
	for _, r := range regions {
		if r.off > pos {
			if s, ok := src.(io.Seeker); ok {
				if _, err := s.Seek(r.off, io.SeekStart); err != nil {
					return nil, err
				}
			} else if _, err := io.CopyN(io.Discard, src, r.off-pos); err != nil {
				return nil, fmt.Errorf("%w: %v", ErrShortInput, err)
			}
			pos = r.off
		}
		for done := int64(0); done < r.n; {
			if err := ctx.Err(); err != nil {
				return nil, err
			}
			n := min(int64(len(buf)), r.n-done)
			b := buf[:n]
			in := min(n, max(0, c.size-pos))
			if err := readFull(src, b[:in]); err != nil {
				return nil, err
			}
			clear(b[in:])
			pos += in
			if err := tw.write(b); err != nil {
				return nil, err
			}
			done += n
			res.Stored += n
			c.report("write", r.off+done)
		}
	}
	// Pad the member to a block, end the archive with two zero blocks and
	// fill the record, as GNU tar does.
	end := (tw.n+block-1)/block*block + 2*block
	end = (end + record - 1) / record * record
	if err := tw.write(make([]byte, end-tw.n)); err != nil {
		return nil, err
	}
	if err := zw.Close(); err != nil {
		return nil, fmt.Errorf("gce: write: %w", err)
	}
	c.report("write", c.padded)
	res.Size = cw.n
	res.SHA256 = sum.Sum(nil)
	return res, nil
}

type tarBody struct {
	w io.Writer
	n int64
}

func (t *tarBody) write(b []byte) error {
	n, err := t.w.Write(b)
	t.n += int64(n)
	if err != nil {
		return fmt.Errorf("gce: write: %w", err)
	}
	return nil
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(b []byte) (int, error) {
	n, err := c.w.Write(b)
	c.n += int64(n)
	return n, err
}

var zeros = make([]byte, chunk)

func isZero(b []byte) bool { return bytes.Equal(b, zeros[:len(b)]) }

func readFull(r io.Reader, b []byte) error {
	if _, err := io.ReadFull(r, b); err != nil {
		if err == io.EOF || err == io.ErrUnexpectedEOF {
			return fmt.Errorf("%w: %v", ErrShortInput, err)
		}
		return fmt.Errorf("gce: read input: %w", err)
	}
	return nil
}
