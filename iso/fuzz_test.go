package iso_test

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"io"
	"runtime/debug"
	"testing"

	"github.com/fogkit/fogkit/iso"
)

// The fuzzer works on the parts of a tiny image that hold structures,
// small enough to mutate and minimize quickly: sys (the MBR, the GPT
// header and its first four entries), vds (the first 256 bytes of blocks
// 16 to 18: the volume descriptors), meta (the first 256 bytes of each
// block from the catalog to the first file: catalog, path tables,
// directories) and gpt2 (the backup GPT header). The image is sizeKiB KiB,
// zeros past the tiny image's data and before its backup GPT, so that it
// can declare sizes up to 4 TiB without allocating them.

type sparseImage struct {
	head, tail []byte
	size       int64
}

func (s *sparseImage) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 {
		return 0, errors.New("negative offset")
	}
	if off >= s.size {
		return 0, io.EOF
	}
	n := len(p)
	var err error
	if int64(n) > s.size-off {
		n, err = int(s.size-off), io.EOF
	}
	clear(p[:n])
	if off < int64(len(s.head)) {
		copy(p[:n], s.head[off:])
	}
	ts := s.size - int64(len(s.tail))
	if off+int64(n) > ts {
		from := max(off, ts)
		copy(p[from-off:n], s.tail[from-ts:])
	}
	return n, err
}

// tinySpec fits every structure in the first 64 KiB.
func tinySpec() *iso.Spec {
	r := func(name string, b []byte) iso.File {
		return iso.File{Name: name, R: bytes.NewReader(b), Size: int64(len(b))}
	}
	efi := r("", bytes.Repeat([]byte{0xef}, 4096))
	return &iso.Spec{EFI: &efi, BIOS: &iso.BIOS{Loader: r("", bytes.Repeat([]byte{0x42}, 2048)), HybridMBR: make([]byte, 432)},
		Files: []iso.File{r("a/b.txt", []byte("b")), r("c/d/e", []byte("e")), r("z", nil)}}
}

const (
	fuzzHead = 128 << 10 // the tiny image's structures and data
	fuzzTail = 18 << 10  // its backup GPT
)

// fuzzBase is the tiny image and where its metadata blocks are.
func fuzzBase(t testing.TB) (img []byte, metaFrom, metaTo int) {
	var buf bytes.Buffer
	if _, err := iso.Write(context.Background(), &buf, tinySpec(), nil); err != nil {
		t.Fatal(err)
	}
	img = buf.Bytes()
	info := openBytes(t, img).Info()
	metaTo = len(img) / 2048
	for _, f := range info.Files {
		if !f.Dir && f.Size > 0 {
			metaTo = min(metaTo, int(f.LBA))
		}
	}
	return img, int(info.CatalogLBA), metaTo
}

// fuzzParts cuts the parts out of an image.
func fuzzParts(img []byte, metaFrom, metaTo int) (sys, vds, meta, gpt2 []byte) {
	sys = bytes.Clone(img[:1536])
	for b := 16; b < 19; b++ {
		vds = append(vds, img[b*2048:b*2048+256]...)
	}
	for b := metaFrom; b < metaTo; b++ {
		meta = append(meta, img[b*2048:b*2048+256]...)
	}
	gpt2 = bytes.Clone(img[len(img)-512 : len(img)-512+128])
	return
}

// fuzzBuf is the image buffer the fuzz body fills afresh at every call
// (the calls of a worker are sequential).
var fuzzBuf = make([]byte, fuzzHead+fuzzTail)

// fuzzImage puts the parts into the tiny image.
func fuzzImage(base []byte, metaFrom, metaTo int, sys, vds, meta, gpt2 []byte, sizeKiB uint32) *sparseImage {
	head, tail := fuzzBuf[:fuzzHead], fuzzBuf[fuzzHead:]
	copy(head, base)
	copy(tail, base[len(base)-fuzzTail:])
	copy(head, sys[:min(len(sys), 1536)])
	for i := 0; i < 3 && i*256 < len(vds); i++ {
		copy(head[(16+i)*2048:(16+i)*2048+256], vds[i*256:])
	}
	for i := 0; metaFrom+i < metaTo && i*256 < len(meta); i++ {
		copy(head[(metaFrom+i)*2048:(metaFrom+i)*2048+256], meta[i*256:])
	}
	copy(tail[fuzzTail-512:fuzzTail-512+128], gpt2)
	size := int64(sizeKiB) << 10
	if size < fuzzHead+fuzzTail {
		// A short image: the tiny one cut at size, no backup GPT.
		return &sparseImage{head: head[:min(size, fuzzHead)], size: size}
	}
	return &sparseImage{head: head, tail: tail, size: size}
}

func FuzzOpen(f *testing.F) {
	quietGC()
	base, from, to := fuzzBase(f)
	sys, vds, meta, gpt2 := fuzzParts(base, from, to)
	f.Add(sys, vds, meta, gpt2, uint32(len(base)>>10))
	f.Add(sys, vds, meta, gpt2, uint32(64))
	f.Add(sys, vds, meta, gpt2, uint32(1<<30))
	f.Add(sys, vds, meta[:len(meta)/2], gpt2, uint32(len(base)>>10))
	f.Add(sys[:512], vds, meta, []byte{}, uint32(len(base)>>10))
	f.Fuzz(func(t *testing.T, sys, vds, meta, gpt2 []byte, sizeKiB uint32) {
		img := fuzzImage(base, from, to, sys, vds, meta, gpt2, sizeKiB)
		im, err := iso.Open(img, img.size)
		checkErr(t, err)
		if err == nil {
			info := im.Info()
			for _, fi := range info.Files {
				if fi.Dir {
					continue
				}
				sr, err := im.Open(fi.Name)
				checkErr(t, err)
				if err == nil {
					_, _ = io.Copy(io.Discard, io.LimitReader(sr, 64<<10))
				}
			}
		}
		rep, err := iso.Inspect(context.Background(), img, img.size)
		if err != nil {
			t.Fatalf("Inspect: %v", err)
		}
		if (rep.Info == nil) != (im == nil) {
			t.Fatalf("Inspect and Open disagree: %+v", rep.Findings)
		}
	})
}

// quietGC makes the fuzz workers collect garbage less often.
func quietGC() {
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		debug.SetGCPercent(2000)
	}
}

// checkErr fails on an error that matches none of the sentinels.
func checkErr(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	for _, s := range []error{iso.ErrMalformed, iso.ErrChecksum, iso.ErrUnsupported, iso.ErrTooLarge, iso.ErrTruncated} {
		if errors.Is(err, s) {
			return
		}
	}
	t.Fatalf("error matches no sentinel: %v", err)
}
