package delta

import "syscall"

// madvHugepage is MADV_HUGEPAGE, which package syscall does not name.
const madvHugepage = 14

func madviseHuge(b []byte) { syscall.Madvise(b, madvHugepage) }
