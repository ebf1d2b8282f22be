// Package sign is fogkit's one signing package: OVAs (X.509), update
// packages (OpenPGP) and licenses (Ed25519) all sign and verify through it.
//
// Every key is bound to a Purpose. Raw signatures (Ed25519) sign
// Purpose.Prefix() ‖ message, so a license signature can never verify as an
// update signature. A Keyring holds public keys with purposes and revoked
// flags, so old and new keys verify side by side during a rotation.
package sign
