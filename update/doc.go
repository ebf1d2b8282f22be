// Package update builds, verifies and applies offline update packages for
// fogkit appliances.
//
// A package is one tar with a fixed member order: a version marker
// ("fogkit-update"), the canonical JSON manifest ("manifest.json"), one or
// more detached signatures over the exact manifest bytes ("manifest.sig",
// "manifest.sig.2", ... for key rotation; made by any sign.Signer of
// purpose sign.PurposeUpdate, an armored OpenPGP signature in the product
// setup) and the payload ("payload"), a tar of whole files, BSDIFF40
// patches and nested packages, optionally encrypted to the product's key.
// The manifest names vendor, product, channel, version, a monotonic
// sequence, the kind, the bases it applies from (every base file's size
// and SHA-256), every resulting file with its operation and hashes, the
// resulting tree's digest (TreeDigest), nested packages, the payload's
// digest (of the stored, possibly encrypted bytes: the signature is
// checked before anything is decrypted) and the space an apply needs.
//
// Build writes packages; Verify checks one without a target (structure,
// signatures against a sign.Keyring, policy, payload digest and, when the
// payload is plain or a Decrypter is given, every payload member);
// ExtractNested hands out a nested package after the same checks.
// OpenPGPEncrypter and OpenPGPDecrypter wire the sign package's OpenPGP
// encryption in.
//
// Kinds: full (every file; applies to any installed version and installs
// into an empty target), diff (per-file BSDIFF40 patches from one exact
// version, files whose patch is not clearly smaller carried whole, deleted
// and unchanged files listed), bundle (sequential diffs; the applier starts
// at the installed version and commits once) and nested (other products'
// packages carried unchanged for a server to store and hand out; the
// server verifies them by digest and never applies them).
//
// The package is read once: the payload is copied into a private spool
// while its digest is computed (in memory up to 64 MiB, otherwise a
// temporary file in VerifyOptions.SpoolDir, default os.TempDir()), and
// decryption, member checks and staging read only that verified copy. Allow
// that much temporary space for large packages.
//
// Apply works through the small FS interface (OSFS on a directory, MemFS
// in memory with crash injection). The target holds versioned slots under
// slots/ and a state file naming the current and previous slot; the new
// version is staged in a new slot, verified file by file and by tree
// digest, and switched to by one atomic replacement of the state file, so
// a crash at any point leaves exactly the old or exactly the new tree
// (Recover cleans up). A new slot is pending until Confirm; BootAttempt
// counts boots and rolls back after MaxAttempts. BootEntryName and friends
// name and bless systemd-boot's boot-counted loader entries
// (name+LEFT-DONE.conf) for the same scheme on an ESP; installing a slot's
// kernel and initrd onto the ESP is the host's job.
package update
