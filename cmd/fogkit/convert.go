package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/fogkit/fogkit/gce"
	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

func init() {
	commands["convert"] = command{"convert a disk image between raw, vmdk, qcow2, vhd, vhdx and gce", runConvert}
}

// convertTargets are the -to formats.
var convertTargets = []string{"qcow2", "vhd", "vhd-dynamic", "vhdx", "vmdk", "gce", "raw"}

// convertReport is convert's machine report.
type convertReport struct {
	In          string `json:"in"`
	InFormat    string `json:"inFormat"`
	Out         string `json:"out"`
	OutFormat   string `json:"outFormat"`
	VirtualSize int64  `json:"virtualSize"`
	Size        int64  `json:"size"`
}

func runConvert(ctx context.Context, e *env, args []string) error {
	f := newFlags(e, "convert", "fogkit convert -to "+strings.Join(convertTargets, "|")+" [-json] IN OUT", true)
	to := f.String("to", "", "output format: "+strings.Join(convertTargets, ", "))
	pos, err := f.parse(e, args, 2)
	if err != nil {
		return err
	}
	var write func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, progress func(done, total int64)) error
	switch *to {
	case "qcow2":
		write = func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, p func(int64, int64)) error {
			_, err := qcow2.Write(ctx, w, src, size, &qcow2.Options{Progress: func(e qcow2.Event) { p(e.Done, e.Total) }})
			return err
		}
	case "vhd", "vhd-dynamic":
		typ := vhd.TypeFixed
		if *to == "vhd-dynamic" {
			typ = vhd.TypeDynamic
		}
		write = func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, p func(int64, int64)) error {
			_, err := vhd.Write(ctx, w, src, size, &vhd.Options{Type: typ, Progress: func(e vhd.Event) { p(e.Done, e.Total) }})
			return err
		}
	case "vhdx":
		write = func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, p func(int64, int64)) error {
			_, err := vhdx.Write(ctx, w, src, size, &vhdx.Options{Progress: func(e vhdx.Event) { p(e.Done, e.Total) }})
			return err
		}
	case "vmdk":
		name := filepath.Base(pos[1])
		write = func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, p func(int64, int64)) error {
			_, err := vmdk.Write(ctx, w, src, size, &vmdk.Options{FileName: name, Progress: func(e vmdk.Event) { p(e.Done, e.Total) }})
			return err
		}
	case "gce":
		write = func(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, p func(int64, int64)) error {
			_, err := gce.Write(ctx, w, src, size, &gce.Options{Progress: func(e gce.Event) { p(e.Done, e.Total) }})
			return err
		}
	case "raw":
		write = copyRaw
	case "":
		return usageErr("-to is required (usage: %s)", f.usage)
	default:
		return usageErr("-to %q: want one of %s", *to, strings.Join(convertTargets, ", "))
	}
	in, err := openDisk(pos[0])
	if err != nil {
		return err
	}
	defer in.Close()
	bar := newBar(e, filepath.Base(pos[1]), f.asJSON())
	err = writeAtomic(pos[1], 0o644, func(w *os.File) error { return write(ctx, w, in, in.size, bar.update) })
	bar.end()
	if err != nil {
		return fmt.Errorf("%s -> %s: %w", pos[0], pos[1], err)
	}
	st, err := os.Stat(pos[1])
	if err != nil {
		return err
	}
	r := convertReport{pos[0], in.format, pos[1], *to, in.size, st.Size()}
	if f.asJSON() {
		return writeJSON(e.stdout, r)
	}
	fmt.Fprintf(e.stdout, "%s (%s, %d bytes virtual) -> %s (%s, %d bytes)\n", r.In, r.InFormat, r.VirtualSize, r.Out, r.OutFormat, r.Size)
	return nil
}

// copyRaw writes the virtual disk's bytes as they are, checking ctx per
// chunk.
func copyRaw(ctx context.Context, w io.Writer, src io.ReaderAt, size int64, p func(int64, int64)) error {
	buf := make([]byte, 1<<20)
	for off := int64(0); off < size; {
		if err := ctx.Err(); err != nil {
			return err
		}
		n := int(min(int64(len(buf)), size-off))
		if _, err := src.ReadAt(buf[:n], off); err != nil && err != io.EOF {
			return err
		}
		if _, err := w.Write(buf[:n]); err != nil {
			return err
		}
		off += int64(n)
		p(off, size)
	}
	return nil
}
