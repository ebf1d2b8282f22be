package main

import (
	"bytes"
	"context"
	"crypto/x509"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/fogkit/fogkit/internal/testutil"
	"github.com/fogkit/fogkit/ova"
	"github.com/fogkit/fogkit/ovf"
	"github.com/fogkit/fogkit/sign"
	"github.com/fogkit/fogkit/vmdk"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fixtures writes a boot VMDK (from 4 MiB of data), an empty 1 GiB data
// VMDK and an RSA key with a self-signed certificate into dir.
func fixtures(t *testing.T, dir string) (boot, data, key, cert string) {
	ctx := context.Background()
	raw := testutil.RandomBytes(7, 4<<20)
	boot, data = filepath.Join(dir, "boot.vmdk"), filepath.Join(dir, "data.vmdk")
	var b bytes.Buffer
	// mkova names the members app-disk1.vmdk, app-disk2.vmdk, and ova.Write
	// checks that each VMDK's extent says the same.
	_, err := vmdk.Write(ctx, &b, bytes.NewReader(raw), int64(len(raw)), &vmdk.Options{FileName: "app-disk1.vmdk"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(boot, b.Bytes(), 0o644))
	b.Reset()
	_, err = vmdk.WriteEmpty(ctx, &b, 1<<30, &vmdk.Options{FileName: "app-disk2.vmdk"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(data, b.Bytes(), 0o644))

	k, err := sign.GenerateRSA(nil, 2048)
	require.NoError(t, err)
	c, err := sign.SelfSignedCertificate(k, &sign.CertOptions{CommonName: "mkova test"})
	require.NoError(t, err)
	s, err := sign.NewX509Signer(k, []*x509.Certificate{c}, sign.PurposeOVA)
	require.NoError(t, err)
	keyPEM, err := sign.EncodePrivateKey(s, nil)
	require.NoError(t, err)
	key, cert = filepath.Join(dir, "key.pem"), filepath.Join(dir, "cert.pem")
	require.NoError(t, os.WriteFile(key, keyPEM, 0o600))
	require.NoError(t, os.WriteFile(cert, sign.EncodeCertificates([]*x509.Certificate{c}), 0o644))
	return boot, data, key, cert
}

func TestMkova(t *testing.T) {
	dir := t.TempDir()
	boot, data, key, cert := fixtures(t, dir)
	build := func(out string) []byte {
		require.NoError(t, run(t.Context(), []string{"-name", "app", "-disk", boot, "-disk", data, "-cpus", "4", "-memory", "4096",
			"-firmware", "efi", "-product", "App", "-vendor", "Vendor", "-version", "1.2.3", "-key", key, "-cert", cert, "-o", out}, io.Discard))
		b, err := os.ReadFile(out)
		require.NoError(t, err)
		return b
	}
	a := build(filepath.Join(dir, "a.ova"))
	assert.Equal(t, a, build(filepath.Join(dir, "b.ova")), "reproducible")

	certs, err := sign.ParseCertificates(must(os.ReadFile(cert)))
	require.NoError(t, err)
	rep, err := ova.Verify(t.Context(), bytes.NewReader(a), &ova.VerifyOptions{Roots: certs})
	require.NoError(t, err)
	assert.True(t, rep.Signer.Trusted)
	assert.Equal(t, []string{"app-disk1.vmdk", "app-disk2.vmdk"}, rep.References)

	arch, err := ova.Open(bytes.NewReader(a), int64(len(a)), nil)
	require.NoError(t, err)
	env, err := ovf.Parse(bytes.NewReader(arch.Descriptor()), nil)
	require.NoError(t, err)
	require.Len(t, env.Disks, 2)
	c1, err := env.Disks[0].CapacityBytes()
	require.NoError(t, err)
	c2, err := env.Disks[1].CapacityBytes()
	require.NoError(t, err)
	assert.Equal(t, int64(4<<20), c1)
	assert.Equal(t, int64(1<<30), c2)
	st, err := os.Stat(data)
	require.NoError(t, err)
	assert.Equal(t, st.Size(), env.References[1].Size)
}

func TestMkovaUsage(t *testing.T) {
	dir := t.TempDir()
	for _, args := range [][]string{
		{},
		{"-name", "x", "-o", filepath.Join(dir, "x.ova")},
		{"-name", "x", "-disk", "d.vmdk"},
		{"-name", "x", "-disk", "d.vmdk", "-o", "x.ova", "-key", "k.pem"},
		{"-name", "x", "-disk", "d.vmdk", "-o", "x.ova", "-firmware", "uefi"},
	} {
		require.ErrorIs(t, run(t.Context(), args, io.Discard), errUsage, "%q", args)
	}
	// Not a VMDK.
	notVMDK := filepath.Join(dir, "n.vmdk")
	require.NoError(t, os.WriteFile(notVMDK, make([]byte, 1024), 0o644))
	err := run(t.Context(), []string{"-name", "x", "-disk", notVMDK, "-o", filepath.Join(dir, "x.ova")}, io.Discard)
	require.ErrorIs(t, err, vmdk.ErrBadMagic)
	_, err = os.Stat(filepath.Join(dir, "x.ova"))
	assert.True(t, os.IsNotExist(err))
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
