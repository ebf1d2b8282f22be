package license

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// FormatVersion is the payload format this package writes and the only one
// it accepts.
const FormatVersion = 1

// License is the signed content of a license file. Its JSON encoding is the
// payload that gets signed; Verify decodes it strictly (unknown fields and
// unknown format versions are refused).
type License struct {
	// Format is the payload format version; Encode sets 0 to FormatVersion.
	Format int `json:"format"`
	// ID names this license (unique per vendor); hosts revoke by ID.
	ID string `json:"id"`
	// Sequence orders the licenses of one customer: once a host has seen
	// sequence n, licenses with a lower sequence are superseded.
	Sequence uint64 `json:"sequence"`
	// Product is the product the license is for; Verify checks it.
	Product  string   `json:"product"`
	Customer Customer `json:"customer"`
	// IssuedAt is when the license was made (required).
	IssuedAt time.Time `json:"issuedAt"`
	// NotBefore is the start of validity; Encode sets zero to IssuedAt.
	NotBefore time.Time `json:"notBefore"`
	// ExpiresAt is the end of validity; nil means perpetual.
	ExpiresAt *time.Time `json:"expiresAt,omitempty"`
	// GracePeriod is how long after ExpiresAt the license still works,
	// reported as "in grace" so the host can warn or degrade.
	GracePeriod Duration `json:"gracePeriod,omitempty"`
	// UpdatesUntil is the last release date the license covers; nil means
	// every release.
	UpdatesUntil *time.Time `json:"updatesUntil,omitempty"`
	Trial        bool       `json:"trial,omitempty"`
	// Seats is the number of licensed users; 0 means unlimited.
	Seats int `json:"seats"`
	// Features are the enabled feature names (Encode sorts them).
	Features []string `json:"features,omitempty"`
	// Limits are named numeric limits (e.g. "nodes": 5).
	Limits map[string]int64 `json:"limits,omitempty"`
	// InstanceID binds the license to one installation (e.g. its first-boot
	// random token); empty means any installation.
	InstanceID string `json:"instanceId,omitempty"`
	// Metadata is free-form text the vendor wants to carry along.
	Metadata map[string]string `json:"metadata,omitempty"`
}

// Customer identifies the licensee.
type Customer struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// HasFeature reports whether the license enables feature name.
func (l *License) HasFeature(name string) bool {
	return slices.Contains(l.Features, name)
}

// Limit returns the numeric limit called name and whether the license sets it.
func (l *License) Limit(name string) (int64, bool) {
	v, ok := l.Limits[name]
	return v, ok
}

// CheckSeat answers "can I add one more user" when inUse seats are taken:
// nil when the license is unlimited or has a free seat, a *SeatError
// (ErrSeatLimit) otherwise.
func (l *License) CheckSeat(inUse int) error {
	if inUse < 0 {
		inUse = 0
	}
	if l.Seats == 0 || inUse < l.Seats {
		return nil
	}
	return &SeatError{Seats: l.Seats, InUse: inUse}
}

// CoversUpdate reports whether a release made at released is covered: true
// when UpdatesUntil is unset or released is not after it.
func (l *License) CoversUpdate(released time.Time) bool {
	return l.UpdatesUntil == nil || !released.After(*l.UpdatesUntil)
}

// GraceEnd returns ExpiresAt + GracePeriod, and false for a perpetual
// license.
func (l *License) GraceEnd() (time.Time, bool) {
	if l.ExpiresAt == nil {
		return time.Time{}, false
	}
	return l.ExpiresAt.Add(time.Duration(l.GracePeriod)), true
}

// DaysUntilExpiry returns the whole days from now until ExpiresAt, rounded
// down (so 0 on the last day and negative once expired), and false for a
// perpetual license.
func (l *License) DaysUntilExpiry(now time.Time) (int, bool) {
	if l.ExpiresAt == nil {
		return 0, false
	}
	d := l.ExpiresAt.Sub(now)
	days := d / (24 * time.Hour)
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return int(days), true
}

// normalized returns a deep copy of l in canonical form: Format set, times
// in UTC without monotonic readings, NotBefore defaulted to IssuedAt,
// features sorted and deduplicated.
func (l *License) normalized() *License {
	c := *l
	if c.Format == 0 {
		c.Format = FormatVersion
	}
	c.IssuedAt = c.IssuedAt.Round(0).UTC()
	if c.NotBefore.IsZero() {
		c.NotBefore = c.IssuedAt
	}
	c.NotBefore = c.NotBefore.Round(0).UTC()
	if c.ExpiresAt != nil {
		t := c.ExpiresAt.Round(0).UTC()
		c.ExpiresAt = &t
	}
	if c.UpdatesUntil != nil {
		t := c.UpdatesUntil.Round(0).UTC()
		c.UpdatesUntil = &t
	}
	if c.Features != nil {
		c.Features = slices.Compact(slices.Sorted(slices.Values(c.Features)))
	}
	if c.Limits != nil {
		m := make(map[string]int64, len(c.Limits))
		for k, v := range c.Limits {
			m[k] = v
		}
		c.Limits = m
	}
	if c.Metadata != nil {
		m := make(map[string]string, len(c.Metadata))
		for k, v := range c.Metadata {
			m[k] = v
		}
		c.Metadata = m
	}
	return &c
}

// maxField caps identifiers (ids, product, feature and limit names).
const maxField = 256

// validate checks a license in canonical form.
func (l *License) validate() error {
	if l.Format != FormatVersion {
		return &FieldError{"format", fmt.Sprintf("version %d, want %d", l.Format, FormatVersion)}
	}
	for _, f := range []struct{ name, v string }{
		{"id", l.ID}, {"product", l.Product}, {"customer.id", l.Customer.ID},
	} {
		if err := checkIdent(f.name, f.v, true); err != nil {
			return err
		}
	}
	if err := checkIdent("instanceId", l.InstanceID, false); err != nil {
		return err
	}
	if err := checkText("customer.name", l.Customer.Name); err != nil {
		return err
	}
	if l.IssuedAt.IsZero() {
		return &FieldError{"issuedAt", "missing"}
	}
	if l.NotBefore.IsZero() {
		return &FieldError{"notBefore", "missing"}
	}
	if l.ExpiresAt != nil && !l.ExpiresAt.After(l.NotBefore) {
		return &FieldError{"expiresAt", "not after notBefore"}
	}
	if l.GracePeriod < 0 {
		return &FieldError{"gracePeriod", "negative"}
	}
	if l.ExpiresAt != nil && l.ExpiresAt.Add(time.Duration(l.GracePeriod)).Before(*l.ExpiresAt) {
		return &FieldError{"gracePeriod", "too long"}
	}
	if l.Seats < 0 {
		return &FieldError{"seats", "negative"}
	}
	for i, f := range l.Features {
		if err := checkIdent("features", f, true); err != nil {
			return err
		}
		if i > 0 && l.Features[i-1] >= f {
			return &FieldError{"features", "not sorted or not unique"}
		}
	}
	for k := range l.Limits {
		if err := checkIdent("limits", k, true); err != nil {
			return err
		}
	}
	for k, v := range l.Metadata {
		if err := checkIdent("metadata", k, true); err != nil {
			return err
		}
		if err := checkText("metadata."+k, v); err != nil {
			return err
		}
	}
	return nil
}

// checkIdent accepts 1..maxField printable characters without spaces at
// either end.
func checkIdent(field, v string, required bool) error {
	if v == "" {
		if required {
			return &FieldError{field, "missing"}
		}
		return nil
	}
	if len(v) > maxField {
		return &FieldError{field, fmt.Sprintf("longer than %d bytes", maxField)}
	}
	if strings.TrimSpace(v) != v {
		return &FieldError{field, "leading or trailing space"}
	}
	return checkText(field, v)
}

// checkText accepts valid UTF-8 without control characters other than tab
// and newline.
func checkText(field, v string) error {
	if !utf8.ValidString(v) {
		return &FieldError{field, "not valid UTF-8"}
	}
	for _, r := range v {
		if unicode.IsControl(r) && r != '\t' && r != '\n' {
			return &FieldError{field, fmt.Sprintf("control character %U", r)}
		}
	}
	return nil
}

// Duration is a time.Duration that encodes in JSON as text: whole days as
// "14d", anything else in Go's notation ("36h0m0s"). ParseDuration reads
// both.
type Duration time.Duration

// Days returns a Duration of n days.
func Days(n int) Duration { return Duration(time.Duration(n) * 24 * time.Hour) }

// String returns "<n>d" for whole days, otherwise time.Duration's text.
func (d Duration) String() string {
	const day = 24 * time.Hour
	td := time.Duration(d)
	if td != 0 && td%day == 0 {
		return strconv.FormatInt(int64(td/day), 10) + "d"
	}
	return td.String()
}

// ParseDuration reads "<n>d" (whole days) or anything time.ParseDuration
// accepts ("36h", "90m").
func ParseDuration(s string) (Duration, error) {
	if n, ok := strings.CutSuffix(s, "d"); ok {
		v, err := strconv.ParseInt(n, 10, 64)
		if err != nil || v < -math.MaxInt64/int64(24*time.Hour) || v > math.MaxInt64/int64(24*time.Hour) || n == "" || n[0] == '+' {
			return 0, fmt.Errorf("license: bad duration %q", s)
		}
		return Duration(time.Duration(v) * 24 * time.Hour), nil
	}
	d, err := time.ParseDuration(s)
	if err != nil {
		return 0, fmt.Errorf("license: bad duration %q", s)
	}
	return Duration(d), nil
}

// MarshalJSON encodes d as a JSON string (see String).
func (d Duration) MarshalJSON() ([]byte, error) {
	return strconv.AppendQuote(nil, d.String()), nil
}

// UnmarshalJSON decodes a JSON string written by MarshalJSON.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if len(b) == 0 || b[0] != '"' || json.Unmarshal(b, &s) != nil {
		return fmt.Errorf("license: duration must be a JSON string, got %.40s", b)
	}
	v, err := ParseDuration(s)
	if err != nil {
		return err
	}
	*d = v
	return nil
}
