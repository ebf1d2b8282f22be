package disk

import (
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc32"
	"io"
	"os"
	"sort"
	"strings"
	"sync"
	"unicode/utf16"
)

// ESPType is the GPT partition type GUID of an EFI System Partition.
const ESPType = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"

// Image is a built disk opened for inspection: its partition table and the
// files of its EFI System Partition. Everything read is bounds-checked, so
// Open is safe on untrusted images.
type Image struct {
	Layout Layout
	fat    *fatFS

	once  sync.Once
	files []treeFile // every regular file, in walk order
	err   error      // the walk's error
}

// treeFile is a regular file found by the walk.
type treeFile struct {
	path string
	e    fatEntry
}

// tree walks the ESP once (see walker for its bounds) and keeps the
// regular files for Files, OpenFile and ReadFile.
func (im *Image) tree() ([]treeFile, error) {
	im.once.Do(func() {
		im.err = im.fat.walk(func(p string, e fatEntry) error {
			if !e.isDir() && !e.isLabel() && !e.isDot() {
				im.files = append(im.files, treeFile{p, e})
			}
			return nil
		})
		if im.err != nil {
			im.files = nil
		}
	})
	return im.files, im.err
}

// Open reads the GPT of the image r (of size bytes) and the FAT32 file
// system of its first EFI System Partition.
func Open(r io.ReaderAt, size int64) (*Image, error) {
	l, err := readGPT(r, size)
	if err != nil {
		return nil, err
	}
	im := &Image{Layout: *l}
	for _, p := range l.Partitions {
		if p.Type != ESPType {
			continue
		}
		im.fat, err = openFAT(r, p.Offset, p.Size)
		if err != nil {
			return nil, err
		}
		im.Layout.VolumeID = fmt.Sprintf("%04X-%04X", im.fat.volID>>16, im.fat.volID&0xffff)
		return im, nil
	}
	return nil, &FormatError{What: "gpt", Reason: "no EFI System Partition", Err: ErrMalformed}
}

// Inspect opens the image and lists its ESP files with their sha256.
func Inspect(r io.ReaderAt, size int64) (*Result, error) {
	im, err := Open(r, size)
	if err != nil {
		return nil, err
	}
	files, err := im.Files()
	if err != nil {
		return nil, err
	}
	return &Result{Layout: im.Layout, Files: files}, nil
}

// InspectFile is Inspect on an image file.
func InspectFile(path string) (*Result, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return Inspect(f, st.Size())
}

// Files lists every regular file on the ESP, sorted by path, reading each
// to compute its sha256. The walk has given every file its own clusters,
// so the bytes hashed never exceed the partition.
func (im *Image) Files() ([]FileInfo, error) {
	files, err := im.tree()
	if err != nil {
		return nil, err
	}
	var total int64
	for _, f := range files {
		if total += int64(f.e.size); total > im.fat.size {
			return nil, treeErr(f.path, 0, ErrMalformed, "files add up to more than the partition's %d bytes", im.fat.size)
		}
	}
	out := make([]FileInfo, 0, len(files))
	var buf []byte // one copy buffer for all files
	for _, f := range files {
		r, err := im.fat.fileReader(f.path, f.e)
		if err != nil {
			return nil, err
		}
		if len(buf) < min(int(f.e.size), 64<<10) {
			buf = make([]byte, min(int(f.e.size), 64<<10))
		}
		h := sha256.New()
		// Hiding the MultiReader's WriteTo makes CopyBuffer use buf
		// instead of a fresh 32 KiB buffer per cluster run.
		n, err := io.CopyBuffer(h, struct{ io.Reader }{r}, buf)
		if err != nil {
			return nil, treeErr(f.path, 0, ErrMalformed, "read: %v", err)
		}
		out = append(out, FileInfo{Path: f.path, Size: n, SHA256: hex.EncodeToString(h.Sum(nil))})
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Path < out[j].Path })
	return out, nil
}

// find looks a path up case-insensitively, as FAT does.
func (im *Image) find(name string) (treeFile, error) {
	name = strings.Trim(strings.ReplaceAll(name, "\\", "/"), "/")
	files, err := im.tree()
	if err != nil {
		return treeFile{}, err
	}
	for _, f := range files {
		if strings.EqualFold(f.path, name) {
			return f, nil
		}
	}
	return treeFile{}, fmt.Errorf("%w: %s", ErrNotFound, name)
}

// OpenFile returns a reader of the ESP file name ("/" or "\" separated,
// case-insensitive) and its size.
func (im *Image) OpenFile(name string) (io.Reader, int64, error) {
	f, err := im.find(name)
	if err != nil {
		return nil, 0, err
	}
	r, err := im.fat.fileReader(f.path, f.e)
	return r, int64(f.e.size), err
}

// ReadFile returns the content of the ESP file name; files over 1 GiB are
// refused (use OpenFile).
func (im *Image) ReadFile(name string) ([]byte, error) {
	r, n, err := im.OpenFile(name)
	if err != nil {
		return nil, err
	}
	if n > 1<<30 {
		return nil, fmt.Errorf("%w: %s is %d bytes", ErrTooLarge, name, n)
	}
	b := make([]byte, n)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, treeErr(strings.Trim(strings.ReplaceAll(name, "\\", "/"), "/"), 0, ErrMalformed, "read: %v", err)
	}
	return b, nil
}

func gptErr(format string, a ...any) error {
	return &FormatError{What: "gpt", Reason: fmt.Sprintf(format, a...), Err: ErrMalformed}
}

// readGPT reads and checks the primary GPT (512-byte sectors).
func readGPT(r io.ReaderAt, size int64) (*Layout, error) {
	const sector = 512
	if size < 34*sector {
		return nil, gptErr("image of %d bytes is too small", size)
	}
	b := make([]byte, 2*sector)
	if _, err := r.ReadAt(b, 0); err != nil {
		return nil, gptErr("read: %v", err)
	}
	mbr, h := b[:sector], b[sector:]
	le := binary.LittleEndian
	if mbr[510] != 0x55 || mbr[511] != 0xaa || mbr[446+4] != 0xee {
		return nil, gptErr("no protective MBR")
	}
	if string(h[:8]) != "EFI PART" {
		return nil, gptErr("no GPT header")
	}
	hsize := le.Uint32(h[12:])
	if hsize < 92 || hsize > sector {
		return nil, gptErr("header size %d", hsize)
	}
	want := le.Uint32(h[16:])
	hc := append([]byte(nil), h[:hsize]...)
	le.PutUint32(hc[16:], 0)
	if crc32.ChecksumIEEE(hc) != want {
		return nil, gptErr("header CRC mismatch")
	}
	entLBA, n, esize := le.Uint64(h[72:]), le.Uint32(h[80:]), le.Uint32(h[84:])
	if esize < 128 || esize > 1024 || esize%8 != 0 || n == 0 || n > 1024 {
		return nil, gptErr("partition array of %d entries of %d bytes", n, esize)
	}
	arr := make([]byte, int(n)*int(esize))
	if entLBA < 2 || int64(entLBA)*sector+int64(len(arr)) > size {
		return nil, gptErr("partition array out of bounds")
	}
	if _, err := r.ReadAt(arr, int64(entLBA)*sector); err != nil {
		return nil, gptErr("read partition array: %v", err)
	}
	if crc32.ChecksumIEEE(arr) != le.Uint32(h[88:]) {
		return nil, gptErr("partition array CRC mismatch")
	}
	l := &Layout{Size: size, DiskGUID: guidString(h[56:72])}
	for i := 0; i < int(n); i++ {
		e := arr[i*int(esize):]
		if allZero(e[:16]) {
			continue
		}
		first, last := le.Uint64(e[32:]), le.Uint64(e[40:])
		if last < first || last >= uint64(size/sector) {
			return nil, gptErr("partition %d out of bounds", i+1)
		}
		u := make([]uint16, 36)
		for k := range u {
			u[k] = le.Uint16(e[56+2*k:])
		}
		for k, v := range u {
			if v == 0 {
				u = u[:k]
				break
			}
		}
		l.Partitions = append(l.Partitions, Partition{
			Index: i + 1, Name: string(utf16.Decode(u)),
			Type: guidString(e[0:16]), GUID: guidString(e[16:32]),
			FirstLBA: first, LastLBA: last,
			Offset: int64(first) * sector, Size: int64(last-first+1) * sector,
			Attributes: le.Uint64(e[48:]),
		})
	}
	l.BIOSBoot = !allZero(mbr[:440])
	for _, p := range l.Partitions {
		if p.Attributes&LegacyBIOSBootable == 0 && p.Type == ESPType {
			l.BIOSBoot = false
		}
	}
	return l, nil
}

func allZero(b []byte) bool {
	for _, c := range b {
		if c != 0 {
			return false
		}
	}
	return true
}

// guidString formats a GUID stored in the mixed-endian GPT layout.
func guidString(b []byte) string {
	le := binary.LittleEndian
	return strings.ToUpper(fmt.Sprintf("%08x-%04x-%04x-%x-%x",
		le.Uint32(b[0:]), le.Uint16(b[4:]), le.Uint16(b[6:]), b[8:10], b[10:16]))
}
