//go:build linux

package vmdk

import (
	"os"
	"syscall"
)

const (
	seekData = 3 // SEEK_DATA
	seekHole = 4 // SEEK_HOLE
)

// fileExtents iterates the data extents of a regular file with
// SEEK_DATA/SEEK_HOLE, so holes are never read. It moves the file offset and
// restores it in close. When the file system does not support the calls it
// reports the whole range as data.
type fileExtents struct {
	f        *os.File
	size     int64
	pos      int64
	saved    int64
	fellBack bool
	done     bool
}

func newExtents(src any, size int64) extentIter {
	f, ok := src.(*os.File)
	if !ok {
		return &wholeExtent{size: size}
	}
	st, err := f.Stat()
	if err != nil || !st.Mode().IsRegular() {
		return &wholeExtent{size: size}
	}
	e := &fileExtents{f: f, size: size}
	if cur, err := e.seek(0, 1); err == nil {
		e.saved = cur
	} else {
		return &wholeExtent{size: size}
	}
	return e
}

func (e *fileExtents) seek(off int64, whence int) (int64, error) {
	rc, err := e.f.SyscallConn()
	if err != nil {
		return 0, err
	}
	var r int64
	var serr error
	if err := rc.Control(func(fd uintptr) { r, serr = syscall.Seek(int(fd), off, whence) }); err != nil {
		return 0, err
	}
	return r, serr
}

func (e *fileExtents) next() (int64, int64, bool, error) {
	if e.done || e.pos >= e.size {
		return 0, 0, false, nil
	}
	if e.fellBack {
		e.done = true
		return e.pos, e.size, true, nil
	}
	d, err := e.seek(e.pos, seekData)
	if err == syscall.ENXIO { // no data after pos
		e.done = true
		return 0, 0, false, nil
	}
	if err != nil {
		e.fellBack = true
		return e.next()
	}
	if d >= e.size {
		e.done = true
		return 0, 0, false, nil
	}
	h, err := e.seek(d, seekHole)
	if err != nil || h <= d {
		h = e.size
	}
	h = min(h, e.size)
	e.pos = h
	return d, h, true, nil
}

func (e *fileExtents) close() { _, _ = e.seek(e.saved, 0) }
