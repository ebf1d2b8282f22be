package appliance

import (
	"context"
	"io"
	"os"

	"github.com/fogkit/fogkit/ext4"
	"github.com/fogkit/fogkit/vmdk"
)

// DefaultDataLabel is the data disk's label when Spec.DataLabel is empty.
const DefaultDataLabel = "fogkit-data"

// stageData formats the data disk the appliance ships with: an empty
// ext4 file system in a sparse temporary file in the output directory,
// from which every format's data disk is written (the writers skip the
// zero clusters, so each holds little more than its metadata). The seed is
// the appliance Name, so every version of an appliance formats its data
// disk the same way, and the agent can format a blank disk identically on
// first boot.
func (b *builder) stageData(ctx context.Context) error {
	fsOpts := &ext4.Options{Label: b.s.DataLabel, Seed: b.s.Name, ModTime: b.s.Epoch}
	b.dataRaw = b.path("data.raw.partial")
	f, err := os.OpenFile(b.dataRaw, os.O_RDWR|os.O_CREATE|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	// A fresh file of this size is sparse and reads as zeros, which is
	// what ext4.Format assumes by default.
	if err := f.Truncate(b.s.DataSize); err != nil {
		return err
	}
	if _, err := ext4.Format(ctx, f, b.s.DataSize, fsOpts); err != nil {
		return err
	}
	b.rec.Options["ext4Data"] = fsOpts
	return f.Close()
}

// writeDataVMDK writes the OVA's data disk.
func (b *builder) writeDataVMDK(ctx context.Context) error {
	f, err := os.Open(b.dataRaw)
	if err != nil {
		return err
	}
	defer f.Close()
	dataName := b.s.Name + "-data.vmdk"
	progress := func(e vmdk.Event) { b.event(Event{Stage: "vmdk", File: dataName, Done: e.Done, Total: e.Total}) }
	dataOpts := &vmdk.Options{FileName: dataName, Workers: b.o.Workers, Progress: progress}
	if err := b.writeOutput(dataName, func(w io.Writer) error {
		var err error
		b.data, err = vmdk.Write(ctx, w, f, b.s.DataSize, dataOpts)
		return err
	}); err != nil {
		return err
	}
	b.rec.Options["vmdkData"] = dataOpts
	return nil
}
