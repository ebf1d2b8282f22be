package sign

import (
	"bytes"
	"fmt"
	"io"

	"github.com/ProtonMail/go-crypto/openpgp/packet"
)

// Limits on the passphrase hashing (S2K) parameters of an encrypted OpenPGP
// private key. A key file names its own Argon2 memory and passes, so
// without these a crafted file could make LoadSigner allocate up to 2 TiB.
const (
	// MaxArgon2MemoryExp caps Argon2 memory at 2^20 KiB (1 GiB).
	MaxArgon2MemoryExp = 20
	// MaxArgon2Passes caps Argon2 passes.
	MaxArgon2Passes = 16
)

// S2K usage octets and specifier types of RFC 9580 section 3.7.
const (
	s2kUsageAEAD      = 253
	s2kUsageCFB       = 254
	s2kUsageMalleable = 255
	s2kArgon2         = 4
)

// checkS2K refuses encrypted secret keys whose Argon2 parameters exceed the
// limits. go-crypto keeps the parameters private, so they are read back from
// the serialised secret-key packet: the public-key body is its prefix, the
// S2K usage octet follows.
func checkS2K(pk *packet.PrivateKey) error {
	if pk == nil || !pk.Encrypted || pk.Dummy() {
		return nil
	}
	var sec, pub bytes.Buffer
	if err := pk.Serialize(&sec); err != nil {
		return fmt.Errorf("%w: secret key: %v", ErrMalformed, err)
	}
	if err := pk.PublicKey.Serialize(&pub); err != nil {
		return fmt.Errorf("%w: public key: %v", ErrMalformed, err)
	}
	secBody, err1 := packetBody(sec.Bytes())
	pubBody, err2 := packetBody(pub.Bytes())
	if err1 != nil || err2 != nil || !bytes.HasPrefix(secBody, pubBody) {
		return fmt.Errorf("%w: cannot read the secret key's S2K parameters", ErrMalformed)
	}
	rest := secBody[len(pubBody):]
	get := func(i int) (byte, error) {
		if i >= len(rest) {
			return 0, fmt.Errorf("%w: truncated S2K parameters", ErrMalformed)
		}
		return rest[i], nil
	}
	usage, err := get(0)
	if err != nil {
		return err
	}
	if usage != s2kUsageAEAD && usage != s2kUsageCFB && usage != s2kUsageMalleable {
		return nil // no S2K specifier (legacy cipher-only usage)
	}
	i := 1
	v6 := pk.Version == 6
	if v6 {
		i++ // count of the following fields
	}
	i++ // cipher
	if usage == s2kUsageAEAD {
		i++ // AEAD mode
	}
	if v6 {
		i++ // length of the S2K specifier
	}
	mode, err := get(i)
	if err != nil {
		return err
	}
	if mode != s2kArgon2 {
		return nil
	}
	passes, err := get(i + 1 + 16)
	if err != nil {
		return err
	}
	memExp, err := get(i + 1 + 18)
	if err != nil {
		return err
	}
	if memExp > MaxArgon2MemoryExp || passes > MaxArgon2Passes {
		return fmt.Errorf("%w: Argon2 passphrase hashing with 2^%d KiB and %d passes exceeds the limits (2^%d KiB, %d passes)",
			ErrUnsupported, memExp, passes, MaxArgon2MemoryExp, MaxArgon2Passes)
	}
	return nil
}

// packetBody strips an OpenPGP packet header (both formats) from p, which
// must hold exactly one packet with a definite length.
func packetBody(p []byte) ([]byte, error) {
	if len(p) < 2 || p[0]&0x80 == 0 {
		return nil, io.ErrUnexpectedEOF
	}
	if p[0]&0x40 == 0 { // old format
		var n, hdr int
		switch p[0] & 3 {
		case 0:
			n, hdr = int(p[1]), 2
		case 1:
			if len(p) < 3 {
				return nil, io.ErrUnexpectedEOF
			}
			n, hdr = int(p[1])<<8|int(p[2]), 3
		case 2:
			if len(p) < 5 {
				return nil, io.ErrUnexpectedEOF
			}
			n, hdr = int(p[1])<<24|int(p[2])<<16|int(p[3])<<8|int(p[4]), 5
		default:
			return nil, io.ErrUnexpectedEOF
		}
		return bodyOf(p, hdr, n)
	}
	switch b := int(p[1]); {
	case b < 192:
		return bodyOf(p, 2, b)
	case b < 224:
		if len(p) < 3 {
			return nil, io.ErrUnexpectedEOF
		}
		return bodyOf(p, 3, (b-192)<<8+int(p[2])+192)
	case b == 255:
		if len(p) < 6 {
			return nil, io.ErrUnexpectedEOF
		}
		return bodyOf(p, 6, int(p[2])<<24|int(p[3])<<16|int(p[4])<<8|int(p[5]))
	}
	return nil, io.ErrUnexpectedEOF // partial lengths never occur in key packets
}

func bodyOf(p []byte, hdr, n int) ([]byte, error) {
	if n < 0 || hdr+n != len(p) {
		return nil, io.ErrUnexpectedEOF
	}
	return p[hdr:], nil
}
