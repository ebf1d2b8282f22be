package ovf

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"
)

func fuzzSeeds(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "*.ovf"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(vboxStyle))
	f.Add([]byte(""))
	f.Add([]byte("<Envelope/>"))
	f.Add([]byte(`<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1"><References><File href="a" size="-1"/></References></Envelope>`))
	f.Add([]byte(`<?xml version="1.0" encoding="latin1"?><Envelope/>`))
	f.Add([]byte(`<!DOCTYPE x [<!ENTITY a "aaaa">]><Envelope>&a;&a;</Envelope>`))
}

// FuzzParse: Parse never panics and fails only with typed errors; whatever
// converts and marshals is a fixed point of Marshal∘VirtualSystem∘Parse.
func FuzzParse(f *testing.F) {
	fuzzSeeds(f)
	lim := &ParseOptions{MaxSize: 1 << 20, MaxElements: 1 << 14}
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := Parse(bytes.NewReader(data), lim)
		if err != nil {
			var pe *ParseError
			if !errors.As(err, &pe) || !(errors.Is(err, ErrMalformed) || errors.Is(err, ErrTooLarge) || errors.Is(err, ErrUnsupported)) {
				t.Fatalf("untyped error %T: %v", err, err)
			}
			return
		}
		for _, p := range []Profile{Portable, VMware} {
			if err := env.Validate(&Options{Profile: p}); err != nil && !errors.Is(err, ErrInvalid) {
				t.Fatalf("Validate: %v", err)
			}
		}
		vs, err := env.VirtualSystem()
		if err != nil {
			return
		}
		for _, opts := range []*Options{nil, {Profile: VMware}, {VirtualBoxMachine: true}} {
			out, err := MarshalBytes(vs, opts)
			if err != nil {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("Marshal: %v", err)
				}
				continue
			}
			env2, err := Parse(bytes.NewReader(out), nil)
			if err != nil {
				t.Fatalf("our output does not parse: %v\n%s", err, out)
			}
			if err := env2.Validate(opts); err != nil {
				t.Fatalf("our output fails lint: %v\n%s", err, out)
			}
			vs2, err := env2.VirtualSystem()
			if err != nil {
				t.Fatalf("our output does not convert: %v", err)
			}
			out2, err := MarshalBytes(vs2, opts)
			if err != nil {
				t.Fatalf("re-marshal: %v", err)
			}
			if !bytes.Equal(out, out2) {
				t.Fatalf("not stable:\n%s\n---\n%s", out, out2)
			}
		}
	})
}

// FuzzParseEnvironment: ParseEnvironment never panics; what it reads
// writes and reads back unchanged.
func FuzzParseEnvironment(f *testing.F) {
	if b, err := os.ReadFile(filepath.Join("testdata", "properties-env.xml")); err == nil {
		f.Add(b)
	}
	f.Add([]byte(`<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1"><PropertySection><Property oe:key="a" oe:value="b"/></PropertySection></Environment>`))
	f.Add([]byte(`<Environment/>`))
	f.Fuzz(func(t *testing.T, data []byte) {
		env, err := ParseEnvironment(bytes.NewReader(data), &ParseOptions{MaxSize: 1 << 20})
		if err != nil {
			if !errors.Is(err, ErrMalformed) && !errors.Is(err, ErrTooLarge) {
				t.Fatalf("untyped error: %v", err)
			}
			return
		}
		var buf bytes.Buffer
		if err := WriteEnvironment(&buf, env); err != nil {
			if !errors.Is(err, ErrInvalid) {
				t.Fatalf("write: %v", err)
			}
			return
		}
		env2, err := ParseEnvironment(bytes.NewReader(buf.Bytes()), nil)
		if err != nil {
			t.Fatalf("our output does not parse: %v\n%s", err, buf.Bytes())
		}
		var buf2 bytes.Buffer
		if err := WriteEnvironment(&buf2, env2); err != nil || !bytes.Equal(buf.Bytes(), buf2.Bytes()) {
			t.Fatalf("not stable (%v):\n%s\n---\n%s", err, buf.Bytes(), buf2.Bytes())
		}
	})
}
