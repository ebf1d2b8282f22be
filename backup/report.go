package backup

import (
	"fmt"
	"io"
)

// FileTotals counts the regular files of m's tree and their bytes
// (directories, symlinks and streams aside).
func (m *Manifest) FileTotals() (files, bytes int64) {
	for _, e := range m.Files {
		if e.Type == TypeFile {
			files++
			bytes += e.Size
		}
	}
	return files, bytes
}

// WriteSummary writes in one line what a backup holds, for after Verify or
// Restore has checked every digest: product, version, sequence, schema,
// creation time, file totals and streams.
func WriteSummary(w io.Writer, m *Manifest) error {
	n, size := m.FileTotals()
	_, err := fmt.Fprintf(w, "%s %s (sequence %d, schema %d), made %s: %d files, %d bytes, %d streams: every digest matches\n",
		m.Product, m.Version, m.Sequence, m.Schema, m.Created.UTC().Format("2006-01-02 15:04:05Z"), n, size, len(m.Streams))
	return err
}
