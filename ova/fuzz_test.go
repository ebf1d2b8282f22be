package ova

import (
	"bytes"
	"context"
	"testing"
)

// fuzzSeeds are valid, tampered and truncated archives.
func fuzzSeeds(f *testing.F) [][]byte {
	good, _ := buildOVA(f, nil)
	files := testFiles()[1:]
	var small bytes.Buffer
	if _, err := Write(context.Background(), &small, testDescriptor("s", files), files, &Options{Name: "s"}); err != nil {
		f.Fatal(err)
	}
	var last bytes.Buffer
	if _, err := Write(context.Background(), &last, testDescriptor("s", files), files, &Options{Name: "s", ManifestLast: true}); err != nil {
		f.Fatal(err)
	}
	seeds := [][]byte{good, small.Bytes(), last.Bytes(), small.Bytes()[:1024], small.Bytes()[:len(small.Bytes())-1024], nil}
	for _, c := range tamperCases() {
		seeds = append(seeds, rawTar(f, c.mutate(members(f, good))))
	}
	return seeds
}

func FuzzVerify(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		rep, err := Verify(context.Background(), bytes.NewReader(data), nil)
		if rep == nil {
			t.Fatal("nil report")
		}
		if err != nil {
			return
		}
		// A valid archive opens, and Open agrees on its members.
		a, err := Open(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			t.Fatalf("Verify accepts what Open refuses: %v", err)
		}
		if len(a.Entries()) != len(rep.Entries) {
			t.Fatalf("Open sees %d members, Verify %d", len(a.Entries()), len(rep.Entries))
		}
	})
}

func FuzzOpen(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		a, err := Open(bytes.NewReader(data), int64(len(data)), nil)
		if err != nil {
			return
		}
		for _, e := range a.Entries() {
			r, err := a.Member(e.Name)
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != e.Size || e.Offset+blockSize+e.Size > int64(len(data)) {
				t.Fatalf("member %s out of bounds", e.Name)
			}
		}
		_ = a.Descriptor()
		_ = a.Manifest()
	})
}

func FuzzParseManifest(f *testing.F) {
	f.Add([]byte("SHA256(a.ovf)= " + "ab" + "00112233445566778899aabbccddeeff00112233445566778899aabbccddee" + "\n"))
	f.Add([]byte("SHA1(x)= 0011223344556677889900112233445566778899\nSHA512(y)= 00\n"))
	f.Add([]byte("SHA256 (a) = 00\n"))
	f.Add([]byte(""))
	f.Fuzz(func(t *testing.T, data []byte) {
		lines, err := ParseManifest(data)
		if err != nil {
			return
		}
		again, err := ParseManifest(FormatManifest(lines))
		if err != nil {
			t.Fatalf("reformatted manifest does not parse: %v", err)
		}
		if len(again) != len(lines) {
			t.Fatal("round trip changed the line count")
		}
		for i := range lines {
			if lines[i] != again[i] {
				t.Fatalf("round trip changed line %d: %+v vs %+v", i, lines[i], again[i])
			}
		}
	})
}
