package support

import (
	"bytes"
	"context"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// FuzzOpen feeds plain bundles (seeded with Write's output, zstd and gzip)
// to Open under a small cap: it must return a bundle consistent with its
// index or one of the typed errors, never panic.
func FuzzOpen(f *testing.F) {
	srcs := []Source{
		Bytes("a.log", []byte("one\ntwo password=x\n")),
		Bytes("dir/b.json", []byte(`{"token":"t"}`)),
		Bytes("empty", nil),
	}
	for _, comp := range []string{CompressionZstd, CompressionGzip} {
		b, _ := writePlain(f, &Options{Sources: srcs, Compression: comp})
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(zstdMagic)
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := Open(context.Background(), bytes.NewReader(data), nil, &OpenOptions{Plain: true, MaxSize: 1 << 20})
		if err != nil {
			require.True(t, typedOpenError(err), "untyped error: %v", err)
			return
		}
		names := b.Files()
		require.Len(t, names, len(b.Index.Files))
		for i, n := range names {
			require.Equal(t, b.Index.Files[i].Path, n)
			d, err := b.ReadFile(n)
			require.NoError(t, err)
			require.Equal(t, b.Index.Files[i].Size, int64(len(d)))
		}
	})
}

// FuzzRedact runs the redactors over arbitrary lines: no panic, and a
// value given to a secret key never survives.
func FuzzRedact(f *testing.F) {
	for _, s := range []string{"password=hunter2", `{"token": "x"}`, "Authorization: Bearer abc", "postgres://a:b@c",
		"-----BEGIN RSA PRIVATE KEY-----", "eyJabcd.eyJabcd.abcd", "AKIAIOSFODNN7EXAMPLE", "a: b", "requirepass x"} {
		f.Add(s, "s3cr3tvalue")
	}
	r, err := newRedactor(&RedactOptions{Patterns: []string{`id=(\d+)`}, Literals: []string{"lit"}}, nil)
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, line, secret string) {
		lr := &lineRedactor{r: r}
		out, n := lr.line([]byte(line))
		require.GreaterOrEqual(t, n, 0)
		require.LessOrEqual(t, len(out), len(line)+n*len(placeholderPlain)+len(placeholderPlain))
		// key=value with a plain token value.
		if len(secret) < 4 || strings.ContainsAny(secret, " \t\r\n\f,;&\"'<>(){}[]=:") || strings.Contains(secret, "[REDACTED") ||
			slices.Contains(notSecret, strings.ToLower(secret)) {
			return
		}
		lr = &lineRedactor{r: r}
		out, _ = lr.line([]byte("x " + "password=" + secret + " y"))
		require.NotContains(t, string(out), secret)
	})
}
