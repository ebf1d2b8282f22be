package support

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redactText runs the default redactors (plus o) over a text.
func redactText(t *testing.T, o *RedactOptions, text string) (string, int) {
	t.Helper()
	r, err := newRedactor(o, []byte("0123456789abcdef0123456789abcdef"))
	require.NoError(t, err)
	lr := &lineRedactor{r: r}
	var out []string
	n := 0
	for l := range strings.SplitSeq(text, "\n") {
		got, c := lr.line([]byte(l))
		out = append(out, string(got))
		n += c
	}
	return strings.Join(out, "\n"), n
}

func TestRedactLines(t *testing.T) {
	const R = "[REDACTED]"
	tests := []struct{ in, want string }{
		// key=value and env files
		{"password=hunter2", "password=" + R},
		{"DB_PASSWORD=\"s3cr3t value\"", "DB_PASSWORD=\"" + R + "\""},
		{"export API_KEY=abc123", "export API_KEY=" + R},
		{"client_secret='xyz'", "client_secret='" + R + "'"},
		{"GET /cb?code=1&access_token=abc&state=2", "GET /cb?code=1&access_token=" + R + "&state=2"},
		{"level=info user=bob token=tok123 msg=ok", "level=info user=bob token=" + R + " msg=ok"},
		{"pwd=x1", "pwd=" + R},
		{"auth=deadbeef", "auth=" + R},
		// YAML
		{"password: my secret phrase", "password: " + R},
		{"  api_key: \"k-123\"", "  api_key: " + R},
		{"- passwd: abc", "- passwd: " + R},
		// JSON
		{`{"user": "bob", "password": "p\"w", "n": 1}`, `{"user": "bob", "password": "` + R + `", "n": 1}`},
		{`{"privateKey":"abc","id":7}`, `{"privateKey":"` + R + `","id":7}`},
		// config lines
		{"requirepass foobared", "requirepass " + R},
		{"    api_secret FAKE-1;", "    api_secret " + R + ";"},
		// headers
		{"Authorization: Bearer abc.def.ghi", "Authorization: Bearer " + R},
		{"authorization: Basic dXNlcjpwYXNz", "authorization: Basic " + R},
		{`proxy_set_header Authorization "Basic dXNlcjpwYXNz";`, `proxy_set_header Authorization "Basic ` + R + `";`},
		{"Cookie: sid=abc; theme=dark", "Cookie: " + R},
		// URLs
		{"connecting to postgres://app:pa55@db:5432/x", "connecting to postgres://app:" + R + "@db:5432/x"},
		{"https://host:8443/path@v1", "https://host:8443/path@v1"},
		// AWS
		{"key id AKIAIOSFODNN7EXAMPLE used", "key id " + R + " used"},
		{"aws_secret_access_key = wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY", "aws_secret_access_key = " + R},
		// JWT
		{"jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2lnbmF0dXJl end", "jwt " + R + " end"},
		// non-secrets survive
		{"password reset requested for user bob", "password reset requested for user bob"},
		{"2026-03-01T12:00:00Z INFO started in 3.2s", "2026-03-01T12:00:00Z INFO started in 3.2s"},
		{"token expired for session of bob", "token expired for session of bob"},
		{"password=", "password="},
		{"password: null", "password: null"},
		{"key=value", "key=value"},
		{"monkey=banana", "monkey=banana"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, n := redactText(t, nil, tt.in)
			assert.Equal(t, tt.want, got)
			assert.Equal(t, strings.Count(tt.want, R), n)
		})
	}
}

func TestRedactPEM(t *testing.T) {
	in := "before\nkey:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEfake1\nMIIEfake2\n-----END RSA PRIVATE KEY-----\nafter\n" +
		`{"k": "-----BEGIN EC PRIVATE KEY-----\nMHcfake\n-----END EC PRIVATE KEY-----\n", "x": 1}` + "\n" +
		"-----BEGIN CERTIFICATE-----\nMIIcert\n-----END CERTIFICATE-----"
	got, n := redactText(t, nil, in)
	assert.Equal(t, 2, n)
	assert.NotContains(t, got, "fake")
	assert.Contains(t, got, "before\nkey:\n-----BEGIN RSA PRIVATE KEY-----\n[REDACTED]\n[REDACTED]\n-----END RSA PRIVATE KEY-----\nafter\n")
	assert.Contains(t, got, `{"k": "-----BEGIN EC PRIVATE KEY-----[REDACTED]-----END EC PRIVATE KEY-----\n", "x": 1}`)
	assert.Contains(t, got, "MIIcert", "certificates are not secrets")
}

func TestRedactVendor(t *testing.T) {
	o := &RedactOptions{Literals: []string{"FAKE-0001", "lic-FAKE-0001"}, Patterns: []string{`serial=(\d+)`, `ACME-[0-9a-f]{8}`}}
	got, n := redactText(t, o, "license lic-FAKE-0001 serial=12345 ref ACME-0badf00d FAKE-0001")
	assert.Equal(t, "license [REDACTED] serial=[REDACTED] ref [REDACTED] [REDACTED]", got)
	assert.Equal(t, 4, n)

	got, _ = redactText(t, &RedactOptions{NoDefaults: true, Literals: []string{"x9"}}, "password=hunter2 x9")
	assert.Equal(t, "password=hunter2 [REDACTED]", got)

	_, err := newRedactor(&RedactOptions{Patterns: []string{"("}}, nil)
	assert.ErrorIs(t, err, ErrInvalid)
}

func TestRedactTokenize(t *testing.T) {
	got, _ := redactText(t, &RedactOptions{Tokenize: true}, "password=aaa\ntoken: aaa\nsecret=bbb\nAuthorization: Bearer aaa")
	lines := strings.Split(got, "\n")
	tok := func(l string) string { return l[strings.Index(l, "[REDACTED-"):] }
	for _, l := range lines {
		require.Regexp(t, `\[REDACTED-[0-9a-f]{8}\]$`, l)
	}
	assert.Equal(t, tok(lines[0]), tok(lines[1]))
	assert.Equal(t, tok(lines[0]), tok(lines[3]))
	assert.NotEqual(t, tok(lines[0]), tok(lines[2]))
	// Another key gives other placeholders: no plain hash of the secret.
	r2, err := newRedactor(&RedactOptions{Tokenize: true}, []byte("another key"))
	require.NoError(t, err)
	assert.NotEqual(t, string(r2.mask([]byte("aaa"))), tok(lines[0]))
}
