package sign

import (
	"bytes"
	"context"
	"crypto"
	"testing"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// FuzzDecryptPassphrase feeds mutated passphrase messages to
// DecryptPassphrase: its own packet walk runs before go-crypto derives a
// key, and neither may panic, pass an error that matches no sentinel, or
// write past the cap. The seeds use the lowest iterated-S2K count (the
// appliance's own messages hash 64 MiB per key, far too slow per input).
func FuzzDecryptPassphrase(f *testing.F) {
	ctx := context.Background()
	pass := []byte("pw")
	for _, compress := range []bool{false, true} {
		var ct bytes.Buffer
		cfg := &packet.Config{S2KConfig: &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: 1024}}
		if compress {
			cfg.DefaultCompressionAlgo = packet.CompressionZLIB
		}
		w, err := pgp.SymmetricallyEncrypt(&ct, pass, nil, cfg)
		if err != nil {
			f.Fatal(err)
		}
		w.Write([]byte("fogkit"))
		if err := w.Close(); err != nil {
			f.Fatal(err)
		}
		f.Add(ct.Bytes())
	}
	f.Add([]byte("-----BEGIN PGP MESSAGE-----\n\n-----END PGP MESSAGE-----\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		var out bytes.Buffer
		err := DecryptPassphrase(ctx, &out, bytes.NewReader(data), pass, &DecryptOptions{MaxSize: 4096})
		if err != nil && !isSentinel(err) {
			t.Fatalf("error matches no sentinel: %v", err)
		}
		if out.Len() > 4096 {
			t.Fatalf("wrote %d bytes past the cap", out.Len())
		}
	})
}
