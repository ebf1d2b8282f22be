package bsdiff

import (
	"flag"
	"runtime/debug"
)

// quietGC makes garbage collection rare in a fuzz worker process (and
// does nothing in a plain test run). Fuzzing instruments the standard
// library too, and some of it allocates from sync.Pools (fmt's printer
// pool, for one) whose New runs only after a collection emptied the pool:
// coverage then depends on GC timing, the fuzzer keeps "finding" coverage
// it cannot reproduce, and it spends its run minimising inputs that never
// shrink. These targets' live heap is a few MiB, so a high GOGC is cheap.
func quietGC() {
	if f := flag.Lookup("test.fuzzworker"); f != nil && f.Value.String() == "true" {
		debug.SetGCPercent(2000)
	}
}
