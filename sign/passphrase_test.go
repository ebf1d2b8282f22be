package sign

import (
	"bytes"
	"crypto/rand"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPassphraseRoundTrip(t *testing.T) {
	ctx := t.Context()
	msg := bytes.Repeat([]byte("customer data "), 10000)
	for _, armor := range []bool{false, true} {
		var ct bytes.Buffer
		require.NoError(t, EncryptPassphrase(ctx, &ct, bytes.NewReader(msg), []byte("pw"), &EncryptOptions{Armor: armor}))
		var out bytes.Buffer
		require.NoError(t, DecryptPassphrase(ctx, &out, bytes.NewReader(ct.Bytes()), []byte("pw"), nil))
		assert.Equal(t, msg, out.Bytes())

		err := DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(ct.Bytes()), []byte("wrong"), nil)
		assert.ErrorIs(t, err, ErrDecrypt, "armor %v", armor)
		err = DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(ct.Bytes()), []byte("pw"), &DecryptOptions{MaxSize: 1000})
		assert.ErrorIs(t, err, ErrTooLarge)
	}
	assert.ErrorIs(t, EncryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(msg), nil, nil), ErrMalformed)
	assert.ErrorIs(t, DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(nil), nil, nil), ErrMalformed)
}

// A changed byte anywhere after the key packet (in the encrypted data or
// its MDC) is caught.
func TestPassphraseFlippedByte(t *testing.T) {
	ctx := t.Context()
	msg := make([]byte, 5000)
	_, _ = rand.Read(msg)
	var ct bytes.Buffer
	require.NoError(t, EncryptPassphrase(ctx, &ct, bytes.NewReader(msg), []byte("pw"), nil))
	b := ct.Bytes()
	for _, i := range []int{60, 100, len(b) / 2, len(b) - 22, len(b) - 1} {
		bad := bytes.Clone(b)
		bad[i] ^= 0x01
		err := DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(bad), []byte("pw"), nil)
		assert.ErrorIs(t, err, ErrDecrypt, "byte %d of %d", i, len(b))
	}
	// Anywhere else it is still an error.
	for i := 0; i < 60; i += 7 {
		bad := bytes.Clone(b)
		bad[i] ^= 0x01
		assert.Error(t, DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(bad), []byte("pw"), nil), "byte %d", i)
	}
	// Truncated.
	assert.Error(t, DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(b[:len(b)-10]), []byte("pw"), nil))
}

// Hostile key packets are refused before any key is derived: Argon2 asking
// for 1 TiB, too many key packets, no integrity protection.
func TestPassphraseHostile(t *testing.T) {
	ctx := t.Context()
	argon := func(passes, memExp byte) []byte {
		body := []byte{4, 9, s2kArgon2}
		body = append(body, make([]byte, 16)...)
		body = append(body, passes, 1, memExp)
		return append([]byte{0xc0 | tagSKESK, byte(len(body))}, body...)
	}
	seipd := []byte{0xc0 | 18, 5, 1, 0, 0, 0, 0}
	cases := map[string][]byte{
		"argon2 memory": append(argon(1, 30), seipd...),
		"argon2 passes": append(argon(200, 10), seipd...),
		"many keys":     append(bytes.Repeat([]byte{0xc0 | tagSKESK, 4, 4, 9, 0, 2}, 20), seipd...),
		"no MDC":        {0xc0 | tagSKESK, 4, 4, 9, 0, 2, 0xc0 | tagSED, 3, 1, 2, 3},
	}
	for name, m := range cases {
		err := DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(m), []byte("pw"), nil)
		assert.ErrorIs(t, err, ErrUnsupported, name)
	}
	// Public-key messages are not passphrase messages.
	s := testPGP(t, 16, PurposeUpdate)
	var ct bytes.Buffer
	require.NoError(t, Encrypt(ctx, &ct, bytes.NewReader([]byte("x")), []*OpenPGPPublicKey{s.Public()}, nil))
	assert.ErrorIs(t, DecryptPassphrase(ctx, &bytes.Buffer{}, &ct, []byte("pw"), nil), ErrDecrypt)
}

func TestPassphraseGPGInterop(t *testing.T) {
	g := newGPGHome(t)
	ctx := t.Context()
	msg := bytes.Repeat([]byte("backup bytes\n"), 5000)
	pwFile := g.file("pw", []byte("correct horse"))

	// Ours, read by gpg.
	var ct bytes.Buffer
	require.NoError(t, EncryptPassphrase(ctx, &ct, bytes.NewReader(msg), []byte("correct horse"), nil))
	out := g.run(ct.Bytes(), "--passphrase-file", pwFile, "--decrypt")
	assert.Equal(t, msg, out)

	// gpg's, read by us (binary and armored).
	in := filepath.Join(g.dir, "msg")
	require.NoError(t, os.WriteFile(in, msg, 0o600))
	for _, extra := range [][]string{nil, {"--armor"}} {
		args := append([]string{"--passphrase-file", pwFile, "--symmetric", "--cipher-algo", "AES256", "--output", "-"}, extra...)
		gct := g.run(nil, append(args, in)...)
		var dec bytes.Buffer
		require.NoError(t, DecryptPassphrase(ctx, &dec, bytes.NewReader(gct), []byte("correct horse"), nil))
		assert.Equal(t, msg, dec.Bytes())
		err := DecryptPassphrase(ctx, &bytes.Buffer{}, bytes.NewReader(gct), []byte("wrong"), nil)
		assert.ErrorIs(t, err, ErrDecrypt)
	}
}
