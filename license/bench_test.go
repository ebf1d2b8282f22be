package license

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/fogkit/fogkit/sign"
)

func BenchmarkEncode(b *testing.B) {
	s := seedKey(b, 1, sign.PurposeLicense)
	l := fullLicense()
	var buf bytes.Buffer
	for b.Loop() {
		buf.Reset()
		if err := Encode(context.Background(), &buf, l, s); err != nil {
			b.Fatal(err)
		}
	}
	b.SetBytes(int64(buf.Len()))
}

func BenchmarkVerify(b *testing.B) {
	s := seedKey(b, 1, sign.PurposeLicense)
	data := mustEncode(b, fullLicense(), s)
	r := ring(b, s.Public())
	o := opts(t0.Add(24 * time.Hour))
	o.State = NewMemoryStore(State{})
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := Verify(context.Background(), bytes.NewReader(data), r, "acme-appliance", o); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkInspectUnverified(b *testing.B) {
	data := mustEncode(b, fullLicense(), seedKey(b, 1, sign.PurposeLicense))
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		if _, err := InspectUnverified(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
