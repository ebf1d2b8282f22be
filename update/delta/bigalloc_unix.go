//go:build unix

package delta

import "syscall"

// bigAlloc returns n zeroed bytes outside the Go heap, and a function that
// releases them. The old file and its index are the differ's only large
// allocations and live for the whole Diff; on the Go heap they would set
// the garbage collector's target to twice their size, letting the small
// per-segment garbage grow to their size again before a collection. Kept
// off the heap, the process stays near their size plus a few segments.
func bigAlloc(n int) ([]byte, func()) {
	if n < 1<<20 {
		return make([]byte, n), func() {}
	}
	b, err := syscall.Mmap(-1, 0, n, syscall.PROT_READ|syscall.PROT_WRITE, syscall.MAP_ANON|syscall.MAP_PRIVATE)
	if err != nil {
		return make([]byte, n), func() {}
	}
	// Huge pages where the kernel offers them: the index is written and
	// read at random, and with 4 KiB pages nearly every access would also
	// miss the TLB. Advice only; an error changes nothing.
	madviseHuge(b)
	return b, func() { syscall.Munmap(b) }
}
