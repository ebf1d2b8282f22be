package specfile

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/fogkit/fogkit/appliance"
)

// MaxInitSize caps a prebuilt /init read by Resolve.
const MaxInitSize = 256 << 20

// Host places of the isolinux parts (Debian's isolinux and syslinux-common
// packages), in order; Resolve takes the first that exists.
var (
	HostISOLinuxPlaces  = []string{"/usr/lib/ISOLINUX/isolinux.bin", "/usr/lib/syslinux/isolinux.bin"}
	HostLDLinuxPlaces   = []string{"/usr/lib/syslinux/modules/bios/ldlinux.c32", "/usr/lib/syslinux/ldlinux.c32"}
	HostHybridMBRPlaces = []string{"/usr/lib/ISOLINUX/isohdpfx.bin", "/usr/lib/syslinux/isohdpfx.bin"}
)

// Resolve fills in what the spec needs from the build host, so that
// f.Spec is ready for appliance.Build: it builds the init's Go package
// (appliance.GoInit, with the Go toolchain) or reads its file, takes the
// host's kernel for kernel.host (appliance.HostKernel; none found is not
// an error, the build then says why it does not boot), finds the BIOS
// parts (appliance.HostBIOS) and the isolinux parts, and sets
// f.FetchAssets for kernel.fetch the way the reference pipeline does:
// when no kernel file is named, whether or not the host has one. It
// returns every problem it meets in one error.
func (f *File) Resolve(ctx context.Context) error {
	var errs []error
	fail := func(key string, err error) { errs = append(errs, fmt.Errorf("%s: %s: %w", f.Name, key, err)) }
	s := f.Spec
	switch {
	case f.Init.File != "":
		b, err := readCapped(f.Init.File, MaxInitSize)
		if err != nil {
			fail("init.file", err)
		}
		s.Init = b
	case f.Init.GoPackage != "":
		b, err := appliance.GoInit(ctx, f.Init.GoPackage)
		if err != nil {
			fail("init.goPackage", err)
		}
		s.Init = b
	}
	if f.Kernel.File == "" && f.Kernel.Host {
		s.Kernel = appliance.HostKernel()
	}
	f.FetchAssets = f.Kernel.File == "" && f.Kernel.Fetch
	if f.BIOS.Enabled {
		b, err := appliance.HostBIOS(f.BIOS.Syslinux, f.BIOS.GPTMBR)
		if err != nil {
			fail("bios", err)
		}
		s.BIOS = b
	}
	if f.ISOLinux.Enabled {
		for _, p := range []struct {
			key    string
			v      *string
			places []string
		}{
			{"isolinux.loader", &f.ISOLinux.Loader, HostISOLinuxPlaces},
			{"isolinux.ldlinux", &f.ISOLinux.LDLinux, HostLDLinuxPlaces},
			{"isolinux.hybridMBR", &f.ISOLinux.HybridMBR, HostHybridMBRPlaces},
		} {
			if *p.v == "" {
				*p.v = firstExisting(p.places)
			}
			if *p.v == "" {
				fail(p.key, fmt.Errorf("not found on this host (Debian: apt-get install isolinux syslinux-common), or name it"))
			}
		}
	}
	if len(errs) == 0 {
		return ctx.Err()
	}
	return errors.Join(errs...)
}

// readCapped reads a whole file of at most limit bytes.
func readCapped(path string, limit int64) ([]byte, error) {
	r, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer r.Close()
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err != nil {
		return nil, err
	}
	if int64(len(b)) > limit {
		return nil, fmt.Errorf("%s: larger than %d bytes", path, limit)
	}
	return b, nil
}

// firstExisting returns the first of places that is a regular file.
func firstExisting(places []string) string {
	for _, p := range places {
		if st, err := os.Stat(p); err == nil && st.Mode().IsRegular() {
			return p
		}
	}
	return ""
}
