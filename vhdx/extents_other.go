//go:build !linux

package vhdx

import "io"

// dataExtents reports the whole of src as one extent that may hold data.
func dataExtents(src io.ReaderAt, size int64, fn func(off, end int64) error) error {
	return fn(0, size)
}
