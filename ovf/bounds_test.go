package ovf

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/stretchr/testify/require"
)

// Hostile descriptors for the resource-bound tests are generated here:
// each is a few MB of XML that once cost gigabytes.

// hostileSystem is an envelope whose one VirtualSystem has an id of idLen
// bytes and items bare <Item/> elements, each breaking several rules.
func hostileSystem(idLen, items int) []byte {
	var b bytes.Buffer
	fmt.Fprintf(&b, `<Envelope xmlns="%s" xmlns:ovf="%s"><VirtualSystem ovf:id="%s"><VirtualHardwareSection>`,
		NamespaceOVF, NamespaceOVF, strings.Repeat("v", idLen))
	for range items {
		b.WriteString("<Item/>")
	}
	b.WriteString("</VirtualHardwareSection></VirtualSystem></Envelope>")
	return b.Bytes()
}

// A 9 MB descriptor (an 8 MB system id, 90,000 bad items) once ran out of
// memory in Validate: every violation repeated the whole id. Ids are now
// clipped in element paths and the list stops at MaxViolations.
func TestValidateBoundsViolations(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 512 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		env, err := Parse(bytes.NewReader(hostileSystem(8<<20, 90_000)), nil)
		require.NoError(t, err)
		err = env.Validate(nil)
		require.ErrorIs(t, err, ErrInvalid)
		var ve ValidationError
		require.ErrorAs(t, err, &ve)
		require.Len(t, ve, DefaultMaxViolations+1)
		last := ve[len(ve)-1]
		require.Equal(t, RuleTruncated, last.Rule)
		require.Contains(t, last.Message, "more violations not listed")
		for _, v := range ve {
			require.LessOrEqual(t, len(v.Element), maxText+len("…"))
			require.LessOrEqual(t, len(v.Message), maxText+len("…"))
		}
		require.Less(t, len(err.Error()), 200_000)
	})
}

// The cap is an option, and the model validator and the environment
// writer share it.
func TestValidationErrorCap(t *testing.T) {
	env, err := Parse(bytes.NewReader(hostileSystem(10, 50)), nil)
	require.NoError(t, err)
	var ve ValidationError
	require.ErrorAs(t, env.Validate(&Options{MaxViolations: 5}), &ve)
	require.Len(t, ve, 6)
	require.True(t, ve.Has(RuleTruncated))
	require.ErrorAs(t, env.Validate(&Options{MaxViolations: 1000}), &ve)
	require.False(t, ve.Has(RuleTruncated))

	vs := portableCase()
	vs.Product = &Product{Transports: []Transport{TransportGuestInfo}}
	for i := range 500 {
		vs.Product.Properties = append(vs.Product.Properties, Property{Key: strings.Repeat("k", 10_000) + fmt.Sprint(i) + " bad", Type: "string"})
	}
	require.ErrorAs(t, Validate(vs, nil), &ve)
	require.Len(t, ve, DefaultMaxViolations+1)
	require.Less(t, len(ve[0].Element), 200, "the key is clipped in the path")

	_, err = NewEnvironment(vs, map[string]string{strings.Repeat("u", 1<<20): "x"})
	require.ErrorAs(t, err, &ve)
	require.Less(t, len(ve.Error()), 1<<16)
}

// 6.5 million attributes on one element (a 32 MB descriptor) cost 1.28 GB
// in the XML decoder before any check could run. They are now counted in
// the raw text first.
func TestParseBoundsAttributes(t *testing.T) {
	testutil.Bounded(t, testutil.Bounds{MaxRSS: 384 << 20, CPU: 30 * time.Second}, func(t *testing.T) {
		doc := "<Envelope" + strings.Repeat(" a=''", 6_500_000) + "/>"
		_, err := Parse(strings.NewReader(doc), nil)
		require.ErrorIs(t, err, ErrTooLarge)
		require.Contains(t, err.Error(), "attributes")
		_, err = ParseEnvironment(strings.NewReader(doc), nil)
		require.ErrorIs(t, err, ErrTooLarge)
	})
}

// Attributes are capped per element and in total, and an attribute may
// appear only once on an element.
func TestParseAttributeLimits(t *testing.T) {
	env := `<Environment xmlns="http://schemas.dmtf.org/ovf/environment/1" xmlns:oe="http://schemas.dmtf.org/ovf/environment/1">`
	tests := []struct {
		name string
		doc  string
		opts *ParseOptions
		want error
	}{
		{"duplicate", `<Envelope a="1" a="2"/>`, nil, ErrMalformed},
		{"duplicate by namespace", `<Envelope xmlns:x="u" xmlns:y="u" x:a="" y:a=""/>`, nil, ErrMalformed},
		{"duplicate many", "<Envelope" + strings.Repeat(" b=''", 20) + "/>", nil, ErrMalformed},
		{"duplicate property key attribute", env + `<PropertySection><Property oe:key="a" oe:key="b"/></PropertySection></Environment>`, nil, ErrMalformed},
		{"per element", "<Envelope" + attrs(5) + "/>", &ParseOptions{MaxAttributes: 4}, ErrTooLarge},
		{"total", "<Envelope>" + strings.Repeat("<a"+attrs(3)+"/>", 4) + "</Envelope>", &ParseOptions{MaxTotalAttributes: 11}, ErrTooLarge},
		{"default per element", "<Envelope" + attrs(DefaultMaxAttributes+1) + "/>", nil, ErrTooLarge},
		{"in a comment", "<Envelope><!--" + strings.Repeat(" a=''", 300) + "--></Envelope>", nil, nil},
		{"in a quoted value", `<Envelope a="` + strings.Repeat("x=y ", 300) + `"/>`, nil, nil},
		{"under the limits", "<Envelope" + attrs(DefaultMaxAttributes) + "/>", nil, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := readTree(strings.NewReader(tc.doc), tc.opts.limits())
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			var pe *ParseError
			require.ErrorAs(t, err, &pe)
		})
	}
}

func attrs(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, " a%d='%d'", i, i)
	}
	return b.String()
}

// decodedAttrCounts is the attribute count of each start element that
// encoding/xml returns, as readTree configures it, up to its first error.
func decodedAttrCounts(data []byte) []int {
	dec := xml.NewDecoder(bytes.NewReader(data))
	dec.Strict = true
	dec.CharsetReader = func(string, io.Reader) (io.Reader, error) { return nil, errors.New("no") }
	var out []int
	for {
		tok, err := dec.RawToken()
		if err != nil {
			return out
		}
		if se, ok := tok.(xml.StartElement); ok {
			out = append(out, len(se.Attr))
		}
	}
}

// scannedAttrCounts is what eachStartTag finds.
func scannedAttrCounts(data []byte) []int {
	var out []int
	_ = eachStartTag(data, func(_, n int) error { out = append(out, n); return nil })
	return out
}

var scanSeeds = []string{
	`<a x="1" y='2'><b/><c z=">"/></a>`,
	`<?xml version="1.0"?><!DOCTYPE a [<!ENTITY e "<b q='1'>"><!-- ' --><!ELEMENT a ANY>]><a k="v"/>`,
	`<a><![CDATA[<b x="1">]]><!-- <c y="2"> --><?pi <d z="3"> ?></a>`,
	`<a b = "1"	c='2'
	/>`,
	`<a><!--- x --></a>`,
	`<!DOCTYPE a [ <!-- > --> ]><a x=""/>`,
	`<a x="a>b"></a  ><b/>`,
}

// The attribute scan agrees with encoding/xml on every start element the
// decoder returns, so no element escapes the count.
func TestAttributeScanMatchesDecoder(t *testing.T) {
	for _, s := range scanSeeds {
		dec, scan := decodedAttrCounts([]byte(s)), scannedAttrCounts([]byte(s))
		require.GreaterOrEqual(t, len(scan), len(dec), s)
		require.Equal(t, dec, scan[:len(dec)], s)
	}
}

// FuzzAttributeScan: the decoder's attribute counts are a prefix of the
// scan's.
func FuzzAttributeScan(f *testing.F) {
	for _, s := range scanSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		dec, scan := decodedAttrCounts(data), scannedAttrCounts(data)
		if len(scan) < len(dec) {
			t.Fatalf("scan found %d start tags, the decoder %d", len(scan), len(dec))
		}
		for i := range dec {
			if dec[i] != scan[i] {
				t.Fatalf("element %d: scan counts %d attributes, the decoder %d", i, scan[i], dec[i])
			}
		}
	})
}

// Parse errors quote input values clipped, not whole: one error from a
// 4 MB value stays short.
func TestParseErrorsClipValues(t *testing.T) {
	big := strings.Repeat("9x", 2<<20)
	doc := `<Envelope xmlns="` + NamespaceOVF + `" xmlns:rasd="` + NamespaceRASD + `"><VirtualSystem><VirtualHardwareSection><Item><rasd:ResourceType>` +
		big + `</rasd:ResourceType></Item></VirtualHardwareSection></VirtualSystem></Envelope>`
	_, err := Parse(strings.NewReader(doc), nil)
	require.ErrorIs(t, err, ErrMalformed)
	require.Less(t, len(err.Error()), 400)

	_, err = DiskInfo{Capacity: big}.CapacityBytes()
	require.ErrorIs(t, err, ErrMalformed)
	require.Less(t, len(err.Error()), 400)

	env := `<Environment xmlns="` + NamespaceEnv + `" xmlns:oe="` + NamespaceEnv + `"><PropertySection><Property oe:key="` + big +
		`"/><Property oe:key="` + big + `"/></PropertySection></Environment>`
	_, err = ParseEnvironment(strings.NewReader(env), nil)
	require.ErrorIs(t, err, ErrMalformed)
	require.Less(t, len(err.Error()), 400)
}
