package update

import (
	"bytes"
	"context"
	"errors"
	"testing"

	"github.com/fogkit/fogkit/sign"
)

var verifyErrors = []error{ErrMalformed, ErrUnsafeEntry, ErrTooLarge, ErrSignature, ErrWrongVendor, ErrWrongProduct,
	ErrWrongChannel, ErrDowngrade, ErrDigestMismatch, ErrDecrypt}

func typedVerifyError(err error) bool {
	for _, e := range verifyErrors {
		if errors.Is(err, e) {
			return true
		}
	}
	return false
}

// FuzzReadPackage feeds arbitrary bytes to Verify.
func FuzzReadPackage(f *testing.F) {
	k := testSigner(f, 1)
	ring := testRing(f, k)
	f.Add(tinyPackage(f, 5))
	var buf bytes.Buffer
	if _, err := Build(context.Background(), &buf, []sign.Signer{k}, Tree{Version: "t2", FS: tinyTree()}, []Tree{{Version: "t", FS: tinyTree()}},
		&BuildOptions{Vendor: "acme", Product: "demo", Version: "t2", Sequence: 6, Kind: KindDiff}); err != nil {
		f.Fatal(err)
	}
	f.Add(buf.Bytes())
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, pkg []byte) {
		_, err := Verify(context.Background(), bytes.NewReader(pkg), int64(len(pkg)), &VerifyOptions{Keyring: ring, Limits: &Limits{MaxPayloadSize: 1 << 20}})
		if err != nil && !typedVerifyError(err) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}

// FuzzSignedManifest signs arbitrary manifest bytes with a trusted key, so
// the fuzzer reaches the parser and payload walk behind the signature.
func FuzzSignedManifest(f *testing.F) {
	k := testSigner(f, 1)
	ring := testRing(f, k)
	pkg := tinyPackage(f, 5)
	sp := memberSpans(f, pkg)
	payload := payloadOf(f, pkg)
	mb := pkg[sp[MemberManifest][0] : sp[MemberManifest][0]+sp[MemberManifest][1]]
	f.Add(append([]byte(nil), mb...), payload)
	f.Add([]byte(`{"format":1}`), []byte{})
	f.Fuzz(func(t *testing.T, manifest, payload []byte) {
		sig, err := k.Sign(context.Background(), manifest)
		if err != nil {
			return
		}
		p := makeTar(t, []tarMember{{name: MemberMarker, data: []byte(Marker)}, {name: MemberManifest, data: manifest},
			{name: MemberSig, data: sig}, {name: MemberPayload, data: payload}})
		_, err = Verify(context.Background(), bytes.NewReader(p), int64(len(p)), &VerifyOptions{Keyring: ring, Limits: &Limits{MaxPayloadSize: 1 << 20}})
		if err != nil && !typedVerifyError(err) {
			t.Fatalf("untyped error: %v", err)
		}
	})
}
