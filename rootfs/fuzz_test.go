package rootfs_test

import (
	"bytes"
	"io"
	"testing"

	"github.com/fogkit/fogkit/rootfs"
)

func FuzzReader(f *testing.F) {
	for _, c := range []rootfs.Compression{rootfs.CompressNone, rootfs.CompressGzip, rootfs.CompressZstd} {
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
		_, _ = rootfs.Concat(&cat, bytes.NewReader(buf.Bytes()), bytes.NewReader(buf.Bytes()))
		f.Add(cat.Bytes())
	}
	f.Add([]byte("070701"))
	f.Add([]byte{0x28, 0xb5, 0x2f, 0xfd, 0x04, 0x00, 0x01, 0, 0})
	f.Add([]byte{0x1f, 0x8b, 8, 0})
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
