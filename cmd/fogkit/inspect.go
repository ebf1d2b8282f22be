package main

import (
	"archive/tar"
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fogkit/fogkit/disk"
	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/iso"
	"github.com/fogkit/fogkit/license"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/support"
	"github.com/fogkit/fogkit/update"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

func init() {
	commands["inspect"] = command{"recognise a file by its content and report what it holds", runInspect}
}

// inspection is inspect's machine report: the kind, the file and the
// report of the package that reads that kind.
type inspection struct {
	Kind   string `json:"kind"`
	File   string `json:"file"`
	Report any    `json:"report"`
	// Findings counts the problems the report lists.
	Findings int `json:"findings"`
	// Error is why the package refused the file, if it did.
	Error string `json:"error,omitempty"`
	// human is the text report.
	human func(io.Writer)
}

func runInspect(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "inspect", "fogkit inspect [-key KEY] [-json] FILE", true)
	key := f.String("key", "", "license: license.pub to verify it; update package: update.pub to verify it; support bundle: the vendor's support.key to open it")
	pos, err := f.parse(e, args, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	in, err := os.Open(path)
	if err != nil {
		return err
	}
	defer in.Close()
	st, err := in.Stat()
	if err != nil {
		return err
	}
	if !st.Mode().IsRegular() {
		return fmt.Errorf("%s: not a regular file", path)
	}
	ins := &inspection{Kind: detect(in, st.Size()), File: path}
	ierr := inspectKind(ctx, ins, in, st.Size(), *key)
	if ierr != nil {
		ierr = fmt.Errorf("%s: %s: %w", path, ins.Kind, ierr)
		ins.Error = ierr.Error()
	}
	if ins.Report == nil && ierr != nil {
		return ierr
	}
	if f.asJSON() {
		if err := writeJSON(e.stdout, ins); err != nil {
			return err
		}
	} else {
		fmt.Fprintf(e.stdout, "%s: %s\n", path, describe(ins.Kind))
		if ins.human != nil {
			ins.human(e.stdout)
		}
	}
	if ierr != nil {
		return ierr
	}
	if ins.Findings > 0 {
		return withCode(exitWarning, fmt.Errorf("%s: %d finding(s) (see the report)", path, ins.Findings))
	}
	return nil
}

// describe names a kind for people.
func describe(kind string) string {
	return map[string]string{
		kindOVA: "OVA (signed virtual appliance archive)", kindVMDK: "VMDK disk image", kindQCOW2: "qcow2 disk image",
		kindVHD: "VHD disk image", kindVHDX: "VHDX disk image", kindISO: "ISO 9660 image", kindGCE: "GCE image (disk.raw in a tar.gz)",
		kindDisk: "raw GPT disk", kindCPIO: "cpio archive (initramfs)", kindLicense: "fogkit license file",
		kindUpdate: "fogkit update package", kindSupport: "fogkit support bundle",
		kindBackup:  "fogkit backup, encrypted with a passphrase (fogkit backup verify -passphrase-file F checks it)",
		kindOpenPGP: "OpenPGP-encrypted file: a support bundle (inspect -key support.key opens it) or a backup encrypted to a key (fogkit backup verify -key)",
		kindUnknown: "not a kind fogkit knows",
	}[kind]
}

// inspectKind fills ins from the package that reads the kind.
func inspectKind(ctx context.Context, ins *inspection, f *os.File, size int64, key string) error {
	switch ins.Kind {
	case kindOVA:
		rep, err := ova.Verify(ctx, f, &ova.VerifyOptions{AllowUnsigned: true})
		if rep != nil {
			vs := ovaMachine(f)
			ins.Report, ins.human = ovaInspection{rep, vs}, func(w io.Writer) { printOVA(w, rep); printMachine(w, vs) }
		}
		return err
	case kindVMDK:
		rep, err := vmdk.Verify(ctx, f, nil)
		if rep != nil {
			ins.Report, ins.Findings = rep, len(rep.Findings)
			ins.human = func(w io.Writer) {
				fmt.Fprintf(w, "  capacity %d bytes, %d grains (%d compressed bytes), end of stream %v\n", rep.Capacity, rep.Grains, rep.CompressedBytes, rep.EndOfStream)
				printFindings(w, rep.Findings)
			}
		}
		return err
	case kindQCOW2:
		rep, err := qcow2.Inspect(ctx, f, size)
		if rep != nil {
			ins.Report, ins.Findings = rep, len(rep.Findings)
			ins.human = func(w io.Writer) {
				fmt.Fprintf(w, "  version %d, %d bytes virtual, %d data clusters (%d compressed, %d zero)\n", rep.Header.Version, rep.Header.Size, rep.DataClusters, rep.CompressedClusters, rep.ZeroClusters)
				printFindings(w, rep.Findings)
			}
		}
		return err
	case kindVHD:
		rep, err := vhd.Inspect(ctx, f, size)
		if rep != nil {
			ins.Report, ins.Findings = rep, len(rep.Findings)
			ins.human = func(w io.Writer) {
				fmt.Fprintf(w, "  %s, %d bytes virtual, %d bytes file\n", rep.Type, rep.VirtualSize, rep.FileSize)
				printFindings(w, rep.Findings)
			}
		}
		return err
	case kindVHDX:
		rep, err := vhdx.Inspect(ctx, f, size)
		if rep != nil {
			ins.Report, ins.Findings = rep, len(rep.Findings)
			ins.human = func(w io.Writer) {
				if rep.Info != nil {
					fmt.Fprintf(w, "  %d bytes virtual, %d blocks present, %d zero\n", rep.Info.VirtualSize, rep.PresentBlocks, rep.ZeroBlocks)
				}
				printFindings(w, rep.Findings)
			}
		}
		return err
	case kindISO:
		rep, err := iso.Inspect(ctx, f, size)
		if rep != nil {
			ins.Report, ins.Findings = rep, len(rep.Findings)
			ins.human = func(w io.Writer) {
				fmt.Fprintf(w, "  %d bytes\n", rep.Size)
				printFindings(w, rep.Findings)
			}
		}
		return err
	case kindGCE:
		rep, err := gce.Check(ctx, io.NewSectionReader(f, 0, size))
		if rep != nil {
			ins.Report, ins.Findings = rep, len(rep.Findings)
			ins.human = func(w io.Writer) {
				for _, m := range rep.Members {
					fmt.Fprintf(w, "  member %s (%s, %s): %d bytes, %d stored\n", m.Name, m.Type, m.Format, m.Size, m.Stored)
				}
				printFindings(w, rep.Findings)
			}
		}
		return err
	case kindDisk:
		rep, err := disk.Inspect(f, size)
		if rep != nil {
			ins.Report = rep
			ins.human = func(w io.Writer) {
				for _, p := range rep.Layout.Partitions {
					fmt.Fprintf(w, "  partition %-12s at %d, %d bytes\n", p.Name, p.Offset, p.Size)
				}
				for _, x := range rep.Files {
					fmt.Fprintf(w, "  ESP %-40s %10d  %s\n", x.Path, x.Size, x.SHA256)
				}
			}
		}
		return err
	case kindCPIO:
		rep, err := rootfs.Inspect(io.NewSectionReader(f, 0, size), nil)
		if rep != nil {
			ins.Report = rep
			ins.human = func(w io.Writer) {
				fmt.Fprintf(w, "  %d entries, %d paths, %d bytes of file data, /init runs: %v, members %v\n", rep.Entries, rep.Paths, rep.DataBytes, rep.Init, rep.Members)
			}
		}
		return err
	case kindLicense:
		return inspectLicenseKind(ctx, ins, f, key)
	case kindUpdate:
		return inspectUpdate(ctx, ins, f, size, key)
	case kindSupport, kindOpenPGP:
		return inspectSupport(ctx, ins, f, key)
	case kindBackup:
		ins.Report = map[string]any{"encrypted": true, "method": "passphrase"}
		return nil
	}
	return errors.New("unknown content: inspect reads OVA, VMDK, qcow2, VHD, VHDX, ISO, GCE tar.gz, raw GPT disks, cpio initramfs, licenses, update packages, support bundles and backups")
}

// printFindings lists findings of any package (each has a String method).
func printFindings[F fmt.Stringer](w io.Writer, fs []F) {
	for _, x := range fs {
		fmt.Fprintln(w, "  FINDING", x)
	}
	if len(fs) == 0 {
		fmt.Fprintln(w, "  no findings")
	}
}

func printOVA(w io.Writer, rep *ova.Report) {
	fmt.Fprintf(w, "  %s, %d bytes, signature verified: %v\n", rep.Name, rep.Size, rep.Signed)
	if s := rep.Signer; s != nil {
		fmt.Fprintf(w, "  signed by %s (%s), valid %s to %s, sha256 fingerprint %s\n", s.Subject, s.KeyType, s.NotBefore, s.NotAfter, s.Fingerprint)
	}
	for _, x := range rep.Entries {
		fmt.Fprintf(w, "  %-12s %-32s %12d  %s %s\n", x.Kind, x.Name, x.Size, x.Algorithm, x.Digest)
	}
	for _, x := range rep.Findings {
		// Notes such as no-roots: who to trust is the reader's choice.
		fmt.Fprintf(w, "  NOTE %s: %s %s\n", x.Code, x.File, x.Message)
	}
}

// inspectLicenseKind shows a license's fields; with key (license.pub) it
// verifies it for the product it names.
func inspectLicenseKind(ctx context.Context, ins *inspection, f *os.File, key string) error {
	rep, err := inspectLicense(f.Name())
	if rep == nil {
		return err
	}
	ins.Report, ins.human = rep, func(w io.Writer) { printLicenseInspect(w, rep) }
	if err != nil || key == "" || rep.License == nil {
		return err
	}
	ring, err := licenseRing([]string{key})
	if err != nil {
		return err
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return err
	}
	st, err := license.Verify(ctx, f, ring, rep.License.Product, nil)
	if st != nil && st.License != nil {
		rep.Verified = true
		ins.human = func(w io.Writer) { license.WriteStatus(w, st, license.Outcome(st, err)) }
	}
	return err
}

// inspectUpdate reads an update package's manifest; with key (update.pub)
// it verifies the whole package.
func inspectUpdate(ctx context.Context, ins *inspection, f *os.File, size int64, key string) error {
	if key != "" {
		ring, err := loadUpdateRing(key)
		if err != nil {
			return err
		}
		rep, err := update.Verify(ctx, f, size, &update.VerifyOptions{Keyring: ring})
		if rep != nil {
			r := verifyUpdateReport{f.Name(), rep.Manifest, rep.KeyIDs, rep.ContentVerified}
			ins.Report, ins.human = r, func(w io.Writer) { printManifest(w, rep.Manifest, "verified, signed by "+fmt.Sprint(rep.KeyIDs)) }
		}
		return err
	}
	m, err := readUpdateManifest(io.NewSectionReader(f, 0, size))
	if err != nil {
		return err
	}
	ins.Report = struct {
		Verified bool             `json:"verified"`
		Manifest *update.Manifest `json:"manifest"`
	}{false, m}
	ins.human = func(w io.Writer) {
		printManifest(w, m, "UNVERIFIED (inspect -key update.pub, or fogkit update verify, checks the signature)")
	}
	return nil
}

func printManifest(w io.Writer, m *update.Manifest, state string) {
	fmt.Fprintf(w, "  %s\n  %s %s/%s %s seq %d, kind %s, tree %s, payload %d bytes, needs %d bytes free\n",
		state, m.Vendor, m.Product, m.Channel, m.Version, m.Sequence, m.Kind, m.Tree, m.Payload.Size, m.SpaceNeeded)
}

// maxManifest caps the manifest member read without a key.
const maxManifest = 16 << 20

// readUpdateManifest reads the manifest member of an update package, the
// second member after the marker, without checking any signature.
func readUpdateManifest(r io.Reader) (*update.Manifest, error) {
	tr := tar.NewReader(r)
	for range 2 {
		h, err := tr.Next()
		if err != nil {
			return nil, fmt.Errorf("%w: %w", update.ErrMalformed, err)
		}
		if h.Name != update.MemberManifest {
			continue
		}
		if h.Size > maxManifest {
			return nil, fmt.Errorf("%w: manifest of %d bytes", update.ErrTooLarge, h.Size)
		}
		b, err := io.ReadAll(io.LimitReader(tr, maxManifest))
		if err != nil {
			return nil, err
		}
		return update.ParseManifest(b, nil)
	}
	return nil, fmt.Errorf("%w: no %s as the second member", update.ErrMalformed, update.MemberManifest)
}

// inspectSupport opens a support bundle: a plain one without a key, an
// encrypted one with the vendor's support.key.
func inspectSupport(ctx context.Context, ins *inspection, f *os.File, key string) error {
	var k *sign.OpenPGPSigner
	if ins.Kind == kindOpenPGP {
		if key == "" {
			ins.Report = map[string]any{"encrypted": true, "method": "public key"}
			return nil
		}
		var err error
		if k, err = loadSupportKey(key, ""); err != nil {
			return err
		}
	}
	b, err := support.Open(ctx, f, k, &support.OpenOptions{Plain: k == nil})
	if err != nil {
		return err
	}
	ins.Kind = kindSupport
	ins.Report, ins.human = b.Index, func(w io.Writer) { support.WriteIndex(w, b.Index) }
	return nil
}
