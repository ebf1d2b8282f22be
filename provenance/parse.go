package provenance

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"time"
)

// ParseStatement reads a statement as Statement writes it and returns
// what it records. It checks no signature: use Verify for a statement in
// an envelope. The statement must be canonical, the exact bytes Statement
// makes of the Input it decodes to, so that no other JSON reader can see
// in the same bytes something else (duplicate keys, keys in another case,
// escapes, other spacing or order are refused with ErrMalformed); its
// _type and predicateType must be StatementType and PredicateType
// (ErrWrongType).
func ParseStatement(statement []byte) (*Input, error) {
	if len(statement) > MaxPayloadSize {
		return nil, fmt.Errorf("%w: statement of %d bytes (max %d)", ErrTooLarge, len(statement), MaxPayloadSize)
	}
	var w wireStatement
	dec := json.NewDecoder(bytes.NewReader(statement))
	dec.DisallowUnknownFields()
	dec.UseNumber()
	if err := dec.Decode(&w); err != nil {
		// A statement of another version or predicate has other fields:
		// name it for its type rather than for the first field it has.
		var types struct {
			Type          string `json:"_type"`
			PredicateType string `json:"predicateType"`
		}
		if json.Unmarshal(statement, &types) == nil {
			if types.Type != StatementType {
				return nil, &TypeError{Field: "_type", Want: StatementType, Got: types.Type}
			}
			if types.PredicateType != PredicateType {
				return nil, &TypeError{Field: "predicateType", Want: PredicateType, Got: types.PredicateType}
			}
		}
		return nil, malformed("", "statement: %s", jsonReason(err))
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, malformed("", "statement: data after the JSON object")
	}
	// The types first, so that a statement of another kind is named for
	// what it is rather than for the first field it lacks.
	if w.Type != StatementType {
		return nil, &TypeError{Field: "_type", Want: StatementType, Got: w.Type}
	}
	if w.PredicateType != PredicateType {
		return nil, &TypeError{Field: "predicateType", Want: PredicateType, Got: w.PredicateType}
	}
	bd, rd := w.Predicate.BuildDefinition, w.Predicate.RunDetails
	in := &Input{
		BuildType:          bd.BuildType,
		BuilderID:          rd.Builder.ID,
		ExternalParameters: bd.ExternalParameters,
		InternalParameters: bd.InternalParameters,
		Dependencies:       bd.ResolvedDependencies,
		Subjects:           w.Subject,
	}
	if md := rd.Metadata; md != nil {
		in.InvocationID = md.InvocationID
		var err error
		if in.StartedOn, err = parseTime(md.StartedOn); err != nil {
			return nil, malformed("predicate.runDetails.metadata.startedOn", "%s", err)
		}
		if in.FinishedOn, err = parseTime(md.FinishedOn); err != nil {
			return nil, malformed("predicate.runDetails.metadata.finishedOn", "%s", err)
		}
		if *md == (wireMetadata{}) {
			return nil, malformed("predicate.runDetails.metadata", "empty metadata is left out, not written as {}")
		}
	}
	again, err := encode(in, ErrMalformed)
	if err != nil {
		return nil, err
	}
	if !bytes.Equal(again, statement) {
		return nil, malformed("", "statement is not in canonical form (%s)", firstDifference(statement, again))
	}
	return in, nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, fmt.Errorf("not an RFC 3339 time: %q", s)
	}
	return t.UTC(), nil
}

// jsonReason shortens encoding/json's errors to what a reader can act on.
func jsonReason(err error) string {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("invalid JSON at byte %d: %v", se.Offset, se)
	case errors.As(err, &te):
		return fmt.Sprintf("%s: a JSON %s where a %s belongs", te.Field, te.Value, te.Type)
	case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
		return "truncated JSON"
	}
	return err.Error()
}

// firstDifference says where b departs from the canonical form c.
func firstDifference(b, c []byte) string {
	i := 0
	for i < len(b) && i < len(c) && b[i] == c[i] {
		i++
	}
	return fmt.Sprintf("differs at byte %d of %d", i, len(b))
}
