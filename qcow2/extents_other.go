//go:build !linux

package qcow2

import "io"

func dataRuns(io.ReaderAt, int64, int64) []run { return nil }

// cachedReader is the page-cache probe of the Linux scan; elsewhere the
// scan reads whole batches.
type cachedReader struct{}

func newCachedReader(io.ReaderAt) *cachedReader { return nil }

func (*cachedReader) readCached([]byte, int64) bool { return false }
