package provenance_test

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/provenance"
)

// smallInput keeps the fuzz seeds short: the fuzzer minimises each new
// input in time that grows with its length.
func smallInput() *provenance.Input {
	return &provenance.Input{
		BuildType:          provenance.ApplianceBuildType,
		BuilderID:          "https://fogkit.dev/fogkit",
		ExternalParameters: map[string]any{"n": 1},
		Subjects:           []provenance.Subject{{Name: "a", Digest: sha([]byte("a"))}},
	}
}

func smallStatement(t testing.TB) []byte {
	st, err := provenance.Statement(smallInput())
	if err != nil {
		t.Fatal(err)
	}
	return st
}

var sentinels = []error{provenance.ErrMalformed, provenance.ErrTooLarge, provenance.ErrWrongType, provenance.ErrUnknownKey, provenance.ErrSignature}

func FuzzVerify(f *testing.F) {
	key := testKey(f, 1)
	var env bytes.Buffer
	if err := provenance.Sign(f.Context(), &env, smallStatement(f), key, nil); err != nil {
		f.Fatal(err)
	}
	good := env.Bytes()
	for _, seed := range [][]byte{
		good,
		bytes.TrimSuffix(good, []byte("\n")),
		good[:len(good)/2],
		bytes.Replace(good, []byte(key.KeyID()), []byte(strings.Repeat("0", 32)), 1),
		[]byte(`{"payloadType":"","payload":"","signatures":[]}`),
		{},
	} {
		f.Add(seed)
	}
	ring := testRing(f, key, testKey(f, 2))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := provenance.Verify(t.Context(), bytes.NewReader(data), ring, nil)
		if err != nil {
			if p != nil {
				t.Fatalf("a statement with an error: %v", err)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error matches no sentinel: %v", err)
		}
		// Only what Sign writes is accepted: re-signing gives the input.
		var again bytes.Buffer
		if err := provenance.Sign(t.Context(), &again, p.Payload, key, nil); err != nil {
			t.Fatalf("accepted statement does not sign: %v", err)
		}
		if !bytes.Equal(bytes.TrimSuffix(again.Bytes(), []byte("\n")), bytes.TrimSuffix(data, []byte("\n"))) {
			t.Fatalf("accepted an envelope Sign would not write:\n%q", data)
		}
	})
}

// FuzzParseStatement fuzzes what Verify parses once a signature holds: a
// trusted key's holder could sign anything.
func FuzzParseStatement(f *testing.F) {
	good := smallStatement(f)
	full, err := provenance.Statement(testInput(testOutputs()))
	if err != nil {
		f.Fatal(err)
	}
	for _, seed := range [][]byte{good, full, good[:len(good)/2], []byte(`{"_type":"https://in-toto.io/Statement/v1"}`), []byte("null"), {}} {
		f.Add(seed)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		in, err := provenance.ParseStatement(data)
		if err != nil {
			if in != nil {
				t.Fatalf("input with an error: %v", err)
			}
			for _, s := range sentinels {
				if errors.Is(err, s) {
					return
				}
			}
			t.Fatalf("error matches no sentinel: %v", err)
		}
		again, err := provenance.Statement(in)
		if err != nil || !bytes.Equal(again, data) {
			t.Fatalf("accepted a statement that does not re-encode to itself (%v):\n%q", err, data)
		}
	})
}
