package support

import (
	"fmt"
	"io"
)

// WriteIndex writes a bundle's index as text for the person who opens it:
// what was collected and when, the totals, one line a file (with its
// redactions and whether it was truncated) and every source that did not
// come out whole.
func WriteIndex(w io.Writer, ix *Index) error {
	if _, err := fmt.Fprintf(w, "%s %s (sequence %d), collected %s\n%d files, %d bytes, %d redactions, %d truncated, %d sources skipped, %d failed\n\n",
		ix.Product, ix.Version, ix.Sequence, ix.Created.UTC().Format("2006-01-02 15:04:05Z"),
		len(ix.Files), ix.TotalBytes, ix.Redactions, ix.Truncated, ix.Skipped, ix.Failed); err != nil {
		return err
	}
	for _, f := range ix.Files {
		note := ""
		if f.Truncated {
			note = " (truncated)"
		}
		if _, err := fmt.Fprintf(w, "  %-40s %10d bytes %7d lines %4d redacted%s\n", f.Path, f.Size, f.Lines, f.Redactions, note); err != nil {
			return err
		}
	}
	for _, s := range ix.Sources {
		if s.Status == StatusOK {
			continue
		}
		if _, err := fmt.Fprintf(w, "  source %s: %s %s\n", s.Name, s.Status, s.Error); err != nil {
			return err
		}
	}
	return nil
}
