package rootfs_test

import (
	"bytes"
	"compress/gzip"
	"errors"
	"fmt"
	"io"
	"testing"

	"github.com/fogkit/fogkit/rootfs"
)

// archiveSeeds adds small archives of each compression, alone and
// concatenated, and a few broken starts.
func archiveSeeds(f *testing.F) {
	// Uncompressed seeds are written by hand, without the writer's
	// 512-byte padding: the fuzzer's minimizer is quadratic in the input
	// length, and kilobyte seeds stall it.
	raw := bytes.Join([][]byte{
		newcEntry("init", 0o100755, 10), []byte("#!/bin/sh\n\x00\x00"),
		newcEntry("dev", 0o40755, 0), newcEntry("dev/console", 0o20600, 0),
		newcEntry("bin/sh", 0o120777, 5), []byte("/init\x00\x00\x00"),
		newcTrailer,
	}, nil)
	f.Add(raw)
	f.Add(append(append([]byte{}, raw...), raw...))
	for _, c := range []rootfs.Compression{rootfs.CompressGzip, rootfs.CompressZstd} {
		b := rootfs.New(&rootfs.Options{Compression: c})
		_ = b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, []byte("#!/bin/sh\n"))
		_ = b.Add(rootfs.Entry{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1})
		_ = b.Add(rootfs.Entry{Path: "/bin/sh", Type: rootfs.TypeSymlink, Linkname: "/init"})
		_ = b.Add(rootfs.Entry{Path: "/sh2", Type: rootfs.TypeHardlink, Linkname: "/init"})
		var buf bytes.Buffer
		if _, err := b.WriteTo(&buf); err != nil {
			f.Fatal(err)
		}
		f.Add(buf.Bytes())
		var cat bytes.Buffer
		_, _ = rootfs.Concat(&cat, bytes.NewReader(buf.Bytes()), bytes.NewReader(raw))
		f.Add(cat.Bytes())
	}
	f.Add([]byte("070701"))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x01, 0, 0})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
	f.Add(zstdFrame(append(newcEntry("a", 0o40755, 0), newcTrailer...), zeroRun(300), newcEntry("b", 0o100644, 0)))
	f.Add(append(append(newcEntry("x/orphan", 0o100644, 0), newcTrailer...), make([]byte, 60)...))
}

func FuzzReader(f *testing.F) {
	archiveSeeds(f)
	f.Fuzz(func(t *testing.T, in []byte) {
		r := rootfs.NewReader(bytes.NewReader(in), &rootfs.ReaderOptions{MaxEntries: 1000, MaxBytes: 4 << 20})
		for i := 0; ; i++ {
			h, err := r.Next()
			if err != nil {
				if i > 1000 && err == io.EOF {
					t.Fatal("entry limit not enforced")
				}
				return
			}
			if c, err := rootfs.CleanPath(h.Path); err != nil || c != h.Path {
				t.Fatalf("unclean path %q", h.Path)
			}
			n, err := io.Copy(io.Discard, r)
			if err == nil && n != h.Size {
				t.Fatalf("%s: read %d of %d bytes", h.Path, n, h.Size)
			}
		}
	})
}

// expandArchive builds an archive from a compact description, so that
// FuzzInspect explores layering, orphans and hard links with inputs of a
// few dozen bytes (FuzzReader covers the raw format). in[0] picks the
// compression (none, gzip, zstd); then each entry is a type byte (low 3
// bits: file, dir, symlink, char device, FIFO, hard-linked file; the rest
// the inode), a name length, the name, a data length and the data. A type
// byte of 0xff ends the member and starts another.
func expandArchive(in []byte) []byte {
	if len(in) == 0 {
		return nil
	}
	modes := []uint32{0o100644, 0o40755, 0o120777, 0o20600, 0o10644, 0o100755, 0o100600, 0o40700}
	comp := in[0] % 3
	in = in[1:]
	take := func(n int) []byte {
		n = min(n, len(in))
		b := in[:n]
		in = in[n:]
		return b
	}
	next := func() int {
		if len(in) == 0 {
			return 0
		}
		return int(take(1)[0])
	}
	var out, member bytes.Buffer
	flush := func() {
		member.Write(newcTrailer)
		switch comp {
		case 1:
			zw := gzip.NewWriter(&out)
			zw.Write(member.Bytes())
			zw.Close()
		case 2:
			out.Write(zstdFrame(member.Bytes()))
		default:
			out.Write(member.Bytes())
		}
		for out.Len()%4 != 0 {
			out.WriteByte(0)
		}
		member.Reset()
	}
	for len(in) > 0 {
		t := byte(next())
		if t == 0xff {
			flush()
			continue
		}
		name := string(take(next() % 64))
		if name == "" {
			name = "x"
		}
		size := take(next())
		nlink := uint32(1)
		if t&7 == 5 {
			nlink = 2
		}
		fmt.Fprintf(&member, "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
			uint32(t>>3), modes[t&7], 0, 0, nlink, 0, len(size), 0, 0, 5, 1, len(name)+1, 0)
		member.WriteString(name)
		member.WriteByte(0)
		for member.Len()%4 != 0 {
			member.WriteByte(0)
		}
		member.Write(size)
		for member.Len()%4 != 0 {
			member.WriteByte(0)
		}
	}
	flush()
	return out.Bytes()
}

// sentinels are the errors bad input may produce.
var sentinels = []error{rootfs.ErrFormat, rootfs.ErrLimit, rootfs.ErrCompression, rootfs.ErrName,
	rootfs.ErrHardlink, rootfs.ErrNotDir, rootfs.ErrDevice, rootfs.ErrTooLarge, rootfs.ErrType}

func typed(err error) bool {
	for _, s := range sentinels {
		if errors.Is(err, s) {
			return true
		}
	}
	return false
}

// FuzzInspect: Inspect, List and AddArchive fail only with typed errors,
// hold to their limits, and agree on the entries of what they accept.
func FuzzInspect(f *testing.F) {
	f.Add([]byte("\x00\x01\x03dev\x00\x03\x0bdev/console\x00\x00\x04init\x03#!\n\x02\x06bin/sh\x05/init"))
	f.Add([]byte("\x01\x05\x01a\x02hi\x0d\x01b\x00\xff\x01\x01d\x00\x00\x03d/f\x01z"))
	f.Add([]byte("\x02\x00\x03x/y\x00\x00\x03x/z\x00\x02\x01l\x03../"))
	f.Fuzz(func(t *testing.T, compact []byte) {
		in := expandArchive(compact)
		opts := &rootfs.ReaderOptions{MaxEntries: 100, MaxBytes: 1 << 20, MaxPadding: 1024, MaxNameBytes: 256, MaxOrphans: 4}
		hs, lerr := rootfs.List(bytes.NewReader(in), opts)
		if lerr != nil && !typed(lerr) {
			t.Fatalf("List: untyped error %v", lerr)
		}
		rep, ierr := rootfs.Inspect(bytes.NewReader(in), opts)
		if ierr != nil && !typed(ierr) {
			t.Fatalf("Inspect: untyped error %v", ierr)
		}
		if len(rep.Orphans) > opts.MaxOrphans {
			t.Fatalf("%d orphans listed", len(rep.Orphans))
		}
		if lerr == nil && ierr == nil && rep.Entries != len(hs) {
			t.Fatalf("Inspect counts %d entries, List %d", rep.Entries, len(hs))
		}
		b := rootfs.New(&rootfs.Options{AllowNoInit: true})
		if err := b.AddArchive(t.Context(), bytes.NewReader(in), opts); err != nil {
			if !typed(err) {
				t.Fatalf("AddArchive: untyped error %v", err)
			}
			return
		}
		if lerr != nil && !errors.Is(lerr, rootfs.ErrLimit) {
			t.Fatalf("AddArchive accepts what List rejects: %v", lerr)
		}
		if _, err := b.WriteTo(io.Discard); err != nil && !typed(err) {
			t.Fatalf("writing an imported archive: %v", err)
		}
	})
}

func FuzzParseSpec(f *testing.F) {
	f.Add("# comment\ndir /dev 0755 0 0\nnod /dev/console 0600 0 0 c 5 1\n")
	f.Add("file /init ${SRC}/init 0755 0 0 /bin/sh /sbin/init\nslink /bin/ls busybox 0777 0 0\n")
	f.Add("pipe /run/p 0600 0 0\nsock /run/s 0600 0 0\nnod /dev/sda 0600 0 0 b 8 0\n")
	f.Add("dir /x 0755 0 0 0\n")
	f.Add("file /x ${A}${B}/c 0644 1000 1000")
	f.Fuzz(func(t *testing.T, spec string) {
		lines, err := rootfs.ParseSpec(bytes.NewReader([]byte(spec)), &rootfs.SpecOptions{
			Expand: func(k string) (string, bool) { return "/v/" + k, k != "" && len(k) < 8 },
		})
		if err != nil {
			return
		}
		for _, l := range lines {
			if c, err := rootfs.CleanPath(l.Entry.Path); err != nil || c != l.Entry.Path {
				t.Fatalf("line %d: unclean path %q", l.Line, l.Entry.Path)
			}
			if l.Entry.Mode > 0o7777 {
				t.Fatalf("line %d: mode %o", l.Line, l.Entry.Mode)
			}
		}
	})
}
