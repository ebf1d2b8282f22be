package license

import (
	"strconv"
	"strings"
	"testing"
	"time"
)

// FuzzParseTerms: the issuing parsers read what a vendor types. They never
// panic; an accepted time is UTC and reads back from its RFC 3339 form;
// accepted limits and metadata hold exactly the pairs given (the last of a
// repeated name wins) and print back to pairs that parse the same.
func FuzzParseTerms(f *testing.F) {
	for _, s := range []string{"2027-12-31", "2027-12-31T10:00:00+02:00", "1767225600", "nodes=3", "po=PO-1", "a=b=c", "x", "=", "-9223372036854775808", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		if tm, err := ParseTime(s); err == nil {
			if tm.Location() != time.UTC {
				t.Fatalf("ParseTime(%q) = %v, not UTC", s, tm)
			}
			back, err := ParseTime(tm.Format(time.RFC3339Nano))
			if err != nil || !back.Equal(tm) {
				t.Fatalf("ParseTime(%q) = %v does not read back: %v, %v", s, tm, back, err)
			}
		}
		for _, f := range ParseFeatures(s) {
			if f == "" || strings.Contains(f, ",") || f != strings.TrimSpace(f) {
				t.Fatalf("ParseFeatures(%q) gave %q", s, f)
			}
		}
		pairs := strings.Split(s, ";")
		if m, err := ParseLimits(pairs); err == nil {
			var again []string
			for k, v := range m {
				again = append(again, k+"="+strconv.FormatInt(v, 10))
			}
			m2, err := ParseLimits(again)
			if err != nil || len(m2) != len(m) {
				t.Fatalf("ParseLimits(%q) = %v does not read back: %v, %v", pairs, m, m2, err)
			}
		}
		if m, err := ParseMetadata(pairs); err == nil {
			for _, kv := range pairs {
				k, _, _ := strings.Cut(kv, "=")
				if _, ok := m[k]; !ok {
					t.Fatalf("ParseMetadata(%q) lost %q", pairs, k)
				}
			}
		}
	})
}
