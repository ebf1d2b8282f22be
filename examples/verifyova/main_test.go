package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/sign"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const descriptor = `<?xml version="1.0" encoding="UTF-8"?>
<Envelope xmlns="http://schemas.dmtf.org/ovf/envelope/1" xmlns:ovf="http://schemas.dmtf.org/ovf/envelope/1">
  <References>
    <File ovf:href="app-disk1.vmdk" ovf:id="file1" ovf:size="9"/>
  </References>
  <VirtualSystem ovf:id="app"><Info>app</Info><Name>app</Name></VirtualSystem>
</Envelope>
`

// writeOVA writes app.ova (signed when s is set) into dir.
func writeOVA(t *testing.T, dir string, s *sign.X509Signer) string {
	files := []ova.File{ova.BytesFile("app-disk1.vmdk", []byte("disk data"))}
	opt := &ova.Options{Name: "app"}
	if s != nil {
		opt.Signer = s
	}
	var b bytes.Buffer
	_, err := ova.Write(context.Background(), &b, []byte(descriptor), files, opt)
	require.NoError(t, err)
	p := filepath.Join(dir, "app.ova")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func signer(t *testing.T) (*sign.X509Signer, string) {
	k, err := sign.GenerateRSA(nil, 2048)
	require.NoError(t, err)
	c, err := sign.SelfSignedCertificate(k, &sign.CertOptions{CommonName: "verifyova test"})
	require.NoError(t, err)
	s, err := sign.NewX509Signer(k, []*x509.Certificate{c}, sign.PurposeOVA)
	require.NoError(t, err)
	p := filepath.Join(t.TempDir(), "root.pem")
	require.NoError(t, os.WriteFile(p, sign.EncodeCertificates([]*x509.Certificate{c}), 0o644))
	return s, p
}

// repack rewrites the OVA at path with another owner name in every
// header, as a tar tool run by another user would: harmless, but not what
// ova.Write writes.
func repack(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for off := 0; off+512 <= len(b); {
		h := b[off : off+512]
		if bytes.Equal(h, make([]byte, 512)) {
			break
		}
		copy(h[265:], "vendor")
		copy(h[148:156], "        ")
		sum := 0
		for _, c := range h {
			sum += int(c)
		}
		copy(h[148:156], fmt.Sprintf("%06o\x00 ", sum))
		var size int64
		_, err := fmt.Sscanf(string(h[124:135]), "%o", &size)
		require.NoError(t, err)
		off += 512 + int(size+511)/512*512
	}
	p := filepath.Join(t.TempDir(), "repacked.ova")
	require.NoError(t, os.WriteFile(p, b, 0o644))
	return p
}

func TestVerifyova(t *testing.T) {
	s, root := signer(t)
	signed := writeOVA(t, t.TempDir(), s)
	unsigned := writeOVA(t, t.TempDir(), nil)
	_, otherRoot := signer(t)
	repacked := repack(t, signed)

	cases := []struct {
		name string
		args []string
		code int
		want []string
	}{
		{"signed", []string{signed}, 0, []string{"signer: CN=verifyova test", "warning: self-signed", "VALID"}},
		{"trusted", []string{"-roots", root, "-require-signature", signed}, 0, []string{"trusted: chains to CN=verifyova test", "VALID"}},
		{"untrusted", []string{"-roots", otherRoot, signed}, 1, []string{"certificate not trusted", "INVALID"}},
		{"unsigned", []string{unsigned}, 1, []string{"signer: none", "archive not signed", "INVALID"}},
		{"unsigned required", []string{"-require-signature", unsigned}, 1, []string{"archive not signed", "INVALID"}},
		{"unsigned allowed", []string{"-allow-unsigned", unsigned}, 0, []string{"signer: none", "warning: unsigned", "VALID"}},
		{"foreign headers refused", []string{repacked}, 1, []string{"field uname", "INVALID"}},
		{"foreign headers allowed", []string{"-foreign-headers", "-roots", root, repacked}, 0, []string{"trusted: chains to CN=verifyova test", "VALID"}},
		{"no args", nil, 2, nil},
		{"missing file", []string{filepath.Join(t.TempDir(), "nope.ova")}, 2, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var out, errb bytes.Buffer
			code := run(t.Context(), c.args, &out, &errb)
			assert.Equal(t, c.code, code, "stdout:\n%s\nstderr:\n%s", out.String(), errb.String())
			for _, w := range c.want {
				assert.Contains(t, out.String(), w)
			}
		})
	}

	// Tampered disk: invalid, the error names the member.
	b, err := os.ReadFile(signed)
	require.NoError(t, err)
	i := bytes.Index(b, []byte("disk data"))
	b[i] = 'D'
	bad := filepath.Join(t.TempDir(), "bad.ova")
	require.NoError(t, os.WriteFile(bad, b, 0o644))
	var out bytes.Buffer
	assert.Equal(t, 1, run(t.Context(), []string{bad}, &out, &out))
	assert.Contains(t, out.String(), "digest mismatch: app-disk1.vmdk")

	// JSON output.
	out.Reset()
	assert.Equal(t, 1, run(t.Context(), []string{"-json", bad}, &out, &out))
	var js struct {
		Valid    bool
		Problems []string
		Report   struct{ Name string }
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &js))
	assert.False(t, js.Valid)
	assert.Equal(t, "app", js.Report.Name)
	assert.True(t, strings.Contains(strings.Join(js.Problems, "\n"), "app-disk1.vmdk"))
}
