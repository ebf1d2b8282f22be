package rootfs_test

import (
	"bytes"
	"context"
	"fmt"
	"strings"

	"github.com/fogkit/fogkit/rootfs"
)

// Build a small initramfs in memory and list it back.
func Example() {
	b := rootfs.New(&rootfs.Options{Compression: rootfs.CompressGzip})
	_ = b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, []byte("#!/bin/sh\nexec sh\n"))
	_ = b.Add(rootfs.Entry{Path: "/dev/console", Type: rootfs.TypeChar, Mode: 0o600, Major: 5, Minor: 1})
	_ = b.Add(rootfs.Entry{Path: "/bin/sh", Type: rootfs.TypeSymlink, Linkname: "busybox"})

	var buf bytes.Buffer
	if _, err := b.WriteTo(&buf); err != nil {
		fmt.Println(err)
		return
	}
	hs, err := rootfs.List(&buf, nil)
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, h := range hs {
		fmt.Println(strings.TrimSpace(fmt.Sprintf("%s %04o %s %s", h.Type, h.Mode, h.Path, h.Linkname)))
	}
	// Output:
	// dir 0755 /bin
	// symlink 0777 /bin/sh busybox
	// dir 0755 /dev
	// char 0600 /dev/console
	// file 0755 /init
}

// A gen_init_cpio list, with ${VAR} expansion in file locations.
func ExampleParseSpec() {
	spec := `# a tiny root
dir /dev 0755 0 0
nod /dev/console 0600 0 0 c 5 1
file /init ${BUILD}/init 0755 0 0 /bin/sh
`
	lines, err := rootfs.ParseSpec(strings.NewReader(spec), &rootfs.SpecOptions{
		Expand: func(k string) (string, bool) { return "/src", k == "BUILD" },
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, l := range lines {
		fmt.Println(l.Line, l.Entry.Type, l.Entry.Path, l.Location, l.Links)
	}
	// Output:
	// 2 dir /dev  []
	// 3 char /dev/console  []
	// 4 file /init /src/init [/bin/sh]
}

// Validation errors name the path.
func ExampleBuilder_Validate() {
	b := rootfs.New(nil)
	_ = b.AddFile(rootfs.Entry{Path: "/init", Mode: 0o644}, []byte("#!/bin/sh\n"))
	fmt.Println(b.Validate())
	// Output:
	// rootfs: /init missing or not executable: /init: /init has mode 0644
}

// A base layer plus an overlay, joined as the kernel accepts them.
func ExampleConcat() {
	base := rootfs.New(&rootfs.Options{Compression: rootfs.CompressZstd})
	_ = base.AddFile(rootfs.Entry{Path: "/init", Mode: 0o755}, []byte("#!/bin/sh\n"))
	_ = base.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte("base\n"))
	overlay := rootfs.New(&rootfs.Options{AllowNoInit: true, OmitParents: true})
	_ = overlay.AddFile(rootfs.Entry{Path: "/etc/motd", Mode: 0o644}, []byte("vendor\n"))

	var b1, b2, all bytes.Buffer
	_, _ = base.Write(context.Background(), &b1)
	_, _ = overlay.Write(context.Background(), &b2)
	n, _ := rootfs.Concat(&all, &b1, &b2)
	hs, _ := rootfs.List(&all, nil)
	fmt.Println(n%512, len(hs))
	for _, h := range hs {
		fmt.Println(h.Member, h.Compression, h.Path)
	}
	// Output:
	// 0 4
	// 0 zstd /etc
	// 0 zstd /etc/motd
	// 0 zstd /init
	// 1 none /etc/motd
}
