package provenance_test

import (
	"bytes"
	"encoding/base64"
	"io"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/sign"
)

// signedEnvelope signs any payload under any type with the test key, as a
// hostile signer holding a trusted key could, bypassing Sign's checks.
func signedEnvelope(t *testing.T, key *sign.Ed25519Signer, payloadType string, payload []byte) string {
	sig, err := key.SignDSSE(t.Context(), payloadType, payload)
	require.NoError(t, err)
	return `{"payloadType":"` + payloadType + `","payload":"` + base64.StdEncoding.EncodeToString(payload) +
		`","signatures":[{"keyid":"` + key.KeyID() + `","sig":"` + base64.StdEncoding.EncodeToString(sig) + `"}]}` + "\n"
}

func TestHostileEnvelopes(t *testing.T) {
	key := testKey(t, 1)
	ring := testRing(t, key)
	good := string(testEnvelope(t, key))
	payload, sig := envelopeFields(t, []byte(good))
	b64p, b64s := base64.StdEncoding.EncodeToString(payload), base64.StdEncoding.EncodeToString(sig)
	st := string(payload)
	cases := []struct {
		name string
		env  string
		want error
	}{
		{"empty", "", provenance.ErrMalformed},
		{"not JSON", "hello", provenance.ErrMalformed},
		{"array", "[]", provenance.ErrMalformed},
		{"null", "null", provenance.ErrMalformed},
		{"truncated", good[:len(good)/2], provenance.ErrMalformed},
		{"two newlines", good + "\n", provenance.ErrMalformed},
		{"CRLF", strings.TrimSuffix(good, "\n") + "\r\n", provenance.ErrMalformed},
		{"leading space", " " + good, provenance.ErrMalformed},
		{"indented", strings.Replace(good, `{"payloadType"`, "{\n  \"payloadType\"", 1), provenance.ErrMalformed},
		{"second envelope after it", good + good, provenance.ErrMalformed},
		{"unknown field", strings.Replace(good, `{"payloadType"`, `{"x":1,"payloadType"`, 1), provenance.ErrMalformed},
		{"unknown signature field", strings.Replace(good, `{"keyid"`, `{"cert":"","keyid"`, 1), provenance.ErrMalformed},
		{"duplicate payload", strings.Replace(good, `,"signatures"`, `,"payload":"e30=","signatures"`, 1), provenance.ErrMalformed},
		{"field in another case", strings.Replace(good, `"payloadType"`, `"PayloadType"`, 1), provenance.ErrMalformed},
		{"fields reordered", `{"payload":"` + b64p + `","payloadType":"application/vnd.in-toto+json","signatures":[{"keyid":"` + key.KeyID() + `","sig":"` + b64s + `"}]}`, provenance.ErrMalformed},
		{"escaped payload type", strings.Replace(good, `vnd.in-toto+json`, `vnd.in-toto\u002bjson`, 1), provenance.ErrMalformed},
		{"no signatures", strings.Replace(good, good[strings.Index(good, `[`):strings.LastIndex(good, `]`)+1], `[]`, 1), provenance.ErrMalformed},
		{"null signatures", strings.Replace(good, good[strings.Index(good, `[`):strings.LastIndex(good, `]`)+1], `null`, 1), provenance.ErrMalformed},
		{"two signatures", strings.Replace(good, `}]}`, `},{"keyid":"`+key.KeyID()+`","sig":"`+b64s+`"}]}`, 1), provenance.ErrMalformed},
		{"no key id", strings.Replace(good, key.KeyID(), "", 1), provenance.ErrMalformed},
		{"upper-case key id", strings.Replace(good, key.KeyID(), strings.ToUpper(key.KeyID()), 1), provenance.ErrMalformed},
		{"unknown key id", strings.Replace(good, key.KeyID(), strings.Repeat("ab", 16), 1), provenance.ErrUnknownKey},
		{"url-safe base64", urlSafe(good), provenance.ErrMalformed},
		{"unpadded base64", strings.Replace(good, b64s, base64.RawStdEncoding.EncodeToString(sig), 1), provenance.ErrMalformed},
		{"base64 with newline", strings.Replace(good, b64p, b64p[:76]+`\n`+b64p[76:], 1), provenance.ErrMalformed},
		{"non-canonical last base64 digit", strings.Replace(good, b64s, b64s[:85]+"B==", 1), provenance.ErrMalformed},
		{"short signature", strings.Replace(good, b64s, base64.StdEncoding.EncodeToString(sig[:63]), 1), provenance.ErrMalformed},
		{"long signature", strings.Replace(good, b64s, base64.StdEncoding.EncodeToString(append(sig, 0)), 1), provenance.ErrMalformed},
		{"empty payload", signedEnvelope(t, key, provenance.PayloadType, nil), provenance.ErrMalformed},
		{"wrong payload type", strings.Replace(good, "application/vnd.in-toto+json", "application/json", 1), provenance.ErrWrongType},
		{"signed payload of another type", signedEnvelope(t, key, "application/json", payload), provenance.ErrWrongType},
		{"signed statement of another type", signedEnvelope(t, key, provenance.PayloadType, []byte(strings.Replace(st, "Statement/v1", "Statement/v0.1", 1))), provenance.ErrWrongType},
		{"signed other predicate", signedEnvelope(t, key, provenance.PayloadType, []byte(strings.Replace(st, "slsa.dev/provenance/v1", "spdx.dev/Document", 1))), provenance.ErrWrongType},
		{"signed non-canonical statement", signedEnvelope(t, key, provenance.PayloadType, append([]byte(st), ' ')), provenance.ErrMalformed},
		{"signed duplicate keys", signedEnvelope(t, key, provenance.PayloadType, []byte(strings.Replace(st, `"predicateType"`, `"predicateType":"x","predicateType"`, 1))), provenance.ErrMalformed},
		{"signed garbage", signedEnvelope(t, key, provenance.PayloadType, []byte("\x00\xff")), provenance.ErrMalformed},
		{"payload over its cap", `{"payloadType":"application/vnd.in-toto+json","payload":"` + strings.Repeat("A", base64.StdEncoding.EncodedLen(provenance.MaxPayloadSize)+4) + `","signatures":[{"keyid":"` + key.KeyID() + `","sig":"` + b64s + `"}]}`, provenance.ErrTooLarge},
		{"deep nesting", strings.Repeat("[", 100_000), provenance.ErrMalformed},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := provenance.Verify(t.Context(), strings.NewReader(c.env), ring, nil)
			require.ErrorIs(t, err, c.want)
		})
	}
}

func TestVerifySizeCap(t *testing.T) {
	key := testKey(t, 1)
	good := testEnvelope(t, key)
	_, err := provenance.Verify(t.Context(), bytes.NewReader(good), testRing(t, key), &provenance.VerifyOptions{MaxSize: int64(len(good)) - 1})
	require.ErrorIs(t, err, provenance.ErrTooLarge)
	_, err = provenance.Verify(t.Context(), bytes.NewReader(good), testRing(t, key), &provenance.VerifyOptions{MaxSize: int64(len(good))})
	require.NoError(t, err)

	// An endless stream is read only up to the cap.
	r := &countingReader{r: endless{}}
	_, err = provenance.Verify(t.Context(), r, testRing(t, key), nil)
	require.ErrorIs(t, err, provenance.ErrTooLarge)
	require.LessOrEqual(t, r.n, int64(provenance.MaxEnvelopeSize+64<<10))
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = ' '
	}
	return len(p), nil
}

type countingReader struct {
	r io.Reader
	n int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// urlSafe respells the envelope's first '+' or '/' in the URL-safe
// alphabet, which DSSE readers commonly accept and Verify does not.
func urlSafe(env string) string {
	i := strings.IndexAny(env[strings.Index(env, `"payload":`):], "+/") + strings.Index(env, `"payload":`)
	return env[:i] + map[byte]string{'+': "-", '/': "_"}[env[i]] + env[i+1:]
}
