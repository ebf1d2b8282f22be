// Command keygen writes a fogkit signing key pair for one purpose.
//
//	keygen -purpose license|update|ova [-name NAME] [-email EMAIL]
//	       [-years N] [-time RFC3339] [-passphrase-env VAR] [-force] -o DIR
//
// Files written into DIR (private keys with mode 0600):
//
//	-purpose license   license.key  PKCS#8 PEM, Ed25519 private key
//	                   license.pub  SPKI PEM ("PUBLIC KEY"), ship it in the appliance
//	-purpose update    update.key   armored OpenPGP private key (v4, EdDSA + cv25519),
//	                                passphrase-protected with -passphrase-env
//	                   update.pub   armored OpenPGP public key; gpg --import reads it
//	-purpose ova       ova.key      PKCS#8 PEM, RSA-3072 private key
//	                   ova.crt      self-signed code-signing certificate (PEM), CN = NAME
//
// NAME is the OpenPGP user id name or the certificate's common name
// (default "fogkit <purpose> key"). -email goes into the OpenPGP user id.
// The certificate is valid from -time (default: the start of the current
// UTC day) for -years years (default 10; 0 means until 9999-12-31).
// -time also fixes the OpenPGP key's creation time. Existing files are
// never overwritten unless -force is given.
//
// keygen prints the key id and the file names. It exits 0 on success, 1 on
// failure and 2 on bad usage.
package main
