//go:build !linux

package vhdx

import "io"

// holeFile leaves zeros as holes in the output file on Linux only.
type holeFile struct{}

func newHoleFile(io.Writer) *holeFile              { return nil }
func (h *holeFile) skip(at, n int64) (bool, error) { return false, nil }
func (h *holeFile) finish(n int64) error           { return nil }
