package sign

import (
	"context"
	"errors"
	"fmt"
	"reflect"
	"sort"
	"sync"
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

// Revoke marks a key id as revoked; it need not be on the ring yet.
func (k *Keyring) Revoke(keyID string) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.revoked[keyID] = true
}

// Revoked reports whether keyID is revoked.
func (k *Keyring) Revoked(keyID string) bool {
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.revoked[keyID]
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
// (ErrExpired for an OpenPGP signature made after its key expired,
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
