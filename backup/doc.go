// Package backup exports, verifies and restores the customer's data tree
// of an appliance (the data disk's application directory, plus vendor
// streams such as a database dump) in a format the customer can read
// without fogkit.
//
// Files: backup.go (options and types), write.go (Write), stream.go
// (CommandStream), read.go (Verify and the reader Restore shares),
// restore.go (Restore), switch*.go (the atomic switch), format.go (member
// names and path rules), errors.go.
//
// # Format
//
// A backup is one OpenPGP message: encrypted with a passphrase (SKESK v4,
// iterated and salted SHA-256 S2K, AES-256; sign.EncryptPassphrase) or to
// the customer's OpenPGP keys (sign.Encrypt), always with integrity
// protection (SEIPDv1 with MDC, which gpg 2.2 reads). Its plaintext is a
// zstd (default), gzip or uncompressed POSIX tar (ustar headers, PAX
// records only where ustar cannot hold a value) whose members are, in
// this order:
//
//	fogkit-backup.json      header: format, product, version, sequence, schema, created
//	data/                   the root directory of the tree
//	data/<rel>[/]           directories, regular files and symlinks, depth first, names sorted
//	streams/<name>          each stream, in Options.Streams order
//	fogkit-manifest.json    the header's fields, its SHA-256, and every entry of data/
//	                        and streams/ with type, mode, owner, mtime, size, SHA-256, target
//
// Member headers carry numeric owners and no owner names; mode bits are
// the permission bits plus setuid, setgid and sticky; times are whole
// seconds in the tar and nanoseconds in the manifest. The plaintext is
// deterministic: the same tree and options give the same bytes (only the
// encryption's session key and salt differ between runs).
//
// The reader accepts exactly what the writer produces: the header first,
// member order and names as the manifest lists them, each member's type,
// mode, owner, time, size and SHA-256 as listed, no other members, nothing
// after the tar, no tar fields the writer never sets. Digests are
// late-bound (computed while the data streams through and listed at the
// end), so Write reads every file once and memory stays bounded: the
// manifest holds one entry per file and is capped through
// ReadOptions.MaxFiles; the decompressed size through MaxSize.
//
// # What the customer can do with standard tools
//
//	gpg --decrypt backup.pgp > backup.tar.zst     # asks for the passphrase, or uses the secret key
//	zstd -d < backup.tar.zst | tar -tvf -          # or: bsdtar -tvf backup.tar.zst
//	zstd -d < backup.tar.zst | tar -xpf - data/    # the tree, under data/
//	sha256sum data/...                             # compare with fogkit-manifest.json
//
// # What Write stores
//
// Directories, regular files and symlinks whose target is relative and
// stays inside the tree however it resolves (".." elements only at its
// start, no more than the link's depth). Symlinks to absolute or escaping
// targets, sockets, FIFOs and devices are skipped and listed in
// Manifest.Skipped (and reported as "skip" events); a backup never follows
// a link. Hard-linked files are stored as separate files. Names that are
// not valid UTF-8 or hold control characters are skipped likewise. A file
// whose size or modification time changes while it is read fails the
// backup (ErrChanged): stop the application, or dump its live data through
// a Stream and Exclude the files. Streams are spooled to a temporary file
// (Options.TempDir) because a tar member's size precedes its bytes; a
// stream whose Close fails (CommandStream: the command exits non-zero)
// fails the backup (ErrStream).
//
// # Restore guarantees
//
// Restore refuses a backup of another product (ErrProduct) or of a newer
// appliance (higher Sequence, ErrDowngrade) as soon as the header is read,
// before writing anything, unless RestoreOptions.Accept (the vendor's
// migration hook, which sees the header's product, version, sequence and
// schema) returns nil. It stages the tree in "<dir>.restore-<random>"
// beside dir, creating each entry exclusively inside an os.Root without
// following symlinks, syncs every file and directory, and switches only
// after the manifest matched every member and decryption's integrity
// check passed: with renameat2(RENAME_EXCHANGE) on Linux when dir exists,
// so that dir is at every instant either the old tree or the new one (two
// renames on other systems). Any error before the switch removes the
// staging directory and leaves dir untouched. Modes (setuid, setgid and
// sticky included) and modification times are restored on files and
// directories; owners when Restore runs as root; symlinks keep the time of
// their creation. Streams land in RestoreOptions.StreamDir inside the new
// tree (default ".fogkit-streams"), replacing files of that name a
// previous restore left there. dir must not itself be a mount point (a
// rename cannot move one): restore the application directory on the data
// disk, not the disk's mount point. Restore needs free space for a second
// copy of the tree until the old one is removed.
package backup
