// Package govmomitest holds the interop test in which govmomi, VMware's own
// Go SDK, reads ovf's golden descriptors. It lives apart from package ovf
// so that ovf's test binary does not link govmomi: coverage-guided fuzzing
// snapshots every linked package's counters on each run, and govmomi's
// generated vSphere types made ovf's fuzz targets crawl.
package govmomitest
