// Command mkova packs streamOptimized VMDK disks into an OVA: it builds the
// OVF descriptor with the ovf package (disk capacities read from the VMDK
// headers, file sizes from the files), then writes the archive with the ova
// package, signing it when a key and certificate are given.
//
//	go run ./examples/mkova -name NAME -disk boot.vmdk [-disk data.vmdk] [-cpus 2]
//	    [-memory 2048] [-firmware bios|efi] [-product P -vendor V -version X]
//	    [-key key.pem -cert cert.pem] -o app.ova
//
// Member times come from SOURCE_DATE_EPOCH (Unix 0 when unset), so the same
// inputs give the same OVA. Exit status: 0 written, 1 failed, 2 bad usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"

	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/rootfs"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/vmdk"
)

type diskList []string

func (d *diskList) String() string     { return strings.Join(*d, ",") }
func (d *diskList) Set(v string) error { *d = append(*d, v); return nil }

var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	switch {
	case err == nil:
	case errors.Is(err, errUsage) || errors.Is(err, flag.ErrHelp):
		os.Exit(2)
	default:
		fmt.Fprintln(os.Stderr, "mkova:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("mkova", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var disks diskList
	name := fs.String("name", "", "appliance name (VM name and base name of the .ovf/.mf/.cert)")
	fs.Var(&disks, "disk", "streamOptimized VMDK to include (repeat for more disks, boot disk first); the N-th disk's extent must be named NAME-diskN.vmdk (mkvmdk -o NAME-diskN.vmdk), as ova.Write checks")
	cpus := fs.Int("cpus", 2, "virtual CPUs")
	memory := fs.Int64("memory", 2048, "memory in MiB")
	firmware := fs.String("firmware", "bios", "firmware: bios or efi")
	product := fs.String("product", "", "ProductSection product name")
	vendor := fs.String("vendor", "", "ProductSection vendor")
	version := fs.String("version", "", "ProductSection version")
	network := fs.String("network", "VM Network", "network the single E1000 NIC connects to (empty: no NIC)")
	keyFile := fs.String("key", "", "private key PEM for signing (needs -cert)")
	certFile := fs.String("cert", "", "certificate chain PEM, leaf first (needs -key)")
	digest := fs.String("digest", "SHA256", "manifest digest: SHA256, SHA1 or SHA512")
	out := fs.String("o", "", "output .ova (required)")
	quiet := fs.Bool("q", false, "no progress output (it is shown only on a terminal anyway)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	usage := func(format string, a ...any) error {
		fmt.Fprintf(stderr, "mkova: "+format+"\n", a...)
		fs.Usage()
		return errUsage
	}
	switch {
	case fs.NArg() != 0:
		return usage("unexpected arguments %q", fs.Args())
	case *name == "":
		return usage("-name is required")
	case len(disks) == 0:
		return usage("at least one -disk is required")
	case *out == "":
		return usage("-o is required")
	case (*keyFile == "") != (*certFile == ""):
		return usage("-key and -cert go together")
	case *firmware != "bios" && *firmware != "efi":
		return usage("-firmware must be bios or efi")
	}

	vs := &ovf.VirtualSystem{
		Name:      *name,
		OS:        ovf.OSLinux64,
		CPUs:      *cpus,
		MemoryMiB: *memory,
		Firmware:  ovf.Firmware(*firmware),
	}
	if *product != "" || *vendor != "" || *version != "" {
		vs.Product = &ovf.Product{Product: *product, Vendor: *vendor, Version: *version}
	}
	if *network != "" {
		vs.Networks = []ovf.Network{{Name: *network, Description: "The " + *network + " network"}}
		vs.NICs = []ovf.NIC{{Network: *network}}
	}
	var files []ova.File
	for i, path := range disks {
		capacity, err := vmdkCapacity(path)
		if err != nil {
			return err
		}
		href := fmt.Sprintf("%s-disk%d.vmdk", *name, i+1)
		f, err := ova.PathFile(href, path, nil)
		if err != nil {
			return err
		}
		files = append(files, f)
		vs.Disks = append(vs.Disks, ovf.Disk{Href: href, FileSize: f.Size, Capacity: capacity})
	}
	// VirtualBox reads EFI firmware only from its own machine block.
	desc, err := ovf.MarshalBytes(vs, &ovf.Options{VirtualBoxMachine: vs.Firmware == ovf.EFI})
	if err != nil {
		return fmt.Errorf("descriptor: %w", err)
	}

	mtime, _, err := rootfs.SourceDateEpoch()
	if err != nil {
		return err
	}
	opt := &ova.Options{Name: *name, ModTime: mtime, Digest: ova.Digest(strings.ToUpper(*digest))}
	if *keyFile != "" {
		keyPEM, err := os.ReadFile(*keyFile)
		if err != nil {
			return err
		}
		certPEM, err := os.ReadFile(*certFile)
		if err != nil {
			return err
		}
		s, err := sign.LoadX509Signer(keyPEM, certPEM, sign.PurposeOVA)
		if err != nil {
			return fmt.Errorf("signing key: %w", err)
		}
		opt.Signer = s
	}
	showProgress := !*quiet && isTerminal(stderr)
	if showProgress {
		opt.Progress = progress(stderr)
	}

	tmp, err := os.CreateTemp(filepath.Dir(*out), ".mkova-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	res, err := ova.Write(ctx, tmp, desc, files, opt)
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Chmod(tmp.Name(), 0o644); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), *out); err != nil {
		return err
	}
	if showProgress {
		fmt.Fprintf(stderr, "\r\033[K")
	}
	fmt.Fprintf(stderr, "%s: %d bytes, %d members", *out, res.Size, len(res.Entries))
	if res.Certificate != nil {
		fmt.Fprint(stderr, ", signed")
	}
	fmt.Fprintln(stderr)
	return nil
}

// vmdkCapacity reads the capacity (bytes) from a VMDK's sparse header.
func vmdkCapacity(path string) (int64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sec := make([]byte, 512)
	if _, err := io.ReadFull(f, sec); err != nil {
		return 0, fmt.Errorf("%s: reading the VMDK header: %w", path, err)
	}
	var h vmdk.Header
	if err := h.UnmarshalBinary(sec); err != nil {
		return 0, fmt.Errorf("%s: %w", path, err)
	}
	if h.Capacity == 0 || h.Capacity > 1<<40 {
		return 0, fmt.Errorf("%s: implausible capacity of %d sectors", path, h.Capacity)
	}
	return int64(h.Capacity) * 512, nil
}

func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

// progress prints one updating line per member on stderr.
func progress(w io.Writer) func(ova.Event) {
	last := ""
	return func(e ova.Event) {
		pct := 100
		if e.Total > 0 {
			pct = int(e.Done * 100 / e.Total)
		}
		line := fmt.Sprintf("%-5s %s %3d%%", e.Stage, e.File, pct)
		if line != last {
			fmt.Fprintf(w, "\r\033[K%s", line)
			last = line
		}
	}
}
