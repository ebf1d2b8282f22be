package main

import (
	"bytes"
	"io"

	"github.com/klauspost/compress/gzip"
	"github.com/klauspost/compress/zstd"

	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/vhd"
)

// The kinds of file inspect tells apart, by content.
const (
	kindOVA      = "ova"
	kindVMDK     = "vmdk"
	kindQCOW2    = "qcow2"
	kindVHD      = "vhd"
	kindVHDX     = "vhdx"
	kindISO      = "iso"
	kindGCE      = "gce"
	kindDisk     = "disk" // a raw GPT disk
	kindCPIO     = "cpio" // an initramfs, plain or compressed
	kindLicense  = "license"
	kindUpdate   = "update"
	kindSupport  = "support" // a plain (admin-saved) support bundle
	kindBackup   = "backup"  // passphrase-encrypted: only backups are
	kindOpenPGP  = "openpgp" // encrypted to a key: a support bundle or a backup
	kindUnknown  = "unknown"
	sniffHead    = 64 << 10
	isoDescStart = 0x8001 // "CD001" of the first volume descriptor
	gptHeaderAt  = 512    // "EFI PART" with 512-byte sectors
)

// detect names the kind of the file r (size bytes) from magic bytes alone:
// the name never decides.
func detect(r io.ReaderAt, size int64) string {
	head := make([]byte, min(size, sniffHead))
	n, _ := r.ReadAt(head, 0)
	head = head[:n]
	var tail []byte
	if size >= vhd.FooterSize {
		tail = make([]byte, vhd.FooterSize)
		if _, err := r.ReadAt(tail, size-vhd.FooterSize); err != nil && err != io.EOF {
			tail = nil
		}
	}
	has := func(off int, magic string) bool {
		return len(head) >= off+len(magic) && string(head[off:off+len(magic)]) == magic
	}
	switch {
	case has(0, "QFI\xfb"):
		return kindQCOW2
	case has(0, "vhdxfile"):
		return kindVHDX
	case has(0, "KDMV"), has(0, "# Disk DescriptorFile"):
		return kindVMDK
	case has(0, "conectix"), bytes.HasPrefix(tail, []byte("conectix")):
		return kindVHD
	case has(0, "-----BEGIN FOGKIT LICENSE-----"):
		return kindLicense
	case has(0, "07070"):
		return kindCPIO
	case has(isoDescStart, "CD001"):
		// Before GPT: a hybrid ISO carries a partition table too.
		return kindISO
	case has(gptHeaderAt, "EFI PART"):
		return kindDisk
	case has(257, "ustar"):
		if has(0, update.MemberMarker+"\x00") {
			return kindUpdate
		}
		return kindOVA
	case has(0, "\x1f\x8b"):
		return compressedKind(head, true)
	case has(0, "\x28\xb5\x2f\xfd"):
		return compressedKind(head, false)
	case has(0, "-----BEGIN PGP MESSAGE-----"):
		return kindOpenPGP
	case len(head) > 0 && head[0]&0x80 != 0:
		return openPGPKind(head[0])
	}
	return kindUnknown
}

// compressedKind looks inside a gzip or zstd stream: a cpio archive is an
// initramfs, a gzip'd tar a GCE image, a zstd tar a plain support bundle.
func compressedKind(head []byte, isGzip bool) string {
	var inner []byte
	if isGzip {
		if zr, err := gzip.NewReader(bytes.NewReader(head)); err == nil {
			inner, _ = io.ReadAll(io.LimitReader(zr, 512))
		}
	} else if zr, err := zstd.NewReader(bytes.NewReader(head), zstd.WithDecoderMaxMemory(64<<20)); err == nil {
		inner, _ = io.ReadAll(io.LimitReader(zr, 512))
		zr.Close()
	}
	switch {
	case bytes.HasPrefix(inner, []byte("07070")):
		return kindCPIO
	case len(inner) >= 262 && string(inner[257:262]) == "ustar" && isGzip:
		return kindGCE
	case len(inner) >= 262 && string(inner[257:262]) == "ustar":
		return kindSupport
	}
	return kindUnknown
}

// openPGPKind reads the first packet's tag of a binary OpenPGP message: a
// symmetric-key session key (tag 3) means a passphrase, which only
// backups use; a public-key one (tag 1) a message to a key.
func openPGPKind(b byte) string {
	tag := b & 0x3f // new format
	if b&0x40 == 0 {
		tag = (b >> 2) & 0x0f // old format
	}
	switch tag {
	case 3:
		return kindBackup
	case 1:
		return kindOpenPGP
	}
	return kindUnknown
}
