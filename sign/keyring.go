package sign

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"slices"
	"sort"
	"strings"
	"sync"
	"unicode"
)

// Keyring holds public keys with their purposes and a revoked flag, so old
// and new keys verify side by side during a rotation and a revoked key never
// verifies. It is safe for concurrent use.
type Keyring struct {
	mu      sync.RWMutex
	keys    map[string]PublicKey
	revoked map[string]bool
}

// NewKeyring returns a keyring holding keys.
func NewKeyring(keys ...PublicKey) (*Keyring, error) {
	k := &Keyring{keys: map[string]PublicKey{}, revoked: map[string]bool{}}
	for _, key := range keys {
		if err := k.Add(key); err != nil {
			return nil, err
		}
	}
	return k, nil
}

// Add puts key on the ring. Adding a revoked key again does not un-revoke
// it; adding a key that is on the ring for another purpose fails with
// ErrWrongPurpose (one key, one purpose).
func (k *Keyring) Add(key PublicKey) error {
	if key == nil || isNilPointer(key) {
		return fmt.Errorf("%w: nil key", ErrMalformed)
	}
	if err := key.Purpose().Valid(); err != nil {
		return err
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	// Key ids derive from the public key alone, so the same key added for
	// a second purpose would silently replace the first binding.
	if old, ok := k.keys[key.KeyID()]; ok && old.Purpose() != key.Purpose() {
		return &KeyError{KeyID: key.KeyID(), Err: fmt.Errorf("%w: key is on the ring for %q already; use one key per purpose",
			ErrWrongPurpose, old.Purpose())}
	}
	k.keys[key.KeyID()] = key
	return nil
}

// Revoke marks the key named by id as revoked. id may be written the way
// an operator copies it from gpg or from this package: upper or lower case,
// with spaces, with a 0x prefix; it may be a key id of this package, an
// OpenPGP primary or subkey fingerprint, or a 64-bit OpenPGP key id (long
// key id) of the primary key or a subkey. A subkey's fingerprint or key id
// revokes its whole primary key, since gpg names the signing subkey. An id
// that is not hex of a known length gives ErrMalformed; one that names no
// key on the ring gives ErrUnknownKey (a key must be on the ring to be
// revoked, so a typo never passes silently); a 64-bit id that two keys on
// the ring share gives ErrMalformed (use the fingerprint).
func (k *Keyring) Revoke(id string) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	keyID, err := k.resolveLocked(id)
	if err != nil {
		return err
	}
	k.revoked[keyID] = true
	return nil
}

// Resolve returns the key id of the key on the ring that id names, in any
// of the forms Revoke accepts.
func (k *Keyring) Resolve(id string) (string, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.resolveLocked(id)
}

// Revoked reports whether the key id names (in any form Revoke accepts)
// is revoked.
func (k *Keyring) Revoked(id string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	keyID, err := k.resolveLocked(id)
	return err == nil && k.revoked[keyID]
}

// resolveLocked maps id to the key id of a key on the ring.
func (k *Keyring) resolveLocked(id string) (string, error) {
	norm, err := normalizeKeyID(id)
	if err != nil {
		return "", err
	}
	if _, ok := k.keys[norm]; ok {
		return norm, nil
	}
	var found []string
	for _, keyID := range k.sortedLocked() {
		pk, ok := k.keys[keyID].(*OpenPGPPublicKey)
		if !ok {
			continue
		}
		if slices.Contains(pk.aliases(), norm) {
			found = append(found, keyID)
		}
	}
	switch len(found) {
	case 0:
		return "", &KeyError{KeyID: norm, Err: fmt.Errorf("%w: no key on the ring has this id or fingerprint", ErrUnknownKey)}
	case 1:
		return found[0], nil
	}
	return "", fmt.Errorf("%w: key id %s matches %d keys on the ring (%s); give the fingerprint",
		ErrMalformed, norm, len(found), strings.Join(found, ", "))
}

// normalizeKeyID turns a pasted key id into lower-case hex without spaces
// or 0x prefix, and checks its length: 16 (OpenPGP long key id), 32 (this
// package's key ids), 40 (OpenPGP v4 fingerprint) or 64 (v5/v6
// fingerprint) digits.
func normalizeKeyID(id string) (string, error) {
	if len(id) > 256 {
		return "", fmt.Errorf("%w: key id of %d characters", ErrMalformed, len(id))
	}
	s := strings.Map(func(r rune) rune {
		if unicode.IsSpace(r) {
			return -1
		}
		return unicode.ToLower(r)
	}, id)
	s = strings.TrimPrefix(s, "0x")
	for _, c := range s {
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return "", fmt.Errorf("%w: key id %q is not hexadecimal", ErrMalformed, id)
		}
	}
	switch len(s) {
	case 16, 32, 40, 64:
		return s, nil
	case 8:
		return "", fmt.Errorf("%w: key id %q is a 32-bit short key id, which anyone can collide; give the fingerprint", ErrMalformed, id)
	}
	return "", fmt.Errorf("%w: key id %q has %d hex digits (want a 16-digit key id, a 32-digit fogkit key id or a 40- or 64-digit fingerprint)", ErrMalformed, id, len(s))
}

// Lookup returns the key for keyID if it may verify for purpose.
func (k *Keyring) Lookup(keyID string, purpose Purpose) (PublicKey, error) {
	k.mu.RLock()
	defer k.mu.RUnlock()
	key, ok := k.keys[keyID]
	switch {
	case !ok:
		return nil, &KeyError{KeyID: keyID, Err: ErrUnknownKey}
	case k.revoked[keyID]:
		return nil, &KeyError{KeyID: keyID, Err: ErrRevoked}
	case key.Purpose() != purpose:
		return nil, &KeyError{KeyID: keyID, Err: fmt.Errorf("%w: key is for %q, not %q", ErrWrongPurpose, key.Purpose(), purpose)}
	}
	return key, nil
}

// Keys returns the key ids on the ring, sorted.
func (k *Keyring) Keys() []string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// VerifyKey verifies with the named key only.
func (k *Keyring) VerifyKey(ctx context.Context, purpose Purpose, keyID string, message, signature []byte) error {
	key, err := k.Lookup(keyID, purpose)
	if err != nil {
		return err
	}
	_, err = key.Verify(ctx, message, signature)
	return err
}

// Verify tries every usable key of purpose (in key id order) and returns
// the id of the first that verifies. When none does, the error says why, in
// this order: a revoked key that would have verified gives ErrRevoked; a key
// that recognised the signature but refused it gives that key's error
// (ErrExpired for an OpenPGP signature made after its key expired, or by
// a key expired by its clock (OpenPGPPublicKey.WithClock),
// ErrWrongPurpose for one made for another purpose); a key of another
// purpose that verifies gives ErrWrongPurpose; no key of that purpose, or
// only OpenPGP keys none of which the signature names, gives ErrUnknownKey;
// otherwise ErrBadSignature.
func (k *Keyring) Verify(ctx context.Context, purpose Purpose, message, signature []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	if len(message) > MaxMessageSize {
		return "", fmt.Errorf("%w: message of %d bytes", ErrTooLarge, len(message))
	}
	if len(signature) > MaxSignatureSize {
		return "", fmt.Errorf("%w: signature of %d bytes", ErrTooLarge, len(signature))
	}
	k.mu.RLock()
	var usable, revoked, others []PublicKey
	for _, id := range k.sortedLocked() {
		key := k.keys[id]
		switch {
		case key.Purpose() != purpose:
			others = append(others, key)
		case k.revoked[id]:
			revoked = append(revoked, key)
		default:
			usable = append(usable, key)
		}
	}
	k.mu.RUnlock()
	var specific error // the most telling refusal from a key that knew the signature
	allUnknown := len(usable) > 0
	for _, key := range usable {
		id, err := key.Verify(ctx, message, signature)
		if err == nil {
			return id, nil
		}
		if ctx.Err() != nil {
			return "", ctx.Err()
		}
		if !errors.Is(err, ErrUnknownKey) {
			allUnknown = false
		}
		switch {
		case errors.Is(err, ErrTooLarge):
			return "", err
		case errors.Is(err, ErrExpired), errors.Is(err, ErrWrongPurpose), errors.Is(err, ErrRevoked):
			if specific == nil {
				specific = err
			}
		}
	}
	for _, key := range revoked {
		if _, err := key.Verify(ctx, message, signature); err == nil {
			return "", &KeyError{KeyID: key.KeyID(), Err: ErrRevoked}
		}
	}
	if specific != nil {
		return "", specific
	}
	for _, key := range others {
		if _, err := key.Verify(ctx, message, signature); err == nil {
			return "", &KeyError{KeyID: key.KeyID(), Err: fmt.Errorf("%w: signed by a %q key, want %q", ErrWrongPurpose, key.Purpose(), purpose)}
		}
	}
	if len(usable) == 0 {
		if len(revoked) > 0 {
			return "", fmt.Errorf("%w: every key for purpose %q is revoked", ErrUnknownKey, purpose)
		}
		if len(others) > 0 {
			return "", fmt.Errorf("%w: no key for purpose %q", ErrUnknownKey, purpose)
		}
		return "", fmt.Errorf("%w: keyring has no usable key", ErrUnknownKey)
	}
	if allUnknown {
		return "", fmt.Errorf("%w: the signature names a key that is not on the ring", ErrUnknownKey)
	}
	return "", ErrBadSignature
}

// Verifier returns a Verifier that verifies for purpose against the ring.
func (k *Keyring) Verifier(purpose Purpose) Verifier { return ringVerifier{k, purpose} }

type ringVerifier struct {
	k *Keyring
	p Purpose
}

func (v ringVerifier) Verify(ctx context.Context, message, signature []byte) (string, error) {
	return v.k.Verify(ctx, v.p, message, signature)
}

func (k *Keyring) sortedLocked() []string {
	ids := make([]string, 0, len(k.keys))
	for id := range k.keys {
		ids = append(ids, id)
	}
	sort.Strings(ids)
	return ids
}

// isNilPointer catches typed nil keys ((*Ed25519PublicKey)(nil) in a
// PublicKey), whose methods would panic.
func isNilPointer(key PublicKey) bool {
	v := reflect.ValueOf(key)
	return v.Kind() == reflect.Pointer && v.IsNil()
}
