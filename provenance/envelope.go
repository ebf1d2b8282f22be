package provenance

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/fogkit/fogkit/sign"
)

// MaxEnvelopeSize is the default cap on an envelope Verify reads.
const MaxEnvelopeSize = 16 << 20

// The DSSE envelope as Sign writes it. Field order is the JSON order, the
// one the DSSE specification and its reference libraries use.
type envelope struct {
	PayloadType string      `json:"payloadType"`
	Payload     string      `json:"payload"`
	Signatures  []signature `json:"signatures"`
}

type signature struct {
	KeyID string `json:"keyid"`
	Sig   string `json:"sig"`
}

// Options are Sign's settings. There are none yet: the payload type, the
// encoding and the one signature are fixed. nil is the default.
type Options struct{}

// VerifyOptions are Verify's settings; nil means the defaults.
type VerifyOptions struct {
	// MaxSize caps the envelope in bytes; 0 means MaxEnvelopeSize.
	MaxSize int64 `json:"maxSize,omitempty"`
	// BuildType, when set, is the buildType the statement must have
	// (ErrWrongType otherwise), e.g. ApplianceBuildType.
	BuildType string `json:"buildType,omitempty"`
}

// ParsedStatement is a verified statement: what it records, the key that
// signed it and the exact signed bytes.
type ParsedStatement struct {
	Input
	// KeyID is the id of the key on the ring that verified the envelope.
	KeyID string `json:"keyId"`
	// Payload is the statement exactly as signed (Statement(&p.Input)
	// gives the same bytes).
	Payload []byte `json:"-"`
}

// Sign wraps statement, as Statement makes it, in a DSSE envelope signed
// by signer and writes the envelope to w as one JSON line:
//
//	{"payloadType":"application/vnd.in-toto+json","payload":"<base64>","signatures":[{"keyid":"<key id>","sig":"<base64>"}]}
//
// The signature is a plain Ed25519 signature over
// PAE("application/vnd.in-toto+json", statement) (sign.PAE), which any
// DSSE verifier checks with the public key. signer must be an Ed25519
// key of purpose sign.PurposeProvenance (KeySet.Provenance); anything
// else is ErrInvalid. A statement that ParseStatement would refuse is
// refused too (ErrInvalid), so Sign never writes what Verify rejects.
// The envelope is built in memory and written with a single Write; it is
// deterministic (Ed25519 is), so the same statement and key give the
// same bytes. o may be nil.
func Sign(ctx context.Context, w io.Writer, statement []byte, signer sign.Signer, o *Options) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if signer == nil {
		return invalid("", "no signer")
	}
	if p := signer.Purpose(); p != sign.PurposeProvenance {
		return fmt.Errorf("%w: %w: a %q key, want %q", ErrInvalid, sign.ErrWrongPurpose, p, sign.PurposeProvenance)
	}
	ds, ok := signer.(sign.DSSESigner)
	if !ok || signer.Algorithm() != sign.Ed25519 {
		return fmt.Errorf("%w: %w: provenance is signed with an Ed25519 key, not %s", ErrInvalid, sign.ErrUnsupported, signer.Algorithm())
	}
	if _, err := ParseStatement(statement); err != nil {
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		return fmt.Errorf("%w: not a statement Verify accepts: %w", ErrInvalid, err)
	}
	sig, err := ds.SignDSSE(ctx, PayloadType, statement)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	b, err := marshal(envelope{
		PayloadType: PayloadType,
		Payload:     base64.StdEncoding.EncodeToString(statement),
		Signatures:  []signature{{KeyID: signer.KeyID(), Sig: base64.StdEncoding.EncodeToString(sig)}},
	})
	if err != nil {
		return err
	}
	_, err = w.Write(append(b, '\n'))
	return err
}

// Verify reads a DSSE envelope as Sign writes it, checks its signature
// with ring and returns the statement. It checks, in order:
//
//   - size: at most VerifyOptions.MaxSize bytes are read (ErrTooLarge);
//   - shape: exactly the envelope Sign writes, with its optional final
//     newline: the three fields in order and no others, one signature with
//     a 32-digit key id, canonical padded standard base64 (ErrMalformed);
//   - payloadType: application/vnd.in-toto+json (ErrWrongType);
//   - key: the key id must be on ring for sign.PurposeProvenance and not
//     revoked (ErrUnknownKey);
//   - signature: Ed25519 over PAE(payloadType, payload) (ErrSignature);
//   - statement: ParseStatement's checks on the signed bytes only, after
//     the signature holds (ErrMalformed, ErrWrongType), and
//     VerifyOptions.BuildType when set.
//
// It does not check the subjects: call CheckSubjects with the outputs.
func Verify(ctx context.Context, r io.Reader, ring *sign.Keyring, o *VerifyOptions) (*ParsedStatement, error) {
	var opt VerifyOptions
	if o != nil {
		opt = *o
	}
	if opt.MaxSize <= 0 {
		opt.MaxSize = MaxEnvelopeSize
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if ring == nil {
		return nil, invalid("", "no keyring")
	}
	data, err := io.ReadAll(io.LimitReader(r, opt.MaxSize+1))
	if err != nil {
		return nil, err
	}
	if int64(len(data)) > opt.MaxSize {
		return nil, fmt.Errorf("%w: envelope over %d bytes", ErrTooLarge, opt.MaxSize)
	}
	keyID, payload, sig, err := parseEnvelope(data)
	if err != nil {
		return nil, err
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	if err := ring.VerifyDSSE(ctx, sign.PurposeProvenance, keyID, PayloadType, payload, sig); err != nil {
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if errors.Is(err, sign.ErrBadSignature) {
			return nil, &KeyError{KeyID: keyID, Err: ErrSignature, Cause: err}
		}
		return nil, &KeyError{KeyID: keyID, Err: ErrUnknownKey, Cause: err}
	}
	in, err := ParseStatement(payload)
	if err != nil {
		return nil, err
	}
	if opt.BuildType != "" && in.BuildType != opt.BuildType {
		return nil, &TypeError{Field: "buildType", Want: opt.BuildType, Got: in.BuildType}
	}
	return &ParsedStatement{Input: *in, KeyID: keyID, Payload: payload}, nil
}

// parseEnvelope checks the envelope's shape and returns its key id, the
// decoded payload and the raw signature.
func parseEnvelope(data []byte) (keyID string, payload, sig []byte, err error) {
	body := bytes.TrimSuffix(data, []byte("\n"))
	var env envelope
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&env); err != nil {
		return "", nil, nil, malformed("", "envelope: %s", jsonReason(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return "", nil, nil, malformed("", "envelope: data after the JSON object")
	}
	// The exact bytes Sign writes, so that no two readers can disagree
	// about what this envelope says (duplicate keys, case, escapes).
	if again, err := marshal(env); err != nil || !bytes.Equal(again, body) {
		if len(env.Signatures) == 1 {
			// A more telling error below when a field is at fault.
			if err := checkSignatureFields(env.Signatures[0]); err != nil {
				return "", nil, nil, err
			}
		}
		return "", nil, nil, malformed("", "envelope is not in the form Sign writes (%s)", firstDifference(body, again))
	}
	if env.PayloadType != PayloadType {
		return "", nil, nil, &TypeError{Field: "payloadType", Want: PayloadType, Got: env.PayloadType}
	}
	if len(env.Signatures) != 1 {
		return "", nil, nil, malformed("signatures", "%d signatures, want exactly 1", len(env.Signatures))
	}
	s := env.Signatures[0]
	if err := checkSignatureFields(s); err != nil {
		return "", nil, nil, err
	}
	if len(env.Payload) > base64.StdEncoding.EncodedLen(MaxPayloadSize) {
		return "", nil, nil, fmt.Errorf("%w: payload of %d base64 characters (max %d bytes decoded)", ErrTooLarge, len(env.Payload), MaxPayloadSize)
	}
	payload, err = decodeBase64("payload", env.Payload)
	if err != nil {
		return "", nil, nil, err
	}
	if len(payload) == 0 {
		return "", nil, nil, malformed("payload", "empty")
	}
	sig, _ = decodeBase64("signatures[0].sig", s.Sig)
	return s.KeyID, payload, sig, nil
}

func checkSignatureFields(s signature) error {
	if len(s.KeyID) != 32 || strings.Trim(s.KeyID, "0123456789abcdef") != "" {
		return malformed("signatures[0].keyid", "%.80q is not a 32-digit lower-case hex key id", s.KeyID)
	}
	if len(s.Sig) != base64.StdEncoding.EncodedLen(64) {
		return malformed("signatures[0].sig", "%d base64 characters, want %d (an Ed25519 signature)", len(s.Sig), base64.StdEncoding.EncodedLen(64))
	}
	b, err := decodeBase64("signatures[0].sig", s.Sig)
	if err == nil && len(b) != 64 {
		return malformed("signatures[0].sig", "%d bytes, want 64 (an Ed25519 signature)", len(b))
	}
	return err
}

// decodeBase64 accepts only canonical padded standard base64: the one
// spelling Sign writes (no URL alphabet, no stray bits in the last
// character, no whitespace).
func decodeBase64(field, s string) ([]byte, error) {
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil || strings.ContainsAny(s, "\r\n") {
		return nil, malformed(field, "not canonical standard base64")
	}
	return b, nil
}
