package sign

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns matches one of them
// with errors.Is.
var (
	ErrMalformed    = errors.New("sign: malformed input")
	ErrUnknownKey   = errors.New("sign: unknown key")
	ErrBadSignature = errors.New("sign: bad signature")
	ErrWrongPurpose = errors.New("sign: key has the wrong purpose")
	ErrRevoked      = errors.New("sign: key revoked")
	ErrExpired      = errors.New("sign: key expired")
	ErrTooLarge     = errors.New("sign: input too large")
	ErrUnsupported  = errors.New("sign: unsupported algorithm or option")
	ErrDecrypt      = errors.New("sign: cannot decrypt")
)

// KeyError says which key an error concerns.
type KeyError struct {
	KeyID string
	Err   error // one of the sentinels
}

func (e *KeyError) Error() string { return fmt.Sprintf("%v (key %s)", e.Err, e.KeyID) }
func (e *KeyError) Unwrap() error { return e.Err }
