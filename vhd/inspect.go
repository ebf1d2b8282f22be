package vhd

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
)

// Finding is one rule a VHD breaks.
type Finding struct {
	Rule   string `json:"rule"` // e.g. "footer.geometry", "azure.type"
	Detail string `json:"detail"`
}

func (f Finding) String() string { return f.Rule + ": " + f.Detail }

// Report is what Inspect found.
type Report struct {
	Type        string         `json:"type"`
	FileSize    int64          `json:"fileSize"`
	VirtualSize int64          `json:"virtualSize"`
	Footer      Footer         `json:"footer"`
	Header      *DynamicHeader `json:"header,omitempty"`
	Blocks      int64          `json:"blocks"` // dynamic: blocks stored
	Findings    []Finding      `json:"findings"`
}

// OK reports whether Inspect found nothing wrong.
func (r *Report) OK() bool { return len(r.Findings) == 0 }

// Inspect opens a VHD of size bytes and checks it against the
// specification beyond what Open needs: the footer fields (features,
// version, original size, CHS geometry per the appendix's algorithm,
// saved state), the leading footer copy of a dynamic disk, the table's
// padding, and that stored blocks neither overlap nor leave the file's
// tail unaccounted. The error is non-nil when Open fails; violations it
// tolerates become Findings.
func Inspect(ctx context.Context, r io.ReaderAt, size int64) (*Report, error) {
	d, err := Open(r, size)
	if err != nil {
		return nil, err
	}
	f := d.footer
	rep := &Report{Type: d.Type(), FileSize: size, VirtualSize: d.size, Footer: f, Header: d.Header(), Findings: []Finding{}}
	add := func(rule, format string, args ...any) {
		rep.Findings = append(rep.Findings, Finding{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	if f.Features&featureBit == 0 {
		add("footer.features", "reserved feature bit 0x2 not set (%#x)", f.Features)
	}
	if f.Version != formatVersion {
		add("footer.version", "version %#08x, want 0x00010000", f.Version)
	}
	if f.SavedState {
		add("footer.savedState", "the disk is in a saved state")
	}
	if g := GeometryFor(d.size); g != f.Geometry {
		add("footer.geometry", "CHS %d/%d/%d, the algorithm gives %d/%d/%d for %d bytes",
			f.Geometry.Cylinders, f.Geometry.Heads, f.Geometry.SectorsPerTrack, g.Cylinders, g.Heads, g.SectorsPerTrack, d.size)
	}
	if d.footerOff != size-FooterSize {
		add("footer.missing", "no footer at the end of the file: only the copy at offset 0")
	}
	if d.header == nil {
		if f.DataOffset != ^uint64(0) {
			add("footer.dataOffset", "fixed disk with data offset %#x, want all ones", f.DataOffset)
		}
		if size != d.size+FooterSize {
			add("file.size", "fixed file of %d bytes for a %d-byte disk (want %d)", size, d.size, d.size+FooterSize)
		}
		return rep, nil
	}
	copyB := make([]byte, FooterSize)
	if d.footerOff != 0 {
		if err := readFull(r, copyB, 0, size); err != nil {
			return rep, err
		}
		end := f.marshal()
		if !bytes.Equal(copyB, end) {
			add("footer.copy", "the footer copy at offset 0 differs from the footer")
		}
	}
	h := d.header
	if h.Version != formatVersion {
		add("header.version", "version %#08x, want 0x00010000", h.Version)
	}
	if h.DataOffset != ^uint64(0) {
		add("header.dataOffset", "data offset %#x, want all ones", h.DataOffset)
	}
	if h.BlockSize != BlockSize {
		add("header.blockSize", "block size %d; the specification's (and Hyper-V's) is 2 MiB", h.BlockSize)
	}
	if need := (d.size + d.blockSize - 1) / d.blockSize; int64(h.MaxTableEntries) != need {
		add("header.maxTableEntries", "%d entries for %d blocks (Azure wants them equal)", h.MaxTableEntries, need)
	}
	type span struct{ start, end, blk int64 }
	var spans []span
	for i, e := range d.bat {
		if i%4096 == 0 {
			if err := ctx.Err(); err != nil {
				return rep, err
			}
		}
		if e != batUnused {
			s := int64(e) * SectorSize
			spans = append(spans, span{s, s + d.bitmap + d.blockSize, int64(i)})
		}
	}
	rep.Blocks = int64(len(spans))
	slices.SortFunc(spans, func(a, b span) int { return int(a.start - b.start) })
	tableEnd := int64(h.TableOffset) + roundUp(4*int64(h.MaxTableEntries), SectorSize)
	ho := int64(f.DataOffset)
	for i, s := range spans {
		if s.start < tableEnd && s.end > int64(h.TableOffset) || s.start < ho+HeaderSize && s.end > ho {
			add("bat.overlap", "block %d at %d overlaps the header or table", s.blk, s.start)
		}
		if i > 0 && s.start < spans[i-1].end {
			add("bat.overlap", "block %d at %d overlaps block %d", s.blk, s.start, spans[i-1].blk)
		}
	}
	return rep, nil
}

// Azure's rules for an uploaded VHD (managed disk direct upload and page
// blobs): a fixed disk, a virtual size that is a whole number of MiB, a
// file of exactly the virtual size plus the 512-byte footer, and a size
// from 20 MiB to 32 TiB (the bounds of a managed disk's upload size,
// footer excluded).
const (
	AzureMinSize = 20 << 20
	AzureMaxSize = 32 << 40
)

// CheckAzure lists every rule of Azure's import that the inspected VHD
// breaks; an empty list means Azure takes it as it is.
func CheckAzure(r *Report) []Finding {
	out := []Finding{}
	add := func(rule, format string, args ...any) {
		out = append(out, Finding{Rule: rule, Detail: fmt.Sprintf(format, args...)})
	}
	if r.Type != TypeFixed {
		add("azure.type", "%s disk: Azure imports fixed VHDs only", r.Type)
	}
	if r.VirtualSize%(1<<20) != 0 {
		add("azure.size.mib", "virtual size %d is not a whole number of MiB (round up to %d)", r.VirtualSize, roundUp(r.VirtualSize, 1<<20))
	}
	if r.Type == TypeFixed && r.FileSize != r.VirtualSize+FooterSize {
		add("azure.size.file", "file size %d is not the virtual size plus 512 (%d)", r.FileSize, r.VirtualSize+FooterSize)
	}
	if r.VirtualSize < AzureMinSize {
		add("azure.size.min", "virtual size %d below 20 MiB", r.VirtualSize)
	}
	if r.VirtualSize > AzureMaxSize {
		add("azure.size.max", "virtual size %d above 32 TiB", r.VirtualSize)
	}
	// Every deviation from the specification counts but the CHS
	// geometry: Azure and Hyper-V size a disk by the footer's current-size
	// field, and the command Microsoft documents for Linux images
	// (qemu-img convert -O vpc -o subformat=fixed,force_size) writes the
	// maximum geometry, 65535/16/255, rather than the appendix's.
	// https://learn.microsoft.com/azure/virtual-machines/linux/create-upload-generic
	for _, f := range r.Findings {
		if f.Rule != "footer.geometry" {
			add("azure.spec", "%s", f)
		}
	}
	return out
}
