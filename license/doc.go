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
// A license file is text (see the format description in format.go): a
// payload block with the exact JSON bytes in base64 and a Key-Id header,
// then a signature block over sign.PurposeLicense.Prefix() ‖ payload.
// `base64 -d` shows the JSON; anything after the signature block other than
// whitespace is rejected.
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
