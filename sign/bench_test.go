package sign

import (
	"bytes"
	"context"
	"testing"
)

func benchSignVerify(b *testing.B, s Signer, pub PublicKey, size int) {
	ctx := context.Background()
	msg := bytes.Repeat([]byte{'f'}, size)
	sig, err := s.Sign(ctx, msg)
	if err != nil {
		b.Fatal(err)
	}
	b.Run("sign", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			if _, err := s.Sign(ctx, msg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("verify", func(b *testing.B) {
		b.SetBytes(int64(size))
		for b.Loop() {
			if _, err := pub.Verify(ctx, msg, sig); err != nil {
				b.Fatal(err)
			}
		}
	})
}

func BenchmarkEd25519(b *testing.B) {
	s := testEd25519(b, 300, PurposeLicense)
	benchSignVerify(b, s, s.Public(), 1<<10)
}

func BenchmarkX509RSA3072(b *testing.B) {
	s := testX509(b, PurposeOVA)
	benchSignVerify(b, s, s.Public(), 1<<10)
}

func BenchmarkOpenPGP(b *testing.B) {
	s := testPGP(b, 301, PurposeUpdate)
	benchSignVerify(b, s, s.Public(), 1<<10)
}

func BenchmarkOpenPGP1MiB(b *testing.B) {
	s := testPGP(b, 302, PurposeUpdate)
	benchSignVerify(b, s, s.Public(), 1<<20)
}

func BenchmarkEncryptDecrypt1MiB(b *testing.B) {
	ctx := context.Background()
	s := testPGP(b, 303, PurposeUpdate)
	plain := bytes.Repeat([]byte("fogkit update payload "), (1<<20)/22)
	recipients := []*OpenPGPPublicKey{s.Public()}
	var ct bytes.Buffer
	if err := Encrypt(ctx, &ct, bytes.NewReader(plain), recipients, nil); err != nil {
		b.Fatal(err)
	}
	b.Run("encrypt", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := Encrypt(ctx, &out, bytes.NewReader(plain), recipients, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("decrypt", func(b *testing.B) {
		b.SetBytes(int64(len(plain)))
		var out bytes.Buffer
		for b.Loop() {
			out.Reset()
			if err := Decrypt(ctx, &out, bytes.NewReader(ct.Bytes()), s, nil); err != nil {
				b.Fatal(err)
			}
		}
	})
}
