package update

import (
	"fmt"
	"io"
	"strings"
)

// WriteBuildSummary writes what Build did in one line, naming the package
// file name, and a second line when a diff or bundle payload came out
// larger than a full package's (BuildOptions.FullIfLarger builds the full
// one instead).
func WriteBuildSummary(w io.Writer, name string, r *BuildReport) error {
	m := r.Manifest
	if _, err := fmt.Fprintf(w, "%s: %s %s %s seq %d, %d bytes (%d whole, %d patched, %d kept, %d deleted)\n",
		name, m.Kind, m.Product, m.Version, m.Sequence, r.Size, r.Whole, r.Patched, r.Kept, r.Deleted); err != nil {
		return err
	}
	if r.LargerThanFull && !r.BuiltFull {
		_, err := fmt.Fprintf(w, "note: the %s payload is larger than a full package's %d bytes (build a full one instead)\n", m.Kind, r.FullSize)
		return err
	}
	return nil
}

// WriteVerifySummary writes what Verify found in one line: the package's
// identity, the keys that signed it and how far its content was checked.
func WriteVerifySummary(w io.Writer, r *Report) error {
	m := r.Manifest
	content := "content verified"
	if !r.ContentVerified {
		content = "payload digest verified, content encrypted (the decryption key checks it)"
	}
	_, err := fmt.Fprintf(w, "OK %s %s/%s %s seq %d kind %s tree %s signed by %s, %s\n", m.Vendor, m.Product, m.Channel,
		m.Version, m.Sequence, m.Kind, m.Tree, strings.Join(r.KeyIDs, ","), content)
	return err
}

// WriteApplySummary writes what Apply did in one line: the versions, the
// new slot (pending until Confirm) and how its files came to be.
func WriteApplySummary(w io.Writer, r *ApplyReport) error {
	if r.AlreadyInstalled {
		_, err := fmt.Fprintf(w, "already installed: %s seq %d\n", r.To.Version, r.To.Sequence)
		return err
	}
	from := "nothing"
	if r.From != nil {
		from = r.From.Version
	}
	_, err := fmt.Fprintf(w, "applied %s -> %s (slot %s, pending until confirmed): %d written, %d patched, %d reused, %d copied\n",
		from, r.To.Version, r.To.Name, r.Written, r.Patched, r.Reused, r.Copied)
	return err
}

// WriteStateSummary writes the target's state in one line: the product,
// the current slot and whether it is confirmed or still counting boot
// attempts.
func WriteStateSummary(w io.Writer, st *State) error {
	state := "confirmed"
	if st.Pending {
		state = fmt.Sprintf("pending (%d/%d boot attempts)", st.Attempts, st.MaxAttempts)
	}
	_, err := fmt.Fprintf(w, "%s %s seq %d in %s: %s\n", st.Product, st.Current.Version, st.Current.Sequence, st.Current.Dir(), state)
	return err
}
