// Package license makes and checks offline license files: the vendor signs
// who the customer is, how many seats, which features and until when, and
// the appliance verifies the file without phoning home.
//
// Licenses are signed, not encrypted: a key shipped inside the appliance is
// no secret, so encryption would protect nothing, and a shared symmetric key
// would let every customer mint licenses. The vendor keeps an Ed25519 key
// of purpose sign.PurposeLicense; appliances hold its public key in a
// sign.Keyring.
//
// # File format
//
// A license file is two PEM-style blocks of ASCII text:
//
//	-----BEGIN FOGKIT LICENSE-----
//	Key-Id: <key id>
//
//	<base64 of the exact payload JSON bytes, 64 columns>
//	-----END FOGKIT LICENSE-----
//	-----BEGIN FOGKIT LICENSE SIGNATURE-----
//	Algorithm: ed25519
//	Key-Id: <key id>
//
//	<base64 of the signature over sign.PurposeLicense.Prefix() ‖ payload>
//	-----END FOGKIT LICENSE SIGNATURE-----
//
// The reader is strict, so that a file has exactly one accepted spelling
// apart from line endings: headers in this order and no others, canonical
// padded base64 in lines of exactly 64 characters (the last 1 to 64), no
// text before the first block, every line printable ASCII and terminated by
// LF or CRLF. After the signature block only whitespace (space, tab, CR,
// LF) may follow, as editors and mail clients add it; anything else is
// rejected.
//
// The payload is the License as indented JSON, so piping the first block's
// base64 lines through `base64 -d` shows it. It must be canonical: the
// exact bytes Encode writes for the license it decodes to. Duplicate keys,
// keys in another case or written with escapes, other spacing or field
// order are refused (ErrMalformed), since encoding/json would read them but
// another JSON parser might read the same signed bytes differently. The signature is a raw 64-byte
// Ed25519 signature: openssl verifies it with `openssl pkeyutl -verify
// -pubin -inkey pub.pem -rawin` over the prefix followed by the payload.
//
// # Verifying
//
// Verify checks, in order: size cap, syntax, key, signature over the exact
// bytes, strict JSON, product, instance binding, revocation and sequence,
// clock rollback, not-before, expiry and grace. It returns a Status even
// for semantic failures, so a host can degrade instead of stopping. The
// clock is injectable (VerifyOptions.Now); a Store (MemoryStore, FileStore
// or the host's own) remembers the last time seen, the highest sequence per
// customer and revoked ids, and is never lowered.
//
// The clock guard is a speed bump, not DRM: whoever controls the appliance
// can delete its state. It stops the casual "set the clock back a year"
// and the replay of an older license. A clock that once ran far ahead
// makes later verifications fail with ErrClockRollback until it catches up
// (or an administrator resets the state).
//
// The library never reads the wall clock except through
// VerifyOptions.Now's default (time.Now); Encode takes every time from the
// License, so the same license and key always give the same file.
package license
