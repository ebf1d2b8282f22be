// Package support makes support bundles: the diagnostics an on-prem
// appliance's admin downloads and sends to the vendor, collected within
// caps, redacted of secrets before anything is written, archived, and
// encrypted to the vendor's support key. Open is the vendor's side.
//
// # What is collected
//
// Options.Sources lists the collectors, in archive order: File (one file),
// Glob (every regular file matching a pattern, sorted, stored as
// dir/<base name>), Command (a program's stdout and stderr, no shell, with
// a timeout), KernelLog (/dev/kmsg read without blocking to its current
// end, or `dmesg`, as system/kernel.log), SystemFacts (system/uname,
// os-release, uptime, cmdline, meminfo, cpuinfo, mounts, df, network,
// modules, processes: text read from /proc, /sys and /etc or computed
// in-process, so an appliance without df, ip or ps still has them), Reader
// (any stream the vendor adds) and Bytes (fixed content such as the
// agent's status JSON). Only regular files are read: a Glob never opens a
// device, FIFO or directory, even through a symbolic link.
//
// # Caps
//
// Every file keeps its tail: the last Options.MaxLines lines
// (DefaultMaxLines, 10000) within Options.MaxBytes bytes (DefaultMaxBytes,
// 5 MiB), since the end of a log matters most; a line over 64 KiB is cut.
// A regular file over the cap is read from its end, so a 500 MB log costs
// what is kept; streams (commands, readers, /proc files) are read through
// a ring of lines, up to 4 times the cap (at least 16 MiB), and a command
// still printing then is killed. Options.MaxTotal (DefaultMaxTotal,
// 64 MiB) caps all files together: a file gets what is left, and once
// less than 4 KiB is left, later files are skipped. Memory stays within a
// few times one file's cap whatever the input. The index records, per
// file, whether it was truncated and how many bytes were dropped, and per
// source its status: "ok", "truncated", "skipped" (missing, not a regular file,
// total cap reached) or "failed" (error, non-zero exit, timeout; the output
// so far is kept). A failing source never fails the bundle: Write fails
// only on bad options, missing recipients, the destination's errors and
// ctx.
//
// # Redaction
//
// Redaction runs line by line on what is kept, before it is written. The
// default redactors replace the values (never the key names) of password,
// passwd, pwd, pass, passphrase, secret, token, api key, access key,
// private key, credential, auth, session and cookie keys in key=value,
// key: value (YAML), "key": "value" (JSON), KEY="value" (env files) and
// `key value;` (nginx, redis and the like) forms; Authorization headers
// (the Bearer/Basic/... scheme stays) and bare bearer tokens; Cookie
// headers; passwords in URLs (scheme://user:[REDACTED]@host); every line
// of a PEM or OpenPGP private key block, on one line (escaped in JSON) or
// over many, even when the cap cut the block's first lines off; AWS access
// key ids (AKIA/ASIA...) and JWTs. RedactOptions adds the vendor's RE2
// Patterns (the whole match, or group 1) and exact Literals, or drops the
// defaults. A secret becomes "[REDACTED]", or with RedactOptions.Tokenize
// "[REDACTED-<8 hex>]" from an HMAC-SHA256 under a random per-bundle key:
// one secret, one placeholder throughout the bundle, and no way to test
// guesses without the key. The index counts redactions per file, never
// what they were.
//
// # Archive layout
//
// The bundle is a tar archive, compressed with zstd (level default,
// single-threaded, 4 MiB window, checksummed; one frame) or gzip, and
// unless Options.Plain encrypted to Options.Recipients with sign.Encrypt
// (OpenPGP; keys of purpose sign.PurposeSupport). Members are regular
// files only (no directory entries), in source order, a glob's files
// sorted, with mode 0644, owner 0/0 without names and the bundle's time
// (Options.Now, truncated to the second; nil means Unix 0); USTAR headers,
// PAX for names USTAR cannot hold. index.json (Index) is the last member,
// so the bundle streams without a temporary copy: it names the product,
// the caps, each source's status and each file's size, SHA-256, lines,
// redactions and truncation. The same sources and Now give the same
// plaintext archive, byte for byte; only the encryption (and Tokenize's
// key) are random.
//
// # Reading a bundle
//
// The vendor calls Open with the support key's private half
// (*sign.OpenPGPSigner): it decrypts, decompresses under
// OpenOptions.MaxSize, and accepts only what Write makes: the members of
// the index, in its order, with its sizes and digests, safe names, nothing
// after the archive. Bundle.Files, ReadFile and Extract (into a new or
// empty directory) give the content. Without fogkit:
//
//	gpg --decrypt bundle.pgp > bundle.tar.zst
//	bsdtar -tvf bundle.tar.zst          # lists the index's files, then index.json
//	bsdtar -xvf bundle.tar.zst -C out   # or: gpg --decrypt bundle.pgp | bsdtar -xvf -
//
// GNU tar reads it too with `tar --zstd -xf`.
package support
