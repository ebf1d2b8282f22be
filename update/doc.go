// Package update builds, verifies and applies offline update packages for
// fogkit appliances. It has two roles, each in its own files: the package
// format (building, reading and verifying a package) and the slots and
// state of a target it is applied to. Installing a slot's boot tree on an
// ESP with systemd-boot's boot counting is package esp; a crash-injecting
// in-memory FS for tests is package update/updatetest.
//
// # Package format
//
// Files: manifest.go (Manifest, Step, File, Limits, ParseManifest),
// tree.go (Entry, TreeDigest, ScanTree), build.go (Build), read.go
// (Verify, ExtractNested, and the reading Apply shares), openpgp.go.
//
// A package is one tar with a fixed member order: a version marker
// ("fogkit-update"), the canonical JSON manifest ("manifest.json"), one or
// more detached signatures over the exact manifest bytes ("manifest.sig",
// "manifest.sig.2", ... for key rotation; made by any sign.Signer of
// purpose sign.PurposeUpdate, an armored OpenPGP signature in the product
// setup) and the payload ("payload"), a tar of whole files, patches and
// nested packages, optionally encrypted to the product's key.
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
// ExtractNested hands out a nested package after the same checks, once
// its own manifest matches its Nested entry (product, version, sequence)
// and its bytes the entry's size and digest.
// OpenPGPEncrypter and OpenPGPDecrypter wire the sign package's OpenPGP
// encryption in. OpenPGPKeyring builds the keyring for OpenPGP update keys
// and states the key-expiry policy: a signature is judged at its own
// creation time, and only with a trusted clock is a key that has expired
// by now refused.
//
// Kinds: full (every file; applies to any installed version and installs
// into an empty target), diff (per-file patches from one exact
// version, files whose patch is not clearly smaller carried whole, deleted
// and unchanged files listed), bundle (sequential diffs; the applier starts
// at the installed version and commits once) and nested (other products'
// packages carried unchanged for a server to store and hand out; the
// server verifies them by digest and never applies them).
//
// # Patch formats
//
// A changed file is patched with BSDIFF40 (package bsdiff; every fogkit
// applier and Debian's bspatch read it; built and applied in memory, so
// up to BuildOptions.MaxPatchFileSize and Limits.MaxPatchFileSize) when
// both versions are below BuildOptions.DeltaThreshold (64 MiB), and with
// fkdelta1 (package delta) above: about 1.5 times the old file to build,
// a streaming apply in a few MiB whatever the size, so GiB images and
// bundles of them apply on small appliances. BuildOptions.PatchFormat
// forces one format, TryBoth keeps the smaller of the two for small
// files. An fkdelta1 member's File.PatchFormat says so, and the manifest's
// Requires lists the format with the package format revision that added
// it (FormatRevision, "1.1"): an applier that does not know a required
// feature refuses the package before writing anything, with a FormatError
// (ErrUnknownFormat) naming the feature and that revision. Packages that
// use only BSDIFF40 carry neither field and stay readable by appliers of
// revision 1.0, which refuse the others as malformed (an unknown manifest
// field), also before writing. An fkdelta1 patch is streamed from the
// verified payload spool; its header must name the manifest's base and
// result digests, the base file is checked whole before the first byte
// is written, its member hash is checked once read, and the produced
// file's digest before the slot is committed.
//
// The package is read once: the payload is copied into a private spool
// while its digest is computed (in memory up to 64 MiB, otherwise a
// temporary file in VerifyOptions.SpoolDir, default os.TempDir()), and
// decryption, member checks and staging read only that verified copy. Allow
// that much temporary space for large packages.
//
// # Slots and state
//
// Files: fs.go (FS, WriteFile, OSFS), state.go (State, Slot, ReadState,
// the target's layout), apply.go (Apply), confirm.go (Confirm,
// BootAttempt, Rollback), recover.go (Recover), adopt.go (Adopt), lock.go
// (Locker, LockFile), links.go (when an unchanged file may be
// hard-linked). Apply reads a package through the same steps as Verify
// (open and check the head, spool and check the payload, then stream its
// members, each hash checked before its bytes are used), so it stays in
// this package: those steps are not exported API.
//
// Apply works through the small FS interface (OSFS on a directory;
// updatetest.MemFS in memory with crash injection, for tests). The target
// holds versioned slots under slots/ and a state file naming the current
// and previous slot; the new version is staged in a new slot, verified file
// by file and by tree digest, and switched to by one atomic replacement of
// the state file, so a crash at any point leaves exactly the old or exactly
// the new tree (Recover cleans up). A new slot is pending until Confirm;
// BootAttempt counts boots and rolls back after MaxAttempts. Package esp
// installs a slot's boot tree onto an ESP as a systemd-boot boot-counted
// entry and blesses it; Adopt records a tree that came with the appliance
// (not from a package) as the installed version, so diff packages apply to
// it.
//
// Unchanged files are hard-linked from the current slot into the new one
// only when every other name of the file is Apply's own (the same path in
// the previous slot or an earlier step of the same apply); a file that
// also has a name outside the target, or a second name in the same slot,
// is copied, so a new slot never shares an inode with anything Apply does
// not own and holds exactly the independent files the package lists.
//
// The state file is validated like a manifest (vendor, product, channel,
// slot names, versions and trees); a damaged one is ErrState. Its
// HighestSequence is the replay floor: the highest sequence ever
// installed. A rollback (Rollback, or BootAttempt after failed boots)
// switches back to an older slot but keeps the floor, so a package below
// it stays refused with ErrDowngrade; the newest version itself may be
// applied again, and ApplyOptions.AllowDowngrade accepts an older one on
// purpose. State files from before the field derive it from the slots they
// name. A package naming the installed version is verified completely
// before Apply reports AlreadyInstalled.
//
// Every operation that changes the target (Apply, Confirm, BootAttempt,
// Rollback, Recover) holds the target's exclusive lock for its whole run:
// with OSFS a flock(2) on LockFile ("update.lock" in the target
// directory), which the kernel releases when the holder dies; with
// updatetest.MemFS an in-memory lock. A second caller, in the same
// process or another, fails at once with an error matching ErrBusy and
// changes nothing; ApplyOptions.WaitLock makes Apply wait for the lock
// until its context ends instead.
package update
