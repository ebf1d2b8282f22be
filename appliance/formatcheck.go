package appliance

import (
	"context"
	"fmt"
	"io"
	"strings"

	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/iso"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
)

// verifyDiskFormat runs the format's own checker over a disk output: the
// same structural checks its tests hold the writer to, so Verify reports
// a damaged or truncated qcow2, VHD, VHDX, ISO or GCE archive, not only one
// whose digest changed. Other outputs pass.
func verifyDiskFormat(ctx context.Context, name string, f io.ReaderAt, size int64) error {
	var findings []string
	switch {
	case strings.HasSuffix(name, ".qcow2"):
		rep, err := qcow2.Inspect(ctx, f, size)
		if err != nil {
			return err
		}
		for _, x := range rep.Findings {
			findings = append(findings, x.String())
		}
	case strings.HasSuffix(name, ".vhd"):
		rep, err := vhd.Inspect(ctx, f, size)
		if err != nil {
			return err
		}
		for _, x := range rep.Findings {
			findings = append(findings, x.String())
		}
	case strings.HasSuffix(name, ".vhdx"):
		rep, err := vhdx.Inspect(ctx, f, size)
		if err != nil {
			return err
		}
		for _, x := range rep.Findings {
			findings = append(findings, x.String())
		}
	case strings.HasSuffix(name, ".iso"):
		rep, err := iso.Inspect(ctx, f, size)
		if err != nil {
			return err
		}
		for _, x := range rep.Findings {
			findings = append(findings, x.String())
		}
	case strings.HasSuffix(name, ".tar.gz"):
		rep, err := gce.Check(ctx, io.NewSectionReader(f, 0, size))
		if err != nil {
			return err
		}
		for _, x := range rep.Findings {
			findings = append(findings, x.String())
		}
	}
	if len(findings) > 0 {
		return fmt.Errorf("%d problems: %s", len(findings), strings.Join(findings, "; "))
	}
	return nil
}
