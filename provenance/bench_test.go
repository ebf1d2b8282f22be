package provenance_test

import (
	"bytes"
	"testing"
	"testing/fstest"

	"github.com/fogkit/fogkit/provenance"
)

// BenchmarkStatementSign measures a build's whole provenance step for
// the test build (4 subjects, 4 dependencies).
func BenchmarkStatementSign(b *testing.B) {
	key := testKey(b, 1)
	in := testInput(testOutputs())
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		st, err := provenance.Statement(in)
		if err != nil {
			b.Fatal(err)
		}
		buf.Reset()
		if err := provenance.Sign(b.Context(), &buf, st, key, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVerify(b *testing.B) {
	key := testKey(b, 1)
	env := testEnvelope(b, key)
	ring := testRing(b, key)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := provenance.Verify(b.Context(), bytes.NewReader(env), ring, nil); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCheckSubjects hashes a 64 MiB subject from memory: SHA-256
// speed, with the streaming and context checks around it.
func BenchmarkCheckSubjects(b *testing.B) {
	data := bytes.Repeat([]byte("fogkit!\n"), 8<<20)
	outs := fstest.MapFS{"disk.vmdk": {Data: data}}
	in := testInput(outs)
	key := testKey(b, 1)
	st, err := provenance.Statement(in)
	if err != nil {
		b.Fatal(err)
	}
	var env bytes.Buffer
	if err := provenance.Sign(b.Context(), &env, st, key, nil); err != nil {
		b.Fatal(err)
	}
	p, err := provenance.Verify(b.Context(), &env, testRing(b, key), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if err := p.CheckSubjects(b.Context(), outs, nil); err != nil {
			b.Fatal(err)
		}
	}
}
