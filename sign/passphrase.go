package sign

import (
	"bytes"
	"context"
	"crypto"
	"fmt"
	"io"

	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	"github.com/ProtonMail/go-crypto/openpgp/s2k"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// PassphraseS2KCount is the iteration count (bytes hashed) of the
// iterated and salted S2K that EncryptPassphrase derives the key with: the
// largest count OpenPGP can encode, about 0.1 s of SHA-256 per attempt.
// Argon2 would be stronger, but gpg 2.2 cannot read it.
const PassphraseS2KCount = 65011712

// maxSKESKs caps the key packets before the encrypted data of a passphrase
// message: each may cost a key derivation.
const maxSKESKs = 8

// EncryptPassphrase reads src to its end and writes it to dst as an OpenPGP
// message encrypted with a passphrase (binary unless o.Armor): a v4
// symmetric-key packet with iterated and salted SHA-256 S2K, and SEIPDv1
// (MDC) data with AES-256, which gpg 2.2 and later read with
// `gpg --decrypt`. o.Signer, when set, signs inside the encryption.
// An empty passphrase gives ErrMalformed.
func EncryptPassphrase(ctx context.Context, dst io.Writer, src io.Reader, passphrase []byte, o *EncryptOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: empty passphrase", ErrMalformed)
	}
	var opt EncryptOptions
	if o != nil {
		opt = *o
	}
	t, cfg, signers, out, aw, err := encryptSetup(dst, &opt)
	if err != nil {
		return err
	}
	cfg.S2KConfig = &s2k.Config{S2KMode: s2k.IteratedSaltedS2K, Hash: crypto.SHA256, S2KCount: PassphraseS2KCount}
	pw, err := pgp.SymmetricallyEncryptWithParams(passphrase, out, &pgp.EncryptParams{
		Signers: signers,
		Hints:   &pgp.FileHints{ModTime: t},
		Config:  cfg,
	})
	if err != nil {
		return mapPGPError(err)
	}
	return writeMessage(ctx, dst, src, pw, aw)
}

// DecryptPassphrase reads a passphrase-encrypted OpenPGP message (binary or
// armored) from src and writes the plaintext to dst. As with Decrypt, the
// plaintext reaches dst before the integrity check at the message's end:
// treat it as untrusted until DecryptPassphrase returns nil. A wrong
// passphrase or a damaged message gives ErrDecrypt; a message without
// integrity protection, or whose passphrase hashing exceeds
// MaxArgon2MemoryExp or MaxArgon2Passes, ErrUnsupported (refused before any
// key is derived); more than o.MaxSize of plaintext ErrTooLarge. o.SignedBy
// requires a signature as in Decrypt.
func DecryptPassphrase(ctx context.Context, dst io.Writer, src io.Reader, passphrase []byte, o *DecryptOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if len(passphrase) == 0 {
		return fmt.Errorf("%w: empty passphrase", ErrMalformed)
	}
	var opt DecryptOptions
	if o != nil {
		opt = *o
	}
	maxSize, in, lr, err := openMessage(ctx, src, opt.MaxSize)
	if err != nil {
		return err
	}
	head, err := readKeyPackets(in)
	if err != nil {
		if lr.hit {
			return fmt.Errorf("%w: encrypted message over its size cap", ErrTooLarge)
		}
		return err
	}
	in = io.MultiReader(bytes.NewReader(head), in)

	ring, signers := signedByRing(nil, opt.SignedBy)
	// ReadMessage asks again after a wrong passphrase; the second answer
	// ends the loop.
	asked := false
	prompt := func([]pgp.Key, bool) ([]byte, error) {
		if asked {
			return nil, pgperrors.ErrKeyIncorrect
		}
		asked = true
		return passphrase, nil
	}
	decLimit := maxSize + 1<<20
	cfg := &packet.Config{MaxDecompressedMessageSize: &decLimit}
	md, err := pgp.ReadMessage(in, ring, prompt, cfg)
	if err != nil {
		return decryptError(ctx, lr, err)
	}
	if !md.IsEncrypted || !md.IsSymmetricallyEncrypted {
		return fmt.Errorf("%w: message is not encrypted with a passphrase", ErrMalformed)
	}
	return readBody(ctx, dst, md, lr, maxSize, signers)
}

// OpenPGP packet tags of RFC 9580 section 5.
const (
	tagPKESK  = 1
	tagSED    = 9
	tagSKESK  = 3
	tagSEIPD  = 18
	tagAEAD   = 20
	tagMarker = 10
)

// readKeyPackets reads the key packets in front of the encrypted data and
// returns their bytes plus the header of the packet that follows, for
// ReadMessage to read again. It refuses what would cost unbounded work or
// give up integrity before go-crypto derives any key: more than maxSKESKs
// symmetric-key packets, Argon2 parameters over the limits, and
// unprotected (SED) data.
func readKeyPackets(r io.Reader) ([]byte, error) {
	var out []byte
	skesks := 0
	for {
		hdr, tag, n, err := readPacketHeader(r)
		out = append(out, hdr...)
		if err != nil {
			return nil, err
		}
		switch tag {
		case tagSKESK, tagPKESK, tagMarker:
		case tagSED:
			return nil, fmt.Errorf("%w: message is not integrity protected", ErrUnsupported)
		default:
			// The encrypted data (or something ReadMessage judges).
			return out, nil
		}
		if n < 0 || n > 4096 {
			return nil, fmt.Errorf("%w: key packet of %d bytes", ErrMalformed, n)
		}
		body := make([]byte, n)
		if _, err := io.ReadFull(r, body); err != nil {
			return nil, fmt.Errorf("%w: truncated key packet", ErrMalformed)
		}
		out = append(out, body...)
		if tag == tagSKESK {
			if skesks++; skesks > maxSKESKs {
				return nil, fmt.Errorf("%w: more than %d passphrase key packets", ErrUnsupported, maxSKESKs)
			}
			if err := checkSKESK(body); err != nil {
				return nil, err
			}
		}
		if len(out) > 64<<10 {
			return nil, fmt.Errorf("%w: too many key packets", ErrMalformed)
		}
	}
}

// readPacketHeader reads one packet header. n is the body length, or -1
// for an indeterminate or partial length (allowed only on data packets).
func readPacketHeader(r io.Reader) (hdr []byte, tag, n int, err error) {
	var b [6]byte
	if _, err := io.ReadFull(r, b[:1]); err != nil {
		return nil, 0, 0, fmt.Errorf("%w: no OpenPGP packet", ErrMalformed)
	}
	if b[0]&0x80 == 0 {
		return b[:1], 0, 0, fmt.Errorf("%w: not an OpenPGP packet", ErrMalformed)
	}
	if b[0]&0x40 == 0 { // old format
		tag = int(b[0]>>2) & 0xf
		size := [4]int{1, 2, 4, 0}[b[0]&3]
		if _, err := io.ReadFull(r, b[1:1+size]); err != nil {
			return b[:1], 0, 0, fmt.Errorf("%w: truncated packet header", ErrMalformed)
		}
		if size == 0 {
			return b[:1], tag, -1, nil
		}
		for _, c := range b[1 : 1+size] {
			n = n<<8 | int(c)
		}
		return b[:1+size], tag, n, nil
	}
	tag = int(b[0] & 0x3f)
	if _, err := io.ReadFull(r, b[1:2]); err != nil {
		return b[:1], 0, 0, fmt.Errorf("%w: truncated packet header", ErrMalformed)
	}
	switch l := int(b[1]); {
	case l < 192:
		return b[:2], tag, l, nil
	case l < 224:
		if _, err := io.ReadFull(r, b[2:3]); err != nil {
			return b[:2], 0, 0, fmt.Errorf("%w: truncated packet header", ErrMalformed)
		}
		return b[:3], tag, (l-192)<<8 + int(b[2]) + 192, nil
	case l == 255:
		if _, err := io.ReadFull(r, b[2:6]); err != nil {
			return b[:2], 0, 0, fmt.Errorf("%w: truncated packet header", ErrMalformed)
		}
		return b[:6], tag, int(b[2])<<24 | int(b[3])<<16 | int(b[4])<<8 | int(b[5]), nil
	default: // partial length
		return b[:2], tag, -1, nil
	}
}

// checkSKESK refuses a symmetric-key packet body whose Argon2 S2K exceeds
// MaxArgon2MemoryExp or MaxArgon2Passes.
func checkSKESK(body []byte) error {
	if len(body) < 3 {
		return fmt.Errorf("%w: short passphrase key packet", ErrMalformed)
	}
	var spec []byte
	switch body[0] {
	case 4: // version, cipher, S2K
		spec = body[2:]
	case 5: // version, cipher, AEAD mode, S2K
		spec = body[3:]
	case 6: // version, count, cipher, AEAD mode, S2K length, S2K
		if len(body) < 5 {
			return fmt.Errorf("%w: short passphrase key packet", ErrMalformed)
		}
		spec = body[5:]
	default:
		return nil // ReadMessage refuses unknown versions
	}
	if len(spec) == 0 || spec[0] != s2kArgon2 {
		return nil
	}
	if len(spec) < 1+16+3 {
		return fmt.Errorf("%w: truncated Argon2 parameters", ErrMalformed)
	}
	passes, memExp := spec[1+16], spec[1+18]
	if memExp > MaxArgon2MemoryExp || passes > MaxArgon2Passes {
		return fmt.Errorf("%w: Argon2 passphrase hashing with 2^%d KiB and %d passes exceeds the limits (2^%d KiB, %d passes)",
			ErrUnsupported, memExp, passes, MaxArgon2MemoryExp, MaxArgon2Passes)
	}
	return nil
}
