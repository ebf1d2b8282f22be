package agent

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzDecodeJSON feeds arbitrary bodies to the request decoder: it must
// never panic, must refuse anything that is not exactly one object of the
// request type, and what it accepts must re-decode to the same value.
func FuzzDecodeJSON(f *testing.F) {
	for _, s := range []string{`{"token":"ABCD","password":"correct horse battery"}`, `{}`, `{"token":1}`, `[]`,
		`{"password":"x"} {}`, `{"Token":"a"}`, `{"token":"\u0000"}`, ` {"token":"a"} `, `{"token":"a","token":"b"}`, ``} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var req FirstRunRequest
		e := decodeJSON(bytes.NewReader(b), 4096, &req)
		if e != nil {
			if e.Code != CodeBadRequest && e.Code != CodeTooLarge {
				t.Fatalf("code %q", e.Code)
			}
			return
		}
		if len(b) > 4096 {
			t.Fatalf("accepted %d bytes over the cap", len(b))
		}
		var again FirstRunRequest
		if e := decodeJSON(bytes.NewReader(b), 4096, &again); e != nil || again != req {
			t.Fatalf("not stable: %v %+v %+v", e, req, again)
		}
	})
}

// FuzzFirstRunToken checks the typed-token normalizer: never a panic, and
// anything it accepts is 32 base32 characters that match their own hash.
func FuzzFirstRunToken(f *testing.F) {
	for _, s := range []string{"ABCD-EFGH-IJKL-MNOP-QRST-UVWX-YZ23-4567", "abcd efgh ijkl mnop qrst uvwx yz23 4567", "", "é", strings.Repeat("-", 130)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		n := normalizeFirstRunToken(s)
		if n == "" {
			if firstRunMatches(s, firstRunHash(s)) {
				t.Fatal("an invalid token matched")
			}
			return
		}
		if len(n) != 32 || strings.Trim(n, "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567") != "" {
			t.Fatalf("normalized to %q", n)
		}
		if !firstRunMatches(s, firstRunHash(n)) {
			t.Fatal("a token does not match its own hash")
		}
	})
}
