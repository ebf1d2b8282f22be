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
// Limits, all enforced before the work or allocation they bound:
//
//   - Diff: each input at most MaxInputSize (1 GiB), ErrTooLarge above.
//   - Patch, PatchBytes, ReadHeader: the header's new size at most the
//     caller's maxNewSize (ErrTooLarge); a negative maxNewSize is itself an
//     ErrTooLarge error, never "no limit". The output is allocated only
//     after this check.
//   - Patch reads at most MaxPatchSize(maxNewSize) bytes of patch: twice
//     the limit plus 1 MiB, saturating at math.MaxInt64-1.
//   - Control block: at most maxNewSize/8 + 65536 triples and at most 1024
//     empty (0, 0, seek) triples in a row (ErrCorrupt); each diff or extra
//     length must fit in what is left of the new file; old-file seeks stay
//     within ±2^48.
//   - CPU: the bzip2 blocks are decoded with compress/bzip2, whose work
//     is linear in the data (the dsnet decoder spent exponential time on
//     incomplete Huffman tables), and the loop over control triples is
//     bounded as above.
//   - Memory while patching: the new file, the patch, and for outputs of
//     1 MiB or more four 256 KiB read-ahead chunks per bzip2 stream.
//
// Diff and Patch are the whole API, so the differ can change without
// changing callers as long as it keeps producing the same patch format.
package bsdiff
