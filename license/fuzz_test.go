package license

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"reflect"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
)

// fuzzSeeds are license files built on the small license only: the fuzzer
// minimises every new input in time quadratic in its length, and the
// 1.2 KB full license stalled it for its whole minimisation budget. The
// full license's fields are fuzzed as JSON by FuzzDecodePayload.
func fuzzSeeds(f *testing.F) [][]byte {
	s := seedKey(f, 1, sign.PurposeLicense)
	small := mustEncode(f, smallLicense(), s)
	return [][]byte{
		small,
		bytes.ReplaceAll(small, []byte("\n"), []byte("\r\n")),
		append(bytes.Clone(small), " \n"...),
		small[:len(small)/2],
		[]byte("-----BEGIN FOGKIT LICENSE-----\nKey-Id: 00000000\n\nAA==\n-----END FOGKIT LICENSE-----\n"),
		{},
	}
}

func FuzzVerify(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	s := seedKey(f, 1, sign.PurposeLicense)
	r := ring(f, s.Public(), seedKey(f, 2, sign.PurposeLicense).Public(), seedKey(f, 3, sign.PurposeUpdate).Public())
	f.Fuzz(func(t *testing.T, data []byte) {
		store := NewMemoryStore(State{LastSeen: t0.Add(time.Hour)})
		o := &VerifyOptions{Now: clock(t0.Add(2 * time.Hour)), InstanceID: "inst-7f3a", State: store}
		st, err := Verify(context.Background(), bytes.NewReader(data), r, "acme-appliance", o)
		if err == nil {
			if st == nil || !st.Valid || st.License == nil || st.KeyID != s.KeyID() {
				t.Fatalf("accepted without a proper status: %+v", st)
			}
			// Anything accepted must be exactly what our encoder makes
			// (apart from line endings and trailing whitespace).
			again, err := encode(context.Background(), st.License, s)
			if err != nil {
				t.Fatalf("accepted license does not re-encode: %v", err)
			}
			u, _ := InspectUnverified(bytes.NewReader(again))
			u2, err := InspectUnverified(bytes.NewReader(data))
			if err != nil || !bytes.Equal(u.Payload, u2.Payload) {
				t.Fatalf("accepted payload is not canonical")
			}
		} else if st != nil && st.Valid {
			t.Fatalf("error %v with a valid status", err)
		}
	})
}

func FuzzInspect(f *testing.F) {
	for _, seed := range fuzzSeeds(f) {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		u, err := InspectUnverified(bytes.NewReader(data))
		if err == nil && (u == nil || u.License == nil) {
			t.Fatal("no error and no license")
		}
		if u != nil {
			// What decodes re-encodes to the same armor.
			out := writeFile(u.KeyID, u.Algorithm, u.Payload, u.Signature)
			u2, err := InspectUnverified(bytes.NewReader(out))
			if u2 == nil || !bytes.Equal(u2.Payload, u.Payload) || !bytes.Equal(u2.Signature, u.Signature) {
				t.Fatalf("armor does not round-trip: %v", err)
			}
		}
	})
}

// FuzzDecodePayload feeds the signed JSON straight to the payload decoder
// (past the armor and the signature), where canonical form is enforced:
// whatever decodes must be exactly what Encode writes for it.
func FuzzDecodePayload(f *testing.F) {
	for _, l := range []*License{smallLicense(), fullLicense()} {
		p, err := marshalPayload(l.normalized())
		if err != nil {
			f.Fatal(err)
		}
		f.Add(p)
	}
	f.Add([]byte(`{"format":1}`))
	f.Add([]byte(`{"format":1,"id":"a","id":"b"}`))
	f.Fuzz(func(t *testing.T, payload []byte) {
		l, err := decodePayload(payload)
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrUnsupported) {
				t.Fatalf("error matches neither ErrMalformed nor ErrUnsupported: %v", err)
			}
			return
		}
		again, err := marshalPayload(l.normalized())
		if err != nil || !bytes.Equal(again, payload) {
			t.Fatalf("accepted a payload that is not canonical:\n%s\n%s", payload, again)
		}
	})
}

// FuzzStateFile: the state file on disk is outside input too (a host's
// disk can be edited); it must decode or fail with ErrState, and what
// decodes must survive a write and re-read.
func FuzzStateFile(f *testing.F) {
	f.Add([]byte(`{"lastSeen":"2026-01-01T00:00:00Z","sequences":{"c":3},"revoked":["l1"]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`{"revoked":["a","a","b"]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := parseState(data, "state.json")
		if err != nil {
			if !errors.Is(err, ErrState) {
				t.Fatalf("error does not match ErrState: %v", err)
			}
			return
		}
		out, err := json.Marshal(s)
		if err != nil {
			t.Fatalf("decoded state does not encode: %v", err)
		}
		back, err := parseState(out, "state.json")
		if err != nil || !reflect.DeepEqual(back.Merge(State{}), s.Merge(State{})) {
			t.Fatalf("state does not round-trip: %v\n%+v\n%+v", err, s, back)
		}
	})
}
