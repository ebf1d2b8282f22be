package iso_test

import (
	"bytes"
	"encoding/binary"
	"errors"
	"hash/crc32"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/iso"
)

var le = binary.LittleEndian

// recordAt returns the offset in img of the directory record named ident
// in the directory extent at lba (the root when lba is 0).
func recordAt(t *testing.T, img []byte, lba uint32, ident string) int {
	t.Helper()
	if lba == 0 {
		lba = le.Uint32(img[16*2048+156+2:])
	}
	size := int(le.Uint32(img[int(lba)*2048+10:]))
	start := int(lba) * 2048
	for o := start; o < start+size; {
		n := int(img[o])
		if n == 0 {
			o = (o/2048 + 1) * 2048
			continue
		}
		if string(img[o+33:o+33+int(img[o+32])]) == ident {
			return o
		}
		o += n
	}
	t.Fatalf("no record %q", ident)
	return 0
}

// fixGPT recomputes the primary GPT's entry array and header CRCs.
func fixGPT(img []byte) {
	h := img[512:1024]
	n, es := le.Uint32(h[80:]), le.Uint32(h[84:])
	entries := int(le.Uint64(h[72:])) * 512
	if end := uint64(entries) + uint64(n)*uint64(es); end <= uint64(len(img)) {
		le.PutUint32(h[88:], crc32.ChecksumIEEE(img[entries:end]))
	}
	clear(h[16:20])
	le.PutUint32(h[16:], crc32.ChecksumIEEE(h[:92]))
}

func hostileBase(t *testing.T) ([]byte, iso.Info) {
	img, _ := write(t, smallSpec(), &iso.Options{ModTime: modTime})
	return img, openBytes(t, img).Info()
}

func dirLBA(info iso.Info, name string) uint32 {
	for _, f := range info.Files {
		if f.Name == name {
			return f.LBA
		}
	}
	return 0
}

func TestHostile(t *testing.T) {
	const pvd = 16 * 2048
	for _, c := range []struct {
		name string
		edit func(t *testing.T, img []byte, info iso.Info) []byte
		want error
	}{
		{"tiny", func(_ *testing.T, img []byte, _ iso.Info) []byte { return img[:17*2048] }, iso.ErrTruncated},
		{"no CD001", func(_ *testing.T, img []byte, _ iso.Info) []byte { copy(img[pvd+1:], "XX001"); return img }, iso.ErrMalformed},
		{"no terminator", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			for i := 17; i < 17+70; i++ {
				copy(img[i*2048:], "\x02CD001\x01")
			}
			return img
		}, iso.ErrMalformed},
		{"no primary descriptor", func(_ *testing.T, img []byte, _ iso.Info) []byte { img[pvd] = 2; return img }, iso.ErrMalformed},
		{"block size 512", func(_ *testing.T, img []byte, _ iso.Info) []byte { le.PutUint16(img[pvd+128:], 512); return img }, iso.ErrUnsupported},
		{"root beyond the image", func(_ *testing.T, img []byte, _ iso.Info) []byte { le.PutUint32(img[pvd+156+2:], 1<<30); return img }, iso.ErrMalformed},
		{"root of 4 GiB", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint32(img[pvd+156+10:], 0xffffffff)
			return img
		}, iso.ErrMalformed},
		{"root in the system area", func(_ *testing.T, img []byte, _ iso.Info) []byte { le.PutUint32(img[pvd+156+2:], 3); return img }, iso.ErrMalformed},
		{"root not a directory", func(_ *testing.T, img []byte, _ iso.Info) []byte { img[pvd+156+25] = 0; return img }, iso.ErrMalformed},
		{"directory loop", func(t *testing.T, img []byte, info iso.Info) []byte {
			o := recordAt(t, img, dirLBA(info, "a/b"), "C")
			le.PutUint32(img[o+2:], dirLBA(info, "a"))
			return img
		}, iso.ErrMalformed},
		{"directory is root", func(t *testing.T, img []byte, _ iso.Info) []byte {
			o := recordAt(t, img, 0, "BOOT")
			copy(img[o+2:o+6], img[pvd+156+2:pvd+156+6])
			return img
		}, iso.ErrMalformed},
		{"short record", func(t *testing.T, img []byte, _ iso.Info) []byte { img[recordAt(t, img, 0, "BOOT")] = 20; return img }, iso.ErrMalformed},
		{"identifier past its record", func(t *testing.T, img []byte, _ iso.Info) []byte {
			img[recordAt(t, img, 0, "BOOT")+32] = 200
			return img
		}, iso.ErrMalformed},
		{"identifier with a slash", func(t *testing.T, img []byte, _ iso.Info) []byte {
			img[recordAt(t, img, 0, "BOOT")+34] = '/'
			return img
		}, iso.ErrMalformed},
		{"file beyond the image", func(t *testing.T, img []byte, info iso.Info) []byte {
			o := recordAt(t, img, dirLBA(info, "boot"), "VMLINUZ.;1")
			le.PutUint32(img[o+10:], 0xfffffff0)
			return img
		}, iso.ErrTruncated},
		{"interleaved file", func(t *testing.T, img []byte, info iso.Info) []byte {
			img[recordAt(t, img, dirLBA(info, "boot"), "VMLINUZ.;1")+26] = 1
			return img
		}, iso.ErrUnsupported},
		{"multi-extent without its end", func(t *testing.T, img []byte, info iso.Info) []byte {
			img[recordAt(t, img, dirLBA(info, "boot"), "VMLINUZ.;1")+25] = 0x80
			return img
		}, iso.ErrMalformed},
		{"Rock Ridge entry length", func(t *testing.T, img []byte, _ iso.Info) []byte {
			o := recordAt(t, img, 0, "BOOT")
			su := o + 33 + 4 + 1 // after "BOOT" and its pad byte
			img[su+2] = 250      // PX claims more than the record holds
			return img
		}, iso.ErrMalformed},
		{"Rock Ridge name with a slash", func(t *testing.T, img []byte, info iso.Info) []byte {
			o := recordAt(t, img, dirLBA(info, "boot"), "VMLINUZ.;1")
			n := int(img[o])
			i := bytes.Index(img[o:o+n], []byte("NM"))
			img[o+i+5] = '/'
			return img
		}, iso.ErrMalformed},
		{"Rock Ridge name dot-dot", func(t *testing.T, img []byte, info iso.Info) []byte {
			o := recordAt(t, img, 0, "EMPTY.;1")
			n := int(img[o])
			i := bytes.Index(img[o:o+n], []byte("NM"))
			img[o+i+2] = 7
			copy(img[o+i+5:], "..")
			img[o+i+7] = 0 // the pad byte of the shortened entry: ends the area
			return img
		}, iso.ErrMalformed},
		{"catalog checksum", func(_ *testing.T, img []byte, info iso.Info) []byte { img[int(info.CatalogLBA)*2048+4] = 1; return img }, iso.ErrChecksum},
		{"catalog without 55AA", func(_ *testing.T, img []byte, info iso.Info) []byte {
			img[int(info.CatalogLBA)*2048+30] = 0
			return img
		}, iso.ErrMalformed},
		{"catalog beyond the image", func(_ *testing.T, img []byte, _ iso.Info) []byte { le.PutUint32(img[17*2048+71:], 1<<30); return img }, iso.ErrMalformed},
		{"catalog at the image's end", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint32(img[17*2048+71:], uint32(len(img)/2048-1))
			return img
		}, iso.ErrMalformed},
		{"section of 65535 entries", func(_ *testing.T, img []byte, info iso.Info) []byte {
			le.PutUint16(img[int(info.CatalogLBA)*2048+64+2:], 0xffff)
			return img
		}, iso.ErrMalformed},
		{"boot indicator", func(_ *testing.T, img []byte, info iso.Info) []byte {
			img[int(info.CatalogLBA)*2048+32] = 0x42
			return img
		}, iso.ErrMalformed},
		{"media type", func(_ *testing.T, img []byte, info iso.Info) []byte {
			img[int(info.CatalogLBA)*2048+32+1] = 9
			return img
		}, iso.ErrMalformed},
		{"boot image beyond the image", func(_ *testing.T, img []byte, info iso.Info) []byte {
			le.PutUint32(img[int(info.CatalogLBA)*2048+96+8:], 1<<30)
			return img
		}, iso.ErrMalformed},
		{"MBR partition beyond the image", func(_ *testing.T, img []byte, _ iso.Info) []byte { le.PutUint32(img[446+12:], 1<<31); return img }, iso.ErrMalformed},
		{"MBR status", func(_ *testing.T, img []byte, _ iso.Info) []byte { img[446+16] = 0x42; return img }, iso.ErrMalformed},
		{"GPT header CRC", func(_ *testing.T, img []byte, _ iso.Info) []byte { img[512+40]++; return img }, iso.ErrChecksum},
		{"GPT header size", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint32(img[512+12:], 4096)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
		{"GPT entries CRC", func(_ *testing.T, img []byte, _ iso.Info) []byte { img[1024+100]++; return img }, iso.ErrChecksum},
		{"GPT of a million entries", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint32(img[512+80:], 1<<20)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
		{"GPT entries beyond the image", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint64(img[512+72:], 1<<40)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
		{"GPT partition beyond the image", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint64(img[1024+40:], 1<<40)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
		{"GPT partition reversed", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint64(img[1024+128+32:], le.Uint64(img[1024+128+40:])+1)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
		{"GPT usable range", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint64(img[512+48:], 1<<40)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
		{"GPT header elsewhere", func(_ *testing.T, img []byte, _ iso.Info) []byte {
			le.PutUint64(img[512+24:], 7)
			fixGPT(img)
			return img
		}, iso.ErrMalformed},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, info := hostileBase(t)
			img = c.edit(t, img, info)
			_, err := iso.Open(bytes.NewReader(img), int64(len(img)))
			require.ErrorIs(t, err, c.want)
			var fe *iso.FormatError
			require.True(t, errors.As(err, &fe), "%v", err)
			rep, err := iso.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
			require.NoError(t, err)
			require.Nil(t, rep.Info)
			require.Len(t, rep.Findings, 1)
			require.False(t, rep.OK())
		})
	}
}

// TestInspectFindings: images that open but are not what they say.
func TestInspectFindings(t *testing.T) {
	for _, c := range []struct {
		name string
		edit func(img []byte, info iso.Info) []byte
		want string
	}{
		{"volume space beyond the image", func(img []byte, _ iso.Info) []byte {
			le.PutUint32(img[16*2048+80:], uint32(len(img)/2048+1))
			return img
		}, "volume space size"},
		{"odd size", func(img []byte, _ iso.Info) []byte { return append(img, 0) }, "whole number"},
		{"isohybrid loader address", func(img []byte, _ iso.Info) []byte { le.PutUint32(img[432:], 4); return img }, "isohybrid loader address"},
		{"boot info checksum", func(img []byte, info iso.Info) []byte { img[int(info.Boot[0].LBA)*2048+100]++; return img }, "checksum"},
		{"boot info length", func(img []byte, info iso.Info) []byte { img[int(info.Boot[0].LBA)*2048+16]++; return img }, "loader length"},
		{"EFI partition elsewhere", func(img []byte, _ iso.Info) []byte { le.PutUint32(img[446+16+8:], 8); return img }, "0xEF partition"},
		{"backup GPT", func(img []byte, _ iso.Info) []byte { img[len(img)-512]++; return img }, "backup header"},
		{"files overlap", func(img []byte, info iso.Info) []byte {
			o := 0
			for _, f := range info.Files {
				if f.Name == "boot" {
					o = int(f.LBA) * 2048
				}
			}
			for n := o; n < o+2048; n++ {
				if bytes.HasPrefix(img[n+33:], []byte("INITRD.IMG;1")) {
					le.PutUint32(img[n+10:], 20000)
				}
			}
			return img
		}, "overlaps"},
	} {
		t.Run(c.name, func(t *testing.T) {
			img, info := hostileBase(t)
			img = c.edit(img, info)
			rep, err := iso.Inspect(t.Context(), bytes.NewReader(img), int64(len(img)))
			require.NoError(t, err)
			require.NotNil(t, rep.Info, "%+v", rep.Findings)
			var all []string
			for _, f := range rep.Findings {
				all = append(all, f.Rule+": "+f.Detail)
			}
			require.Contains(t, strings.Join(all, "\n"), c.want)
		})
	}
}

func TestWriteRefusesDeepNames(t *testing.T) {
	name := strings.Repeat("d/", 64) + "f"
	_, err := iso.Write(t.Context(), &bytes.Buffer{}, &iso.Spec{Files: []iso.File{{Name: name, R: strings.NewReader(""), Size: 0}}}, nil)
	require.ErrorIs(t, err, iso.ErrName)
}
