package backup

import (
	"context"
	"io"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// FormatVersion is the format number Write records and readers accept.
const FormatVersion = 1

// Defaults of ReadOptions.
const (
	// DefaultMaxSize caps the decompressed backup (1 TiB).
	DefaultMaxSize = 1 << 40
	// DefaultMaxFiles caps the number of entries (files, dirs, symlinks and
	// streams).
	DefaultMaxFiles = 1_000_000
	// DefaultStreamDir is where Restore puts streams, relative to the
	// restored tree.
	DefaultStreamDir = ".fogkit-streams"
)

// Options control Write. Nil is not allowed: Dir and a passphrase or
// recipients are required.
type Options struct {
	// Product, Version and Sequence identify the appliance making the
	// backup; Restore compares them with its own.
	Product  string `json:"product"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	// Schema is the vendor's data schema version, recorded for the
	// migration hook.
	Schema int `json:"schema,omitempty"`
	// Dir is the tree to back up: its contents, the directory itself is
	// the root of the backup.
	Dir string `json:"dir"`
	// Exclude holds path.Match patterns matched against slash-separated
	// paths relative to Dir; a matching directory excludes its subtree.
	Exclude []string `json:"exclude,omitempty"`
	// Streams are extra named byte streams (a database dump) stored after
	// the tree. Each is spooled to a temporary file in TempDir first, since
	// a tar member's size precedes its bytes.
	Streams []Stream `json:"-"`
	// Passphrase or Recipients: exactly one of them says who can read the
	// backup (ErrNoKey otherwise).
	Passphrase []byte                   `json:"-"`
	Recipients []*sign.OpenPGPPublicKey `json:"-"`
	// Compression is "zstd" (default, ""), "gzip" or "none".
	Compression string `json:"compression,omitempty"`
	// TempDir is where streams are spooled; "" means os.TempDir().
	TempDir string `json:"tempDir,omitempty"`
	// Now gives the creation time recorded in the backup; nil means Unix 0.
	Now func() time.Time `json:"-"`
	// Progress, when set, is called synchronously as the backup advances.
	Progress func(Event) `json:"-"`
}

// Stream is a named byte stream stored in the backup beside the tree.
type Stream struct {
	// Name is one path element of letters, digits, '.', '_' and '-'.
	Name string `json:"name"`
	// Open starts the stream. Close's error fails the backup (a dump
	// command that exits non-zero).
	Open func(ctx context.Context) (io.ReadCloser, error) `json:"-"`
}

// Manifest describes a backup. Write returns it; Verify and Restore return
// the one read back, checked against every member.
type Manifest struct {
	Format   int       `json:"format"`
	Product  string    `json:"product"`
	Version  string    `json:"version"`
	Sequence uint64    `json:"sequence"`
	Schema   int       `json:"schema,omitempty"`
	Created  time.Time `json:"created"`
	// HeaderSHA256 is the hex SHA-256 of the header member
	// (fogkit-backup.json) as stored.
	HeaderSHA256 string `json:"headerSha256"`
	// Files lists the tree in member order: paths relative to the root.
	Files []Entry `json:"files"`
	// Streams lists the streams in member order; Path is the stream name.
	Streams []Entry `json:"streams"`
	// Skipped lists what Write left out because it cannot be restored
	// safely: symlinks with absolute or escaping targets, sockets, FIFOs
	// and devices.
	Skipped []string `json:"skipped,omitempty"`
}

// Entry types.
const (
	TypeDir     = "dir"
	TypeFile    = "file"
	TypeSymlink = "symlink"
)

// Entry is one file, directory, symlink or stream of a backup.
type Entry struct {
	// Path is slash-separated and relative to the tree's root.
	Path string `json:"path"`
	Type string `json:"type"` // TypeDir, TypeFile or TypeSymlink
	// Mode holds the permission bits plus setuid (04000), setgid (02000)
	// and sticky (01000), in Unix numbering; 0777 for symlinks.
	Mode uint32 `json:"mode"`
	// UID and GID are the numeric owner; Restore applies them when it runs
	// as root.
	UID int `json:"uid"`
	GID int `json:"gid"`
	// ModTime is the modification time (Restore sets it on files and
	// directories).
	ModTime time.Time `json:"modTime"`
	Size    int64     `json:"size"`             // bytes, files and streams only
	SHA256  string    `json:"sha256,omitempty"` // hex, files and streams only
	Target  string    `json:"target,omitempty"` // symlinks only
}

// Event reports progress.
type Event struct {
	// Stage: "file", "stream", "skip", "manifest" (Write); "read" (Verify
	// and Restore), "switch" (Restore).
	Stage string `json:"stage"`
	File  string `json:"file,omitempty"`
	// Done and Total count bytes of the stage; Total is 0 when unknown.
	Done  int64 `json:"done"`
	Total int64 `json:"total"`
}

// ReadOptions control Verify; nil is not allowed (a passphrase or key is
// required).
type ReadOptions struct {
	// Passphrase or Key decrypts the backup (exactly one; ErrNoKey
	// otherwise).
	Passphrase []byte              `json:"-"`
	Key        *sign.OpenPGPSigner `json:"-"`
	// MaxSize caps the decompressed backup; 0 means DefaultMaxSize.
	MaxSize int64 `json:"maxSize,omitempty"`
	// MaxFiles caps the entries; 0 means DefaultMaxFiles.
	MaxFiles int `json:"maxFiles,omitempty"`
	// Progress, when set, is called synchronously as reading advances.
	Progress func(Event) `json:"-"`
}

// RestoreOptions control Restore.
type RestoreOptions struct {
	ReadOptions
	// Product, Version and Sequence describe the restoring appliance.
	Product  string `json:"product"`
	Version  string `json:"version"`
	Sequence uint64 `json:"sequence"`
	// Accept is the migration hook: it is called with the backup's header
	// (Files and Streams empty) when the product differs or the backup's
	// sequence is higher; a nil error accepts the backup.
	Accept func(*Manifest) error `json:"-"`
	// StreamDir is where streams are restored, relative to the restored
	// tree; "" means DefaultStreamDir.
	StreamDir string `json:"streamDir,omitempty"`
}
