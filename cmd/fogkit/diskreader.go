package main

import (
	"fmt"
	"io"
	"os"

	"github.com/fogkit/fogkit/qcow2"
	"github.com/fogkit/fogkit/vhd"
	"github.com/fogkit/fogkit/vhdx"
	"github.com/fogkit/fogkit/vmdk"
)

// virtualDisk is a disk image file opened through fogkit's reader for its
// format: the virtual disk's bytes as an io.ReaderAt.
type virtualDisk struct {
	file   *os.File
	format string // raw, vmdk, qcow2, vhd or vhdx
	io.ReaderAt
	size int64
}

func (d *virtualDisk) Close() error { return d.file.Close() }

// openDisk opens path and its virtual disk. A file of no disk format fogkit
// reads is taken as raw, unless it is another kind inspect knows (an OVA,
// an ISO stays raw: its bytes are the disk).
func openDisk(path string) (*virtualDisk, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, err
	}
	d := &virtualDisk{file: f, ReaderAt: f, size: st.Size(), format: "raw"}
	var open func() (io.ReaderAt, int64, error)
	switch k := detect(f, st.Size()); k {
	case kindVMDK:
		open = func() (io.ReaderAt, int64, error) { v, err := vmdk.Open(f, st.Size()); return v, size(v, err), err }
	case kindQCOW2:
		open = func() (io.ReaderAt, int64, error) { v, err := qcow2.Open(f, st.Size()); return v, size(v, err), err }
	case kindVHD:
		open = func() (io.ReaderAt, int64, error) { v, err := vhd.Open(f, st.Size()); return v, size(v, err), err }
	case kindVHDX:
		open = func() (io.ReaderAt, int64, error) { v, err := vhdx.Open(f, st.Size()); return v, size(v, err), err }
	case kindDisk, kindISO, kindUnknown:
	default:
		f.Close()
		return nil, fmt.Errorf("%s: a %s file, not a disk image (convert reads raw, vmdk, qcow2, vhd and vhdx)", path, k)
	}
	if open != nil {
		r, n, err := open()
		if err != nil {
			f.Close()
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		d.ReaderAt, d.size, d.format = r, n, detect(f, st.Size())
	}
	return d, nil
}

// size is the virtual size of an opened disk (0 when it did not open).
func size(v interface{ Size() int64 }, err error) int64 {
	if err != nil {
		return 0
	}
	return v.Size()
}
