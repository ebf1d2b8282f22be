package license

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"
)

// Outcome names the result of Verify in one word for reports and exit
// codes: "valid", "grace" (expired but within its grace period), "expired"
// or "invalid" (any other error).
func Outcome(st *Status, err error) string {
	switch {
	case errors.Is(err, ErrExpired):
		return "expired"
	case err != nil:
		return "invalid"
	case st != nil && st.InGrace:
		return "grace"
	}
	return "valid"
}

// WriteStatus writes a verification's result as text, one field a line:
// the outcome (from Outcome), the key, the check time, the time left, then
// the license as WriteLicense writes it.
func WriteStatus(w io.Writer, st *Status, outcome string) error {
	ew := &errWriter{w: w}
	ew.printf("status:     %s\n", outcome)
	ew.printf("key:        %s\n", st.KeyID)
	ew.printf("checked at: %s\n", st.Now.Format(time.RFC3339))
	switch {
	case st.Perpetual:
		ew.printf("expires:    never\n")
	case st.License != nil:
		days, _ := st.DaysUntilExpiry()
		ew.printf("remaining:  %d days (%s), with grace %s\n", days, st.Remaining.Truncate(time.Second), st.GraceRemaining.Truncate(time.Second))
	}
	if ew.err == nil && st.License != nil {
		return WriteLicense(w, st.License)
	}
	return ew.err
}

// WriteLicense writes l as text, one field a line, limits and metadata in
// key order.
func WriteLicense(w io.Writer, l *License) error {
	ew := &errWriter{w: w}
	ew.printf("license:    %s (sequence %d, format %d)\n", l.ID, l.Sequence, l.Format)
	ew.printf("product:    %s\n", l.Product)
	ew.printf("customer:   %s (%s)\n", l.Customer.ID, l.Customer.Name)
	ew.printf("issued:     %s\n", l.IssuedAt.Format(time.RFC3339))
	ew.printf("valid from: %s\n", l.NotBefore.Format(time.RFC3339))
	if l.ExpiresAt != nil {
		ew.printf("expires at: %s (grace %s)\n", l.ExpiresAt.Format(time.RFC3339), l.GracePeriod)
	}
	if l.UpdatesUntil != nil {
		ew.printf("updates:    released until %s\n", l.UpdatesUntil.Format(time.RFC3339))
	} else {
		ew.printf("updates:    all\n")
	}
	if l.Seats == 0 {
		ew.printf("seats:      unlimited\n")
	} else {
		ew.printf("seats:      %d\n", l.Seats)
	}
	ew.printf("features:   %s\n", strings.Join(l.Features, ", "))
	for _, k := range slices.Sorted(maps.Keys(l.Limits)) {
		ew.printf("limit:      %s=%d\n", k, l.Limits[k])
	}
	if l.InstanceID != "" {
		ew.printf("instance:   %s\n", l.InstanceID)
	}
	if l.Trial {
		ew.printf("trial:      yes\n")
	}
	for _, k := range slices.Sorted(maps.Keys(l.Metadata)) {
		ew.printf("meta:       %s=%q\n", k, l.Metadata[k])
	}
	return ew.err
}

// errWriter keeps the first write error, so a report is a list of printf
// calls and one check.
type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, a ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, a...)
	}
}
