package cloud

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

// image is the opened file: its format and a reader of the virtual disk.
type image struct {
	format, sub string
	disk        io.ReaderAt // the virtual disk; nil when it cannot be read
	size        int64       // virtual size
	bad         error       // why the format reader refused the file
	badMember   string      // the OVA member at fault
	member      string      // the member holding the virtual disk (OVA, .tar.gz)
	vmdks       []ovaDisk   // an OVA's disks
	unchecked   string      // why disk is nil without being bad
}

type ovaDisk struct {
	name, createType string
	err              error
}

// sniff detects the format from magic bytes: qcow2's "QFI\xfb", VHDX's
// "vhdxfile", a sparse VMDK's "KDMV" or a VMDK text descriptor, gzip's
// 1f 8b, a VHD's "conectix" footer (at the end, or its copy at offset 0),
// a tar header's "ustar" (an OVA). Anything else is a raw disk.
func (c *checker) sniff() (string, error) {
	head := make([]byte, min(c.size, 512))
	if _, err := c.r.ReadAt(head, 0); err != nil && err != io.EOF {
		return "", c.r.failure()
	}
	var tail []byte
	if c.size >= vhd.FooterSize {
		tail = make([]byte, vhd.FooterSize)
		if _, err := c.r.ReadAt(tail, c.size-vhd.FooterSize); err != nil && err != io.EOF {
			return "", c.r.failure()
		}
	}
	switch {
	case bytes.HasPrefix(head, []byte("QFI\xfb")):
		return FormatQCOW2, nil
	case bytes.HasPrefix(head, []byte("vhdxfile")):
		return FormatVHDX, nil
	case bytes.HasPrefix(head, []byte("KDMV")), bytes.HasPrefix(head, []byte("# Disk DescriptorFile")):
		return FormatVMDK, nil
	case bytes.HasPrefix(head, []byte{0x1f, 0x8b}):
		return FormatGCE, nil
	case bytes.HasPrefix(tail, []byte("conectix")), bytes.HasPrefix(head, []byte("conectix")):
		return FormatVHD, nil
	case len(head) == 512 && string(head[257:262]) == "ustar":
		return FormatOVA, nil
	}
	return FormatRaw, nil
}

// open detects the format and opens the virtual disk with fogkit's reader
// for it. A refusal is recorded in image.bad; the error is Check's.
func (c *checker) open() (*image, error) {
	f, err := c.sniff()
	if err != nil {
		return nil, err
	}
	img := &image{format: f}
	r, size := c.r, c.size
	switch f {
	case FormatRaw:
		img.disk, img.size = r, size
	case FormatQCOW2:
		im, err := qcow2.Open(r, size)
		if err != nil {
			img.bad = err
			break
		}
		img.disk, img.size, img.sub = im, im.Size(), fmt.Sprintf("v%d", im.Header().Version)
	case FormatVHD:
		d, err := vhd.Open(r, size)
		if err != nil {
			img.bad = err
			break
		}
		img.disk, img.size, img.sub = d, d.Size(), d.Type()
	case FormatVHDX:
		d, err := vhdx.Open(r, size)
		if err != nil {
			img.bad = err
			break
		}
		img.disk, img.size = d, d.Size()
	case FormatVMDK:
		d, err := vmdk.Open(r, size)
		if err != nil {
			img.bad = err
			if bytes.HasPrefix(c.head(32), []byte("# Disk DescriptorFile")) {
				img.sub = "descriptor"
			} else if ct := vmdkCreateType(r, size); ct != "" && ct != "streamOptimized" {
				// A valid sparse VMDK of another type, which fogkit
				// does not read: the type is the finding.
				img.sub, img.bad = ct, nil
				img.unchecked = "a " + ct + " VMDK, which fogkit's reader does not open"
			}
			break
		}
		img.disk, img.size, img.sub = d, d.Size(), d.Descriptor().CreateType
	case FormatOVA:
		c.openOVA(img)
	case FormatGCE:
		c.progress("spool", gce.Name, 0)
		sp, err := spoolArchive(c.ctx, c.counting("spool", gce.Name), spoolBudget)
		if err != nil {
			if ferr := c.fail(err); ferr != nil {
				return nil, ferr
			}
			img.unchecked = "the start of disk.raw could not be read: " + err.Error()
			break
		}
		img.disk, img.size, img.member = sp, sp.size, sp.name
		if sp.name != gce.Name {
			img.sub = "member " + sp.name
		}
	}
	if img.bad != nil {
		if err := c.fail(img.bad); err != nil {
			return nil, err
		}
	}
	if img.disk != nil && f != FormatRaw && f != FormatGCE {
		img.disk = &watchedDisk{r: img.disk}
	}
	return img, nil
}

// vmdkCreateType reads the createType of a hosted sparse VMDK's embedded
// descriptor (at most 64 KiB of it); "" when there is none.
func vmdkCreateType(r io.ReaderAt, size int64) string {
	sec := make([]byte, vmdk.SectorSize)
	if _, err := r.ReadAt(sec, 0); err != nil {
		return ""
	}
	var h vmdk.Header
	if h.UnmarshalBinary(sec) != nil || h.DescriptorOffset == 0 || h.DescriptorSize == 0 {
		return ""
	}
	if h.DescriptorOffset >= uint64(size)/vmdk.SectorSize {
		return ""
	}
	off, n := int64(h.DescriptorOffset)*vmdk.SectorSize, int64(min(h.DescriptorSize, 128))*vmdk.SectorSize
	text := make([]byte, min(n, size-off))
	if _, err := r.ReadAt(text, off); err != nil && err != io.EOF {
		return ""
	}
	d, err := vmdk.ParseDescriptor(text)
	if err != nil {
		return ""
	}
	return d.CreateType
}

func (c *checker) head(n int64) []byte {
	b := make([]byte, min(n, c.size))
	c.r.ReadAt(b, 0) //nolint:errcheck // only a hint; read errors surface elsewhere
	return b
}

// openOVA opens the archive and its VMDK members; the first is the boot
// disk.
func (c *checker) openOVA(img *image) {
	a, err := ova.Open(c.r, c.size, &ova.OpenOptions{ForeignHeaders: true})
	if err != nil {
		img.bad = err
		return
	}
	for _, e := range a.Entries() {
		if e.Kind != ova.KindFile || !strings.HasSuffix(strings.ToLower(e.Name), ".vmdk") {
			continue
		}
		m, err := a.Member(e.Name)
		if err != nil {
			img.vmdks = append(img.vmdks, ovaDisk{name: e.Name, err: err})
			continue
		}
		d, err := vmdk.Open(m, m.Size())
		od := ovaDisk{name: e.Name, err: err}
		if err == nil {
			od.createType = d.Descriptor().CreateType
		} else if ct := vmdkCreateType(m, m.Size()); ct != "" && ct != "streamOptimized" {
			// Another sparse type: a format finding, not a damaged disk.
			od.createType, od.err = ct, nil
		}
		img.vmdks = append(img.vmdks, od)
		if len(img.vmdks) == 1 {
			switch {
			case od.err != nil:
				img.bad, img.badMember = err, e.Name
			case err != nil:
				img.sub = od.createType
				img.unchecked = "the boot disk " + e.Name + " is a " + od.createType + " VMDK, which fogkit's reader does not open"
			default:
				img.disk, img.size, img.sub, img.member = d, d.Size(), od.createType, e.Name
			}
		}
	}
	if len(img.vmdks) == 0 {
		img.unchecked = "the OVA has no VMDK disk"
	}
}

// badDetail names the image and why its reader refused it.
func (img *image) badDetail() string {
	if img.badMember != "" {
		return fmt.Sprintf("%s disk %s unreadable: %v", img.format, img.badMember, img.bad)
	}
	return fmt.Sprintf("%s unreadable: %v", img.format, img.bad)
}

// awsFormat: VM Import/Export takes OVA, stream-optimized VMDK, VHD and
// VHDX (fixed or dynamic) and raw; qcow2 and anything else are refused.
// https://docs.aws.amazon.com/vm-import/latest/userguide/prerequisites.html
// ("Image formats supported by VM Import/Export"). Snapshot import
// (import-snapshot) takes VHD, VHDX, VMDK and raw, not OVA:
// https://docs.aws.amazon.com/vm-import/latest/userguide/vmimport-import-snapshot.html
func (c *checker) awsFormat(img *image) {
	switch img.format {
	case FormatQCOW2:
		c.add("format", "qcow2: VM Import/Export takes OVA, VMDK (streamOptimized), VHD, VHDX or raw; convert it (fogkit vmdk.Write, vhd.Write or the raw disk)")
	case FormatGCE:
		c.add("format", "a gzip'd tar (GCE image archive): VM Import/Export takes OVA, VMDK (streamOptimized), VHD, VHDX or raw; upload the raw disk instead")
	case FormatVMDK:
		if img.sub == "descriptor" {
			c.add("format", "a VMDK text descriptor without its data: upload a streamOptimized VMDK (fogkit vmdk.Write)")
		} else if img.bad == nil && img.sub != "streamOptimized" {
			// monolithicSparse, twoGbMaxExtentSparse, … (or a VMDK whose
			// descriptor names no type).
			c.add("format", "VMDK of type %q: VM Import/Export takes streamOptimized VMDKs only", img.sub)
		}
	case FormatOVA:
		for _, d := range img.vmdks {
			if d.err == nil && d.createType != "streamOptimized" {
				c.add("format", "OVA disk %s is a VMDK of type %q: VM Import/Export takes streamOptimized VMDKs only", d.name, d.createType)
			}
			if d.err != nil && d.name != img.badMember {
				c.add("image", "ova disk %s unreadable: %v", d.name, d.err)
			}
		}
	}
	if img.bad != nil && img.sub != "descriptor" {
		c.add("image", "%s", img.badDetail())
	}
}

// azureFormat: Azure takes a fixed VHD only; vhd.CheckAzure holds its VHD
// rules (fixed type, whole-MiB virtual size, file = size + 512-byte
// footer, 20 MiB to 32 TiB, a valid footer).
// https://learn.microsoft.com/azure/virtual-machines/linux/create-upload-generic#general-linux-installation-notes
// ("The VHDX format isn't supported in Azure, only fixed VHD"; "the
// virtual size of all VHDs on Azure must be aligned to 1 MB").
// https://learn.microsoft.com/azure/virtual-machines/linux/disks-upload-vhd-to-managed-disk-cli
// (the upload size: 20 MiB + 512 to 32 TiB + 512 bytes).
func (c *checker) azureFormat(img *image) error {
	if img.format != FormatVHD {
		c.add("format", "%s: Azure takes a fixed VHD only (VHDX, qcow2, VMDK and raw are not accepted); convert it with fogkit vhd.Write (Type fixed, RoundUp)", img.format)
		return nil
	}
	if img.bad != nil {
		c.add("image", "%s", img.badDetail())
		return nil
	}
	rep, err := vhd.Inspect(c.ctx, c.r, c.size)
	if err != nil {
		if ferr := c.fail(err); ferr != nil {
			return ferr
		}
		c.add("image", "vhd: %v", err)
		return nil
	}
	// CheckAzure's rules already carry the "azure." prefix.
	for _, f := range vhd.CheckAzure(rep) {
		c.rep.Findings = append(c.rep.Findings, Finding{Rule: f.Rule, Detail: f.Detail})
	}
	return nil
}

// gceArchive runs gce.Check over the whole file: gzip, one member named
// disk.raw, old GNU tar format, a regular or sparse file, a non-zero size
// that is a whole number of GiB, an intact stream.
// https://cloud.google.com/compute/docs/import/import-existing-image
// ("The disk image filename must be disk.raw", "compressed in the
// .tar.gz format", tar --format=oldgnu -Sczf, size in whole GB).
func (c *checker) gceArchive() error {
	c.progress("archive", gce.Name, 0)
	rep, err := gce.Check(c.ctx, c.counting("archive", ""))
	if ferr := c.fail(err); ferr != nil {
		return ferr
	}
	if rep != nil {
		// gce's rules already carry the "gce." prefix.
		for _, f := range rep.Findings {
			c.rep.Findings = append(c.rep.Findings, Finding{Rule: f.Rule, Detail: f.Detail})
		}
	}
	var fe *gce.FormatError
	if errors.As(err, &fe) && (rep == nil || !hasRule(rep.Findings, "gce.gzip")) {
		c.add("archive", "%v", err)
	} else if err != nil && !errors.As(err, &fe) {
		c.add("archive", "%v", err)
	}
	return nil
}

func hasRule(fs []gce.Finding, rule string) bool {
	for _, f := range fs {
		if f.Rule == rule {
			return true
		}
	}
	return false
}

// counting streams the whole file from offset 0, checking the context
// and reporting progress every MiB.
func (c *checker) counting(stage, file string) io.Reader {
	return &countReader{c: c, stage: stage, file: file, r: io.NewSectionReader(c.r, 0, c.size)}
}

type countReader struct {
	c           *checker
	stage, file string
	r           io.Reader
	n, last     int64
}

func (cr *countReader) Read(p []byte) (int, error) {
	if err := cr.c.ctx.Err(); err != nil {
		return 0, err
	}
	n, err := cr.r.Read(p)
	cr.n += int64(n)
	if cr.n-cr.last >= 1<<20 || (err == io.EOF && cr.n != cr.last) {
		cr.last = cr.n
		cr.c.progress(cr.stage, cr.file, cr.n)
	}
	return n, err
}
