package cloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
)

// Target is the cloud whose import rules Check applies.
type Target string

// The targets.
const (
	// AWS is EC2 VM Import/Export (import-image) and EBS snapshot import
	// (import-snapshot) from an S3 object.
	AWS Target = "aws"
	// Azure is a managed disk made from an uploaded VHD (direct upload or
	// a page blob), for a Gen1 (BIOS) or Gen2 (UEFI) VM.
	Azure Target = "azure"
	// GCP is Compute Engine image creation from a .tar.gz in Cloud
	// Storage (gcloud compute images create --source-uri).
	GCP Target = "gcp"
)

// Firmware values of Options.Firmware and Report.Firmware.
const (
	UEFI = "uefi"
	BIOS = "bios"
)

// Formats of Report.Format.
const (
	FormatRaw   = "raw"
	FormatQCOW2 = "qcow2"
	FormatVHD   = "vhd"
	FormatVHDX  = "vhdx"
	FormatVMDK  = "vmdk"
	FormatOVA   = "ova"
	FormatGCE   = "gce" // a gzip'd tar, the GCE image archive
)

// Options tune Check. A nil *Options means the defaults; Check never
// modifies it.
type Options struct {
	// Firmware is the boot mode the image will be imported with: "uefi"
	// (AWS --boot-mode uefi, Azure Gen2, GCP UEFI_COMPATIBLE), "bios"
	// (legacy BIOS, Azure Gen1), or "" to take it from the disk: an EFI
	// System Partition means UEFI, else BIOS boot code in the MBR means
	// BIOS.
	Firmware string `json:"firmware,omitempty"`
	// Progress, if set, is called on the caller's goroutine as Check
	// advances.
	Progress func(Event) `json:"-"`
}

// Event reports progress.
type Event struct {
	Stage string `json:"stage"`          // "format", "boot", "spool" (reading disk.raw's start), "archive" (the whole .tar.gz)
	File  string `json:"file,omitempty"` // the member being read: an OVA disk or "disk.raw"
	Done  int64  `json:"done"`           // bytes of the file read in the stage
	Total int64  `json:"total"`          // the file size
}

// Finding is one rule of the target's import that the image breaks.
type Finding struct {
	Rule   string `json:"rule"` // e.g. "aws.format", "azure.type", "gce.uefi.fallback"
	Detail string `json:"detail"`
}

func (f Finding) String() string { return f.Rule + ": " + f.Detail }

// Boot is what Check saw of the virtual disk's boot structures.
type Boot struct {
	// PartitionTable is "gpt" (a GPT header at LBA 1), "mbr" (an MBR
	// signature, no GPT) or "none".
	PartitionTable string `json:"partitionTable"`
	// ESP: the GPT has an EFI System Partition with a FAT file system.
	ESP bool `json:"esp"`
	// Fallback: the ESP holds a non-empty \EFI\BOOT\BOOTX64.EFI, the
	// removable-media path UEFI firmware boots when it has no boot entry
	// (a VM imported into a cloud starts with empty NVRAM).
	Fallback bool `json:"fallback"`
	// BIOSBootCode: the MBR has the 0x55AA signature and boot code in its
	// first 440 bytes.
	BIOSBootCode bool `json:"biosBootCode"`
}

// Report is what Check found.
type Report struct {
	Target      Target `json:"target"`
	Format      string `json:"format"`              // FormatRaw, FormatVHD, …
	Subformat   string `json:"subformat,omitempty"` // "fixed", "dynamic" (VHD), "streamOptimized" (VMDK), …
	VirtualSize int64  `json:"virtualSize"`         // bytes of the virtual disk (the boot disk of an OVA, disk.raw of a .tar.gz)
	FileSize    int64  `json:"fileSize"`
	// Firmware is the boot mode checked against: Options.Firmware, or
	// what the disk shows; "" when it shows neither.
	Firmware string `json:"firmware"`
	// Boot is nil when the virtual disk could not be read.
	Boot     *Boot     `json:"boot,omitempty"`
	Findings []Finding `json:"findings"`
	// Unchecked names the checks Check could not make, and why (a .tar.gz
	// whose ESP lies beyond what Check keeps of disk.raw, an unreadable
	// disk). They are not findings: the import may take the image.
	Unchecked []string `json:"unchecked,omitempty"`
}

// OK reports whether the image breaks no rule Check knows and every check
// was made.
func (r *Report) OK() bool { return len(r.Findings) == 0 && len(r.Unchecked) == 0 }

// Check reads the image r of size bytes, detects its format from magic
// bytes, opens it with fogkit's reader for that format, looks inside the
// virtual disk (partition table, EFI System Partition, fallback loader)
// and lists every rule of t's import that the image breaks, in one call:
// the Report holds every Finding, not the first.
//
// The error is non-nil only when Check could not look at the image: an
// unknown target (ErrUnknownTarget), bad options (ErrInvalid), a failing
// reader (*ReadError, matching ErrRead) or a context error. An image that
// is unreadable, of an unknown format or damaged is a Finding (a file of
// no known format is read as a raw disk, which AWS accepts).
//
// Memory is bounded: the format readers bound theirs, and a .tar.gz is
// streamed (see doc.go).
func Check(ctx context.Context, t Target, r io.ReaderAt, size int64, o *Options) (*Report, error) {
	return check(ctx, t, r, size, o, "")
}

// CheckFile is Check on the file at path; the file's name is a hint in
// details when its extension disagrees with its content.
func CheckFile(ctx context.Context, t Target, path string, o *Options) (*Report, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return nil, err
	}
	return check(ctx, t, f, st.Size(), o, filepath.Base(path))
}

// checker carries one Check.
type checker struct {
	ctx  context.Context
	t    Target
	pre  string // rule prefix: "aws", "azure", "gce"
	r    *recReader
	size int64
	opts Options
	name string
	rep  *Report
}

func (c *checker) add(rule, format string, args ...any) {
	c.rep.Findings = append(c.rep.Findings, Finding{Rule: c.pre + "." + rule, Detail: fmt.Sprintf(format, args...)})
}

func (c *checker) progress(stage, file string, done int64) {
	if c.opts.Progress != nil {
		c.opts.Progress(Event{Stage: stage, File: file, Done: done, Total: c.size})
	}
}

// fail turns an error of a format reader into Check's error when it came
// from the caller's reader or the context; nil means it is the image's
// fault (a finding).
func (c *checker) fail(err error) error {
	if re := c.r.failure(); re != nil {
		return re
	}
	if cerr := c.ctx.Err(); cerr != nil {
		return cerr
	}
	if err != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded)) {
		return err
	}
	return nil
}

func check(ctx context.Context, t Target, r io.ReaderAt, size int64, o *Options, name string) (*Report, error) {
	c := &checker{ctx: ctx, t: t, r: &recReader{r: r}, size: size, name: name}
	switch t {
	case AWS:
		c.pre = "aws"
	case Azure:
		c.pre = "azure"
	case GCP:
		c.pre = "gce"
	default:
		return nil, fmt.Errorf("%w: %q (want aws, azure or gcp)", ErrUnknownTarget, t)
	}
	if o != nil {
		c.opts = *o
	}
	switch c.opts.Firmware {
	case "", UEFI, BIOS:
	default:
		return nil, fmt.Errorf("%w: firmware %q (want uefi, bios or empty)", ErrInvalid, c.opts.Firmware)
	}
	if size < 0 {
		return nil, fmt.Errorf("%w: negative size %d", ErrInvalid, size)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	c.rep = &Report{Target: t, FileSize: size, Findings: []Finding{}}
	c.progress("format", "", 0)
	img, err := c.open()
	if err != nil {
		return nil, err
	}
	c.rep.Format, c.rep.Subformat, c.rep.VirtualSize = img.format, img.sub, img.size
	c.nameHint(img.format)
	switch t {
	case AWS:
		c.awsFormat(img)
	case Azure:
		if err := c.azureFormat(img); err != nil {
			return nil, err
		}
	case GCP:
		if err := c.gceArchive(); err != nil {
			return nil, err
		}
	}
	if err := c.boot(img); err != nil {
		return nil, err
	}
	c.sizes(img)
	return c.rep, nil
}

// nameHint notes a file name whose extension promises another format than
// the content has: the upload tools pick their parser by that name.
func (c *checker) nameHint(format string) {
	if c.name == "" {
		return
	}
	ext := strings.ToLower(filepath.Ext(c.name))
	want := map[string]string{".qcow2": FormatQCOW2, ".vhd": FormatVHD, ".vhdx": FormatVHDX, ".vmdk": FormatVMDK, ".ova": FormatOVA, ".gz": FormatGCE, ".tgz": FormatGCE}[ext]
	if want != "" && want != format {
		c.add("name", "%s is named like a %s file but its content is %s", c.name, want, format)
	}
}

// recReader remembers the first error of the caller's reader other than
// io.EOF, so that Check can tell a failing reader from a damaged image
// whatever the format readers make of the error.
type recReader struct {
	r   io.ReaderAt
	mu  sync.Mutex
	err *ReadError
}

func (rr *recReader) ReadAt(p []byte, off int64) (int, error) {
	n, err := rr.r.ReadAt(p, off)
	if err != nil && err != io.EOF {
		rr.mu.Lock()
		if rr.err == nil {
			rr.err = &ReadError{Offset: off, Err: err}
		}
		rr.mu.Unlock()
	}
	return n, err
}

func (rr *recReader) failure() error {
	rr.mu.Lock()
	defer rr.mu.Unlock()
	if rr.err == nil {
		return nil
	}
	return rr.err
}
