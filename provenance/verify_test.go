package provenance_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/fogkit/fogkit/provenance"
	"github.com/fogkit/fogkit/sign"
)

func TestSignVerifyCheck(t *testing.T) {
	ctx := t.Context()
	key := testKey(t, 1)
	env := testEnvelope(t, key)
	require.True(t, bytes.HasSuffix(env, []byte("}]}\n")))
	require.Equal(t, 1, bytes.Count(env, []byte("\n")))

	p, err := provenance.Verify(ctx, bytes.NewReader(env), testRing(t, testKey(t, 2), key), &provenance.VerifyOptions{BuildType: provenance.ApplianceBuildType})
	require.NoError(t, err)
	assert.Equal(t, key.KeyID(), p.KeyID)
	assert.Equal(t, provenance.ApplianceBuildType, p.BuildType)
	assert.Equal(t, "https://fogkit.dev/fogkit@v0.9.0", p.BuilderID)
	assert.Len(t, p.Subjects, 4)
	st, err := provenance.Statement(&p.Input)
	require.NoError(t, err)
	assert.Equal(t, st, p.Payload)

	var events []provenance.Event
	require.NoError(t, p.CheckSubjects(ctx, testOutputs(), &provenance.CheckOptions{Progress: func(e provenance.Event) { events = append(events, e) }}))
	require.NotEmpty(t, events)
	last := events[len(events)-1]
	assert.Equal(t, "sbom.spdx.json", last.File)
	assert.Equal(t, last.Total, last.Done)

	// Without a final newline it verifies too.
	_, err = provenance.Verify(ctx, bytes.NewReader(bytes.TrimSuffix(env, []byte("\n"))), testRing(t, key), nil)
	require.NoError(t, err)

	// The same on disk, through os.DirFS.
	dir := t.TempDir()
	for name, f := range testOutputs() {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.Data, 0o644))
	}
	require.NoError(t, p.CheckSubjects(ctx, os.DirFS(dir), nil))
}

func TestVerifyKeys(t *testing.T) {
	ctx := t.Context()
	key := testKey(t, 1)
	env := testEnvelope(t, key)

	_, err := provenance.Verify(ctx, bytes.NewReader(env), testRing(t, testKey(t, 2)), nil)
	require.ErrorIs(t, err, provenance.ErrUnknownKey)
	require.ErrorIs(t, err, sign.ErrUnknownKey)
	var ke *provenance.KeyError
	require.ErrorAs(t, err, &ke)
	assert.Equal(t, key.KeyID(), ke.KeyID)

	ring := testRing(t, key)
	require.NoError(t, ring.Revoke(key.KeyID()))
	_, err = provenance.Verify(ctx, bytes.NewReader(env), ring, nil)
	require.ErrorIs(t, err, provenance.ErrUnknownKey)
	require.ErrorIs(t, err, sign.ErrRevoked)

	// The same key on the ring for another purpose does not verify.
	other, err := sign.NewEd25519PublicKey(key.Public().Key(), sign.PurposeUpdate)
	require.NoError(t, err)
	ring, err = sign.NewKeyring(other)
	require.NoError(t, err)
	_, err = provenance.Verify(ctx, bytes.NewReader(env), ring, nil)
	require.ErrorIs(t, err, provenance.ErrUnknownKey)
	require.ErrorIs(t, err, sign.ErrWrongPurpose)

	_, err = provenance.Verify(ctx, bytes.NewReader(env), nil, nil)
	require.ErrorIs(t, err, provenance.ErrInvalid)

	_, err = provenance.Verify(ctx, bytes.NewReader(env), testRing(t, key), &provenance.VerifyOptions{BuildType: "https://fogkit.dev/other/v1"})
	require.ErrorIs(t, err, provenance.ErrWrongType)
	var te *provenance.TypeError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "buildType", te.Field)

	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	_, err = provenance.Verify(cancelled, bytes.NewReader(env), testRing(t, key), nil)
	require.ErrorIs(t, err, context.Canceled)
}

func TestSignRefuses(t *testing.T) {
	ctx := t.Context()
	st, err := provenance.Statement(testInput(testOutputs()))
	require.NoError(t, err)
	lic, err := sign.GenerateEd25519(nil, sign.PurposeLicense)
	require.NoError(t, err)
	pgp, err := sign.GenerateOpenPGP("acme", "p@acme.invalid", sign.PurposeProvenance, nil)
	require.NoError(t, err)
	cases := []struct {
		name   string
		st     []byte
		signer sign.Signer
		want   []error
	}{
		{"no signer", st, nil, []error{provenance.ErrInvalid}},
		{"license key", st, lic, []error{provenance.ErrInvalid, sign.ErrWrongPurpose}},
		{"openpgp key", st, pgp, []error{provenance.ErrInvalid, sign.ErrUnsupported}},
		{"not a statement", []byte(`{"a":1}`), testKey(t, 1), []error{provenance.ErrInvalid, provenance.ErrWrongType}},
		{"truncated statement", st[:len(st)-1], testKey(t, 1), []error{provenance.ErrInvalid, provenance.ErrMalformed}},
		{"indented statement", append([]byte(" "), st...), testKey(t, 1), []error{provenance.ErrInvalid}},
		{"too large", make([]byte, provenance.MaxPayloadSize+1), testKey(t, 1), []error{provenance.ErrTooLarge}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var buf bytes.Buffer
			err := provenance.Sign(ctx, &buf, c.st, c.signer, nil)
			for _, w := range c.want {
				require.ErrorIs(t, err, w)
			}
			require.Zero(t, buf.Len(), "nothing written")
		})
	}
}

// flip returns b with the bit flipped at i.
func flip(b []byte, i int) []byte {
	c := bytes.Clone(b)
	c[i] ^= 1
	return c
}

func envelopeFields(t *testing.T, env []byte) (payload, sig []byte) {
	var v struct {
		Payload    string
		Signatures []struct{ Sig string }
	}
	require.NoError(t, json.Unmarshal(env, &v))
	payload, err := base64.StdEncoding.DecodeString(v.Payload)
	require.NoError(t, err)
	sig, err = base64.StdEncoding.DecodeString(v.Signatures[0].Sig)
	require.NoError(t, err)
	return payload, sig
}

func reEnvelope(t *testing.T, env, payload, sig []byte) []byte {
	p0, s0 := envelopeFields(t, env)
	out := bytes.Replace(env, []byte(base64.StdEncoding.EncodeToString(p0)), []byte(base64.StdEncoding.EncodeToString(payload)), 1)
	return bytes.Replace(out, []byte(base64.StdEncoding.EncodeToString(s0)), []byte(base64.StdEncoding.EncodeToString(sig)), 1)
}

func TestFlippedBytes(t *testing.T) {
	ctx := t.Context()
	key := testKey(t, 1)
	ring := testRing(t, key)
	env := testEnvelope(t, key)
	payload, sig := envelopeFields(t, env)

	// Any flipped bit of the payload or the signature, re-encoded as valid
	// base64, fails the signature.
	for _, i := range []int{0, 1, len(payload) / 2, len(payload) - 1} {
		_, err := provenance.Verify(ctx, bytes.NewReader(reEnvelope(t, env, flip(payload, i), sig)), ring, nil)
		require.ErrorIs(t, err, provenance.ErrSignature, "payload byte %d", i)
		require.ErrorIs(t, err, sign.ErrBadSignature)
		var ke *provenance.KeyError
		require.ErrorAs(t, err, &ke)
	}
	for _, i := range []int{0, 31, 32, 63} {
		_, err := provenance.Verify(ctx, bytes.NewReader(reEnvelope(t, env, payload, flip(sig, i))), ring, nil)
		require.ErrorIs(t, err, provenance.ErrSignature, "signature byte %d", i)
	}
	// Every flipped bit of the envelope's bytes is refused, one way or
	// another, never accepted.
	for i := range env {
		_, err := provenance.Verify(ctx, bytes.NewReader(flip(env, i)), ring, nil)
		require.Error(t, err, "envelope byte %d", i)
		require.True(t, errors.Is(err, provenance.ErrMalformed) || errors.Is(err, provenance.ErrSignature) ||
			errors.Is(err, provenance.ErrWrongType) || errors.Is(err, provenance.ErrUnknownKey), "byte %d: %v", i, err)
	}

	// A flipped byte in a subject's file names the subject.
	p, err := provenance.Verify(ctx, bytes.NewReader(env), ring, nil)
	require.NoError(t, err)
	outs := testOutputs()
	outs["acme-disk1.vmdk"].Data[700_000] ^= 0x80
	err = p.CheckSubjects(ctx, outs, nil)
	require.ErrorIs(t, err, provenance.ErrSubject)
	var se *provenance.SubjectError
	require.ErrorAs(t, err, &se)
	assert.Equal(t, "acme-disk1.vmdk", se.Name)
	assert.Equal(t, p.Subjects[0].Digest["sha256"], se.Want)
	assert.NotEqual(t, se.Want, se.Got)
	assert.ErrorContains(t, err, "acme-disk1.vmdk")
}

func TestCheckSubjectsRefuses(t *testing.T) {
	ctx := t.Context()
	key := testKey(t, 1)
	p, err := provenance.Verify(ctx, bytes.NewReader(testEnvelope(t, key)), testRing(t, key), nil)
	require.NoError(t, err)

	t.Run("missing files, every one named", func(t *testing.T) {
		outs := testOutputs()
		delete(outs, "acme.ova")
		delete(outs, "sbom.spdx.json")
		err := p.CheckSubjects(ctx, outs, nil)
		require.ErrorIs(t, err, provenance.ErrSubject)
		require.ErrorIs(t, err, fs.ErrNotExist)
		assert.ErrorContains(t, err, "acme.ova")
		assert.ErrorContains(t, err, "sbom.spdx.json")
	})
	t.Run("directory instead of file", func(t *testing.T) {
		outs := testOutputs()
		delete(outs, "acme.ova")
		outs["acme.ova/x"] = &fstest.MapFile{Data: []byte("x")}
		err := p.CheckSubjects(ctx, outs, nil)
		require.ErrorIs(t, err, provenance.ErrSubject)
		assert.ErrorContains(t, err, "not a regular file")
	})
	t.Run("truncated file", func(t *testing.T) {
		outs := testOutputs()
		outs["acme.ova"].Data = outs["acme.ova"].Data[:3]
		var se *provenance.SubjectError
		require.ErrorAs(t, p.CheckSubjects(ctx, outs, nil), &se)
		assert.Equal(t, "acme.ova", se.Name)
	})
	t.Run("symbolic link out of an os.Root", func(t *testing.T) {
		dir, outside := t.TempDir(), t.TempDir()
		for name, f := range testOutputs() {
			require.NoError(t, os.MkdirAll(filepath.Join(dir, filepath.Dir(name)), 0o755))
			require.NoError(t, os.WriteFile(filepath.Join(dir, name), f.Data, 0o644))
		}
		require.NoError(t, os.Rename(filepath.Join(dir, "acme.ova"), filepath.Join(outside, "acme.ova")))
		require.NoError(t, os.Symlink(filepath.Join(outside, "acme.ova"), filepath.Join(dir, "acme.ova")))
		root, err := os.OpenRoot(dir)
		require.NoError(t, err)
		defer root.Close()
		var se *provenance.SubjectError
		require.ErrorAs(t, p.CheckSubjects(ctx, root.FS(), nil), &se)
		assert.Equal(t, "acme.ova", se.Name)
		require.NoError(t, p.CheckSubjects(ctx, os.DirFS(dir), nil), "os.DirFS follows it")
	})
	for _, name := range []string{"../etc/passwd", "/etc/passwd", "a/./b", `a\b`, "a//b"} {
		t.Run("unsafe name "+name, func(t *testing.T) {
			q := *p
			q.Subjects = []provenance.Subject{{Name: name, Digest: map[string]string{"sha256": strings.Repeat("0", 64)}}}
			err := q.CheckSubjects(ctx, testOutputs(), nil)
			require.ErrorIs(t, err, provenance.ErrUnsafeName)
			require.ErrorIs(t, err, provenance.ErrSubject)
		})
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	require.ErrorIs(t, p.CheckSubjects(cancelled, testOutputs(), nil), context.Canceled)
	require.ErrorIs(t, p.CheckSubjects(ctx, nil, nil), provenance.ErrInvalid)
}
