package license

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"

	"github.com/fogkit/fogkit/sign"
)

// Encode signs l with s and writes the license file to w. s must be an
// Ed25519 signer for sign.PurposeLicense; any other purpose gives a
// *KeyError matching ErrWrongPurpose (and sign.ErrWrongPurpose), another
// algorithm one matching ErrUnsupported.
//
// l is not modified. The payload is l in canonical form (see License:
// Format and NotBefore defaulted, times in UTC, features sorted), encoded as
// indented JSON; the same license and key always give the same bytes.
func Encode(ctx context.Context, w io.Writer, l *License, s sign.Signer) error {
	if s == nil {
		return &KeyError{Err: ErrUnknownKey, Cause: fmt.Errorf("%w: nil signer", sign.ErrMalformed)}
	}
	if p := s.Purpose(); p != sign.PurposeLicense {
		return &KeyError{KeyID: s.KeyID(), Err: ErrWrongPurpose,
			Cause: fmt.Errorf("%w: key is for %q, not %q", sign.ErrWrongPurpose, p, sign.PurposeLicense)}
	}
	if a := s.Algorithm(); a != sign.Ed25519 {
		return &KeyError{KeyID: s.KeyID(), Err: ErrUnsupported,
			Cause: fmt.Errorf("%w: licenses are signed with %s, not %s", sign.ErrUnsupported, sign.Ed25519, a)}
	}
	data, err := encode(ctx, l, s)
	if err != nil {
		return err
	}
	_, err = w.Write(data)
	return err
}

// encode builds the file without checking the signer (tests use it to
// make licenses with keys Encode refuses).
func encode(ctx context.Context, l *License, s sign.Signer) ([]byte, error) {
	if l == nil {
		return nil, &FieldError{"license", "nil"}
	}
	if !validKeyID(s.KeyID()) {
		return nil, &KeyError{KeyID: s.KeyID(), Err: ErrUnsupported, Cause: fmt.Errorf("%w: key id is not lower-case hex", sign.ErrMalformed)}
	}
	c := l.normalized()
	if err := c.validate(); err != nil {
		return nil, err
	}
	payload, err := marshalPayload(c)
	if err != nil {
		return nil, err
	}
	sig, err := s.Sign(ctx, payload)
	if err != nil {
		return nil, err
	}
	out := writeFile(s.KeyID(), string(s.Algorithm()), payload, sig)
	if len(out) > DefaultMaxSize {
		return nil, fmt.Errorf("%w: encoded license has %d bytes, readers accept %d by default", ErrTooLarge, len(out), DefaultMaxSize)
	}
	return out, nil
}

func marshalPayload(l *License) ([]byte, error) {
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(l); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return b.Bytes(), nil
}

// decodePayload decodes the signed JSON strictly: a known format version
// first, then no unknown fields, no trailing data, a license that passes
// validation, and canonical bytes (what Encode writes for that license).
func decodePayload(payload []byte) (*License, error) {
	var probe struct {
		Format *int `json:"format"`
	}
	if err := json.Unmarshal(payload, &probe); err != nil {
		return nil, &FormatError{Reason: "payload is not a JSON object", Err: err}
	}
	if probe.Format == nil {
		return nil, &FormatError{Reason: "payload has no format version"}
	}
	if *probe.Format != FormatVersion {
		return nil, fmt.Errorf("%w: license format version %d (this reader knows %d)", ErrUnsupported, *probe.Format, FormatVersion)
	}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.DisallowUnknownFields()
	var l License
	if err := dec.Decode(&l); err != nil {
		return nil, &FormatError{Reason: "payload: " + err.Error(), Err: err}
	}
	if _, err := dec.Token(); err != io.EOF {
		return nil, &FormatError{Reason: "payload: data after the JSON object"}
	}
	if err := l.validate(); err != nil {
		return nil, &FormatError{Reason: "payload: " + err.Error(), Err: err}
	}
	// encoding/json accepts duplicate keys (the last wins), keys in any
	// case and keys written with escapes, so one signed payload could be
	// read differently by another JSON parser. Only the exact bytes Encode
	// writes for this license are accepted.
	again, err := marshalPayload(l.normalized())
	if err != nil || !bytes.Equal(again, payload) {
		return nil, &FormatError{Reason: "payload is not in canonical form (duplicate, case-variant or escaped keys, other spacing or field order, or unnormalised values)"}
	}
	return &l, nil
}
