//go:build linux

package vhdx

import (
	"errors"
	"io"
	"os"
	"syscall"
)

const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// dataExtents calls fn for the byte ranges [off, end) of src that may hold
// data, in ascending order; holes of a regular *os.File, found with
// SEEK_DATA/SEEK_HOLE, are left out and never read. The file offset is
// restored afterwards. Any other source is one extent.
func dataExtents(src io.ReaderAt, size int64, fn func(off, end int64) error) error {
	f, ok := src.(*os.File)
	if !ok {
		return fn(0, size)
	}
	if st, err := f.Stat(); err != nil || !st.Mode().IsRegular() {
		return fn(0, size)
	}
	saved, err := f.Seek(0, io.SeekCurrent)
	if err != nil {
		return fn(0, size)
	}
	defer func() { _, _ = f.Seek(saved, io.SeekStart) }()
	for pos := int64(0); pos < size; {
		d, err := f.Seek(pos, seekData)
		if errors.Is(err, syscall.ENXIO) {
			return nil // no data after pos
		}
		if err != nil {
			return fn(pos, size) // no SEEK_DATA on this file system
		}
		if d >= size {
			return nil
		}
		h, err := f.Seek(d, seekHole)
		if err != nil || h <= d {
			h = size
		}
		h = min(h, size)
		if err := fn(d, h); err != nil {
			return err
		}
		pos = h
	}
	return nil
}
