// Package bsdiff creates and applies BSDIFF40 binary patches, the format of
// Colin Percival's bsdiff 4 and of github.com/gabstv/go-bsdiff v1.0.5.
//
// Diff produces a patch from two byte slices: bsdiff 4's algorithm over an
// SA-IS suffix array, with output byte-identical to go-bsdiff v1.0.5's in
// a fraction of its time and memory. Patch applies one with a hardened
// applier written for untrusted input: the header is checked before
// anything is allocated (the new size must not exceed the caller's limit),
// every control triple is bounds-checked, the number of control triples is
// bounded, each bzip2 stream must end exactly where its data ends, and no
// panic escapes. Patches made here apply with Debian's bspatch, and patches
// made by the C bsdiff apply here.
//
// Diff and Patch are the whole API, so the differ can change without
// changing callers as long as it keeps producing the same patch format.
package bsdiff
