package agent

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base32"
	"io"
	"strings"
)

// firstRunBytes is the first-run token's entropy: 160 bits, written as 32
// base32 characters in eight groups of four (ABCD-EFGH-...), which is
// typable from a VM console.
const firstRunBytes = 20

// newFirstRunToken returns a fresh first-run token and its hash.
func newFirstRunToken(rand io.Reader) (string, []byte, error) {
	b := make([]byte, firstRunBytes)
	if _, err := io.ReadFull(rand, b); err != nil {
		return "", nil, err
	}
	s := base32.StdEncoding.WithPadding(base32.NoPadding).EncodeToString(b)
	var groups []string
	for i := 0; i < len(s); i += 4 {
		groups = append(groups, s[i:i+4])
	}
	tok := strings.Join(groups, "-")
	return tok, firstRunHash(tok), nil
}

// normalizeFirstRunToken accepts the token as typed: any case, with or
// without the dashes, spaces around groups. It returns "" for anything that
// cannot be a token.
func normalizeFirstRunToken(s string) string {
	if len(s) > 128 {
		return ""
	}
	var b strings.Builder
	for _, r := range s {
		switch {
		case r == '-' || r == ' ' || r == '\t':
		case r >= 'a' && r <= 'z':
			b.WriteRune(r - 'a' + 'A')
		case (r >= 'A' && r <= 'Z') || (r >= '2' && r <= '7'):
			b.WriteRune(r)
		default:
			return ""
		}
	}
	if b.Len() != 32 {
		return ""
	}
	return b.String()
}

func firstRunHash(tok string) []byte {
	h := sha256.Sum256([]byte(normalizeFirstRunToken(tok)))
	return h[:]
}

// firstRunMatches compares a typed token with the stored hash in constant
// time.
func firstRunMatches(typed string, stored []byte) bool {
	n := normalizeFirstRunToken(typed)
	if n == "" || len(stored) != sha256.Size {
		return false
	}
	h := sha256.Sum256([]byte(n))
	return subtle.ConstantTimeCompare(h[:], stored) == 1
}
