package support

import (
	"io"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// Defaults for the zero values of Options.
const (
	// DefaultMaxLines is Options.MaxLines when it is 0: the lines kept of
	// each file.
	DefaultMaxLines = 10000
	// DefaultMaxBytes is Options.MaxBytes when it is 0: the bytes kept of
	// each file.
	DefaultMaxBytes = 5 << 20
	// DefaultMaxTotal is Options.MaxTotal when it is 0: the bytes of all
	// stored files together, before compression.
	DefaultMaxTotal = 64 << 20
	// DefaultMaxOpen is OpenOptions.MaxSize when it is 0: a bundle written
	// with the default caps always fits.
	DefaultMaxOpen = DefaultMaxTotal + DefaultMaxTotal/4
)

// Compression names for Options.Compression.
const (
	CompressionZstd = "zstd"
	CompressionGzip = "gzip"
)

// Options control Write; nil means defaults (which need Recipients, so a
// nil Options only suits a caller that sets nothing else: Write refuses it
// with ErrNoRecipients).
type Options struct {
	// Product, Version and Sequence identify the appliance and the bundle
	// in the index.
	Product  string `json:"product,omitempty"`
	Version  string `json:"version,omitempty"`
	Sequence uint64 `json:"sequence,omitempty"`
	// Sources are the collectors, in archive order.
	Sources []Source `json:"-"`
	// MaxLines caps the lines kept of each file; the last lines are kept.
	// 0 means DefaultMaxLines.
	MaxLines int `json:"maxLines,omitempty"`
	// MaxBytes caps the bytes kept of each file (after redaction); the
	// last bytes are kept, in whole lines. 0 means DefaultMaxBytes.
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// MaxTotal caps the bytes of all stored files together, before
	// compression (index.json and tar headers are not counted). 0 means
	// DefaultMaxTotal.
	MaxTotal int64 `json:"maxTotal,omitempty"`
	// Redact configures redaction; nil means the default redactors only.
	Redact *RedactOptions `json:"redact,omitempty"`
	// Compression is "zstd" (the default when empty) or "gzip".
	Compression string `json:"compression,omitempty"`
	// Recipients are the vendor's support keys (sign.PurposeSupport) the
	// bundle is encrypted to; required unless Plain.
	Recipients []*sign.OpenPGPPublicKey `json:"-"`
	// Plain writes the compressed archive unencrypted, for the admin to
	// look at what would be sent.
	Plain bool `json:"plain,omitempty"`
	// Now gives the bundle's timestamp (index and tar headers); nil means
	// Unix 0.
	Now func() time.Time `json:"-"`
	// Progress, when set, is called synchronously as sources are collected
	// and members written.
	Progress func(Event) `json:"-"`
	// Rand is the randomness for the tokenizing key and the encryption's
	// session key; nil means crypto/rand.
	Rand io.Reader `json:"-"`
}

// RedactOptions configure redaction. The zero value (and a nil pointer)
// means the default redactors only.
type RedactOptions struct {
	// NoDefaults drops the default redactors, keeping only Patterns and
	// Literals.
	NoDefaults bool `json:"noDefaults,omitempty"`
	// Patterns are the vendor's RE2 regular expressions: the whole match,
	// or capture group 1 when the pattern has one, is replaced.
	Patterns []string `json:"patterns,omitempty"`
	// Literals are exact secret values (the appliance's admin token,
	// license key material...), replaced wherever they appear.
	Literals []string `json:"literals,omitempty"`
	// Tokenize replaces each secret with a placeholder derived from it by a
	// keyed hash with a random per-bundle key, "[REDACTED-3f2a9c1d]": the
	// same secret gives the same placeholder throughout one bundle,
	// different secrets different ones, and nobody without the key can
	// test guesses against a placeholder. Without it every secret becomes
	// "[REDACTED]".
	Tokenize bool `json:"tokenize,omitempty"`
}

// Event reports progress. Stages of Write: "collect" (File is the source
// name; Done and Total count sources), "write" (File is the member path;
// Done is the stored bytes so far and Total MaxTotal), "done". Stages of
// Open: "read" (File is the member path; Done the decompressed bytes so
// far, Total the cap), "done".
type Event struct {
	Stage string `json:"stage"`
	File  string `json:"file,omitempty"`
	Done  int64  `json:"done"`
	Total int64  `json:"total"`
}

// OpenOptions control Open; nil means defaults.
type OpenOptions struct {
	// MaxSize caps the encrypted bundle, the compressed archive and the
	// decompressed archive, each, in bytes. 0 means DefaultMaxOpen.
	MaxSize int64 `json:"maxSize,omitempty"`
	// Plain accepts an unencrypted bundle (as written with Options.Plain);
	// the key may then be nil. An encrypted bundle still needs the key.
	Plain bool `json:"plain,omitempty"`
	// Progress, when set, is called synchronously as members are read.
	Progress func(Event) `json:"-"`
}
