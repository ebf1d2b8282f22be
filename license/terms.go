package license

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// ParseTime reads a license date the way a vendor types it: RFC 3339, a
// date (YYYY-MM-DD, meaning 00:00 UTC of that day) or Unix seconds (of a
// year up to 9999, as a license file can hold). The result is in UTC.
func ParseTime(s string) (time.Time, error) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UTC(), nil
	}
	if t, err := time.Parse(time.DateOnly, s); err == nil {
		return t, nil
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		// Only what a license file can hold: its JSON times are RFC 3339,
		// years 0 to 9999.
		if t := time.Unix(n, 0).UTC(); t.Year() >= 0 && t.Year() <= 9999 {
			return t, nil
		}
		return time.Time{}, fmt.Errorf("%q: Unix seconds beyond the year 9999", s)
	}
	return time.Time{}, fmt.Errorf("%q is not RFC 3339, YYYY-MM-DD or Unix seconds", s)
}

// ParseFeatures splits a comma-separated feature list, dropping blanks;
// nil for none.
func ParseFeatures(s string) []string {
	var out []string
	for f := range strings.SplitSeq(s, ",") {
		if f = strings.TrimSpace(f); f != "" {
			out = append(out, f)
		}
	}
	return out
}

// ParseLimits reads numeric limits given as name=N pairs; nil for none.
func ParseLimits(pairs []string) (map[string]int64, error) {
	var m map[string]int64
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			return nil, fmt.Errorf("%q: want name=integer", kv)
		}
		if m == nil {
			m = map[string]int64{}
		}
		m[k] = n
	}
	return m, nil
}

// ParseMetadata reads metadata given as key=value pairs; nil for none.
func ParseMetadata(pairs []string) (map[string]string, error) {
	var m map[string]string
	for _, kv := range pairs {
		k, v, ok := strings.Cut(kv, "=")
		if !ok {
			return nil, fmt.Errorf("%q: want key=value", kv)
		}
		if m == nil {
			m = map[string]string{}
		}
		m[k] = v
	}
	return m, nil
}

// DerivedID is an ID for l when the vendor gives none: "lic-" and 16 hex
// digits of a digest of the product, customer ID, sequence and issue time,
// so that reissuing the same license gives the same ID.
func (l *License) DerivedID() string {
	h := sha256.Sum256(fmt.Appendf(nil, "%s\x00%s\x00%d\x00%s", l.Product, l.Customer.ID, l.Sequence, l.IssuedAt.UTC().Format(time.RFC3339Nano)))
	return "lic-" + hex.EncodeToString(h[:8])
}
