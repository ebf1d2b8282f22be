package license

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
)

func fuzzSeeds(f *testing.F) [][]byte {
	s := seedKey(f, 1, sign.PurposeLicense)
	small := mustEncode(f, smallLicense(), s)
	full := mustEncode(f, fullLicense(), s)
	golden, _ := os.ReadFile(filepath.Join("testdata", "golden.lic"))
	return [][]byte{
		small, full, golden,
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
