package ovf

import (
	"bytes"
	"testing"
)

func BenchmarkMarshal(b *testing.B) {
	vs := propertiesCase()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := MarshalBytes(vs, nil); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkParse(b *testing.B) {
	data, err := MarshalBytes(propertiesCase(), nil)
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		env, err := Parse(bytes.NewReader(data), nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := env.VirtualSystem(); err != nil {
			b.Fatal(err)
		}
	}
}
