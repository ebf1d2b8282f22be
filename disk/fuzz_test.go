package disk

import (
	"bytes"
	"debug/pe"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"hash/crc32"
	"io"
	"path"
	"slices"
	"strings"
	"sync"
	"testing"
	"unicode/utf16"

	"github.com/stretchr/testify/require"
)

// The disk fuzzers work on tiny inputs that a helper expands: the input is
// a list of chunks (offset uint16 LE, length byte, bytes) written into a
// zeroed buffer, so the mostly-zero sectors of a disk cost nothing and the
// fuzzer (which minimizes every input that finds new code, trying to drop
// byte ranges) works on a few hundred bytes instead of kilobytes.
// FuzzInspect's buffer is a 32 KiB FAT32 partition behind a fixed GPT; its
// seed is a file system built in code by tinyFAT. FuzzReadGPT's buffer is
// the first 67 sectors of a disk, its CRCs optionally fixed up so the
// parser past them is reached. Real ESPs are at least 33 MiB; none of the
// readers cares.

// expandChunks writes the chunks of b into a zeroed buffer of size bytes;
// a negative size makes the buffer end where the last-reaching chunk ends.
func expandChunks(b []byte, size int) []byte {
	if size < 0 {
		size = 0
		for c := b; len(c) >= 3; {
			off, n := int(binary.LittleEndian.Uint16(c)), min(int(c[2]), len(c)-3)
			size = max(size, off+n)
			c = c[3+n:]
		}
	}
	out := make([]byte, size)
	for len(b) >= 3 {
		off, n := int(binary.LittleEndian.Uint16(b)), min(int(b[2]), len(b)-3)
		if off < size {
			copy(out[off:], b[3:3+n])
		}
		b = b[3+n:]
	}
	return out
}

// compactChunks is the inverse of expandChunks for seeds: the non-zero runs
// of buf (at most 64 KiB) as chunks, and a last zero byte that gives the
// length.
func compactChunks(buf []byte) []byte {
	var out []byte
	for i := 0; i < len(buf); {
		if buf[i] == 0 {
			i++
			continue
		}
		j := i
		for zeros := 0; j < len(buf) && j-i < 255 && zeros < 4; j++ {
			if buf[j] == 0 {
				zeros++
			} else {
				zeros = 0
			}
		}
		for j > i && buf[j-1] == 0 {
			j--
		}
		out = binary.LittleEndian.AppendUint16(out, uint16(i))
		out = append(out, byte(j-i))
		out = append(out, buf[i:j]...)
		i = j
	}
	if n := len(buf); n > 0 && buf[n-1] == 0 {
		out = append(binary.LittleEndian.AppendUint16(out, uint16(n-1)), 1, 0) // the length
	}
	return out
}

const (
	fuzzPartLBA     = 3  // MBR, GPT header, one sector of entries
	fuzzPartSectors = 64 // 32 KiB partition
)

// tinyFAT builds a FAT32 file system in code: one reserved sector, one
// FAT sector (so at most 126 clusters), one sector per cluster.
type tinyFAT struct {
	fat      []uint32
	clusters [][]byte
}

func newTinyFAT() *tinyFAT { return &tinyFAT{fat: []uint32{0x0ffffff8, 0x0fffffff}} }

// alloc adds a chain of n clusters and returns its first cluster.
func (t *tinyFAT) alloc(n int) uint32 {
	first := uint32(len(t.fat))
	for i := range n {
		c := uint32(len(t.fat))
		t.clusters = append(t.clusters, make([]byte, 512))
		if i == n-1 {
			t.fat = append(t.fat, 0x0fffffff)
		} else {
			t.fat = append(t.fat, c+1)
		}
	}
	return first
}

// file stores data in a new chain and returns its first cluster.
func (t *tinyFAT) file(data string) uint32 {
	n := (len(data) + 511) / 512
	c := t.alloc(n)
	for i := range n {
		copy(t.clusters[int(c)-2+i], data[i*512:])
	}
	return c
}

// tinyDir fills one directory cluster.
type tinyDir struct {
	b    []byte
	slot int
}

func (t *tinyFAT) dir(c uint32) *tinyDir { return &tinyDir{b: t.clusters[c-2]} }

func (d *tinyDir) raw(e []byte) {
	copy(d.b[d.slot*32:], e)
	d.slot++
}

// add writes name as a short entry, preceded by long-name entries when
// name is not an upper-case 8.3 name (the short alias is then alias).
func (d *tinyDir) add(name, alias string, attr byte, cluster, size uint32) {
	if alias == "" {
		d.raw(dirent(name, attr, cluster, size))
		return
	}
	short := dirent(alias, attr, cluster, size)
	u := utf16.Encode([]rune(name))
	if len(u)%13 != 0 {
		u = append(u, 0)
		for len(u)%13 != 0 {
			u = append(u, 0xffff)
		}
	}
	n := len(u) / 13
	sum := lfnChecksum(short[:11])
	for seq := n; seq >= 1; seq-- {
		e := make([]byte, 32)
		e[0] = byte(seq)
		if seq == n {
			e[0] |= 0x40
		}
		e[11], e[13] = 0x0f, sum
		for k, o := range []int{1, 3, 5, 7, 9, 14, 16, 18, 20, 22, 24, 28, 30} {
			binary.LittleEndian.PutUint16(e[o:], u[(seq-1)*13+k])
		}
		d.raw(e)
	}
	d.raw(short)
}

func (t *tinyFAT) bytes() []byte {
	le := binary.LittleEndian
	out := make([]byte, (2+len(t.clusters))*512)
	bs := out[:512]
	le.PutUint16(bs[11:], 512)
	bs[13] = 1               // sectors per cluster
	le.PutUint16(bs[14:], 1) // reserved sectors
	bs[16] = 1               // FATs
	le.PutUint32(bs[32:], uint32(2+len(t.clusters)))
	le.PutUint32(bs[36:], 1) // FAT sectors
	le.PutUint32(bs[44:], 2) // root cluster
	le.PutUint32(bs[67:], 0x1234abcd)
	bs[510], bs[511] = 0x55, 0xaa
	for i, v := range t.fat {
		le.PutUint32(out[512+4*i:], v)
	}
	for i, c := range t.clusters {
		copy(out[(2+i)*512:], c)
	}
	return out
}

// tinyESP is the seed file system, as chunks: a volume label,
// EFI/BOOT/BOOTX64.EFI, loader/a-long-file-name.conf, and vmlinuz over two
// clusters.
func tinyESP() []byte {
	t := newTinyFAT()
	root := t.alloc(1)
	efi, boot, loader := t.alloc(1), t.alloc(1), t.alloc(1)
	rd := t.dir(root)
	rd.add("TINY", "", 0x08, 0, 0)
	rd.add("EFI", "", 0x10, efi, 0)
	rd.add("loader", "LOADER", 0x10, loader, 0)
	d := t.dir(efi)
	d.add(".", "", 0x10, efi, 0)
	d.add("..", "", 0x10, 0, 0)
	d.add("BOOT", "", 0x10, boot, 0)
	d = t.dir(boot)
	d.add(".", "", 0x10, boot, 0)
	d.add("..", "", 0x10, efi, 0)
	d.add("BOOTX64.EFI", "", 0x20, t.file("efi"), 3)
	d = t.dir(loader)
	d.add(".", "", 0x10, loader, 0)
	d.add("..", "", 0x10, 0, 0)
	d.add("a-long-file-name.conf", "A-LONG~1.CON", 0x20, t.file(tinyConf), uint32(len(tinyConf)))
	rd.add("vmlinuz", "VMLINUZ", 0x20, t.file(tinyKernel), uint32(len(tinyKernel)))
	return compactChunks(t.bytes())
}

const tinyConf = "timeout 0\n"

var tinyKernel = "MZ" + strings.Repeat("\x00", 600) + "end"

// fuzzGPT is the fixed head of fuzzESPImage: protective MBR, GPT header,
// and one sector of entries naming the ESP at LBA 3..66.
var fuzzGPT = sync.OnceValue(func() []byte {
	le := binary.LittleEndian
	b := make([]byte, fuzzPartLBA*512)
	b[446+4] = 0xee
	b[510], b[511] = 0x55, 0xaa
	arr := b[1024:1536]
	copy(arr, guidBytes(ESPType))
	copy(arr[16:], guidBytes("66666666-7777-4888-9999-AAAAAAAAAAAA"))
	le.PutUint64(arr[32:], fuzzPartLBA)
	le.PutUint64(arr[40:], fuzzPartLBA+fuzzPartSectors-1)
	h := b[512:1024]
	copy(h, "EFI PART")
	le.PutUint32(h[8:], 0x00010000)
	le.PutUint32(h[12:], 92)
	le.PutUint64(h[72:], 2)   // entries LBA
	le.PutUint32(h[80:], 4)   // entries
	le.PutUint32(h[84:], 128) // entry size
	fixGPTCRCs(b)
	return b
})

// fixGPTCRCs recomputes the partition-array and header CRCs of the GPT
// in b, where the header's fields allow.
func fixGPTCRCs(b []byte) {
	le := binary.LittleEndian
	if len(b) < 1024 {
		return
	}
	h := b[512:1024]
	entLBA, n, esize := le.Uint64(h[72:]), uint64(le.Uint32(h[80:])), uint64(le.Uint32(h[84:]))
	if entLBA < uint64(len(b))/512 && n*esize <= uint64(len(b)) && entLBA*512+n*esize <= uint64(len(b)) {
		le.PutUint32(h[88:], crc32.ChecksumIEEE(b[entLBA*512:entLBA*512+n*esize]))
	}
	if hs := le.Uint32(h[12:]); hs >= 92 && hs <= 512 {
		le.PutUint32(h[16:], 0)
		le.PutUint32(h[16:], crc32.ChecksumIEEE(h[:hs]))
	}
}

// guidBytes is the mixed-endian GPT form of a GUID string.
func guidBytes(s string) []byte {
	x, _ := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	b := slices.Clone(x)
	slices.Reverse(b[0:4])
	slices.Reverse(b[4:6])
	slices.Reverse(b[6:8])
	return b
}

// fuzzDisk is the disk a FuzzInspect input expands to: fuzzGPT, then the
// 32 KiB partition.
type fuzzDisk struct{ part []byte }

const fuzzDiskSize = (fuzzPartLBA + fuzzPartSectors) * 512

func (d fuzzDisk) ReadAt(p []byte, off int64) (int, error) {
	if off < 0 || off >= fuzzDiskSize {
		return 0, io.EOF
	}
	var n int
	if off < fuzzPartLBA*512 {
		n = copy(p, fuzzGPT()[off:])
	}
	if at := off + int64(n) - fuzzPartLBA*512; at >= 0 {
		n += copy(p[n:], d.part[at:])
	}
	if n < len(p) {
		return n, io.EOF
	}
	return n, nil
}

// fuzzESPImage is the whole disk of a FuzzInspect input, as bytes.
func fuzzESPImage(in []byte) []byte {
	img := make([]byte, fuzzDiskSize)
	_, _ = fuzzDisk{expandChunks(in, fuzzPartSectors*512)}.ReadAt(img, 0)
	return img
}

func FuzzInspect(f *testing.F) {
	esp := tinyESP()
	f.Add(esp)
	f.Add(esp[:300])
	f.Add([]byte{})
	f.Add(append(slices.Clone(esp), 0, 0, 1, 13, 0)) // no sectors per cluster
	f.Fuzz(func(t *testing.T, in []byte) {
		im, err := Open(fuzzDisk{expandChunks(in, fuzzPartSectors*512)}, fuzzDiskSize)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		files, err := im.Files()
		if err != nil {
			var fe *FATError
			if !errors.As(err, &fe) || !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
		}
		var total int64
		for _, fi := range files {
			total += fi.Size
			b, err := im.ReadFile(fi.Path)
			if err != nil {
				t.Fatalf("listed %s, but: %v", fi.Path, err)
			}
			if sha(b) != fi.SHA256 {
				t.Fatalf("%s reads differently from its listing", fi.Path)
			}
		}
		if total > fuzzPartSectors*512 {
			t.Fatalf("files hold %d bytes, more than the partition", total)
		}
		if r, _, err := im.OpenFile("loader/a-long-file-name.conf"); err == nil {
			_, _ = io.Copy(io.Discard, r)
		} else if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) && !errors.Is(err, ErrNotFound) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

func FuzzReadGPT(f *testing.F) {
	head := fuzzGPT()
	f.Add(append([]byte{0}, compactChunks(head)...))
	f.Add(append([]byte{1}, compactChunks(head)...))
	two := slices.Clone(head)
	copy(two[1024+128:], two[1024:1024+128])
	binary.LittleEndian.PutUint64(two[1024+128+32:], 40)
	f.Add(append([]byte{1}, compactChunks(two)...))
	f.Add([]byte{1})
	f.Fuzz(func(t *testing.T, b []byte) {
		if len(b) == 0 {
			return
		}
		img := expandChunks(b[1:], fuzzDiskSize)
		if b[0]&1 != 0 {
			fixGPTCRCs(img)
		}
		l, err := readGPT(bytes.NewReader(img), int64(len(img)))
		if err != nil {
			if !errors.Is(err, ErrMalformed) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		for _, p := range l.Partitions {
			if p.Offset < 0 || p.Size <= 0 || p.Offset+p.Size > int64(len(img)) {
				t.Fatalf("partition %d at %d+%d outside a %d-byte disk", p.Index, p.Offset, p.Size, len(img))
			}
		}
	})
}

// FuzzParseStub's input is chunks (see expandChunks) that make up a stub as
// long as they reach; the seeds are small PE32+ EFI applications.
func FuzzParseStub(f *testing.F) {
	f.Add(compactChunks(minimalStub()))
	f.Add(compactChunks(fourSectionStub()))
	f.Add(compactChunks([]byte("MZ")))
	f.Fuzz(func(t *testing.T, in []byte) {
		b := expandChunks(in, -1)
		s, err := parseStub(b)
		if err != nil {
			if !errors.Is(err, ErrBadStub) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		secs := []ukiSection{
			{name: ".osrel", size: 3, open: generated("", []byte("a=b")).open},
			{name: ".linux", size: 5, open: generated("", []byte("hello")).open},
		}
		p, err := s.plan(secs)
		if err != nil {
			if !errors.Is(err, ErrBadStub) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var out bytes.Buffer
		patch := func(off int64, v []byte) error { copy(out.Bytes()[off:], v); return nil }
		if err := writeUKI(&out, p, secs, patch, nil); err != nil {
			t.Fatal(err)
		}
		if int64(out.Len()) != p.size {
			t.Fatalf("wrote %d bytes, planned %d", out.Len(), p.size)
		}
		pf, err := pe.NewFile(bytes.NewReader(out.Bytes()))
		if err != nil {
			return // the stub may carry oddities debug/pe dislikes
		}
		last := pf.Sections[len(pf.Sections)-1]
		if last.Name != ".linux" {
			t.Fatalf("last section %q", last.Name)
		}
		if d, _ := last.Data(); !bytes.HasPrefix(d, []byte("hello")) {
			t.Fatalf(".linux holds %q", d)
		}
	})
}

func FuzzSniffKernel(f *testing.F) {
	f.Add(fakeKernel(1024))
	f.Add([]byte("MZ"))
	f.Add(minimalStub())
	f.Fuzz(func(t *testing.T, b []byte) {
		if _, err := sniffKernel(b); err != nil && !errors.Is(err, ErrBadKernel) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// TestTinyImageSeed: the fuzz seed is a file system the inspector reads
// in full, so the fuzzer starts from the deep paths.
func TestTinyImageSeed(t *testing.T) {
	b := fuzzESPImage(tinyESP())
	res, err := Inspect(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	var names []string
	for _, f := range res.Files {
		names = append(names, f.Path)
	}
	require.Equal(t, "EFI/BOOT/BOOTX64.EFI,loader/a-long-file-name.conf,vmlinuz", strings.Join(names, ","))
	require.Equal(t, []string{sha([]byte("efi")), sha([]byte(tinyConf)), sha([]byte(tinyKernel))},
		[]string{res.Files[0].SHA256, res.Files[1].SHA256, res.Files[2].SHA256})
	require.Equal(t, "1234-ABCD", res.Layout.VolumeID)
	im, err := Open(bytes.NewReader(b), int64(len(b)))
	require.NoError(t, err)
	c, err := im.ReadFile("LOADER/A-LONG-FILE-NAME.CONF")
	require.NoError(t, err)
	require.Equal(t, tinyConf, string(c))
	require.Less(t, len(tinyESP()), 1000)
	t.Logf("seed: %d bytes", len(tinyESP()))
}

// fourSectionStub is a PE32+ EFI application shaped like systemd's stub
// (.text, .data, .sbat, .reloc; 4 KiB section and 512-byte file alignment)
// but 3 KiB long, with header room for the four UKI sections.
func fourSectionStub() []byte {
	le := binary.LittleEndian
	b := minimalStub()
	b = append(b[:0x400:0x400], make([]byte, 4*0x200)...)
	b[0x200] = 0                      // minimalStub's code; headers here
	le.PutUint16(b[0x44+2:], 4)       // sections
	le.PutUint32(b[0x58+56:], 0x5000) // SizeOfImage
	le.PutUint32(b[0x58+60:], 0x400)  // SizeOfHeaders
	for i, name := range []string{".text", ".data", ".sbat", ".reloc"} {
		sec := b[0x58+240+i*40:]
		copy(sec[:8], make([]byte, 8))
		copy(sec, name)
		le.PutUint32(sec[8:], 0x100)
		le.PutUint32(sec[12:], uint32(0x1000*(i+1)))
		le.PutUint32(sec[16:], 0x200)
		le.PutUint32(sec[20:], uint32(0x400+i*0x200))
		le.PutUint32(sec[36:], 0x40000040)
		b[0x400+i*0x200] = byte(0xc3 - i)
	}
	le.PutUint32(b[0x58+240+36:], 0x60000020)
	return b
}

// TestFuzzSeeds: the compact seeds expand to inputs the parsers accept, so
// the fuzzers start deep.
func TestFuzzSeeds(t *testing.T) {
	for i, stub := range [][]byte{minimalStub(), fourSectionStub()} {
		b := expandChunks(compactChunks(stub), -1)
		require.Equal(t, stub, b)
		s, err := parseStub(b)
		require.NoError(t, err)
		if i == 1 { // minimalStub has no room for more section headers
			_, err = s.plan([]ukiSection{{name: ".osrel", size: 3}, {name: ".cmdline", size: 1},
				{name: ".initrd", size: 9}, {name: ".linux", size: 5}})
			require.NoError(t, err)
		}
	}
	head := fuzzGPT()
	l, err := readGPT(bytes.NewReader(expandChunks(compactChunks(head), fuzzDiskSize)), fuzzDiskSize)
	require.NoError(t, err)
	require.Len(t, l.Partitions, 1)
}

// FuzzCheckESPPath: whatever ESP path a Spec names, an accepted one is a
// clean relative path of FAT-legal components.
func FuzzCheckESPPath(f *testing.F) {
	for _, s := range []string{"EFI/BOOT/BOOTX64.EFI", "/loader/entries/a b.conf", "../x", "a//b", "a/./b", "x.", "a:b", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := checkESPPath("extra file", s)
		if err != nil {
			if !errors.Is(err, ErrInvalidSpec) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		if p == "" || strings.HasPrefix(p, "/") || path.Clean(p) != p || strings.ContainsAny(p, "\\:*?\"<>|\x00") {
			t.Fatalf("accepted %q as %q", s, p)
		}
		for _, c := range strings.Split(p, "/") {
			if c == "." || c == ".." || strings.HasSuffix(c, ".") || strings.HasSuffix(c, " ") {
				t.Fatalf("accepted %q with component %q", s, c)
			}
		}
	})
}
