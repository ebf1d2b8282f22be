package license

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// DefaultMaxSize is the largest license file Verify and InspectUnverified
// read unless VerifyOptions.MaxSize says otherwise.
const DefaultMaxSize = 64 << 10

// DefaultSkew is the clock difference tolerated between the vendor and the
// host (for not-before) and between runs on the host (for the rollback
// guard) when VerifyOptions.Skew is zero.
const DefaultSkew = 5 * time.Minute

// VerifyOptions tunes Verify. A nil *VerifyOptions means the defaults; the
// options are never modified.
type VerifyOptions struct {
	// InstanceID is this installation's id. A license bound to an instance
	// verifies only when it matches; an unbound license verifies anywhere.
	InstanceID string `json:"instanceId,omitempty"`
	// Skew is the allowed clock skew: 0 means DefaultSkew, negative none.
	Skew time.Duration `json:"skew,omitempty"`
	// MaxSize caps the bytes read: 0 means DefaultMaxSize.
	MaxSize int64 `json:"maxSize,omitempty"`
	// Now is the clock; nil means time.Now.
	Now func() time.Time `json:"-"`
	// State, when set, guards against clock rollback, superseded and
	// revoked licenses, and records what this verification saw. Without it
	// those checks are skipped.
	State Store `json:"-"`
}

func (o *VerifyOptions) skew() time.Duration {
	switch {
	case o == nil || o.Skew == 0:
		return DefaultSkew
	case o.Skew < 0:
		return 0
	}
	return o.Skew
}

func (o *VerifyOptions) maxSize() int64 {
	if o == nil || o.MaxSize <= 0 {
		return DefaultMaxSize
	}
	return min(o.MaxSize, sign.MaxMessageSize)
}

func (o *VerifyOptions) now() time.Time {
	if o == nil || o.Now == nil {
		return time.Now()
	}
	return o.Now()
}

// Status is what Verify found. It is returned whenever the signature
// verified, also together with a semantic error (wrong product, expired,
// ...), so a host can degrade (read-only, admin-only) instead of stopping.
type Status struct {
	// License is the verified license.
	License *License
	// KeyID names the key that verified it.
	KeyID string
	// Now is the time the checks used: the clock, or the last time seen
	// when the clock is behind it by less than the skew.
	Now time.Time
	// Valid is true when Verify returned no error. A license in grace is
	// valid.
	Valid bool
	// InGrace is true when the license expired but is within its grace
	// period.
	InGrace bool
	// Perpetual is true when the license has no expiry.
	Perpetual bool
	// Remaining is the time until ExpiresAt (negative once expired);
	// GraceRemaining the time until ExpiresAt + GracePeriod. Both are zero
	// for a perpetual license.
	Remaining      time.Duration
	GraceRemaining time.Duration
}

// DaysUntilExpiry is License.DaysUntilExpiry at s.Now.
func (s *Status) DaysUntilExpiry() (int, bool) { return s.License.DaysUntilExpiry(s.Now) }

// Verify reads a license file from r and checks it, in this order: size cap,
// file syntax, key lookup in ring (for sign.PurposeLicense), the signature
// over the exact payload bytes, strict JSON decoding (unknown format
// versions refused), product, instance, revocation and sequence (with
// o.State), and time (clock rollback with o.State, not-before, expiry and
// grace).
//
// Until the signature has verified, it returns a nil Status. From then on
// it returns a Status even with an error, so a host may show an expired
// license's details and degrade. A license in its grace period verifies
// with Status.InGrace set. Verify records the clock reading and, for a valid
// license, its sequence in o.State; the state is never lowered.
func Verify(ctx context.Context, r io.Reader, ring *sign.Keyring, product string, o *VerifyOptions) (*Status, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	data, err := readCapped(r, o.maxSize())
	if err != nil {
		return nil, err
	}
	f, err := parseFile(data)
	if err != nil {
		return nil, err
	}
	if f.algorithm != string(sign.Ed25519) {
		return nil, &KeyError{KeyID: f.keyID, Err: ErrUnsupported, Cause: fmt.Errorf("%w: algorithm %q", sign.ErrUnsupported, f.algorithm)}
	}
	if ring == nil {
		return nil, &KeyError{KeyID: f.keyID, Err: ErrUnknownKey, Cause: fmt.Errorf("%w: no keyring", sign.ErrUnknownKey)}
	}
	key, err := ring.Lookup(f.keyID, sign.PurposeLicense)
	if err != nil {
		return nil, keyError(f.keyID, err)
	}
	if key.Algorithm() != sign.Ed25519 {
		return nil, &KeyError{KeyID: f.keyID, Err: ErrUnsupported, Cause: fmt.Errorf("%w: key algorithm %q", sign.ErrUnsupported, key.Algorithm())}
	}
	if _, err := key.Verify(ctx, f.payload, f.signature); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, keyError(f.keyID, err)
	}
	lic, err := decodePayload(f.payload)
	if err != nil {
		return nil, err
	}
	st := &Status{License: lic, KeyID: f.keyID}
	err = check(ctx, st, product, o)
	st.Valid = err == nil
	return st, err
}

// check runs the semantic checks on an authentic license and records state.
func check(ctx context.Context, st *Status, product string, o *VerifyOptions) error {
	lic := st.License
	skew := o.skew()
	now := o.now().Round(0).UTC()
	var state State
	var store Store
	if o != nil {
		store = o.State
	}
	if store != nil {
		var err error
		if state, err = store.Load(ctx); err != nil {
			return stateError(err)
		}
	}
	eff := now
	if state.LastSeen.After(eff) {
		eff = state.LastSeen
	}
	st.Now = eff
	if end, ok := lic.GraceEnd(); ok {
		st.Remaining = lic.ExpiresAt.Sub(eff)
		st.GraceRemaining = end.Sub(eff)
	} else {
		st.Perpetual = true
	}

	err := func() error {
		if lic.Product != product {
			return &ProductError{Want: product, Got: lic.Product}
		}
		if lic.InstanceID != "" {
			want := ""
			if o != nil {
				want = o.InstanceID
			}
			if lic.InstanceID != want {
				return &InstanceError{Want: want, Got: lic.InstanceID}
			}
		}
		if state.IsRevoked(lic.ID) {
			return &RevokedError{LicenseID: lic.ID}
		}
		if hi, ok := state.Sequences[lic.Customer.ID]; ok && lic.Sequence < hi {
			return &SequenceError{Customer: lic.Customer.ID, Sequence: lic.Sequence, Highest: hi}
		}
		if !state.LastSeen.IsZero() && now.Before(state.LastSeen.Add(-skew)) {
			return &TimeError{Err: ErrClockRollback, Now: now, Bound: state.LastSeen}
		}
		if eff.Add(skew).Before(lic.NotBefore) {
			return &TimeError{Err: ErrNotYetValid, Now: eff, Bound: lic.NotBefore}
		}
		if end, ok := lic.GraceEnd(); ok && !eff.Before(*lic.ExpiresAt) {
			if !eff.Before(end) {
				return &TimeError{Err: ErrExpired, Now: eff, Bound: end}
			}
			st.InGrace = true
		}
		return nil
	}()

	if store != nil {
		// Record the clock reading (Merge never lowers it, so a rolled-back
		// reading changes nothing) and, for a valid license, its sequence.
		rec := State{LastSeen: now}
		if err == nil {
			rec.Sequences = map[string]uint64{lic.Customer.ID: lic.Sequence}
		}
		if _, serr := store.Merge(ctx, rec); serr != nil && err == nil {
			err = stateError(serr)
		}
	}
	return err
}

func stateError(err error) error {
	if errors.Is(err, ErrState) || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded) {
		return err
	}
	return fmt.Errorf("%w: %w", ErrState, err)
}

// keyError maps a sign error to this package's sentinel, keeping the cause.
func keyError(id string, err error) error {
	e := &KeyError{KeyID: id, Cause: err}
	switch {
	case errors.Is(err, sign.ErrUnknownKey):
		e.Err = ErrUnknownKey
	case errors.Is(err, sign.ErrRevoked):
		e.Err = ErrRevoked
	case errors.Is(err, sign.ErrWrongPurpose):
		e.Err = ErrWrongPurpose
	case errors.Is(err, sign.ErrTooLarge):
		e.Err = ErrTooLarge
	case errors.Is(err, sign.ErrUnsupported):
		e.Err = ErrUnsupported
	default:
		e.Err = ErrBadSignature
	}
	return e
}

// readCapped reads all of r, refusing more than max bytes. It reads at most
// max+1 bytes: the extra byte tells a file of exactly max bytes from a
// larger one.
func readCapped(r io.Reader, max int64) ([]byte, error) {
	if r == nil {
		return nil, &FormatError{Reason: "nil reader"}
	}
	var b bytes.Buffer
	n, err := b.ReadFrom(io.LimitReader(r, max+1))
	if err != nil {
		return nil, fmt.Errorf("%w: reading license: %w", ErrMalformed, err)
	}
	if n > max {
		return nil, fmt.Errorf("%w: more than %d bytes", ErrTooLarge, max)
	}
	return b.Bytes(), nil
}

// Unverified is a license file decoded WITHOUT checking its signature, for
// support tools. Nothing in it may be trusted.
type Unverified struct {
	// License is the decoded payload, or nil when it does not decode.
	License   *License
	KeyID     string
	Algorithm string
	// Payload and Signature are the exact bytes from the file.
	Payload   []byte
	Signature []byte
}

// InspectUnverified decodes a license file without verifying anything. Its
// result must never be used to grant access: use Verify for that. When the
// armor decodes but the payload does not, it returns the Unverified (with
// Payload, without License) and the error.
func InspectUnverified(r io.Reader) (*Unverified, error) {
	data, err := readCapped(r, DefaultMaxSize)
	if err != nil {
		return nil, err
	}
	f, err := parseFile(data)
	if err != nil {
		return nil, err
	}
	u := &Unverified{KeyID: f.keyID, Algorithm: f.algorithm, Payload: f.payload, Signature: f.signature}
	u.License, err = decodePayload(f.payload)
	return u, err
}
