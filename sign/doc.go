// Package sign is fogkit's one signing package: OVAs (X.509), update
// packages (OpenPGP) and licenses (Ed25519) all sign and verify through it.
//
// # Purposes
//
// Every key is bound to a Purpose. Raw signatures (Ed25519) sign
// Purpose.Prefix() ‖ message, so a license signature can never verify as an
// update signature. X.509 signatures sign the exact bytes a format fixes
// (the OVA manifest), so their purpose is bound through the key only.
// OpenPGP signatures made here carry the purpose in a non-critical
// notation (PurposeNotation) that Verify checks; gpg ignores it.
//
// DSSE signatures (SignDSSE, VerifyDSSE, Keyring.VerifyDSSE) are plain
// Ed25519 over DSSE's pre-authentication encoding, PAE(payloadType,
// payload), without the prefix, because every DSSE verifier checks exactly
// those bytes; PAE binds the payload type as the prefix would bind the
// purpose, and the key stays bound to its purpose (PurposeProvenance) by
// its key file and the keyring. License keys refuse to make them. Build
// provenance (package provenance) uses them.
//
// # Schemes
//
//   - Ed25519 (Ed25519Signer, Ed25519PublicKey): 64-byte raw signatures over
//     prefix ‖ message; deterministic. Licenses use it, and provenance
//     through SignDSSE.
//   - X.509 (X509Signer, X509PublicKey): any crypto.Signer (in memory, KMS,
//     HSM) with its certificate chain; RSA PKCS#1 v1.5 over SHA-256
//     (deterministic) or ECDSA. GenerateRSA and SelfSignedCertificate make
//     an RSA-3072 key and a code-signing certificate with fixed validity.
//     OVAs use it.
//   - OpenPGP (OpenPGPSigner, OpenPGPPublicKey, Encrypt, Decrypt) via
//     github.com/ProtonMail/go-crypto: armored detached signatures and
//     encryption. Defaults are what gpg 2.2 reads: a v4 key with a legacy
//     EdDSA (algorithm 22) primary and a Curve25519 ECDH subkey, SHA-256,
//     SEIPDv1 (no AEAD). RFC 9580 keys (v6, AEAD) only with
//     OpenPGPOptions.RFC9580. Signatures are reproducible for a fixed
//     signing time. Update packages use it.
//
// # Keys
//
// EncodePrivateKey / LoadSigner and EncodePublicKey / LoadPublicKey read
// and write key files: PKCS#8 and SPKI PEM, certificate PEM, armored
// OpenPGP (private keys optionally passphrase-protected). Key ids derive
// from the public key (KeyIDFromBytes of the SPKI DER; the fingerprint for
// OpenPGP). A Keyring holds public keys with purposes and revoked flags, so
// old and new keys verify side by side during a rotation and a revoked key
// never verifies. Keyring.Revoke takes a key id as an operator pastes it
// (any case, spaces, 0x prefix, an OpenPGP subkey fingerprint or 64-bit key
// id, which name the primary key), and refuses one that names no key on the
// ring with ErrUnknownKey.
//
// # OpenPGP key expiry
//
// An OpenPGP key or subkey may carry an expiry. What Verify checks:
//
//   - Always, at the signature's creation time: the signing key (primary
//     key, and the subkey when a subkey signed) existed, had a
//     self-signature in force, had not expired and was not revoked. A
//     signature made after the key or subkey expired gives ErrExpired; a
//     revocation for key compromise (or without a reason) counts at every
//     time and gives ErrRevoked.
//   - Never, by default, anything that depends on the verifier's clock. An
//     offline appliance has no trusted clock, and the signature's creation
//     time is chosen by the signer: whoever holds a key after it expired
//     can backdate a signature into its lifetime, and that signature
//     verifies (as it does in gpg). Key expiry alone is therefore no
//     defence against a leaked old key: revoke it (Keyring.Revoke, or a
//     revocation signature on the key).
//   - With OpenPGPPublicKey.WithClock, where the caller trusts its clock:
//     also that the key and the signing subkey have not expired (or been
//     revoked) by the clock's time, which refuses backdated signatures, and
//     a signature's own expiry against that time.
//
// To extend a key's life, its owner adds a new self-signature (gpg
// --quick-set-expire) and ships the new public key, which verifies
// signatures made after the renewal. A key verifies only signatures made
// while one of its self-signatures was in force, and gpg 2.2 exports only
// the newest, so such an export refuses signatures made before the renewal
// (ErrExpired, saying so).
//
// # Errors and limits
//
// Every error matches one of the sentinels in errors.go with errors.Is;
// errors about one key come as *KeyError. Every input is size-capped before
// it is parsed (MaxKeyFileSize, MaxMessageSize, MaxSignatureSize,
// DecryptOptions.MaxSize) and keys of the wrong length or type are rejected
// without panics.
//
// Key material is checked before any library verifies a signature with it
// or validates it, since that work grows with the cube of the key size: PEM
// key blocks are capped at 16 KiB and certificate blocks at 64 KiB; RSA keys
// (X.509 and OpenPGP alike) must have MinRSABits to MaxRSABits and private
// parameters that fit the modulus; OpenPGP key files may hold only v4 or v6
// keys of the algorithms fogkit or gpg's defaults use (RSA, ECDSA, EdDSA,
// ECDH, X25519/X448, Ed25519/Ed448). DSA and ElGamal keys are refused with
// ErrUnsupported.
package sign
