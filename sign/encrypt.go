package sign

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/ProtonMail/go-crypto/openpgp/armor"
	pgperrors "github.com/ProtonMail/go-crypto/openpgp/errors"
	"github.com/ProtonMail/go-crypto/openpgp/packet"
	pgp "github.com/ProtonMail/go-crypto/openpgp/v2"
)

// EncryptOptions control Encrypt; nil means defaults.
type EncryptOptions struct {
	// Armor writes "-----BEGIN PGP MESSAGE-----" text instead of binary.
	Armor bool `json:"armor,omitempty"`
	// Compress compresses the plaintext with ZLIB first (when every
	// recipient accepts it). Off by default: update payloads are usually
	// compressed already.
	Compress bool `json:"compress,omitempty"`
	// Time is the time the recipients' encryption subkeys must be valid at
	// and the time stamped on the literal data and on the signature. The
	// zero time skips the recipients' expiry checks and stamps Unix 0 (or
	// the signer's SigningTime).
	Time time.Time `json:"time,omitempty"`
	// Signer, when set, also signs the message inside the encryption.
	Signer *OpenPGPSigner `json:"-"`
	// Rand is the randomness source for the session key; nil means
	// crypto/rand.
	Rand io.Reader `json:"-"`
}

// Encrypt reads src to its end and writes it to dst as an OpenPGP message
// encrypted to every recipient (binary unless o.Armor). The message uses
// SEIPDv1 (MDC), which gpg 2.2 reads, unless every recipient is a v6 /
// RFC 9580 key advertising AEAD, in which case it uses SEIPDv2.
func Encrypt(ctx context.Context, dst io.Writer, src io.Reader, recipients []*OpenPGPPublicKey, o *EncryptOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	var opt EncryptOptions
	if o != nil {
		opt = *o
	}
	if len(recipients) == 0 {
		return fmt.Errorf("%w: no recipients", ErrMalformed)
	}
	to := make([]*pgp.Entity, len(recipients))
	for i, r := range recipients {
		if r == nil || r.entity == nil {
			return fmt.Errorf("%w: recipient %d is nil", ErrMalformed, i)
		}
		to[i] = r.entity
	}
	t, cfg, signers, out, aw, err := encryptSetup(dst, &opt)
	if err != nil {
		return err
	}
	encTime := opt.Time
	pw, err := pgp.EncryptWithParams(out, to, nil, &pgp.EncryptParams{
		Signers:        signers,
		Hints:          &pgp.FileHints{ModTime: t},
		EncryptionTime: &encTime,
		Config:         cfg,
	})
	if err != nil {
		for _, r := range recipients {
			if _, kerr := r.entity.EncryptionKeyWithError(encTime, cfg); kerr != nil {
				return &KeyError{KeyID: r.id, Err: fmt.Errorf("%w: no usable encryption key: %v", keyUsable(kerr), kerr)}
			}
		}
		return mapPGPError(err)
	}
	return writeMessage(ctx, dst, src, pw, aw)
}

// encryptSetup is what Encrypt and EncryptPassphrase share before they
// encrypt: the time stamped on the message, the configuration, the
// signers, and the writer the message goes to, out, which is aw (to be
// closed after the message) when the message is armored.
func encryptSetup(dst io.Writer, opt *EncryptOptions) (t time.Time, cfg *packet.Config, signers []*pgp.Entity, out io.Writer, aw io.WriteCloser, err error) {
	t = opt.Time
	if opt.Signer != nil && t.IsZero() {
		t = opt.Signer.SigningTime()
	}
	cfg = pgpConfig(time.Time{}, false, opt.Rand)
	cfg.Time = func() time.Time { return t }
	cfg.AEADConfig = nil
	if opt.Compress {
		cfg.DefaultCompressionAlgo = packet.CompressionZLIB
	}
	if opt.Signer != nil {
		if opt.Signer.entity == nil {
			return t, nil, nil, nil, nil, fmt.Errorf("%w: signer without a key", ErrMalformed)
		}
		signers = []*pgp.Entity{opt.Signer.entity}
		cfg.SignatureNotations = []*packet.Notation{{Name: PurposeNotation, Value: []byte(opt.Signer.purpose), IsHumanReadable: true}}
	}
	out = dst
	if opt.Armor {
		if aw, err = armor.Encode(dst, pgpMessageBlock, nil); err != nil {
			return t, nil, nil, nil, nil, err
		}
		out = aw
	}
	return t, cfg, signers, out, aw, nil
}

// writeMessage copies src into the encrypting writer pw and closes it,
// then the armor aw when there is one, ending the armored text with a
// newline.
func writeMessage(ctx context.Context, dst io.Writer, src io.Reader, pw, aw io.WriteCloser) error {
	if _, err := io.Copy(pw, ctxReader{ctx, src}); err != nil {
		return err
	}
	if err := pw.Close(); err != nil {
		return err
	}
	if aw == nil {
		return nil
	}
	if err := aw.Close(); err != nil {
		return err
	}
	_, err := io.WriteString(dst, "\n")
	return err
}

// DefaultMaxDecryptSize is DecryptOptions.MaxSize when it is 0.
const DefaultMaxDecryptSize = 4 << 30

// DecryptOptions control Decrypt; nil means defaults.
type DecryptOptions struct {
	// MaxSize caps the plaintext (and the decompressed stream) in bytes;
	// more gives ErrTooLarge. 0 means DefaultMaxDecryptSize.
	MaxSize int64 `json:"maxSize,omitempty"`
	// SignedBy, when not empty, requires the message to carry a valid
	// signature by one of these keys (else ErrBadSignature, ErrUnknownKey
	// or ErrExpired).
	SignedBy []*OpenPGPPublicKey `json:"-"`
}

// Decrypt reads an OpenPGP message (binary or armored) from src, decrypts
// it with key and writes the plaintext to dst. The plaintext reaches dst
// before the message's integrity check (MDC or AEAD tag) at its end has
// been verified: treat dst as untrusted until Decrypt returns nil. A
// message not encrypted to key gives ErrDecrypt, a damaged one ErrDecrypt
// or ErrMalformed, one over MaxSize ErrTooLarge. Messages without integrity
// protection are refused.
func Decrypt(ctx context.Context, dst io.Writer, src io.Reader, key *OpenPGPSigner, o *DecryptOptions) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if key == nil || key.entity == nil {
		return fmt.Errorf("%w: nil key", ErrMalformed)
	}
	var opt DecryptOptions
	if o != nil {
		opt = *o
	}
	maxSize, in, lr, err := openMessage(ctx, src, opt.MaxSize)
	if err != nil {
		return err
	}
	ring, signers := signedByRing(pgp.EntityList{key.entity}, opt.SignedBy)
	decLimit := maxSize + 1<<20
	cfg := &packet.Config{MaxDecompressedMessageSize: &decLimit}
	md, err := pgp.ReadMessage(in, ring, nil, cfg)
	if err != nil {
		return decryptError(ctx, lr, err)
	}
	if !md.IsEncrypted {
		return fmt.Errorf("%w: message is not encrypted", ErrMalformed)
	}
	return readBody(ctx, dst, md, lr, maxSize, signers)
}

// signedByRing adds the keys a message must be signed by to ring and
// returns their IDs. Decrypt and DecryptPassphrase share it.
func signedByRing(ring pgp.EntityList, signedBy []*OpenPGPPublicKey) (pgp.EntityList, map[string]bool) {
	signers := map[string]bool{}
	for _, v := range signedBy {
		if v != nil {
			ring = append(ring, v.entity)
			signers[v.id] = true
		}
	}
	return ring, signers
}

// readBody copies a decrypted message's plaintext to dst, at most maxSize
// bytes, which reads it to its end and so checks its integrity; then, when
// signers is not empty, it requires a valid signature by one of them.
// Decrypt and DecryptPassphrase share it.
func readBody(ctx context.Context, dst io.Writer, md *pgp.MessageDetails, lr *limitedReader, maxSize int64, signers map[string]bool) error {
	if _, err := copyLimited(dst, md.UnverifiedBody, maxSize); err != nil {
		var we writeError
		if errors.Is(err, ErrTooLarge) {
			return err
		}
		if errors.As(err, &we) {
			return we.err
		}
		return decryptError(ctx, lr, err)
	}
	if len(signers) == 0 {
		return nil
	}
	switch {
	case !md.IsSigned:
		return fmt.Errorf("%w: message is not signed", ErrBadSignature)
	case md.SignatureError != nil:
		return mapPGPError(md.SignatureError)
	case md.SignedBy == nil || !signers[fmt.Sprintf("%x", md.SignedBy.Entity.PrimaryKey.Fingerprint)]:
		return fmt.Errorf("%w: message signed by another key", ErrUnknownKey)
	}
	return nil
}

func decryptError(ctx context.Context, lr *limitedReader, err error) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if lr.hit {
		return fmt.Errorf("%w: encrypted message over its size cap", ErrTooLarge)
	}
	m := mapPGPError(err)
	if errors.Is(m, ErrBadSignature) || errors.Is(m, ErrMalformed) && !errors.Is(err, io.ErrUnexpectedEOF) {
		// Integrity failures and garbled decrypted data.
		return fmt.Errorf("%w: %v", ErrDecrypt, err)
	}
	return m
}

// openMessage caps src (the ciphertext is never much bigger than the
// plaintext, so a cap of a little over maxSize bounds the work), removes
// the armor when there is one and returns the binary message, the
// effective plaintext cap and the capped reader (to tell a hit cap from
// damage). Decrypt and DecryptPassphrase share it.
func openMessage(ctx context.Context, src io.Reader, maxSize int64) (int64, io.Reader, *limitedReader, error) {
	if maxSize <= 0 {
		maxSize = DefaultMaxDecryptSize
	}
	lr := &limitedReader{r: ctxReader{ctx, src}, n: maxSize + maxSize/64 + 1<<20}
	br := newPeekReader(lr)
	if !br.isArmor() {
		return maxSize, br, lr, nil
	}
	block, err := armor.Decode(br)
	if err != nil {
		return 0, nil, nil, fmt.Errorf("%w: OpenPGP armor: %v", ErrMalformed, err)
	}
	if block.Type != pgpMessageBlock {
		return 0, nil, nil, fmt.Errorf("%w: OpenPGP armor holds %q, want %q", ErrMalformed, block.Type, pgpMessageBlock)
	}
	return maxSize, block.Body, lr, nil
}

// copyLimited copies src to its EOF into dst, failing with ErrTooLarge
// before writing byte max+1. It never reads src again after EOF.
func copyLimited(dst io.Writer, src io.Reader, max int64) (int64, error) {
	buf := make([]byte, 64<<10)
	var n int64
	for {
		m, err := src.Read(buf)
		if m > 0 {
			if n+int64(m) > max {
				return n, fmt.Errorf("%w: decrypted message over %d bytes", ErrTooLarge, max)
			}
			if _, werr := dst.Write(buf[:m]); werr != nil {
				return n, writeError{werr}
			}
			n += int64(m)
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return n, err
		}
	}
}

// writeError marks an error of the destination writer.
type writeError struct{ err error }

func (w writeError) Error() string { return w.err.Error() }

// limitedReader is io.LimitReader that remembers it hit the limit.
type limitedReader struct {
	r   io.Reader
	n   int64
	hit bool
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		l.hit = true
		return 0, io.ErrUnexpectedEOF
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

// peekReader lets Decrypt look at the first bytes to tell armor from
// binary.
type peekReader struct {
	r    io.Reader
	head []byte
	err  error
}

func newPeekReader(r io.Reader) *peekReader {
	p := &peekReader{r: r}
	buf := make([]byte, 64)
	n, err := io.ReadFull(r, buf)
	p.head = buf[:n]
	if err != nil && err != io.ErrUnexpectedEOF && err != io.EOF {
		p.err = err
	}
	return p
}

func (p *peekReader) isArmor() bool { return isPGPArmor(p.head) }

func (p *peekReader) Read(b []byte) (int, error) {
	if len(p.head) > 0 {
		n := copy(b, p.head)
		p.head = p.head[n:]
		return n, nil
	}
	if p.err != nil {
		return 0, p.err
	}
	return p.r.Read(b)
}

// keyUsable says why a recipient's key cannot encrypt: ErrExpired,
// ErrRevoked, or ErrUnsupported for a key without an encryption subkey.
func keyUsable(err error) error {
	var sel pgperrors.ErrEncryptionKeySelection
	if errors.As(err, &sel) {
		if sel.PrimaryKeyErr != nil {
			err = sel.PrimaryKeyErr
		} else if sel.EncSelectionErr != nil {
			err = sel.EncSelectionErr
		}
	}
	m := mapPGPError(err)
	if errors.Is(m, ErrExpired) || errors.Is(m, ErrRevoked) {
		return m
	}
	return ErrUnsupported
}
