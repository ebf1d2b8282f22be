package support

import "time"

// IndexFormat is the Index.Format this package writes and reads.
const IndexFormat = 1

// IndexName is the archive member holding the Index; it is the last member.
const IndexName = "index.json"

// Source statuses in SourceEntry.Status.
const (
	StatusOK        = "ok"
	StatusTruncated = "truncated"
	StatusSkipped   = "skipped"
	StatusFailed    = "failed"
)

// Index is index.json, the archive's last member: what was collected, how
// it was capped and redacted, and the size and SHA-256 of every other
// member, in archive order.
type Index struct {
	Format   int       `json:"format"`
	Product  string    `json:"product,omitempty"`
	Version  string    `json:"version,omitempty"`
	Sequence uint64    `json:"sequence,omitempty"`
	Created  time.Time `json:"created"`
	// Compression is "zstd" or "gzip".
	Compression string `json:"compression"`
	// Limits are the caps the bundle was collected under.
	Limits Limits `json:"limits"`
	// Files lists every member but index.json, in archive order.
	Files []FileEntry `json:"files"`
	// Sources lists every source, in the order given.
	Sources []SourceEntry `json:"sources"`
	// Totals over Files and Sources.
	TotalBytes int64 `json:"totalBytes"`
	Redactions int   `json:"redactions"`
	Truncated  int   `json:"truncated"` // files truncated
	Skipped    int   `json:"skipped"`   // sources skipped
	Failed     int   `json:"failed"`    // sources failed
}

// Limits records the caps in force.
type Limits struct {
	MaxLines int   `json:"maxLines"`
	MaxBytes int64 `json:"maxBytes"`
	MaxTotal int64 `json:"maxTotal"`
	// Keep says which part of a file over a cap is kept: "tail" (the
	// last lines).
	Keep string `json:"keep"`
}

// FileEntry describes one stored member.
type FileEntry struct {
	Path   string `json:"path"`
	Source string `json:"source"`
	Size   int64  `json:"size"`
	SHA256 string `json:"sha256"`
	Lines  int    `json:"lines"`
	// Redactions counts the secrets replaced in this file.
	Redactions int `json:"redactions"`
	// Truncated is set when lines were dropped from the front (or a line
	// was cut) to keep the file under the caps.
	Truncated bool `json:"truncated,omitempty"`
	// Dropped counts the bytes of the input not kept, when known.
	Dropped int64 `json:"dropped,omitempty"`
}

// SourceEntry describes what one source gave.
type SourceEntry struct {
	Name string `json:"name"`
	// Kind is "file", "glob", "command", "kernel", "reader" or "bytes".
	Kind string `json:"kind"`
	// Status is StatusOK, StatusTruncated, StatusSkipped or StatusFailed.
	Status string `json:"status"`
	Error  string `json:"error,omitempty"`
	// Files and Bytes count what the source stored.
	Files int   `json:"files"`
	Bytes int64 `json:"bytes"`
	// SkippedFiles lists the files a glob left out and why ("path: not a
	// regular file"), at most 100.
	SkippedFiles []string `json:"skippedFiles,omitempty"`
}
