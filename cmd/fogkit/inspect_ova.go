package main

import (
	"archive/tar"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/fogkit/fogkit/appliance"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
)

// ovaInspection is an OVA's report with the machine its descriptor
// describes: what an admin importing it gets, flavour by flavour.
type ovaInspection struct {
	*ova.Report
	Machine *ovf.VirtualSystem `json:"machine,omitempty"`
}

// ovaMachine reads the descriptor (an OVA's first member) again and
// converts it to the model; nil when it cannot, since Verify has said why.
func ovaMachine(f *os.File) *ovf.VirtualSystem {
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	h, err := tar.NewReader(f).Next()
	if err != nil || !strings.HasSuffix(h.Name, ".ovf") || h.Size > ova.MaxDescriptorSize {
		return nil
	}
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil
	}
	tr := tar.NewReader(f)
	if _, err := tr.Next(); err != nil {
		return nil
	}
	env, err := ovf.Parse(io.LimitReader(tr, ova.MaxDescriptorSize), nil)
	if err != nil {
		return nil
	}
	vs, err := env.VirtualSystem()
	if err != nil {
		return nil
	}
	return vs
}

func printMachine(w io.Writer, vs *ovf.VirtualSystem) {
	if vs == nil {
		return
	}
	fw := vs.Firmware
	if fw == "" {
		fw = ovf.BIOS
	}
	fmt.Fprintf(w, "  machine %s: %d CPUs, %d MiB memory, %s firmware\n", vs.Name, vs.CPUs, vs.MemoryMiB, fw)
	for _, d := range vs.Disks {
		where := d.Href
		if where == "" {
			where = "blank, made at import"
		}
		fmt.Fprintf(w, "  disk %-12s %s (%s)%s\n", d.ID, appliance.FormatSize(d.Capacity), where, diskConfigurations(d))
	}
	for _, c := range vs.Configurations {
		def := ""
		if c.Default {
			def = " (default)"
		}
		fmt.Fprintf(w, "  flavour %s%s: %d CPUs, %d MiB memory\n", c.ID, def, c.CPUs, c.MemoryMiB)
	}
}

// diskConfigurations names the flavours a disk belongs to, when not all.
func diskConfigurations(d ovf.Disk) string {
	if len(d.Configurations) == 0 {
		return ""
	}
	return ", flavour " + strings.Join(d.Configurations, " ")
}
